package retention

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// scenario is a runner's life: an hourly schedule, downtime, failures, clock
// trouble and users pinning backups.
type scenario struct {
	seed   uint64
	start  time.Time // first scheduled run, true time
	hours  int       // scheduled runs
	policy Policy
	// failEvery: a backup fails with probability 1/failEvery (0: never);
	// crashEvery: the runner dies mid-backup, leaving it Running.
	failEvery, crashEvery int
	// down: the runner is not running from each start for that long.
	down []downtime
	// jumps: at run index i the runner's clock is shifted by d (true time
	// is unaffected); a negative d is a clock jumping backwards.
	jumps map[int]time.Duration
	// pin: run indexes whose backup a user pins; unpin: run index at which
	// the pin of the backup of another run index is removed.
	pin   []int
	unpin map[int]int
	// manual: after the scheduled run of each index, someone takes an
	// on-demand backup this long after that run's slot.
	manual map[int]time.Duration
}

type downtime struct {
	from time.Time
	for_ time.Duration
}

// simulation is the catalog the runner keeps, and everything it ever made.
type simulation struct {
	sc      scenario
	catalog map[string]Backup
	history []Backup // every backup created, with its user labels at the end
	created map[int]string
	// manualIDs are the on-demand backups, by the run index they follow.
	manualIDs map[int]string
	log       []string
	now       time.Time // runner clock at the last plan
	deleted   int
}

// run plays the scenario: after every backup the runner plans and deletes
// exactly what the plan says, as the real runner does.
func (s *simulation) run(t *testing.T) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.sc.seed, 1))
	s.catalog = make(map[string]Backup)
	s.created = make(map[int]string)
	s.manualIDs = make(map[int]string)
	var skew time.Duration
	warned := map[string]bool{}
	for i := range s.sc.hours {
		truth := s.sc.start.Add(time.Duration(i) * time.Hour)
		if d, ok := s.sc.jumps[i]; ok {
			skew += d
			s.logf(truth.Add(skew), "runner clock jumps by %v", d)
		}
		if s.isDown(truth) {
			continue
		}
		start := truth.Add(skew).Add(time.Duration(rng.IntN(30)) * time.Second)
		b := Backup{ID: fmt.Sprintf("%s-%05d", start.UTC().Format("20060102T150405Z"), i), Start: start, Status: phase.Completed}
		switch {
		case s.sc.failEvery > 0 && rng.IntN(s.sc.failEvery) == 0:
			b.Status = phase.Failed
		case s.sc.crashEvery > 0 && rng.IntN(s.sc.crashEvery) == 0:
			b.Status = phase.Running
			s.logf(start, "runner crashes during %s", b.ID)
		}
		if slices.Contains(s.sc.pin, i) {
			b.UserLabels = []string{LabelPinned}
			s.logf(start, "user pins %s", b.ID)
		}
		if of, ok := s.sc.unpin[i]; ok {
			id := s.created[of]
			s.logf(start, "user unpins %s", id)
			if c, ok := s.catalog[id]; ok {
				c.UserLabels = nil
				s.catalog[id] = c
			}
			s.setHistoryLabels(id, nil)
		}
		s.created[i] = b.ID
		s.commit(t, b, start.Add(time.Duration(2+rng.IntN(8))*time.Minute), warned)
		// A manual backup uses no randomness, so the scheduled series is the
		// same with and without them.
		if off, ok := s.sc.manual[i]; ok {
			m := Backup{Start: truth.Add(skew).Add(off), Status: phase.Completed, Manual: true}
			m.ID = fmt.Sprintf("%s-m%04d", m.Start.UTC().Format("20060102T150405Z"), i)
			s.logf(m.Start, "someone takes manual backup %s", m.ID)
			s.manualIDs[i] = m.ID
			s.commit(t, m, m.Start.Add(3*time.Minute), warned)
		}
	}
}

// commit adds b to the catalog, plans at now and deletes what the plan says.
func (s *simulation) commit(t *testing.T, b Backup, now time.Time, warned map[string]bool) {
	t.Helper()
	s.catalog[b.ID] = b
	s.history = append(s.history, b)
	s.now = now
	res := Plan(Listing{Backups: slices.Collect(maps.Values(s.catalog))}, s.sc.policy, s.now)
	checkInvariants(t, s.catalog, res, s.sc.policy, s.now)
	for _, w := range res.Warnings {
		// A clock warning repeats, with a shrinking distance, until the
		// clock catches up; the first one tells the story.
		subject, _, _ := strings.Cut(w, " starts ")
		if !warned[subject] {
			warned[subject] = true
			s.logf(s.now, "warning: %s", w)
		}
	}
	for _, d := range res.Delete {
		delete(s.catalog, d.ID)
		s.deleted++
	}
}

func (s *simulation) isDown(truth time.Time) bool {
	for _, d := range s.sc.down {
		if !truth.Before(d.from) && truth.Before(d.from.Add(d.for_)) {
			return true
		}
	}
	return false
}

