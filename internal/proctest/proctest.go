// Package proctest helps tests that run scanin's servers as processes, the
// way a user starts them: collecting their output, and waiting until they
// serve.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Output collects a process's output for test logs. exec's copying
// goroutines write it while the test reads it, so it locks.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// WaitHealthy polls base's /healthz until it answers 200. It fails when
// exited closes first (the process ended) or ctx ends. Polling is the only
// way to see a separate process start listening.
func WaitHealthy(ctx context.Context, base string, exited <-chan struct{}) error {
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("failed to make the /healthz request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited before %s/healthz answered", base)
		case <-ctx.Done():
			return fmt.Errorf("%s/healthz did not answer 200: %w", base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
