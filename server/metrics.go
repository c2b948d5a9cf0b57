package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scanin/scanin/protocol"
)

// metrics are the relay's Prometheus metrics, on a registry of the relay's
// own (never the client library's global one), with the Go runtime's and
// the process's metrics beside them: goroutines, memory, GC, open file
// descriptors.
type metrics struct {
	reg       *prometheus.Registry
	handler   http.Handler
	sessions  prometheus.Counter // sessions started
	listeners prometheus.Gauge   // receivers attached right now
	latency   prometheus.Histogram
	// handoffs and errors hold one counter per label value, made once:
	// the maps are only read after newMetrics.
	handoffs map[string]prometheus.Counter // by outcome, one of handoffOutcomes
	errors   map[protocol.Code]prometheus.Counter
}

// newMetrics registers the relay's metrics; live reads the number of
// sessions that have not ended.
func newMetrics(live func() int64) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scanin_sessions_total", Help: "Sessions started.",
		}),
		listeners: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scanin_listeners", Help: "Receivers attached right now.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scanin_delivery_latency_seconds",
			Help:    "Time from accepting a POST to the receiver's ack.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		handoffs: make(map[string]prometheus.Counter),
		errors:   make(map[protocol.Code]prometheus.Counter),
	}
	handoffs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scanin_handoffs_total",
		Help: "Handoff events by outcome: delivered, denied and expired sessions, rejected messages, pending answers.",
	}, []string{"outcome"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scanin_errors_total", Help: "Error answers by protocol code.",
	}, []string{"code"})
	// Every label value exists from the start, so a dashboard sees zeros
	// rather than missing series.
	for _, o := range handoffOutcomes() {
		m.handoffs[o] = handoffs.WithLabelValues(o)
	}
	for _, c := range protocol.Codes {
		m.errors[c] = errs.WithLabelValues(string(c))
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scanin_live_sessions", Help: "Sessions that have not ended.",
		}, func() float64 { return float64(live()) }),
		m.sessions, m.listeners, m.latency, handoffs, errs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	m.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
	return m
}

// handoff counts an outcome, one of handoffOutcomes.
func (m *metrics) handoff(outcome string) {
	if c := m.handoffs[outcome]; c != nil {
		c.Inc()
	}
}

// errorCode counts an error answer.
func (m *metrics) errorCode(c protocol.Code) {
	if n := m.errors[c]; n != nil {
		n.Inc()
	}
}

// handoffOutcomes label scanin_handoffs_total in the protocol's words: the
// pending answer to a POST, the states a session ends in, and a message the
// receiver rejected, named by the error code its sender gets.
func handoffOutcomes() []string {
	var out []string
	for _, s := range protocol.States {
		if s == protocol.StatePending || s.Ended() {
			out = append(out, string(s))
		}
	}
	return append(out, string(protocol.CodeRejected))
}

// MetricsHandler serves the relay's metrics in Prometheus' exposition
// format: the scanin_* metrics, and the Go runtime's (go_*) and the
// process's (process_*). Handler serves it at /metrics too, unless
// Config.SeparateMetrics is set: then it is the caller's to serve, on a
// listener of its own that need not be public.
func (rl *Relay) MetricsHandler() http.Handler { return rl.metrics.handler }