func (s *simulation) setHistoryLabels(id string, labels []string) {
	for i := range s.history {
		if s.history[i].ID == id {
			s.history[i].UserLabels = labels
		}
	}
}

func (s *simulation) logf(at time.Time, format string, args ...any) {
	s.log = append(s.log, at.In(s.sc.policy.location()).Format(goldenTime)+"  "+fmt.Sprintf(format, args...))
}

const goldenTime = "2006-01-02 15:04:05 MST"

// checkInvariants holds after every single plan of every scenario.
func checkInvariants(t *testing.T, catalog map[string]Backup, res Result, p Policy, now time.Time) {
	t.Helper()
	if got := len(res.Keep) + len(res.Delete); got != len(catalog) {
		t.Fatalf("%v: %d decisions for %d backups", now, got, len(catalog))
	}
	var newest *Decision
	for i, d := range res.Keep {
		if d.Status == phase.Completed && !d.Start.After(now) {
			newest = &res.Keep[i]
		}
	}
	newerManual := 0 // Completed manual backups in the catalog newer than the one looked at
	for i := len(res.Delete) - 1; i >= 0; i-- {
		b := catalog[res.Delete[i].ID]
		if !b.Manual || b.Status != phase.Completed {
			continue
		}
		newerManual = 0
		for _, o := range catalog {
			if o.Manual && o.Status == phase.Completed && o.Start.After(b.Start) {
				newerManual++
			}
		}
		if newerManual < p.keepManual() {
			t.Fatalf("%v: deletes manual %s, one of the newest %d manual backups", now, b.ID, p.keepManual())
		}
	}
	for _, d := range res.Delete {
		b := catalog[d.ID]
		switch {
		case len(b.UserLabels) > 0:
			t.Fatalf("%v: deletes pinned %s", now, d.ID)
		case now.Sub(b.Start) < p.inFlightWindow():
			t.Fatalf("%v: deletes young %s", now, d.ID)
		case b.Status == phase.Completed && newest != nil && b.Start.After(newest.Start):
			t.Fatalf("%v: deletes %s, newer than the newest kept completed %s", now, d.ID, newest.ID)
		case b.Status == phase.Completed && newest == nil:
			t.Fatalf("%v: deletes completed %s and keeps none", now, d.ID)
		}
	}
}

func (s *simulation) golden() []byte {
	var buf bytes.Buffer
	p := s.sc.policy
	fmt.Fprintf(&buf, "policy: hourly %d, daily %d, weekly %d, monthly %d, yearly %d, manual %d, keep failed %d, in flight %v, zone %s\n",
		p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly, p.keepManual(), p.keepFailed(), p.inFlightWindow(), p.location())
	var byStatus = map[phase.Phase]int{}
	for _, b := range s.history {
		byStatus[b.Status]++
	}
	fmt.Fprintf(&buf, "created %d (completed %d, failed %d, crashed %d, manual %d), deleted %d, surviving %d\n",
		len(s.history), byStatus[phase.Completed], byStatus[phase.Failed], byStatus[phase.Running], len(s.manualIDs), s.deleted, len(s.catalog))
	fmt.Fprintf(&buf, "\nevents:\n")
	for _, l := range s.log {
		fmt.Fprintf(&buf, "  %s\n", l)
	}
	res := Plan(Listing{Backups: slices.Collect(maps.Values(s.catalog))}, p, s.now)
	fmt.Fprintf(&buf, "\nsurvivors at %s:\n", s.now.In(p.location()).Format(goldenTime))
	for _, d := range res.Keep {
		fmt.Fprintf(&buf, "  %-26s %s  %-9s [%s]  %s\n", d.ID, d.Start.In(p.location()).Format(goldenTime),
			d.Status, strings.Join(d.Labels, " "), strings.Join(d.Reasons, "; "))
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/retention -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if intended, run go test ./internal/retention -update\ngot:\n%s", file, got)
	}
}

var standard = Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2}

func TestSimulateCleanYear(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	p := standard
	p.Location = loc
	// Hourly from 2025-06-01 00:00 to 2026-06-10 12:00 Berlin time.
	first := time.Date(2025, 6, 1, 0, 0, 0, 0, loc)
	last := time.Date(2026, 6, 10, 12, 0, 0, 0, loc)
	s := &simulation{sc: scenario{seed: 1, start: first, hours: int(last.Sub(first)/time.Hour) + 1, policy: p}}
	s.run(t)
	// The policy implies, on 2026-06-10 (a Wednesday), after the 12:00 run:
	//   hourly 24:  06-09 13:00 .. 06-10 12:00                        24
	//   daily 7:    00:00 of 06-04 .. 06-10; 06-10 is hourly already   +6
	//   weekly 4:   Mondays 06-08 (daily already), 06-01, 05-25, 05-18 +3
	//   monthly 12: 1st of 2025-07 .. 2026-06; 06-01 is weekly already,
	//               2026-01-01 is counted here and is yearly too      +11
	//   yearly 2:   2026 (monthly already), 2025: 2025-06-01 00:00      +1
	if got, want := len(s.catalog), 24+6+3+11+1; got != want {
		t.Errorf("%d survivors, the policy implies %d", got, want)
	}
	checkOracle(t, s)
	checkGolden(t, "clean_year", s.golden())
}

