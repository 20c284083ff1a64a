package conversion

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// Metrics are the outbox's Prometheus metrics: counters kept by the worker
// and gauges read from the store at scrape time.
type Metrics struct {
	delivered *prometheus.CounterVec
	retried   *prometheus.CounterVec
	dead      *prometheus.CounterVec
	resent    *prometheus.CounterVec
	delay     prometheus.Histogram
}

// NewMetrics registers the outbox metrics of svc on reg.
func NewMetrics(reg prometheus.Registerer, svc *Service) *Metrics {
	m := &Metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_ads_conversions_delivered_total", Help: "Conversions WeChat accepted (errcode 0), by app.",
		}, []string{"app"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_ads_conversions_retried_total", Help: "Conversion delivery attempts that failed and were rescheduled, by app and failure class.",
		}, []string{"app", "class"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_ads_conversions_dead_total", Help: "Conversions moved to the dead letters (refused for good or out of retry budget), by app.",
		}, []string{"app"}),
		resent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shuyuan_ads_conversions_resent_total",
			Help: "Conversions sent again, with the same outer_action_id, after an attempt whose answer was lost or unclear " +
				"(class retry: transport failure, timeout, HTTP 5xx, system busy), which WeChat may have recorded; by app.",
		}, []string{"app"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "shuyuan_ads_conversion_delivery_seconds", Help: "Time from a conversion entering the outbox to WeChat accepting it.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
		}),
	}
	reg.MustRegister(m.delivered, m.retried, m.dead, m.resent, m.delay, &stateCollector{svc: svc})
	return m
}

func (m *Metrics) observe(app string, retried map[string]int, delivered, dead int, delays []float64) {
	if delivered > 0 {
		m.delivered.WithLabelValues(app).Add(float64(delivered))
	}
	for class, n := range retried {
		m.retried.WithLabelValues(app, class).Add(float64(n))
	}
	if dead > 0 {
		m.dead.WithLabelValues(app).Add(float64(dead))
	}
	for _, d := range delays {
		m.delay.Observe(d)
	}
}

// observeResends counts the rows of the batches just sent whose previous
// attempt failed with class retry: sent again after a lost answer.
func (m *Metrics) observeResends(app string, bs []batch) {
	n := 0
	for _, b := range bs {
		for _, c := range b.rows {
			if c.LastClass == wxads.ClassRetry.String() {
				n++
			}
		}
	}
	if n > 0 {
		m.resent.WithLabelValues(app).Add(float64(n))
	}
}

var (
	pendingDesc = prometheus.NewDesc("shuyuan_ads_conversions_pending",
		"Conversions waiting in the outbox to be delivered, by app.", []string{"app"}, nil)
	deadDesc = prometheus.NewDesc("shuyuan_ads_conversions_dead",
		"Conversions in the dead letters now (POST /wx/outbox/replay sends them again), by app.", []string{"app"}, nil)
	oldestDesc = prometheus.NewDesc("shuyuan_ads_oldest_pending_seconds",
		"Age of the oldest pending conversion, by app (0 when none).", []string{"app"}, nil)
)

// stateCollector reads the outbox's states from the store at scrape time,
// so the gauges are right across restarts.
type stateCollector struct{ svc *Service }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- deadDesc
	ch <- oldestDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.svc.Counts(ctx)
	if err != nil {
		c.svc.log.Error("ads outbox metrics", "error", err)
		return
	}
	seen := map[string]bool{}
	for _, n := range counts {
		seen[n.App] = true
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n.Pending), n.App)
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(n.Dead), n.App)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, n.OldestPendingSeconds, n.App)
	}
	for _, a := range c.svc.apps.Apps() {
		if Enabled(a) && !seen[a.ID] {
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, 0, a.ID)
			ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, 0, a.ID)
			ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, 0, a.ID)
		}
	}
}
