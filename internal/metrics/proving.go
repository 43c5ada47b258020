package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label names and values of the proving metrics.
const (
	// LabelStorage is primary or offsite.
	LabelStorage = "storage"
	// LabelProblem is what verification found wrong with an object:
	// corrupt (its bytes do not match the manifest) or missing.
	LabelProblem   = "problem"
	ProblemCorrupt = "corrupt"
	ProblemMissing = "missing"
)

// Proving are the metrics of what proves one definition's backups: the
// offsite copy, scheduled verification and restore tests. They are kept
// apart from Metrics (registered beside them, on the same registry) so
// each concern can be read on its own; docs/metrics.md lists them.
type Proving struct {
	now func() time.Time

	offsiteCopies      *prometheus.CounterVec
	offsiteBytes       prometheus.Counter
	offsiteLastSuccess prometheus.Gauge
	offsitePending     prometheus.Gauge
	offsiteBackups     prometheus.Gauge
	offsiteDeleted     prometheus.Counter

	verifyRuns        *prometheus.CounterVec
	verifyLastRun     prometheus.Gauge
	verifyLastSuccess prometheus.Gauge
	verifyProblems    *prometheus.CounterVec
	verifyLastFailed  *prometheus.GaugeVec
	verifyBytes       prometheus.Counter

	restoreTests           *prometheus.CounterVec
	restoreTestLastAttempt prometheus.Gauge
	restoreTestLastResult  prometheus.Gauge
	restoreTestLastSuccess prometheus.Gauge
	restoreTestProven      prometheus.Gauge
	restoreTestDuration    *prometheus.GaugeVec

	mu sync.Mutex
	// oldestWaiting and newestWaiting are the ends of the oldest and the
	// newest backup the offsite copy still lacks; zero when it lacks none.
	oldestWaiting, newestWaiting time.Time
}

// NewProving registers the proving metrics of namespace/definition on reg
// (a fresh registry when nil); now is the clock the copy lag is read with.
func NewProving(reg prometheus.Registerer, namespace, definition string, now func() time.Time) *Proving {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if now == nil {
		now = time.Now
	}
	f := factory{constLabels: prometheus.Labels{LabelNamespace: namespace, LabelDefinition: definition}}
	p := &Proving{now: now,
		offsiteCopies: f.counterVec("offsite_copies_total",
			"Backups copied to the offsite storage, by result (a failed copy is retried).", LabelResult),
		offsiteBytes: f.counter("offsite_copied_bytes_total",
			"Bytes streamed to the offsite storage."),
		offsiteLastSuccess: f.gauge("offsite_last_success_timestamp_seconds",
			"Unix time of the end of the last offsite run that left no backup waiting."),
		offsitePending: f.gauge("offsite_pending_backups",
			"Backups the offsite copy lacks and would keep, after the last offsite run."),
		offsiteBackups: f.gauge("offsite_backups",
			"Backups the offsite copy holds after the last offsite run."),
		offsiteDeleted: f.counter("offsite_retention_deleted_backups_total",
			"Backups deleted from the offsite storage by its retention."),
		verifyRuns: f.counterVec("verify_runs_total",
			"Scheduled verification runs, by result (failure: an object was corrupt or missing, or the run failed).", LabelResult),
		verifyLastRun: f.gauge("verify_last_run_timestamp_seconds",
			"Unix time the last scheduled verification ended."),
		verifyLastSuccess: f.gauge("verify_last_success_timestamp_seconds",
			"Unix time the last scheduled verification that found nothing wrong ended."),
		verifyProblems: f.counterVec("verify_problems_total",
			"Objects verification found corrupt or missing (the log names backup and object).", LabelStorage, LabelProblem),
		verifyLastFailed: f.gaugeVec("verify_last_failed_objects",
			"Objects the last verification of the storage found corrupt or missing.", LabelStorage),
		verifyBytes: f.counter("verify_read_bytes_total",
			"Stored bytes read by scheduled verification."),
		restoreTests: f.counterVec("restore_tests_total",
			"Restore tests finished, by result.", LabelResult),
		restoreTestLastAttempt: f.gauge("restore_test_last_attempt_timestamp_seconds",
			"Unix time the last restore test ended."),
		restoreTestLastResult: f.gauge("restore_test_last_attempt_success",
			"1 if the last restore test passed, 0 if it failed."),
		restoreTestLastSuccess: f.gauge("restore_test_last_success_timestamp_seconds",
			"Unix time the last passing restore test ended: when a backup was last proven restorable."),
		restoreTestProven: f.gauge("restore_test_proven_backup_timestamp_seconds",
			"Unix start time of the newest backup a restore test proved restorable."),
		restoreTestDuration: f.gaugeVec("restore_test_restore_duration_seconds",
			"How long the target's restore took in the last restore test that restored it.", LabelTarget),
	}
	f.add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "offsite_oldest_pending_age_seconds",
		Help: "Age of the oldest backup the offsite copy lacks and would keep (0 when it lacks none): " +
			"how long the offsite copy has been behind. It grows while copies fail, whatever new backups arrive; alerts use it.",
		ConstLabels: f.constLabels}, func() float64 { return p.age(func() time.Time { return p.oldestWaiting }) }))
	f.add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "offsite_newest_pending_age_seconds",
		Help: "Age of the newest backup the offsite copy lacks and would keep (0 when it lacks none). " +
			"A new backup resets it, even while every copy fails: do not alert on it alone.",
		ConstLabels: f.constLabels}, func() float64 { return p.age(func() time.Time { return p.newestWaiting }) }))
	reg.MustRegister(f.collectors...)
	for _, r := range []string{ResultSuccess, ResultFailure} {
		p.offsiteCopies.WithLabelValues(r)
		p.verifyRuns.WithLabelValues(r)
		p.restoreTests.WithLabelValues(r)
	}
	return p
}

