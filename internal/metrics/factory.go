package metrics

import "github.com/prometheus/client_golang/prometheus"

// factory builds collectors with the definition's constant labels and
// remembers them for one MustRegister call.
type factory struct {
	constLabels prometheus.Labels
	collectors  []prometheus.Collector
}

func (f *factory) add(c prometheus.Collector) { f.collectors = append(f.collectors, c) }

func (f *factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help, ConstLabels: f.constLabels})
	f.add(g)
	return g
}

func (f *factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help, ConstLabels: f.constLabels}, labels)
	f.add(g)
	return g
}

func (f *factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help, ConstLabels: f.constLabels})
	f.add(c)
	return c
}

func (f *factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help, ConstLabels: f.constLabels}, labels)
	f.add(c)
	return c
}

func (f *factory) histogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help,
		ConstLabels: f.constLabels, Buckets: DurationBuckets})
	f.add(h)
	return h
}

func (f *factory) histogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help,
		ConstLabels: f.constLabels, Buckets: DurationBuckets}, labels)
	f.add(h)
	return h
}
