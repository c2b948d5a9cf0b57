package redistest_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/leaktest"
	"github.com/scanin/scanin/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Main(m)) }

func do(t *testing.T, s *redistest.Server, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := s.Do(ctx, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

func TestStartAnswersAndURL(t *testing.T) {
	s := redistest.Start(t)
	if got, want := s.URL(), fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port()); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if s.Port() == 6379 {
		t.Errorf("port 6379: want a free port, not the default")
	}
	if got := do(t, s, "PING"); got != "PONG" {
		t.Errorf("PING = %q", got)
	}
	if got := do(t, s, "SET", "k", "v w"); got != "OK" {
		t.Errorf("SET = %q", got)
	}
	if got := do(t, s, "GET", "k"); got != "v w" {
		t.Errorf("GET = %q", got)
	}
	if got := do(t, s, "INCR", "n"); got != "1" {
		t.Errorf("INCR = %q", got)
	}
	if got := do(t, s, "GET", "missing"); got != "" {
		t.Errorf("GET missing = %q", got)
	}
	// No persistence unless asked.
	if got := do(t, s, "CONFIG", "GET", "appendonly"); got != "appendonly\nno" {
		t.Errorf("CONFIG GET appendonly = %q", got)
	}
	if got := do(t, s, "CONFIG", "GET", "save"); got != "save\n" {
		t.Errorf("CONFIG GET save = %q", got)
	}
	// A Redis error is an error.
	ctx := context.Background()
	if _, err := s.Do(ctx, "NOSUCHCOMMAND"); err == nil || !strings.Contains(err.Error(), "redis error") {
		t.Errorf("an unknown command: err = %v, want a redis error", err)
	}
	if _, err := s.Do(ctx); err == nil {
		t.Errorf("Do with no command: no error")
	}
}

func TestTwoServersTwoPorts(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Port() == b.Port() {
		t.Fatalf("both on port %d", a.Port())
	}
	do(t, a, "SET", "k", "a")
	if got := do(t, b, "GET", "k"); got != "" {
		t.Errorf("b sees a's key: %q", got)
	}
}

func TestStopStartSamePort(t *testing.T) {
	s := redistest.Start(t)
	port, pid := s.Port(), s.PID()
	do(t, s, "SET", "k", "v")
	s.Stop()
	if s.PID() != 0 {
		t.Errorf("PID after Stop = %d, want 0", s.PID())
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still runs after Stop", pid)
	}
	// Stopped: connections are refused.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.Do(ctx, "PING"); err == nil {
		t.Fatalf("PING answered while stopped")
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts connections while stopped", s.Addr())
	}
	s.Stop() // stopping twice does nothing

	s.Start()
	if s.Port() != port {
		t.Errorf("port after restart = %d, want %d", s.Port(), port)
	}
	if s.PID() == 0 || s.PID() == pid {
		t.Errorf("PID after restart = %d (before: %d)", s.PID(), pid)
	}
	// Not persistent: the restarted server is empty.
	if got := do(t, s, "GET", "k"); got != "" {
		t.Errorf("GET after restart = %q, want nothing (no persistence)", got)
	}
	s.Restart()
	if got := do(t, s, "PING"); got != "PONG" {
		t.Errorf("PING after Restart = %q", got)
	}
}

func TestPersistSurvivesKill(t *testing.T) {
	s := redistest.StartWith(t, redistest.Options{Persist: true})
	do(t, s, "SET", "k", "kept")
	s.Kill()
	s.Start()
	if got := do(t, s, "GET", "k"); got != "kept" {
		t.Errorf("GET after kill -9 and start = %q, want kept", got)
	}
}

func TestArgs(t *testing.T) {
	s := redistest.StartWith(t, redistest.Options{Args: []string{"--maxmemory", "2mb"}})
	if got := do(t, s, "CONFIG", "GET", "maxmemory"); got != "maxmemory\n2097152" {
		t.Errorf("CONFIG GET maxmemory = %q", got)
	}
}

// fakeTB records a Fatal or Skip instead of ending the test, to check
// what StartWith does with a bad configuration.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(f)
}

func TestBadArgsFailClearly(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server is not installed")
	}
	f := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(f) {
				panic(r)
			}
		}()
		redistest.StartWith(f, redistest.Options{Args: []string{"--no-such-option", "1"}})
	}()
	if !strings.Contains(f.fatal, "did not start") {
		t.Errorf("a bad option: fatal = %q, want 'did not start' with redis-server's output", f.fatal)
	}
}
