// Package metrics holds the runner daemon's Prometheus metrics for one
// backup definition. Every series carries the definition's namespace and name
// as constant labels, so one Prometheus scraping many runners can tell them
// apart without relabelling. docs/metrics.md lists the metrics and alerts.
//
// Metrics are registered on a Registerer the caller passes in, never on the
// global one, so tests and several definitions in one process do not clash.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
)

// Namespace is the prefix of every metric name.
const Namespace = "coffer"

// Label names.
const (
	LabelNamespace  = "namespace"
	LabelDefinition = "definition"
	LabelTarget     = "target"
	LabelRetention  = "label"
	LabelResult     = "result"
)

// Values of the result label.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// DurationBuckets span a small database dumped in a second to a large one
// taking most of a day: 1s .. 12h.
var DurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200}

// Metrics are one definition's metrics. Methods are safe for concurrent use.
type Metrics struct {
	gatherer prometheus.Gatherer

	targetLastSuccess *prometheus.GaugeVec
	targetLastAttempt *prometheus.GaugeVec
	targetLastResult  *prometheus.GaugeVec
	targetDuration    *prometheus.HistogramVec
	storedBytes       *prometheus.GaugeVec
	newStoredBytes    *prometheus.GaugeVec
	plainBytes        *prometheus.GaugeVec

	setLastSuccess prometheus.Gauge
	setLastAttempt prometheus.Gauge
	setLastResult  prometheus.Gauge
	setDuration    prometheus.Histogram

	kept             *prometheus.GaugeVec
	retentionDeleted prometheus.Counter
	leaseHeld        prometheus.Gauge
	nextRun          prometheus.Gauge
	restores         *prometheus.CounterVec
	orphansSwept     prometheus.Counter

	mu sync.Mutex
	// keptLabels are the retention labels ever reported, so a label that
	// drops out of a later report reads 0 instead of its stale count.
	keptLabels map[string]bool
}

// New registers the metrics of the definition namespace/definition on reg
// and returns them. A nil reg means a fresh registry of their own. Like
// MustRegister it panics if the same definition's metrics are registered
// twice on one registry: that is a programming error.
func New(reg prometheus.Registerer, namespace, definition string) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := factory{constLabels: prometheus.Labels{LabelNamespace: namespace, LabelDefinition: definition}}
	m := &Metrics{
		targetLastSuccess: f.gaugeVec("backup_last_success_timestamp_seconds",
			"Unix time the target's last successful backup ended.", LabelTarget),
		targetLastAttempt: f.gaugeVec("backup_last_attempt_timestamp_seconds",
			"Unix time the target's last backup attempt ended.", LabelTarget),
		targetLastResult: f.gaugeVec("backup_last_attempt_success",
			"1 if the target's last backup attempt succeeded, 0 if it failed.", LabelTarget),
		targetDuration: f.histogramVec("backup_duration_seconds",
			"Duration of the target's successful backups.", LabelTarget),
		storedBytes: f.gaugeVec("backup_stored_bytes",
			"Bytes stored (compressed, encrypted) by the target's last successful backup.", LabelTarget),
		newStoredBytes: f.gaugeVec("backup_new_stored_bytes",
			"Bytes the target's last successful backup added to the storage: all it stored in format 1, only its new chunks in format 2.", LabelTarget),
		plainBytes: f.gaugeVec("backup_plain_bytes",
			"Bytes of the dump, before compression, of the target's last successful backup.", LabelTarget),
		setLastSuccess: f.gauge("backup_set_last_success_timestamp_seconds",
			"Unix time the last Completed backup set ended."),
		setLastAttempt: f.gauge("backup_set_last_attempt_timestamp_seconds",
			"Unix time the last backup set attempt ended."),
		setLastResult: f.gauge("backup_set_last_attempt_success",
			"1 if the last backup set completed, 0 if it failed."),
		setDuration: f.histogram("backup_set_duration_seconds",
			"Duration of Completed backup sets, first target start to last target end."),
		kept: f.gaugeVec("backups_kept",
			"Backups holding the retention label after the last retention run.", LabelRetention),
		retentionDeleted: f.counter("retention_deleted_backups_total",
			"Backups deleted by retention."),
		leaseHeld: f.gauge("lease_held",
			"1 while this runner holds the definition's single-writer lease, else 0."),
		nextRun: f.gauge("next_run_timestamp_seconds",
			"Unix time of the next scheduled backup; 0 when none is scheduled."),
		restores: f.counterVec("restores_total",
			"Restores finished, by result.", LabelResult),
		orphansSwept: f.counter("orphan_objects_swept_total",
			"Objects without a manifest deleted by the orphan sweeper."),
		keptLabels: map[string]bool{},
	}
	reg.MustRegister(f.collectors...)
	// Both results exist from the start, so increase() sees the first one.
	m.restores.WithLabelValues(ResultSuccess)
	m.restores.WithLabelValues(ResultFailure)
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m
}

