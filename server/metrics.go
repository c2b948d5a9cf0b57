package server

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanin/scanin/protocol"
)

// metrics are the relay's counters, written in Prometheus' text format by
// hand: a handful of atomics need no client library.
type metrics struct {
	sessions  atomic.Int64 // sessions started
	listeners atomic.Int64 // receivers attached right now
	mu        sync.Mutex
	handoffs  map[string]int64 // by outcome, one of handoffOutcomes
	errors    map[protocol.Code]int64
	latency   histogram
}

func newMetrics() *metrics {
	return &metrics{
		handoffs: make(map[string]int64),
		errors:   make(map[protocol.Code]int64),
		latency:  histogram{bounds: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}},
	}
}

// handoff counts an outcome, one of handoffOutcomes.
func (m *metrics) handoff(outcome string) {
	m.mu.Lock()
	m.handoffs[outcome]++
	m.mu.Unlock()
}

func (m *metrics) errorCode(c protocol.Code) {
	m.mu.Lock()
	m.errors[c]++
	m.mu.Unlock()
}

// histogram counts observations in cumulative buckets, in seconds.
type histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []int64 // per bucket, not cumulative; one more for +Inf
	sum    float64
	n      int64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = make([]int64, len(h.bounds)+1)
	}
	i := 0
	for i < len(h.bounds) && s > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += s
	h.n++
}

func (h *histogram) write(b *bytes.Buffer, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var cum int64
	for i, bound := range h.bounds {
		if h.counts != nil {
			cum += h.counts[i]
		}
		b.WriteString(name + `_bucket{le="` + strconv.FormatFloat(bound, 'g', -1, 64) + `"} ` + strconv.FormatInt(cum, 10) + "\n")
	}
	b.WriteString(name + `_bucket{le="+Inf"} ` + strconv.FormatInt(h.n, 10) + "\n")
	b.WriteString(name + "_sum " + strconv.FormatFloat(h.sum, 'g', -1, 64) + "\n")
	b.WriteString(name + "_count " + strconv.FormatInt(h.n, 10) + "\n")
}

// handoffOutcomes label scanin_handoffs_total in the protocol's words: the
// pending answer to a POST, the states a session ends in, and a message the
// receiver rejected, named by the error code its sender gets. They are
// always written, so a dashboard sees zeros rather than missing series.
var handoffOutcomes = func() []string {
	var out []string
	for _, s := range protocol.States {
		if s == protocol.StatePending || s.Ended() {
			out = append(out, string(s))
		}
	}
	return append(out, string(protocol.CodeRejected))
}()

func (rl *Relay) serveMetrics(w http.ResponseWriter, r *http.Request) {
	m := rl.metrics
	var b bytes.Buffer
	gauge := func(name, help string, v int64) {
		b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + strconv.FormatInt(v, 10) + "\n")
	}
	gauge("scanin_live_sessions", "Sessions that have not ended.", rl.live.Load())
	gauge("scanin_listeners", "Receivers attached right now.", m.listeners.Load())
	b.WriteString("# HELP scanin_sessions_total Sessions started.\n# TYPE scanin_sessions_total counter\n")
	b.WriteString("scanin_sessions_total " + strconv.FormatInt(m.sessions.Load(), 10) + "\n")

	m.mu.Lock()
	b.WriteString("# HELP scanin_handoffs_total Handoff events by outcome: delivered, denied and expired sessions, rejected messages, pending answers.\n# TYPE scanin_handoffs_total counter\n")
	for _, o := range handoffOutcomes {
		b.WriteString(`scanin_handoffs_total{outcome="` + o + `"} ` + strconv.FormatInt(m.handoffs[o], 10) + "\n")
	}
	b.WriteString("# HELP scanin_errors_total Error answers by protocol code.\n# TYPE scanin_errors_total counter\n")
	for _, c := range protocol.Codes {
		b.WriteString(`scanin_errors_total{code="` + string(c) + `"} ` + strconv.FormatInt(m.errors[c], 10) + "\n")
	}
	m.mu.Unlock()

	b.WriteString("# HELP scanin_delivery_latency_seconds Time from accepting a POST to the receiver's ack.\n# TYPE scanin_delivery_latency_seconds histogram\n")
	m.latency.write(&b, "scanin_delivery_latency_seconds")

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}
