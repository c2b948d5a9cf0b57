package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/leaktest"
	"github.com/scanin/scanin/internal/proctest"
)

// The CLI is tested as a person runs it: the real binary, built once by
// TestMain, against a real relay (server/relaytest) on loopback.

// scaninBinary is the binary TestMain built. It is set once, before any
// test runs, and only read afterwards.
var scaninBinary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "scanin-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	scaninBinary = filepath.Join(dir, "scanin")
	// Built as build.sh builds bin/scanin (-trimpath), stamped with VCS
	// information even where GOFLAGS says -buildvcs=false; without it if
	// git cannot read the work tree (say, one owned by another user).
	out, err := exec.Command("go", "build", "-trimpath", "-buildvcs=auto", "-o", scaninBinary, ".").CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("error obtaining VCS status")) {
		vcsUnreadable = string(out)
		out, err = exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", scaninBinary, ".").CombinedOutput()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed to build scanin: %v\n%s", err, out)
		return 1
	}
	return leaktest.Main(m)
}

// vcsUnreadable is why TestMain built scaninBinary without VCS
// information, if it had to.
var vcsUnreadable string

// result is how a finished command ended.
type result struct {
	code           int
	stdout, stderr string
}

// scanin runs the binary to completion with stdin and returns its exit
// code and output.
func scanin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	c := scaninCommand(t, args...)
	c.cmd.Stdin = strings.NewReader(stdin)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c.wait()
}

// process is the binary about to run, for tests that feed it stdin
// step by step.
type process struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr proctest.Output
}

func scaninCommand(t *testing.T, args ...string) *process {
	c := &process{t: t, cmd: exec.Command(scaninBinary, args...)}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	return c
}

// StdinPipe is exec.Cmd's, before Start.
func (c *process) StdinPipe() (io.WriteCloser, error) { return c.cmd.StdinPipe() }

// wait waits for the started command, at most a minute.
func (c *process) wait() result {
	c.t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			c.t.Fatalf("%s: %v", c.cmd, err)
		}
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		<-done
		c.t.Fatalf("%s did not finish in 60 s\nstdout: %s\nstderr: %s", c.cmd, c.stdout.String(), c.stderr.String())
	}
	return result{c.cmd.ProcessState.ExitCode(), c.stdout.String(), c.stderr.String()}
}

// wantExit checks a command's exit code, and that stderr says something
// whenever it failed.
func wantExit(t *testing.T, what string, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	if code != 0 && strings.TrimSpace(r.stderr) == "" && code != sendDeclined {
		t.Errorf("%s: exit %d with nothing on stderr", what, code)
	}
}

// event is one line of `scanin receive --json`.
type event struct {
	Event     string `json:"event"`
	Link      string `json:"link"`
	ExpiresAt int64  `json:"expires_at"`
	Reason    string `json:"reason"`
	Kind      string `json:"kind"`
	Data      string `json:"data"`
	Device    *struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"device"`
	CheckCode string `json:"check_code"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Raw       string `json:"-"` // the line as written
}

// receiving is a running `scanin receive --json`.
type receiving struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan event
	stderr proctest.Output
	exited chan struct{}
}

// receive starts `scanin receive --json` with args; the test ends it if
// it is still running.
func receive(t *testing.T, args ...string) *receiving {
	t.Helper()
	r := &receiving{t: t, events: make(chan event, 16), exited: make(chan struct{})}
	r.cmd = exec.Command(scaninBinary, append([]string{"receive", "--json"}, args...)...)
	r.cmd.Stderr = &r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.exited)
		defer close(r.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = event{Event: "unparsable", Message: sc.Text()}
			}
			ev.Raw = sc.Text()
			r.events <- ev
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
		r.cmd.Wait()
	})
	return r
}

// next waits for the next event.
func (r *receiving) next(want string) event {
	r.t.Helper()
	select {
	case ev, ok := <-r.events:
		if !ok {
			r.t.Fatalf("receive ended before %q\nstderr: %s", want, r.stderr.String())
		}
		if ev.Event != want {
			r.t.Fatalf("receive: got %+v, want %q", ev, want)
		}
		return ev
	case <-time.After(60 * time.Second):
		r.t.Fatalf("receive: no %q event in 60 s", want)
	}
	return event{}
}

// exit waits for the receiver to end and checks its exit code and that it
// wrote nothing more.
func (r *receiving) exit(code int) {
	r.t.Helper()
	select {
	case ev, ok := <-r.events:
		if ok {
			r.t.Fatalf("receive: unexpected %+v", ev)
		}
	case <-time.After(30 * time.Second):
		r.t.Fatal("receive did not end in 30 s")
	}
	r.cmd.Wait()
	if got := r.cmd.ProcessState.ExitCode(); got != code {
		r.t.Fatalf("receive: exit %d, want %d\nstderr: %s", got, code, r.stderr.String())
	}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 30 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBuildShHelp: ./build.sh --help (and -h, help) prints its opening
// comment and nothing else, and exits 0; an unknown command prints the
// same text on stderr after what is wrong, and exits 2. PATH holds bash
// and dirname only, so a build.sh that tried to build would fail.
func TestBuildShHelp(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join("..", "..", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	var help strings.Builder
	for _, line := range strings.Split(string(src), "\n")[1:] { // after #!
		rest, ok := strings.CutPrefix(line, "#")
		if !ok {
			break
		}
		help.WriteString(strings.TrimPrefix(rest, " ") + "\n")
	}
	if !strings.Contains(help.String(), "./build.sh test") {
		t.Fatalf("build.sh's opening comment is not its help:\n%s", help.String())
	}

	bin := t.TempDir()
	for _, tool := range []string{"bash", "dirname"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) result {
		cmd := exec.Command(filepath.Join(bin, "bash"), append([]string{script}, args...)...)
		cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir()}
		cmd.Dir = t.TempDir()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("build.sh %s: %v", strings.Join(args, " "), err)
		}
		return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
	}
	for _, arg := range []string{"--help", "-h", "help"} {
		r := run(arg)
		if r.code != 0 || r.stderr != "" || r.stdout != help.String() {
			t.Errorf("build.sh %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 0 and only the help on stdout:\n%s", arg, r.code, r.stdout, r.stderr, help.String())
		}
	}
	r := run("bogus")
	if want := "build.sh: unknown command: bogus\n\n" + help.String(); r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("build.sh bogus: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 2 and on stderr:\n%s", r.code, r.stdout, r.stderr, want)
	}
}
