// Package redistest runs a real redis-server for tests: Debian's package,
// on a free loopback port, in the test's temporary directory, stopped when
// the test ends. A test can stop and start it again on the same port, to
// see what the code under test does while Redis is away and after it
// comes back.
//
//	srv := redistest.Start(t)
//	relay := newRelay(srv.URL())
//	srv.Stop()  // Redis is down
//	srv.Start() // and back, on the same port
//
// Without redis-server on the machine the test is skipped, with the
// command that installs it; under CI (CI=true) it fails instead, because
// CI installs it (.ci/run).
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/internal/rediscmd"
)

// InstallHint is the command that installs redis-server on Debian.
const InstallHint = rediscmd.InstallHint

// startTimeout bounds how long redis-server gets to answer PING, and
// stopTimeout how long it gets to exit on SIGTERM before it is killed.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options changes how the server runs. The zero value is what most tests
// want: nothing written to disk.
type Options struct {
	// Persist keeps the data across Stop, Kill and Start: an append-only
	// file fsynced on every write, so that even Kill loses nothing. Without
	// it every Start begins empty.
	Persist bool
	// Args are further redis-server arguments, e.g. "--maxmemory", "1mb".
	Args []string
}

// Server is one redis-server process (or none, between Stop and Start)
// that keeps its port and directory across restarts.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	opt  Options

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited and been waited for
	out    *proctest.Output
	logs   []*proctest.Output // every run's output, for the test's log on failure
}

// Binary returns the path of redis-server: the one on PATH, else Debian's
// /usr/bin/redis-server. It returns an error naming InstallHint when there
// is none.
func Binary() (string, error) { return rediscmd.ServerBinary() }

// Available reports whether redis-server is installed. Under CI it is
// expected to be, so callers that skip without it should use Start, which
// fails instead.
func Available() bool {
	_, err := Binary()
	return err == nil
}

// Start starts a redis-server with no persistence and waits until it
// answers PING. It is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI installs it in .ci/run)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), opt: opt}
	t.Cleanup(func() {
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Errorf("redistest: %v", err)
		}
		if t.Failed() {
			for i, o := range s.logs {
				t.Logf("redis-server output (run %d):\n%s", i+1, o.String())
			}
		}
	})
	// The port is free when we look, but another process may take it
	// before redis-server binds it; then redis-server exits and we try a
	// new one.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = port
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

// URL is the server's address as a redis:// URL for database 0, e.g.
// redis://127.0.0.1:6390/0.
func (s *Server) URL() string {
	return fmt.Sprintf("redis://%s/0", s.Addr())
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Port is the server's TCP port, the same across restarts.
func (s *Server) Port() int { return s.port }

// Dir is the server's working directory, where a persistent server keeps
// its append-only file.
func (s *Server) Dir() string { return s.dir }

// PID is the running server's process id, or 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop shuts the server down with SIGTERM (killing it if it does not exit
// in time) and waits until it has exited. Clients see their connections
// closed and new ones refused. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(syscall.SIGTERM); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits until it
// has exited.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.stop(syscall.SIGKILL); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// answers PING. Starting a running server is an error.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// Restart is Stop then Start.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

func (s *Server) args() []string {
	a := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
		"--save", "",
		"--databases", "16",
	}
	if s.opt.Persist {
		a = append(a, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		a = append(a, "--appendonly", "no")
	}
	return append(a, s.opt.Args...)
}

func (s *Server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("redis-server on %s is already running", s.Addr())
	}
	out := &proctest.Output{}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("failed to start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.logs = append(s.logs, out)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.waitReady(ctx, exited); err != nil {
		_ = s.stop(syscall.SIGKILL)
		return fmt.Errorf("redis-server on %s did not start: %w\n%s", s.Addr(), err, out.String())
	}
	return nil
}

// waitReady polls PING until the server answers PONG. Polling is the only
// way to see another process start listening.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		reply, err := s.Do(pctx, "PING")
		cancel()
		if err == nil && reply == "PONG" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("PING answered %q", reply)
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited before it answered PING (%v)", err)
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING: %w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
		return fmt.Errorf("redis-server on %s ignored %v for %v and was killed", s.Addr(), sig, stopTimeout)
	case <-time.After(stopTimeout):
		return fmt.Errorf("redis-server on %s (pid %d) did not exit after SIGKILL", s.Addr(), cmd.Process.Pid)
	}
}

// Do sends one command to the server on a new connection and returns its
// reply as text: a simple string, a bulk string (nil as ""), an integer in
// decimal, or an array's elements joined by newlines. A Redis error reply
// is returned as an error. It is for tests' own checks (FLUSHALL, DBSIZE,
// INFO memory, MEMORY USAGE key) without a client library.
func (s *Server) Do(ctx context.Context, args ...string) (string, error) {
	return rediscmd.Do(ctx, s.Addr(), args...)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