func TestSimulateRoughYear(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	p := standard
	p.Location = loc
	start := time.Date(2025, 12, 15, 0, 0, 0, 0, loc)
	rng := rand.New(rand.NewPCG(42, 2))
	down := []downtime{
		// Down over a month end and the new year, and for most of a week.
		{time.Date(2025, 12, 30, 17, 0, 0, 0, loc), 4 * 24 * time.Hour},
		{time.Date(2026, 5, 26, 9, 0, 0, 0, loc), 6*24*time.Hour + 3*time.Hour},
	}
	for range 6 { // and a few random outages of hours to days
		from := start.Add(time.Duration(rng.IntN(390*24)) * time.Hour)
		down = append(down, downtime{from, time.Duration(1+rng.IntN(72)) * time.Hour})
	}
	s := &simulation{sc: scenario{
		seed: 3, start: start, hours: 400 * 24, policy: p,
		failEvery: 15, crashEvery: 400, down: down,
		pin:   []int{100, 2000, 5000},
		unpin: map[int]int{6000: 2000},
	}}
	s.run(t)
	checkOracle(t, s)
	checkGolden(t, "rough_year", s.golden())
}

func TestSimulateClockTrouble(t *testing.T) {
	t.Parallel()
	loc := berlin(t)
	p := standard
	p.Location = loc
	// Two months over the end of summer time (2026-10-25).
	start := time.Date(2026, 9, 20, 0, 0, 0, 0, loc)
	s := &simulation{sc: scenario{
		seed: 5, start: start, hours: 60 * 24, policy: p, failEvery: 20,
		jumps: map[int]time.Duration{
			200: -3 * time.Hour,  // NTP corrects a clock running ahead
			600: 26 * time.Hour,  // a bad clock source, then
			612: -26 * time.Hour, // its correction half a day later
			900: -(24*time.Hour + 30*time.Minute),
		},
		pin:   []int{210, 605},
		unpin: map[int]int{1300: 605},
	}}
	s.run(t)
	checkGolden(t, "clock_trouble", s.golden())
}

// checkOracle recomputes the survivors from the whole history, without Plan's
// bucket code, and requires them to be exactly what the runner kept: the
// first scheduled Completed backup of each of the newest N buckets of each
// label, the newest manual ones, the pinned, the newest Completed, the newest
// failed and the young. Valid for
// histories whose clock never went backwards.
func checkOracle(t *testing.T, s *simulation) {
	t.Helper()
	p := s.sc.policy
	loc := p.location()
	hist := slices.Clone(s.history)
	slices.SortFunc(hist, func(a, b Backup) int { return a.Start.Compare(b.Start) })
	want := map[string]bool{}
	bucketOf := []func(time.Time) string{
		func(t time.Time) string { return t.In(loc).Format("2006-01-02 15 MST") },
		func(t time.Time) string { return t.In(loc).Format("2006-01-02") },
		func(t time.Time) string { y, w := t.In(loc).ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) },
		func(t time.Time) string { return t.In(loc).Format("2006-01") },
		func(t time.Time) string { return t.In(loc).Format("2006") },
	}
	for l, n := range p.counts() {
		var firsts []string // newest bucket last
		seen := map[string]bool{}
		for _, b := range hist {
			if b.Status == phase.Completed && !b.Manual && !seen[bucketOf[l](b.Start)] {
				seen[bucketOf[l](b.Start)] = true
				firsts = append(firsts, b.ID)
			}
		}
		for _, id := range firsts[max(0, len(firsts)-n):] {
			want[id] = true
		}
	}
	var failedSeen, manualSeen int
	newestSeen := false
	for i := len(hist) - 1; i >= 0; i-- {
		b := hist[i]
		age := s.now.Sub(b.Start)
		if b.Manual && b.Status == phase.Completed {
			if manualSeen++; manualSeen <= p.keepManual() {
				want[b.ID] = true
			}
		}
		switch {
		case b.Status == phase.Completed && !newestSeen:
			newestSeen = true
			want[b.ID] = true
		case b.Status == phase.Failed || (b.Status == phase.Running && age >= p.inFlightWindow()):
			if failedSeen++; failedSeen <= p.keepFailed() {
				want[b.ID] = true
			}
		}
		if len(b.UserLabels) > 0 || age < p.inFlightWindow() {
			want[b.ID] = true
		}
	}
	got := slices.Sorted(maps.Keys(s.catalog))
	wantIDs := slices.Sorted(maps.Keys(want))
	if !slices.Equal(got, wantIDs) {
		t.Errorf("survivors differ from the oracle\ngot  %v\nwant %v", got, wantIDs)
	}
}
