// Package leaktest fails a test binary whose goroutines outlive its tests,
// as coder/websocket's TestMain does. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(leaktest.Main(m)) }
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// settle is how long goroutines get to finish after the tests, so that
// connections being torn down are not reported.
const settle = 5 * time.Second

// Main runs the tests and then Check, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	if code == 0 {
		if err := Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// Check reports the goroutines still running, other than the test
// framework's and the runtime's own, once they have had time to settle.
func Check() error {
	deadline := time.Now().Add(settle)
	for {
		leaked := running()
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked %d goroutines:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		// Polling is the only way to observe other goroutines ending.
		time.Sleep(20 * time.Millisecond)
	}
}

func running() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leaktest.running") || strings.Contains(g, "testing.(*M).") ||
			strings.Contains(g, "os/signal.") || strings.Contains(g, "runtime.ensureSigM") {
			continue
		}
		leaked = append(leaked, g)
	}
	return leaked
}
