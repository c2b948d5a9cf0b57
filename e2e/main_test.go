//go:build !js

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/leaktest"
)

// env is what TestMain sets up once for every test: the freshly built
// binary, its config, and the relay most tests share. It is written before
// any test runs and only read afterwards.
var env struct {
	root   string // the repository
	bin    string // the scanin binary, built with the fresh widget inside
	config string // the relay's config file
	tmp    string
	relay  *relayProc

	// The shared browsers, started by the first test that needs one.
	isolated, unisolated browser
}

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup:", err)
		code = 1
	} else {
		code = m.Run()
	}
	env.isolated.stop()
	env.unisolated.stop()
	if env.relay != nil {
		env.relay.stop()
	}
	if env.tmp != "" {
		os.RemoveAll(env.tmp)
	}
	// With the browsers and the relay gone, nothing of the tests may run on.
	if code == 0 {
		if err := leaktest.Check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// setup builds the widget exactly as build.sh does, builds cmd/scanin so that
// it embeds that widget, and starts the shared relay the way a user does.
func setup() (int, error) {
	root, err := repoRoot()
	if err != nil {
		return 1, err
	}
	env.root = root
	if _, err := os.Stat(chromiumPath); err != nil {
		return 1, fmt.Errorf("Chromium is not installed at %s: install it with: sudo apt-get install -y chromium (./build.sh test does this when run as root)", chromiumPath)
	}
	if env.tmp, err = os.MkdirTemp("", "scanin-e2e-"); err != nil {
		return 1, err
	}
	if err := buildWidget(root); err != nil {
		return 1, err
	}
	if err := buildPhone(root); err != nil {
		return 1, err
	}
	env.bin = filepath.Join(env.tmp, "scanin")
	if err := run(root, nil, "go", "build", "-trimpath", "-o", env.bin, "./cmd/scanin"); err != nil {
		return 1, err
	}
	env.config = filepath.Join(env.tmp, "relay.json")
	if err := os.WriteFile(env.config, []byte(relayConfig), 0o600); err != nil {
		return 1, err
	}
	if env.relay, err = startRelay("127.0.0.1:0"); err != nil {
		return 1, err
	}
	return 0, nil
}

// relayConfig has the apps the tests use. The parent pages are served on
// http://localhost:PORT; the relay (and so the widget) on 127.0.0.1.
const relayConfig = `{
  "apps": [
    {"id": "shop", "name": "Test Shop", "origins": ["http://localhost:*"], "ttl": 60},
    {"id": "strict", "name": "Strict Shop", "origins": ["https://shop.example"], "ttl": 60}
  ]
}`

// buildWidget is build.sh's widget step: wasm_exec.js from the toolchain,
// widget.wasm, and its brotli and gzip siblings. Other packages' tests may
// embed widget/web/dist while this runs, so each file is written next to
// it and renamed into place; a wasm identical to the one there keeps its
// compressed siblings (brotli -q 11 takes seconds).
func buildWidget(root string) error {
	goroot, err := output(root, "go", "env", "GOROOT")
	if err != nil {
		return err
	}
	glue, err := os.ReadFile(filepath.Join(strings.TrimSpace(goroot), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("failed to read the toolchain's wasm_exec.js: %w", err)
	}
	dst := filepath.Join(root, "wasm_exec", "wasm_exec.js")
	if have, err := os.ReadFile(dst); err != nil || !bytes.Equal(have, glue) {
		if err := os.WriteFile(dst, glue, 0o644); err != nil {
			return fmt.Errorf("failed to update wasm_exec.js: %w", err)
		}
	}
	dist := filepath.Join(root, "widget", "web", "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return err
	}
	// Outside dist (embedded with all:dist), on the same file system.
	work, err := os.MkdirTemp(filepath.Join(root, "widget", "web"), ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	wasm := filepath.Join(work, "widget.wasm")
	if err := run(root, []string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./widget"); err != nil {
		return err
	}
	built, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	have, _ := os.ReadFile(filepath.Join(dist, "widget.wasm"))
	_, brErr := os.Stat(filepath.Join(dist, "widget.wasm.br"))
	_, gzErr := os.Stat(filepath.Join(dist, "widget.wasm.gz"))
	if bytes.Equal(have, built) && brErr == nil && gzErr == nil {
		return nil
	}
	if _, err := exec.LookPath("brotli"); err != nil {
		return errors.New("brotli is not installed (apt-get install brotli), and build.sh needs it too")
	}
	if err := run(root, nil, "brotli", "-f", "-q", "11", "-o", wasm+".br", wasm); err != nil {
		return err
	}
	if err := run(root, nil, "gzip", "-f", "-9", "-k", wasm); err != nil {
		return err
	}
	for _, name := range []string{"widget.wasm.br", "widget.wasm.gz", "widget.wasm"} {
		if err := os.Rename(filepath.Join(work, name), filepath.Join(dist, name)); err != nil {
			return fmt.Errorf("failed to move %s into dist: %w", name, err)
		}
	}
	return nil
}

// buildPhone is build.sh's demo phone step: the mobile SDK compiled to wasm
// for the demo's /phone page, gzipped.
func buildPhone(root string) error {
	wasm := filepath.Join(env.tmp, "phone.wasm")
	if err := run(root, []string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./demo/phone/wasm"); err != nil {
		return err
	}
	if err := run(root, nil, "gzip", "-f", "-9", wasm); err != nil {
		return err
	}
	// Copied, not renamed: the temporary folder may be on another file system.
	gz, err := os.ReadFile(wasm + ".gz")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "demo", "phone", "dist", "phone.wasm.gz"), gz, 0o644)
}

func repoRoot() (string, error) {
	mod, err := output(".", "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	mod = strings.TrimSpace(mod)
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the scanin module")
	}
	return filepath.Dir(mod), nil
}

func run(dir string, extraEnv []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func output(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// relayProc is a running `scanin relay`.
type relayProc struct {
	cmd  *exec.Cmd
	addr string // host:port it listens on
	url  string // its base URL
	done chan struct{}
	logs *lockedBuffer
}

// startRelay runs the binary as a user would, on addr ("127.0.0.1:0" for
// any free port), and waits for the line that says where it listens.
func startRelay(addr string) (*relayProc, error) {
	cmd := exec.Command(env.bin, "relay", "--addr", addr, "--config", env.config, "--no-rate-limit")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the relay: %w", err)
	}
	r := &relayProc{cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		cmd.Wait()
		close(r.done)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "scanin relay: listening on "); ok {
				select {
				case found <- strings.TrimSpace(u):
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-found:
		r.url = u
		r.addr = strings.TrimPrefix(u, "http://")
		return r, nil
	case <-r.done:
		return nil, fmt.Errorf("the relay exited before it listened: %s", logs.String())
	case <-time.After(15 * time.Second):
		r.kill()
		return nil, fmt.Errorf("the relay did not say where it listens: %s", logs.String())
	}
}

// stop shuts the relay down as Ctrl-C would, and kills it if that takes
// too long.
func (r *relayProc) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(25 * time.Second):
		r.kill()
	}
}

func (r *relayProc) kill() {
	r.cmd.Process.Kill()
	<-r.done
}

// port is the relay's TCP port.
func (r *relayProc) port() string {
	_, port, _ := net.SplitHostPort(r.addr)
	return port
}

// lockedBuffer collects a process's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newRelay starts a relay of the test's own, for tests that stop it or
// count what it saw.
func newRelay(t *testing.T) *relayProc {
	t.Helper()
	r, err := startRelay("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

// withTimeout is context.WithTimeout tied to the test.
func withTimeout(t *testing.T, parent context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(parent, d)
	t.Cleanup(cancel)
	return ctx
}
