package retention

import (
	"fmt"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin must resolve the same on every machine.

	"github.com/coffer-dev/coffer/internal/phase"
)

// monday is 2026-03-02 00:00 UTC, a Monday, used as the origin of fixtures.
var monday = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	return location(t, "Europe/Berlin")
}

func location(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func at(h float64) time.Time { return monday.Add(time.Duration(h * float64(time.Hour))) }

func completed(id string, start time.Time, labels ...string) Backup {
	return Backup{ID: id, Start: start, Status: phase.Completed, UserLabels: labels}
}

func manual(id string, start time.Time) Backup {
	return Backup{ID: id, Start: start, Status: phase.Completed, Manual: true}
}

// manuals are n manual backups m00, m01, ... an hour apart from hour h.
func manuals(n int, h float64) []Backup {
	out := make([]Backup, n)
	for i := range out {
		out[i] = manual(fmt.Sprintf("m%02d", i), at(h+float64(i)))
	}
	return out
}

func failed(id string, start time.Time, labels ...string) Backup {
	return Backup{ID: id, Start: start, Status: phase.Failed, UserLabels: labels}
}

func running(id string, start time.Time) Backup {
	return Backup{ID: id, Start: start, Status: phase.Running}
}

func ids(ds []Decision) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// decision finds id in either list of r.
func decision(t testing.TB, r Result, id string) Decision {
	t.Helper()
	for _, d := range slices.Concat(r.Keep, r.Delete) {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no decision for %q", id)
	return Decision{}
}
