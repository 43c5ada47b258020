package coverage

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label names of the coverage metrics. namespace and definition mean what
// they mean on the runner's metrics; persistentvolumeclaim is the name
// kube-state-metrics uses, so the two join.
const (
	LabelNamespace  = "namespace"
	LabelClaim      = "persistentvolumeclaim"
	LabelDefinition = "definition"
	LabelState      = "state"
)

var (
	claimLabels = []string{LabelNamespace, LabelClaim, LabelState}
	defLabels   = []string{LabelNamespace, LabelDefinition}

	descClaimState  = prometheus.NewDesc("coffer_pvc_coverage_state", "1 for the coverage state the PersistentVolumeClaim is in, 0 for the other three.", claimLabels, nil)
	descClaims      = prometheus.NewDesc("coffer_coverage_pvcs", "PersistentVolumeClaims in the cluster in each coverage state.", []string{LabelState}, nil)
	descLastSuccess = prometheus.NewDesc("coffer_definition_last_success_timestamp_seconds", "Start of the definition's newest Completed backup; 0 if none.", defLabels, nil)
	descNextRun     = prometheus.NewDesc("coffer_definition_next_run_timestamp_seconds", "Next scheduled backup of the definition; 0 when none is scheduled (suspended, no schedule).", defLabels, nil)
	descStaleAt     = prometheus.NewDesc("coffer_definition_stale_timestamp_seconds", "When the definition goes stale unless a backup completes first: the next backup is expected before it; 0 if it cannot be told.", defLabels, nil)
	descStale       = prometheus.NewDesc("coffer_definition_stale", "1 if the definition's newest Completed backup is older than its schedule and spec.coverage.staleAfter allow.", defLabels, nil)
	descFailing     = prometheus.NewDesc("coffer_definition_failing", "1 if the definition's newest finished backup failed or it is not Ready.", defLabels, nil)
	descSuspended   = prometheus.NewDesc("coffer_definition_suspended", "1 if the definition is suspended.", defLabels, nil)
	descCovered     = prometheus.NewDesc("coffer_definition_covered_pvcs", "PersistentVolumeClaims the definition backs up or covers.", defLabels, nil)
	descProtected   = prometheus.NewDesc("coffer_definition_protected_pvcs", "PersistentVolumeClaims the definition protects (covers while fresh, not suspended, not failing).", defLabels, nil)
	descReachable   = prometheus.NewDesc("coffer_definition_runner_reachable", "1 if the controller reached the definition's runner at its last try; absent for a definition that may not run.", defLabels, nil)
)

// Metrics exports a Store's reports and counts what the controller does
// with them. Register it on the controller's registry.
type Metrics struct {
	store *Store
	// Transitions counts claims entering a state (a new claim counts too).
	Transitions *prometheus.CounterVec
	// Duration of one namespace's computation, reading its inputs included.
	Duration prometheus.Histogram
}

// NewMetrics exports store.
func NewMetrics(store *Store) *Metrics {
	return &Metrics{
		store: store,
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "coffer_coverage_transitions_total",
			Help: "PersistentVolumeClaims entering a coverage state, new claims included."}, []string{LabelState}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "coffer_coverage_computation_duration_seconds",
			Help:    "Time to read one namespace's claims, definitions and backups and compute their coverage.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5}}),
	}
}

// Register adds every coverage metric to reg. Metrics registered before by
// another Metrics (a second manager set up in the same process, as tests
// do) are replaced: the newest store is the one exported.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m, m.Transitions, m.Duration} {
		err := reg.Register(c)
		if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
			reg.Unregister(are.ExistingCollector)
			err = reg.Register(c)
		}
		if err != nil {
			return err
		}
	}
	for _, s := range States { // every series exists from the start, at 0
		m.Transitions.WithLabelValues(string(s))
	}
	return nil
}

// Observe counts a namespace's changes and how long it took.
func (m *Metrics) Observe(changes []Change, took time.Duration) {
	for _, c := range changes {
		m.Transitions.WithLabelValues(string(c.Claim.State)).Inc()
	}
	m.Duration.Observe(took.Seconds())
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descClaimState, descClaims, descLastSuccess, descNextRun, descStaleAt,
		descStale, descFailing, descSuspended, descCovered, descProtected, descReachable} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one series per claim and state,
// a few per definition, read from the newest reports.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	totals := make(map[State]int, len(States))
	m.store.each(func(r *Report) {
		for _, c := range r.Claims {
			totals[c.State]++
			for _, s := range States {
				ch <- gauge(descClaimState, bit(c.State == s), c.Namespace, c.Name, string(s))
			}
		}
		for i := range r.Definitions {
			collectDefinition(ch, &r.Definitions[i])
		}
	})
	for _, s := range States {
		ch <- gauge(descClaims, float64(totals[s]), string(s))
	}
}

func collectDefinition(ch chan<- prometheus.Metric, d *DefinitionReport) {
	l := []string{d.Namespace, d.Name}
	ch <- gauge(descLastSuccess, seconds(d.LastSuccess), l...)
	ch <- gauge(descNextRun, seconds(d.NextRun), l...)
	ch <- gauge(descStaleAt, seconds(d.StaleAt), l...)
	ch <- gauge(descStale, bit(d.Stale), l...)
	ch <- gauge(descFailing, bit(d.Failing), l...)
	ch <- gauge(descSuspended, bit(d.Suspended), l...)
	ch <- gauge(descCovered, float64(d.CoveredPVCs), l...)
	ch <- gauge(descProtected, float64(d.ProtectedPVCs), l...)
	if d.RunnerReachable != nil && !d.Blocked {
		ch <- gauge(descReachable, bit(*d.RunnerReachable), l...)
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(t *time.Time) float64 {
	if t == nil {
		return 0
	}
	return float64(t.Unix())
}