// age is how long ago the time end returns was, read under the lock; 0
// for a zero time.
func (p *Proving) age(end func() time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := end()
	if t.IsZero() {
		return 0
	}
	return max(p.now().Sub(t).Seconds(), 0)
}

// OffsiteRun is what one offsite run did, for OffsiteRun.
type OffsiteRun struct {
	End time.Time
	// Copied and Failed count backup copies; Bytes were streamed.
	Copied, Failed int
	Bytes          int64
	// Waiting backups the offsite copy still lacks and would keep; the
	// oldest of them ended at OldestWaiting, the newest at NewestWaiting
	// (zero when none).
	Waiting                      int
	OldestWaiting, NewestWaiting time.Time
	// Held is how many backups the offsite copy holds.
	Held int
	// OK: the run had no error. With none waiting it is a success.
	OK bool
}

// OffsiteRun records an offsite run.
func (p *Proving) OffsiteRun(r OffsiteRun) {
	p.offsiteCopies.WithLabelValues(ResultSuccess).Add(float64(r.Copied))
	p.offsiteCopies.WithLabelValues(ResultFailure).Add(float64(r.Failed))
	p.offsiteBytes.Add(float64(r.Bytes))
	p.offsitePending.Set(float64(r.Waiting))
	p.offsiteBackups.Set(float64(r.Held))
	if r.OK && r.Waiting == 0 {
		p.offsiteLastSuccess.Set(unix(r.End))
	}
	p.mu.Lock()
	p.oldestWaiting, p.newestWaiting = r.OldestWaiting, r.NewestWaiting
	p.mu.Unlock()
}

// OffsiteRetentionDeleted counts backups the offsite retention deleted.
func (p *Proving) OffsiteRetentionDeleted(n int) {
	if n > 0 {
		p.offsiteDeleted.Add(float64(n))
	}
}

// VerifyRun records one verification of one storage: the stored bytes
// read and the objects found corrupt and missing.
func (p *Proving) VerifyRun(storage string, bytes int64, corrupt, missing int) {
	p.verifyBytes.Add(float64(bytes))
	p.verifyProblems.WithLabelValues(storage, ProblemCorrupt).Add(float64(corrupt))
	p.verifyProblems.WithLabelValues(storage, ProblemMissing).Add(float64(missing))
	p.verifyLastFailed.WithLabelValues(storage).Set(float64(corrupt + missing))
}

// VerifyFinished records the end of a scheduled verification.
func (p *Proving) VerifyFinished(end time.Time, ok bool) {
	p.verifyLastRun.Set(unix(end))
	if ok {
		p.verifyLastSuccess.Set(unix(end))
		p.verifyRuns.WithLabelValues(ResultSuccess).Inc()
		return
	}
	p.verifyRuns.WithLabelValues(ResultFailure).Inc()
}

// RestoreTestFinished records a restore test that ended at end; when it
// passed, backupStart is the start of the backup it proved restorable.
func (p *Proving) RestoreTestFinished(end time.Time, passed bool, backupStart time.Time) {
	p.restoreTestLastAttempt.Set(unix(end))
	if !passed {
		p.restoreTestLastResult.Set(0)
		p.restoreTests.WithLabelValues(ResultFailure).Inc()
		return
	}
	p.restoreTestLastResult.Set(1)
	p.restoreTests.WithLabelValues(ResultSuccess).Inc()
	p.SeedProven(end, backupStart)
}

// SeedProven sets the "last proven restorable" gauges, e.g. at startup
// from the newest passing record in storage, so a restart does not read 0.
func (p *Proving) SeedProven(end, backupStart time.Time) {
	p.restoreTestLastSuccess.Set(unix(end))
	p.restoreTestProven.Set(unix(backupStart))
}

// RestoreTestDuration records how long a target's restore took.
func (p *Proving) RestoreTestDuration(target string, d time.Duration) {
	p.restoreTestDuration.WithLabelValues(target).Set(max(d.Seconds(), 0))
}
