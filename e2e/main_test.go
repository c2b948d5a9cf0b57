//go:build !js

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/leaktest"
	"github.com/scanin/scanin/internal/proctest"
)

// env is what TestMain sets up once for every test: the binary build.sh
// built, its config, and the relay most tests share. It is written before
// any test runs and only read afterwards.
var env struct {
	root   string // the repository
	bin    string // bin/scanin, which embeds the widget and the demo phone
	config string // the relay's config file
	tmp    string // everything the tests write, removed at the end
	relay  *relayProc

	// The shared browsers, started by the first test that needs one.
	isolated, unisolated browser
}

func TestMain(m *testing.M) {
	code := 1
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup:", err)
	} else if code = m.Run(); code != 0 {
		if hint := staleHint(); hint != "" {
			fmt.Fprintln(os.Stderr, "e2e:", hint)
		}
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

// artifacts are what `./build.sh build` makes and the tests use, relative
// to the repository: the binary, and the files it embeds and serves (the
// benchmark reports the widget's sizes from them).
var artifacts = []string{
	"bin/scanin",
	"widget/web/dist/widget.wasm",
	"widget/web/dist/widget.wasm.br",
	"widget/web/dist/widget.wasm.gz",
	"demo/phone/dist/phone.wasm.gz",
}

// setup checks that build.sh's artifacts are there and starts the shared
// relay from bin/scanin the way a user does. The tests build nothing and
// write nothing into the repository (./build.sh test builds first); what
// they write goes to env.tmp.
func setup() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	env.root = root
	var missing []string
	for _, a := range artifacts {
		if _, err := os.Stat(filepath.Join(root, a)); err != nil {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run ./build.sh build first (./build.sh test does)", strings.Join(missing, ", "))
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("Chromium is not installed at %s: install it with: sudo apt-get install -y chromium (./build.sh test does this when run as root)", chromiumPath)
	}
	env.bin = filepath.Join(root, "bin", "scanin")
	if env.tmp, err = os.MkdirTemp("", "scanin-e2e-"); err != nil {
		return err
	}
	env.config = filepath.Join(env.tmp, "relay.json")
	if err := os.WriteFile(env.config, []byte(relayConfig), 0o600); err != nil {
		return err
	}
	if env.relay, err = startRelay("127.0.0.1:0"); err != nil {
		return err
	}
	return nil
}

// relayConfig has the apps the tests use. The parent pages are served on
// http://localhost:PORT; the relay (and so the widget) on 127.0.0.1.
const relayConfig = `{
  "apps": [
    {"id": "shop", "name": "Test Shop", "origins": ["http://localhost:*"], "ttl": 60},
    {"id": "strict", "name": "Strict Shop", "origins": ["https://shop.example"], "ttl": 60}
  ]
}`

// staleHint, after a failed run, names a source file modified after
// bin/scanin was built, if there is one: the tests ran that older build.
// It is only a hint, from modification times: go build leaves an
// up-to-date binary untouched, so the newer file may have changed nothing.
func staleHint() string {
	st, err := os.Stat(env.bin)
	if err != nil {
		return ""
	}
	built := st.ModTime()
	var newer string
	filepath.WalkDir(env.root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if newer != "" {
			return filepath.SkipAll
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case path == env.root:
			case strings.HasPrefix(name, "."), name == "node_modules", name == "dist", name == "bin", name == "docs", name == "e2e":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".js", ".html", ".css", ".mod", ".sum":
			if info, err := d.Info(); err == nil && info.ModTime().After(built) {
				newer, _ = filepath.Rel(env.root, path)
			}
		}
		return nil
	})
	if newer == "" {
		return ""
	}
	return fmt.Sprintf("note: %s was modified after bin/scanin was built, so the tests may have run an older build (./build.sh build rebuilds it)", newer)
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
	logs *proctest.Output
}

// startRelay runs the binary as a user would, on addr ("127.0.0.1:0" for
// any free port), and waits for the line that says where it listens.
func startRelay(addr string) (*relayProc, error) {
	return startRelayBinary(env.bin, addr)
}

// startRelayBinary is startRelay with another scanin binary: a benchmark
// compares builds side by side.
func startRelayBinary(bin, addr string) (*relayProc, error) {
	return startRelayConfig(bin, addr, env.config)
}

// startRelayConfig is startRelayBinary with another config file.
func startRelayConfig(bin, addr, config string) (*relayProc, error) {
	r, err := startRelayCmd(bin, "--addr", addr, "--config", config, "--no-rate-limit")
	if err != nil {
		return nil, err
	}
	r.addr = strings.TrimPrefix(r.url, "http://")
	return r, nil
}

// startRelayCmd runs `bin relay args...` and waits for the line that says
// where it listens, its url.
func startRelayCmd(bin string, args ...string) (*relayProc, error) {
	cmd := exec.Command(bin, append([]string{"relay"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &proctest.Output{}
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
	case r.url = <-found:
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
