package proctest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BuildScanin builds cmd/scanin into the test's temporary directory and
// returns the binary's path.
func BuildScanin(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scanin")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/scanin/scanin/cmd/scanin")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/scanin: %v\n%s", err, out)
	}
	return bin
}

// Relay is a running `scanin relay` process.
type Relay struct {
	// URL is the base URL the relay said it listens on.
	URL string

	cmd    *exec.Cmd
	out    *Output       // its stderr
	done   chan struct{} // closed once the process has exited
	err    error         // its exit status, set before done is closed
	killed atomic.Bool   // Kill ended it: its exit status is no news
}

// StartRelay starts bin as `scanin relay --addr 127.0.0.1:0 args...` and
// returns once the relay has printed the address it listens on. When the
// test ends it stops the relay with Stop (an error unless it exits 0
// within 30 s; nothing for a relay that Kill ended), and, if the test
// failed, logs the relay's stderr.
func StartRelay(t testing.TB, bin string, args ...string) *Relay {
	t.Helper()
	p := &Relay{out: &Output{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"relay", "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stderr = p.out
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start relay: %v", err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "scanin relay: listening on "); ok {
				urls <- u
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.killed.Load() {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Error(err)
			}
		}
		if t.Failed() {
			t.Logf("relay %s logs:\n%s", p.URL, p.out.String())
		}
	})
	select {
	case p.URL = <-urls:
	case <-p.done:
		t.Fatalf("relay exited before listening: %v\n%s", p.err, p.out.String())
	case <-time.After(20 * time.Second):
		t.Fatal("relay did not say where it listens within 20 s")
	}
	return p
}

// Done is closed once the relay has exited.
func (p *Relay) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits for a clean exit, killing the relay if it
// takes longer than timeout. Stopping a relay that already exited reports
// how it exited.
func (p *Relay) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("relay %s exited with %v after SIGTERM, want 0", p.URL, p.err)
		}
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("relay %s did not exit within %v of SIGTERM", p.URL, timeout)
	}
}

// Kill ends the relay with SIGKILL, as a crash would, and waits for it.
func (p *Relay) Kill() {
	p.killed.Store(true)
	_ = p.cmd.Process.Kill()
	<-p.done
}
