package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Metrics are shuyuan's Prometheus metrics.
type Metrics struct {
	Registry    *prometheus.Registry
	Requests    *prometheus.CounterVec
	Latency     *prometheus.HistogramVec
	Events      *prometheus.CounterVec
	CommitTime  prometheus.Histogram
	CommitFails prometheus.Counter
	// loaded counts the events the intake loader stored (its rate).
	loaded prometheus.Counter

	// writes is what readiness knows of this node's writes.
	writes writeHealth
	now    func() time.Time
}

// NewMetrics registers the metrics on reg; the writer's queue depth is read
// at scrape time.
func NewMetrics(reg *prometheus.Registry, w *store.Writer) *Metrics {
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shuyuan_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_events_total", Help: "SDK events by app and outcome (accepted, quarantined, deduplicated).",
		}, []string{"app", "outcome"}),
		CommitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "shuyuan_batch_commit_seconds", Help: "Time to commit one group-commit flush.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		CommitFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shuyuan_batch_commit_failures_total", Help: "Group-commit flushes that failed.",
		}),
	}
	m.loaded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shuyuan_intake_loaded_events_total", Help: "Events (and quarantined ones) the intake loader stored.",
	})
	m.now = time.Now
	reg.MustRegister(m.Requests, m.Latency, m.Events, m.CommitTime, m.CommitFails,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shuyuan_store_writable", Help: "1 when the latest write (group commit or readiness probe) succeeded, else 0.",
		}, func() float64 {
			if m.writes.known() != nil {
				return 0
			}
			return 1
		}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if w != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shuyuan_writer_queue_events", Help: "Events handed to the writer and not yet committed.",
		}, func() float64 { return float64(w.Waiting()) }))
	}
	return m
}

// ObserveCommit is the writer's OnCommit hook; readiness follows its
// outcomes.
func (m *Metrics) ObserveCommit(_ int, took time.Duration, _ []store.EventResult, err error) {
	m.CommitTime.Observe(took.Seconds())
	if err != nil {
		m.CommitFails.Inc()
	}
	m.writes.commit(m.now(), err)
}

// ObserveLoad is the intake loader's OnLoad hook: the events it stored
// per app, and its commits as the writer's are (readiness follows them).
func (m *Metrics) ObserveLoad(batches []*store.EventBatch, results []store.EventResult, took time.Duration, err error) {
	n := 0
	for i, b := range batches {
		n += len(b.Events) + len(b.Quarantined)
		if err == nil && i < len(results) {
			m.observeEvents(b.AppID, results[i])
		}
	}
	m.ObserveCommit(n, took, results, err)
	if err == nil {
		m.loaded.Add(float64(n))
	}
}

// WatchIntake adds the intake log's backlog to the metrics, read at
// scrape time.
func (m *Metrics) WatchIntake(l *intake.Log) {
	gauge := func(name, help string, f func(intake.Backlog) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(l.Backlog()) })
	}
	m.Registry.MustRegister(
		gauge("shuyuan_intake_backlog_bytes", "Bytes of acknowledged uploads in the intake log not yet stored.",
			func(b intake.Backlog) float64 { return float64(b.Bytes) }),
		gauge("shuyuan_intake_backlog_uploads", "Acknowledged uploads in the intake log not yet stored.",
			func(b intake.Backlog) float64 { return float64(b.Records) }),
		gauge("shuyuan_intake_oldest_unloaded_seconds", "Age of the oldest acknowledged upload not yet stored (the loader's lag; 0 when caught up).",
			func(b intake.Backlog) float64 {
				if b.Oldest.IsZero() {
					return 0
				}
				return m.now().Sub(b.Oldest).Seconds()
			}),
		m.loaded,
	)
}

func (m *Metrics) observeEvents(app string, r store.EventResult) {
	m.Events.WithLabelValues(app, "accepted").Add(float64(r.Accepted))
	m.Events.WithLabelValues(app, "quarantined").Add(float64(r.Quarantined))
	m.Events.WithLabelValues(app, "deduplicated").Add(float64(r.Duplicates))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
