package conformance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// TestBinary runs the suite against the real binary, started the way a
// user starts it: the whole suite against a relay without rate limits, and
// the rate limits against a second one with the defaults.
func TestBinary(t *testing.T) {
	bin := buildScanin(t)
	t.Run("Suite", func(t *testing.T) {
		t.Parallel()
		Run(t, Target{URL: startRelay(t, bin, "--no-rate-limit")})
	})
	t.Run("RateLimits", func(t *testing.T) {
		t.Parallel()
		RunRateLimits(t, Target{URL: startRelay(t, bin)})
	})
	t.Run("GracefulShutdown", func(t *testing.T) {
		t.Parallel()
		testShutdown(t, bin)
	})
}

// buildScanin builds cmd/scanin into a temporary directory.
func buildScanin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scanin")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/scanin/scanin/cmd/scanin")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/scanin: %v\n%s", err, out)
	}
	return bin
}

// relayProc is a running `scanin relay`.
type relayProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed once the process has exited
	err  error         // its exit status, set before done is closed
}

// startRelay starts `scanin relay --addr 127.0.0.1:0 args...`, reads the
// address it printed, and stops it with SIGTERM when the test ends.
func startRelay(t *testing.T, bin string, args ...string) string {
	t.Helper()
	return startRelayProc(t, bin, args...).url
}

func startRelayProc(t *testing.T, bin string, args ...string) *relayProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"relay", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start relay: %v", err)
	}
	p := &relayProc{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "scanin relay: listening on "); ok {
				urls <- u
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.stop(30 * time.Second); err != nil {
			t.Error(err)
		}
	})
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatalf("relay exited before listening: %v", p.err)
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not say where it listens within 10 s")
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit, killing the relay if it
// takes longer than timeout. Stopping a relay that already exited reports
// how it exited.
func (p *relayProc) stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("relay exited with %v after SIGTERM, want 0", p.err)
		}
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("relay did not exit within %v of SIGTERM", timeout)
	}
}

// testShutdown sends SIGTERM to a relay with a receiver attached: the
// receiver is closed with 1001 (going away) and the relay exits 0.
func testShutdown(t *testing.T, bin string) {
	p := startRelayProc(t, bin)
	c := newClient(Target{URL: p.url, App: "demo"})
	defer c.close()
	r := c.listen(t, protocol.NewSessionID(), listenOpts{app: "demo"})
	stopped := make(chan error, 1)
	go func() { stopped <- p.stop(20 * time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := r.conn.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Errorf("receiver closed with %v (%v), want 1001 going away", code, err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Errorf("relay still answers after exiting")
	}
}
