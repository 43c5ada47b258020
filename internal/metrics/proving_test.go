package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestOffsiteLagGrowsWhileACopyWaits(t *testing.T) {
	now := t0
	reg := prometheus.NewRegistry()
	p := NewProving(reg, "default", "shop", func() time.Time { return now })
	lag := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "coffer_offsite_copy_lag_seconds" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no coffer_offsite_copy_lag_seconds")
		return 0
	}
	if lag() != 0 {
		t.Fatal("lag before any run")
	}
	p.OffsiteRun(OffsiteRun{End: now, Failed: 1, Waiting: 2, OldestWaiting: now.Add(-time.Hour)})
	if got := lag(); got != 3600 {
		t.Fatalf("lag %v, want 3600", got)
	}
	now = now.Add(30 * time.Minute) // no run since: the lag keeps growing
	if got := lag(); got != 5400 {
		t.Fatalf("lag %v, want 5400", got)
	}
	p.OffsiteRun(OffsiteRun{End: now, Copied: 2, Bytes: 10, Held: 5, OK: true})
	if lag() != 0 || testutil.ToFloat64(p.offsiteLastSuccess) != unix(now) || testutil.ToFloat64(p.offsiteCopies.WithLabelValues(ResultFailure)) != 1 {
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