// Handler serves the registry's metrics in the Prometheus exposition format.
// It needs the Registerer given to New to be a Gatherer too, as
// *prometheus.Registry is; otherwise it answers 500.
func (m *Metrics) Handler() http.Handler {
	if m.gatherer == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics registerer cannot be gathered", http.StatusInternalServerError)
		})
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// BackupSucceeded records a target's successful backup: it ran from start to
// end and stored stored bytes from a dump of plain bytes.
func (m *Metrics) BackupSucceeded(target string, start, end time.Time, stored, plain int64) {
	m.targetLastSuccess.WithLabelValues(target).Set(unix(end))
	m.targetLastAttempt.WithLabelValues(target).Set(unix(end))
	m.targetLastResult.WithLabelValues(target).Set(1)
	m.targetDuration.WithLabelValues(target).Observe(seconds(start, end))
	m.storedBytes.WithLabelValues(target).Set(float64(stored))
	m.plainBytes.WithLabelValues(target).Set(float64(plain))
}

// TargetStored records what a target of a successful backup in the given
// format version added to the storage (AddedBytes), beside
// BackupSucceeded's sizes.
func (m *Metrics) TargetStored(format int, t manifest.Target) {
	m.newStoredBytes.WithLabelValues(t.Name).Set(float64(AddedBytes(format, t)))
}

// AddedBytes is what a committed target added to the storage: in format 1
// its whole stored size; in format 2 the chunks it uploaded, not those it
// shares with earlier backups (Size counts those too). It reads no chunk
// list, so a listing's summary gives the same answer.
func AddedBytes(format int, t manifest.Target) int64 {
	if format != manifest.FormatChunked {
		return t.Size
	}
	return t.NewSize
}

// BackupFailed records a target's failed backup attempt that ended at end.
// The last success and sizes keep their values.
func (m *Metrics) BackupFailed(target string, end time.Time) {
	m.targetLastAttempt.WithLabelValues(target).Set(unix(end))
	m.targetLastResult.WithLabelValues(target).Set(0)
}

// BackupSetSucceeded records a Completed backup set.
func (m *Metrics) BackupSetSucceeded(start, end time.Time) {
	m.setLastSuccess.Set(unix(end))
	m.setLastAttempt.Set(unix(end))
	m.setLastResult.Set(1)
	m.setDuration.Observe(seconds(start, end))
}

// BackupSetFailed records a Failed backup set that ended at end.
func (m *Metrics) BackupSetFailed(end time.Time) {
	m.setLastAttempt.Set(unix(end))
	m.setLastResult.Set(0)
}

// SeedLastSuccess sets the last-success and size gauges from b, the newest
// Completed backup found in storage, typically at startup: without it a
// restarted runner would report its last success as 0 (1970) and trip the
// "no backup for 26h" alert. Attempt results and histograms are left alone:
// they describe this process's attempts. A nil or non-Completed b does
// nothing.
func (m *Metrics) SeedLastSuccess(b *manifest.Manifest) {
	if b == nil || b.Status != phase.Completed {
		return
	}
	m.setLastSuccess.Set(unix(b.EndTime))
	for _, t := range b.Targets {
		m.targetLastSuccess.WithLabelValues(t.Name).Set(unix(t.EndTime))
		m.storedBytes.WithLabelValues(t.Name).Set(float64(t.Size))
		m.plainBytes.WithLabelValues(t.Name).Set(float64(t.PlainSize))
		m.TargetStored(b.FormatVersion, t)
	}
}

// RetentionApplied records a retention run: how many backups hold each label
// afterwards, and how many it deleted. Labels reported before but missing
// from keptPerLabel are set to 0.
func (m *Metrics) RetentionApplied(keptPerLabel map[string]int, deleted int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for label := range m.keptLabels {
		if _, ok := keptPerLabel[label]; !ok {
			m.kept.WithLabelValues(label).Set(0)
		}
	}
	for label, n := range keptPerLabel {
		m.keptLabels[label] = true
		m.kept.WithLabelValues(label).Set(float64(n))
	}
	if deleted > 0 {
		m.retentionDeleted.Add(float64(deleted))
	}
}

// SetLeaseHeld records whether this runner holds the single-writer lease.
func (m *Metrics) SetLeaseHeld(held bool) {
	if held {
		m.leaseHeld.Set(1)
		return
	}
	m.leaseHeld.Set(0)
}

// SetNextRun records when the next scheduled backup starts; the zero time
// (suspended, no schedule) records 0.
func (m *Metrics) SetNextRun(t time.Time) { m.nextRun.Set(unix(t)) }

// RestoreFinished counts a finished restore by result.
func (m *Metrics) RestoreFinished(ok bool) {
	result := ResultFailure
	if ok {
		result = ResultSuccess
	}
	m.restores.WithLabelValues(result).Inc()
}

// OrphansSwept counts objects the orphan sweeper deleted.
func (m *Metrics) OrphansSwept(n int) {
	if n > 0 {
		m.orphansSwept.Add(float64(n))
	}
}

// seconds is the duration from start to end, never negative: a clock step
// must not put a backup below every bucket.
func seconds(start, end time.Time) float64 {
	return max(end.Sub(start).Seconds(), 0)
}

// unix is t in Unix seconds with sub-second precision; the zero time is 0,
// not year 1.
func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
