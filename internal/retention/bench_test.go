package retention

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// BenchmarkPlan100k plans over 100,000 backups: eleven years of hourly
// backups nobody ever pruned, in a zone with summer time.
func BenchmarkPlan100k(b *testing.B) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(1, 1))
	start := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	backups := make([]Backup, n)
	for i := range backups {
		s := start.Add(time.Duration(i)*time.Hour + time.Duration(rng.IntN(60))*time.Second)
		backups[i] = completed(fmt.Sprintf("%s-%06d", s.Format("20060102T150405Z"), i), s)
		switch rng.IntN(100) {
		case 0, 1, 2:
			backups[i].Status = phase.Failed
		case 3:
			backups[i].UserLabels = []string{LabelPinned}
		}
	}
	// Shuffled, the worst case for the sort: a real listing arrives in key
	// order, which for time-sortable backup IDs is nearly start order.
	rng.Shuffle(n, func(i, j int) { backups[i], backups[j] = backups[j], backups[i] })
	p := standard
	p.Location = berlin(b)
	now := start.Add(n * time.Hour)
	var res Result
	for b.Loop() {
		res = Plan(Listing{Backups: backups}, p, now)
	}
	if len(res.Keep)+len(res.Delete) != n {
		b.Fatalf("%d decisions", len(res.Keep)+len(res.Delete))
	}
}
