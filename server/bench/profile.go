package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Hooks let a caller act at the measured moments, for example to take a
// profile of the relay. Nil fields do nothing.
type Hooks struct {
	// Deliveries is called in MeasureLatency just before the timed
	// deliveries; the function it returns is called just after them.
	Deliveries func() (after func())
	// Waiting is called in MeasureRSS while the n receivers wait, after the
	// RSS reading.
	Waiting func(p *Proc)
	// RunQueueWait is told, after MeasureLatency's deliveries, how long the
	// relay's threads waited for a CPU during them (see RunQueueWait).
	RunQueueWait func(time.Duration)
}

// StartCPUProfile starts a CPU profile in a relay that serves its profiling
// endpoints (Proc.DebugAddr); stop ends it and returns the profile.
func StartCPUProfile(ctx context.Context, p *Proc) (stop func() ([]byte, error), err error) {
	if _, err := debugCall(ctx, p, "POST", "/debug/cpu/start"); err != nil {
		return nil, err
	}
	return func() ([]byte, error) { return debugCall(ctx, p, "POST", "/debug/cpu/stop") }, nil
}

// HeapProfile collects the garbage and returns the relay's heap profile.
func HeapProfile(ctx context.Context, p *Proc) ([]byte, error) {
	if _, err := debugCall(ctx, p, "POST", "/debug/gc"); err != nil {
		return nil, err
	}
	return debugCall(ctx, p, "GET", "/debug/pprof/heap")
}

// MemStats returns the relay's runtime.MemStats, as the text at the end of
// net/http/pprof's heap page.
func MemStats(ctx context.Context, p *Proc) ([]byte, error) {
	b, err := debugCall(ctx, p, "GET", "/debug/pprof/heap?debug=1")
	if err != nil {
		return nil, err
	}
	if i := bytes.Index(b, []byte("\n# runtime.MemStats")); i >= 0 {
		b = b[i+1:]
	}
	return b, nil
}

// GoroutineProfile returns the relay's goroutine profile.
func GoroutineProfile(ctx context.Context, p *Proc) ([]byte, error) {
	return debugCall(ctx, p, "GET", "/debug/pprof/goroutine")
}

func debugCall(ctx context.Context, p *Proc, method, path string) ([]byte, error) {
	if p.DebugAddr == "" {
		return nil, fmt.Errorf("the relay does not serve its profiling endpoints")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.DebugAddr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to call %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}
