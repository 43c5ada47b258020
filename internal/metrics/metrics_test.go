package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
)

var t0 = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

func newTest(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg, "default", "shop"), reg
}

func TestTargetBackups(t *testing.T) {
	tests := map[string]struct {
		record                      func(m *Metrics)
		lastSuccess, lastAttempt    float64
		result, stored, plain, runs float64
	}{
		"success": {
			record: func(m *Metrics) {
				m.BackupSucceeded("main", t0, t0.Add(90*time.Second), 1000, 5000)
			},
			lastSuccess: unix(t0) + 90, lastAttempt: unix(t0) + 90, result: 1, stored: 1000, plain: 5000, runs: 1,
		},
		"failure after success keeps the success": {
			record: func(m *Metrics) {
				m.BackupSucceeded("main", t0, t0.Add(time.Minute), 1000, 5000)
				m.BackupFailed("main", t0.Add(time.Hour))
			},
			lastSuccess: unix(t0) + 60, lastAttempt: unix(t0) + 3600, result: 0, stored: 1000, plain: 5000, runs: 1,
		},
		"success after failure": {
			record: func(m *Metrics) {
				m.BackupFailed("main", t0)
				m.BackupSucceeded("main", t0.Add(time.Hour), t0.Add(2*time.Hour), 7, 9)
			},
			lastSuccess: unix(t0) + 7200, lastAttempt: unix(t0) + 7200, result: 1, stored: 7, plain: 9, runs: 1,
		},
		"only failures": {
			record:      func(m *Metrics) { m.BackupFailed("main", t0) },
			lastAttempt: unix(t0),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, _ := newTest(t)
			tc.record(m)
			check := map[string]struct {
				c    prometheus.Collector
				want float64
			}{
				"last success": {m.targetLastSuccess.WithLabelValues("main"), tc.lastSuccess},
				"last attempt": {m.targetLastAttempt.WithLabelValues("main"), tc.lastAttempt},
				"result":       {m.targetLastResult.WithLabelValues("main"), tc.result},
				"stored":       {m.storedBytes.WithLabelValues("main"), tc.stored},
				"plain":        {m.plainBytes.WithLabelValues("main"), tc.plain},
			}
			for what, c := range check {
				if got := testutil.ToFloat64(c.c); got != c.want {
					t.Errorf("%s = %v, want %v", what, got, c.want)
				}
			}
			if got := testutil.CollectAndCount(m.targetDuration); float64(got) != tc.runs {
				t.Errorf("duration series = %d, want %v", got, tc.runs)
			}
		})
	}
}

func TestSetAndDurationExposition(t *testing.T) {
	m, reg := newTest(t)
	m.BackupSetSucceeded(t0, t0.Add(20*time.Minute))
	m.BackupSetFailed(t0.Add(time.Hour))
	if got := testutil.ToFloat64(m.setLastSuccess); got != unix(t0)+1200 {
		t.Errorf("set last success = %v", got)
	}
	if got := testutil.ToFloat64(m.setLastAttempt); got != unix(t0)+3600 {
		t.Errorf("set last attempt = %v", got)
	}
	if got := testutil.ToFloat64(m.setLastResult); got != 0 {
		t.Errorf("set last result = %v, want 0", got)
	}
	const want = `
# HELP coffer_backup_set_duration_seconds Duration of Completed backup sets, first target start to last target end.
# TYPE coffer_backup_set_duration_seconds histogram
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="1"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="5"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="15"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="30"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="60"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="120"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="300"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="600"} 0
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="1200"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="1800"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="3600"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="7200"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="14400"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="28800"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="43200"} 1
coffer_backup_set_duration_seconds_bucket{definition="shop",namespace="default",le="+Inf"} 1
coffer_backup_set_duration_seconds_sum{definition="shop",namespace="default"} 1200
coffer_backup_set_duration_seconds_count{definition="shop",namespace="default"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "coffer_backup_set_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestRetentionApplied(t *testing.T) {
	m, _ := newTest(t)
	m.RetentionApplied(map[string]int{"hourly": 24, "daily": 7, "pinned": 1}, 2)
	m.RetentionApplied(map[string]int{"hourly": 24, "daily": 6}, 0)
	m.RetentionApplied(map[string]int{"hourly": 23, "daily": 7}, 3)
	want := map[string]float64{"hourly": 23, "daily": 7, "pinned": 0}
	for label, n := range want {
		if got := testutil.ToFloat64(m.kept.WithLabelValues(label)); got != n {
			t.Errorf("kept{label=%q} = %v, want %v", label, got, n)
		}
	}
	if got := testutil.ToFloat64(m.retentionDeleted); got != 5 {
		t.Errorf("deleted = %v, want 5", got)
	}
}

func TestDaemonState(t *testing.T) {
	tests := map[string]struct {
		record func(m *Metrics)
		metric func(m *Metrics) prometheus.Collector
		want   float64
	}{
		"lease held": {
			record: func(m *Metrics) { m.SetLeaseHeld(true) },
			metric: func(m *Metrics) prometheus.Collector { return m.leaseHeld },
			want:   1,
		},
		"lease lost": {
			record: func(m *Metrics) { m.SetLeaseHeld(true); m.SetLeaseHeld(false) },
			metric: func(m *Metrics) prometheus.Collector { return m.leaseHeld },
			want:   0,
		},
		"next run": {
			record: func(m *Metrics) { m.SetNextRun(t0) },
			metric: func(m *Metrics) prometheus.Collector { return m.nextRun },
			want:   float64(t0.Unix()),
		},
		"no next run": {
			record: func(m *Metrics) { m.SetNextRun(t0); m.SetNextRun(time.Time{}) },
			metric: func(m *Metrics) prometheus.Collector { return m.nextRun },
			want:   0,
		},
		"restores succeeded": {
			record: func(m *Metrics) { m.RestoreFinished(true); m.RestoreFinished(true); m.RestoreFinished(false) },
			metric: func(m *Metrics) prometheus.Collector { return m.restores.WithLabelValues(ResultSuccess) },
			want:   2,
		},
		"restores failed": {
			record: func(m *Metrics) { m.RestoreFinished(true); m.RestoreFinished(false) },
			metric: func(m *Metrics) prometheus.Collector { return m.restores.WithLabelValues(ResultFailure) },
			want:   1,
		},
		"restores start at zero": {
			record: func(*Metrics) {},
			metric: func(m *Metrics) prometheus.Collector { return m.restores.WithLabelValues(ResultFailure) },
			want:   0,
		},
		"orphans": {
			record: func(m *Metrics) { m.OrphansSwept(3); m.OrphansSwept(0); m.OrphansSwept(4) },
			metric: func(m *Metrics) prometheus.Collector { return m.orphansSwept },
			want:   7,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, _ := newTest(t)
			tc.record(m)
			if got := testutil.ToFloat64(tc.metric(m)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	m, _ := newTest(t)
	m.SetLeaseHeld(true)
	m.BackupSucceeded("main", t0, t0.Add(time.Second), 10, 20)
	body := get(t, m.Handler(), http.StatusOK)
	for _, want := range []string{
		`coffer_lease_held{definition="shop",namespace="default"} 1`,
		`coffer_backup_stored_bytes{definition="shop",namespace="default",target="main"} 10`,
		`coffer_restores_total{definition="shop",namespace="default",result="success"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}

func TestHandlerNeedsGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(prometheus.WrapRegistererWithPrefix("x_", reg), "default", "shop")
	get(t, m.Handler(), http.StatusInternalServerError)
}

func TestRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, "default", "shop")
	New(reg, "default", "blog") // another definition shares the registry
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering the same definition twice did not panic")
		}
	}()
	New(reg, "default", "shop")
}

func TestNilRegisterer(t *testing.T) {
	m := New(nil, "default", "shop")
	m.SetLeaseHeld(true)
	if body := get(t, m.Handler(), http.StatusOK); !strings.Contains(body, "coffer_lease_held") {
		t.Errorf("own registry not served:\n%s", body)
	}
}

func get(t *testing.T, h http.Handler, wantStatus int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != wantStatus {
		t.Fatalf("status %d, want %d: %s", rec.Code, wantStatus, body)
	}
	return string(body)
}

func TestSeedLastSuccess(t *testing.T) {
	b := &manifest.Manifest{
		ID: "20261121T103000Z-k3f9", Status: phase.Completed, StartTime: t0, EndTime: t0.Add(time.Minute),
		Targets: []manifest.Target{{Name: "main", EndTime: t0.Add(30 * time.Second), Size: 11, PlainSize: 42}},
	}
	tests := map[string]struct {
		seed                                  *manifest.Manifest
		setSuccess, targetSuccess, stored, pl float64
	}{
		"completed": {seed: b, setSuccess: unix(t0) + 60, targetSuccess: unix(t0) + 30, stored: 11, pl: 42},
		"nil":       {seed: nil},
		"failed":    {seed: &manifest.Manifest{Status: phase.Failed, EndTime: t0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, _ := newTest(t)
			m.SeedLastSuccess(tc.seed)
			check := map[string]struct {
				c    prometheus.Collector
				want float64
			}{
				"set success":    {m.setLastSuccess, tc.setSuccess},
				"target success": {m.targetLastSuccess.WithLabelValues("main"), tc.targetSuccess},
				"stored":         {m.storedBytes.WithLabelValues("main"), tc.stored},
				"plain":          {m.plainBytes.WithLabelValues("main"), tc.pl},
				"set result":     {m.setLastResult, 0},
			}
			for what, c := range check {
				if got := testutil.ToFloat64(c.c); got != c.want {
					t.Errorf("%s = %v, want %v", what, got, c.want)
				}
			}
		})
	}
}

// TestNewStoredBytes: format 1 adds all it stores; format 2 only the
// chunks it uploaded, however many it shares, and a listing's summary
// (no chunk lists) says the same.
func TestNewStoredBytes(t *testing.T) {
	shared := []manifest.Chunk{{Hash: "a", Size: 10, StoredSize: 7}, {Hash: "b", Size: 10, StoredSize: 5}}
	tests := map[string]struct {
		format int
		target manifest.Target
		want   float64
	}{
		"format 1":             {manifest.FormatVersion, manifest.Target{Name: "main", Size: 900}, 900},
		"format 2, some new":   {manifest.FormatChunked, manifest.Target{Name: "main", Size: 12, NewSize: 5, Chunks: shared}, 5},
		"format 2, none new":   {manifest.FormatChunked, manifest.Target{Name: "main", Size: 12, Chunks: shared}, 0},
		"format 2, empty dump": {manifest.FormatChunked, manifest.Target{Name: "main", Chunks: nil}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, _ := newTest(t)
			m.TargetStored(tc.format, tc.target)
			if got := testutil.ToFloat64(m.newStoredBytes.WithLabelValues("main")); got != tc.want {
				t.Fatalf("new stored bytes = %v, want %v", got, tc.want)
			}
			listed := (&manifest.Manifest{FormatVersion: tc.format, Status: phase.Completed, Targets: []manifest.Target{tc.target}}).Summary()
			m.SeedLastSuccess(listed)
			if got := testutil.ToFloat64(m.newStoredBytes.WithLabelValues("main")); got != tc.want {
				t.Fatalf("seeded from a listing, new stored bytes = %v, want %v", got, tc.want)
			}
		})
	}
}
