package relay

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Metrics are the relay's Prometheus metrics: counters kept by the worker
// (Observe) and, read from the store at scrape time, the rows waiting and
// the lag (the age of the oldest row not relayed yet) per app and kind.
type Metrics struct {
	sent *prometheus.CounterVec
	st   store.RelayStore
	now  func() time.Time
}

var (
	pendingDesc = prometheus.NewDesc("shuyuan_youshu_relay_pending", "Accepted data not relayed to Youshu yet, by app and kind.", []string{"app", "kind"}, nil)
	deadDesc    = prometheus.NewDesc("shuyuan_youshu_relay_dead", "Relay rows Youshu refused for good (dead letters), by app and kind.", []string{"app", "kind"}, nil)
	lagDesc     = prometheus.NewDesc("shuyuan_youshu_relay_lag_seconds", "Age of the oldest accepted data not relayed yet, by app and kind.", []string{"app", "kind"}, nil)
)

// NewMetrics registers the relay metrics on reg.
func NewMetrics(reg prometheus.Registerer, st store.RelayStore) *Metrics {
	m := &Metrics{sent: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shuyuan_youshu_relay_sent_total",
		Help: "Relay sends to Youshu by app, kind and outcome (delivered, retry, refused: dead-lettered).",
	}, []string{"app", "kind", "outcome"}), st: st, now: time.Now}
	reg.MustRegister(m.sent, m)
	return m
}

// Observe counts one send; it is Options.Observe.
func (m *Metrics) Observe(app, kind, outcome string) {
	m.sent.WithLabelValues(app, kind, outcome).Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- deadDesc
	ch <- lagDesc
}

// Collect implements prometheus.Collector: one read of the counts.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := m.st.RelayCounts(ctx)
	if err != nil {
		return // the scrape goes on without them; the store's own metrics say why
	}
	now := m.now()
	for _, c := range counts {
		switch c.Status {
		case store.RelayPending:
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(c.N), c.App, c.Kind)
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, now.Sub(c.OldestReceived).Seconds(), c.App, c.Kind)
		case store.RelayDead:
			ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(c.N), c.App, c.Kind)
		}
	}
}
