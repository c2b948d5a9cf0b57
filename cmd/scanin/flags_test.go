package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/protocol"
)

// These tests run the CLI in-process: every subcommand treats --help, -h
// and bad flags the same way, through parseFlags.

// runInProcess runs the CLI with args and returns how it ended.
func runInProcess(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr proctest.Output
	code := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
	return result{code, stdout.String(), stderr.String()}
}

// wantUsageOnce checks that out starts with usage line and holds it, and
// a flag list, once only.
func wantUsageOnce(t *testing.T, what, out, usageLine string) {
	t.Helper()
	if !strings.HasPrefix(out, usageLine) && !strings.Contains(out, "\n"+usageLine) {
		t.Errorf("%s: no %q in:\n%s", what, usageLine, out)
		return
	}
	if n := strings.Count(out, usageLine); n != 1 {
		t.Errorf("%s: %q printed %d times:\n%s", what, usageLine, n, out)
	}
	if n := strings.Count(out, "\nFlags:\n"); n > 1 {
		t.Errorf("%s: the flag list printed %d times:\n%s", what, n, out)
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, c := range subcommands() {
		t.Run(c.name, func(t *testing.T) {
			usageLine := "Usage: scanin " + c.name
			var first string
			for _, args := range [][]string{
				{c.name, "--help"},
				{c.name, "-h"},
				{c.name, "-help"},
				{"help", c.name},
			} {
				what := "scanin " + strings.Join(args, " ")
				r := runInProcess(t, args...)
				if r.code != 0 {
					t.Errorf("%s: exit %d, want 0", what, r.code)
				}
				if r.stderr != "" {
					t.Errorf("%s: stderr not empty:\n%s", what, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, usageLine) {
					t.Errorf("%s: stdout does not start with %q:\n%s", what, usageLine, r.stdout)
				}
				wantUsageOnce(t, what, r.stdout, usageLine)
				if first == "" {
					first = r.stdout
				} else if r.stdout != first {
					t.Errorf("%s printed another text than %s --help:\n%s", what, c.name, r.stdout)
				}
			}
		})
	}
}

func TestRelayHelpNamesTheSpec(t *testing.T) {
	r := runInProcess(t, "relay", "--help")
	if !strings.Contains(r.stdout, "docs/protocol.md") || strings.Contains(r.stdout, "PROTOCOL.md") {
		t.Errorf("relay --help should name docs/protocol.md as the spec:\n%s", r.stdout)
	}
}

func TestTopLevelUsage(t *testing.T) {
	const usageLine = "Usage: scanin <command>"
	for _, args := range [][]string{{"help"}, {"-h"}, {"-help"}, {"--help"}} {
		what := "scanin " + strings.Join(args, " ")
		r := runInProcess(t, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s: exit %d, stderr %q; want 0 and nothing", what, r.code, r.stderr)
		}
		wantUsageOnce(t, what, r.stdout, usageLine)
		for _, c := range subcommands() {
			if !strings.Contains(r.stdout, "\n  "+c.name+" ") {
				t.Errorf("%s does not list %s:\n%s", what, c.name, r.stdout)
			}
		}
	}

	// Bare scanin is a usage error.
	r := runInProcess(t)
	if r.code != 2 || r.stdout != "" {
		t.Errorf("scanin: exit %d, stdout %q; want 2 and nothing", r.code, r.stdout)
	}
	wantUsageOnce(t, "scanin", r.stderr, usageLine)
}

func TestVersionFlag(t *testing.T) {
	v := runInProcess(t, "version")
	f := runInProcess(t, "--version")
	if v.code != 0 || f.code != 0 || v.stderr != "" || f.stderr != "" {
		t.Fatalf("version: %+v\n--version: %+v", v, f)
	}
	if !strings.HasPrefix(v.stdout, "scanin ") || f.stdout != v.stdout {
		t.Errorf("version printed %q, --version %q", v.stdout, f.stdout)
	}
}

// TestUsageErrors checks that a bad invocation says what is wrong, then
// prints the usage once, all on stderr, and exits 2.
func TestUsageErrors(t *testing.T) {
	type usageErr struct {
		args      []string
		msg       string // what stderr must say
		usageLine string
	}
	tests := []usageErr{
		{[]string{"bogus"}, `scanin: unknown command "bogus"`, "Usage: scanin <command>"},
		{[]string{"help", "bogus"}, `scanin: unknown command "bogus"`, "Usage: scanin <command>"},
		{[]string{"send"}, "scanin send: --link is required", "Usage: scanin send"},
		{[]string{"receive"}, "scanin receive: --relay is required", "Usage: scanin receive"},
	}
	for _, c := range subcommands() {
		tests = append(tests,
			usageErr{[]string{c.name, "--bogus"}, "flag provided but not defined: -bogus", "Usage: scanin " + c.name},
			usageErr{[]string{c.name, "stray"}, `scanin ` + c.name + `: unexpected argument "stray"`, "Usage: scanin " + c.name},
		)
	}
	for _, tc := range tests {
		what := "scanin " + strings.Join(tc.args, " ")
		r := runInProcess(t, tc.args...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", what, r.code)
		}
		if r.stdout != "" {
			t.Errorf("%s: stdout not empty:\n%s", what, r.stdout)
		}
		if !strings.HasPrefix(r.stderr, tc.msg+"\n") {
			t.Errorf("%s: stderr does not start with %q:\n%s", what, tc.msg, r.stderr)
		}
		wantUsageOnce(t, what, r.stderr, tc.usageLine)
	}
}

// readmeSection returns the README's section under heading, up to the
// next "## " heading.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// TestREADMEDocumentsTheCLI: the README's "From a terminal" lists every
// flag `scanin send --help` and `scanin receive --help` list, and the
// error lines it shows are the ones send prints.
func TestREADMEDocumentsTheCLI(t *testing.T) {
	section := readmeSection(t, "## From a terminal")
	for _, cmd := range []string{"send", "receive", "device new", "verify"} {
		r := runInProcess(t, strings.Fields(cmd+" --help")...)
		_, flags, ok := strings.Cut(r.stdout, "\nFlags:\n")
		if !ok {
			t.Fatalf("scanin %s --help lists no flags:\n%s", cmd, r.stdout)
		}
		n := 0
		for _, line := range strings.Split(flags, "\n") {
			name, ok := strings.CutPrefix(line, "  -")
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(name, " ")
			n++
			if !strings.Contains(section, "| `--"+name) {
				t.Errorf("README's From a terminal does not document scanin %s --%s", cmd, name)
			}
		}
		if n == 0 {
			t.Errorf("no flags found in scanin %s --help:\n%s", cmd, r.stdout)
		}
	}

	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	defer key.Destroy()
	l := protocol.Link{Base: "https://relay.example/link", App: "demo", SessionID: protocol.NewSessionID(), PublicKey: key.PublicKey(), Relay: "https://relay.example"}
	plain := l
	plain.Relay = "http://relay.example"
	for what, link := range map[string]string{
		"no session id":    strings.Replace(l.String(), "&s="+l.SessionID, "", 1),
		"plain http relay": plain.String(),
	} {
		r := runInProcess(t, "send", "--link", link, "--data", "x", "--yes")
		if r.code != sendBadLink || !strings.Contains(section, "\n"+r.stderr) {
			t.Errorf("%s: send printed (exit %d) a line the README does not show:\n%s", what, r.code, r.stderr)
		}
	}
}
