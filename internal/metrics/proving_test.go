package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOffsitePendingAges: the oldest waiting backup's age grows while a
// copy waits, whatever new backups arrive; the newest waiting backup's
// age is reset by each new one. Both are 0 once nothing waits.
func TestOffsitePendingAges(t *testing.T) {
	now := t0
	reg := prometheus.NewRegistry()
	p := NewProving(reg, "default", "shop", func() time.Time { return now })
	gauge := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	oldest := func() float64 { return gauge("coffer_offsite_oldest_pending_age_seconds") }
	newest := func() float64 { return gauge("coffer_offsite_newest_pending_age_seconds") }
	if oldest() != 0 || newest() != 0 {
		t.Fatal("ages before any run")
	}
	p.OffsiteRun(OffsiteRun{End: now, Failed: 1, Waiting: 2, OldestWaiting: now.Add(-time.Hour), NewestWaiting: now.Add(-10 * time.Minute)})
	if oldest() != 3600 || newest() != 600 {
		t.Fatalf("ages %v, %v, want 3600, 600", oldest(), newest())
	}
	now = now.Add(30 * time.Minute) // no run since: both keep growing
	if oldest() != 5400 || newest() != 2400 {
		t.Fatalf("ages %v, %v, want 5400, 2400", oldest(), newest())
	}
	// A new backup, and the copy still fails: the newest age resets, the
	// oldest does not.
	p.OffsiteRun(OffsiteRun{End: now, Failed: 3, Waiting: 3, OldestWaiting: t0.Add(-time.Hour), NewestWaiting: now.Add(-time.Minute)})
	if oldest() != 5400 || newest() != 60 {
		t.Fatalf("ages after a new backup %v, %v, want 5400, 60", oldest(), newest())
	}
	p.OffsiteRun(OffsiteRun{End: now, Copied: 3, Bytes: 10, Held: 5, OK: true})
	if oldest() != 0 || newest() != 0 || testutil.ToFloat64(p.offsiteLastSuccess) != unix(now) || testutil.ToFloat64(p.offsiteCopies.WithLabelValues(ResultFailure)) != 4 {
		t.Fatal("a run that copied everything")
	}
}

func TestRestoreTestProven(t *testing.T) {
	p := NewProving(prometheus.NewRegistry(), "default", "shop", nil)
	backup := t0.Add(-2 * time.Hour)
	p.RestoreTestFinished(t0, true, backup)
	p.RestoreTestFinished(t0.Add(time.Hour), false, time.Time{})
	if testutil.ToFloat64(p.restoreTestLastSuccess) != unix(t0) || testutil.ToFloat64(p.restoreTestProven) != unix(backup) ||
		testutil.ToFloat64(p.restoreTestLastResult) != 0 || testutil.ToFloat64(p.restoreTestLastAttempt) != unix(t0.Add(time.Hour)) {
		t.Fatal("a failed test must not move the proven timestamps")
	}
}
