package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The files of deploy/ and docs/deploy.md are checked against the code,
// since docker build and systemd cannot run here: the binary that
// CGO_ENABLED=0 and build.sh's flags make is static (distroless/static and
// scratch have no libc); the Dockerfile builds with build.sh and that
// setting, from the Go that go.mod asks for; the flags that the unit, the
// Dockerfile and docs/deploy.md give scanin relay exist.

func repoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// buildShScaninFlags returns the flags build.sh's `go build` of bin/scanin
// uses, with its -buildvcs variable as "auto".
func buildShScaninFlags(t *testing.T) []string {
	t.Helper()
	for _, line := range strings.Split(repoFile(t, "build.sh"), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "go build ") && strings.HasSuffix(line, "-o bin/scanin ./cmd/scanin") {
			flags := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "go build "), "-o bin/scanin ./cmd/scanin"))
			for i, f := range flags {
				if strings.HasPrefix(f, "-buildvcs=$") {
					flags[i] = "-buildvcs=auto"
				}
			}
			return flags
		}
	}
	t.Fatal("build.sh has no `go build ... -o bin/scanin ./cmd/scanin` line")
	return nil
}

// TestStaticBinary: with CGO_ENABLED=0 and build.sh's flags, bin/scanin
// has no program interpreter and needs no shared library.
func TestStaticBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "scanin")
	args := append([]string{"build"}, buildShScaninFlags(t)...)
	args = append(args, "-o", bin, ".")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "error obtaining VCS status") {
			args[2] = "-buildvcs=false" // git cannot read this work tree
			cmd = exec.Command("go", args...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err = cmd.CombinedOutput()
		}
		if err != nil {
			t.Fatalf("CGO_ENABLED=0 go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a program interpreter (PT_INTERP): it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED): %v", libs)
	}
}

// TestDockerfile: the image is built by ./build.sh build with
// CGO_ENABLED=0 in a golang image of go.mod's Go, and runs that binary on
// distroless/static or scratch with flags scanin relay has.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	df := repoFile(t, "deploy/Dockerfile")
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(repoFile(t, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	for _, want := range []string{
		"FROM golang:" + goVersion[1] + " AS build",
		"RUN CGO_ENABLED=0 ./build.sh build",
		"COPY --from=build /src/bin/scanin /scanin",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
	final := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(final) != 2 || !(strings.HasPrefix(final[1][1], "gcr.io/distroless/static") || final[1][1] == "scratch") {
		t.Errorf("deploy/Dockerfile's stages are %v, want a build stage and distroless/static or scratch", final)
	}
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \[(.*)\]`).FindStringSubmatch(df)
	if entry == nil {
		t.Fatal("deploy/Dockerfile has no ENTRYPOINT [...]")
	}
	checkRelayFlags(t, "deploy/Dockerfile's ENTRYPOINT", strings.ReplaceAll(entry[1], `"`, ""))
}

// TestSystemdUnit: deploy/scanin.service has the hardening docs/deploy.md
// promises, runs flags scanin relay has, and (where systemd-analyze is
// installed) verifies.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := repoFile(t, "deploy/scanin.service")
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=scanin",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"NoNewPrivileges=yes", "KillSignal=SIGTERM",
	} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("deploy/scanin.service lacks %s", want)
		}
	}
	exec0 := regexp.MustCompile(`(?m)^ExecStart=(\S+) (.*)$`).FindStringSubmatch(unit)
	if exec0 == nil {
		t.Fatal("deploy/scanin.service has no ExecStart")
	}
	checkRelayFlags(t, "deploy/scanin.service's ExecStart", exec0[2])

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze here: the unit's syntax is not verified")
		return
	}
	local := filepath.Join(t.TempDir(), "scanin.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(unit, exec0[1], scaninBinary)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify deploy/scanin.service: %v\n%s", err, out)
	}
}

// TestDeployDocFlags: every flag docs/deploy.md gives `scanin relay` or
// `scanin demo` exists.
func TestDeployDocFlags(t *testing.T) {
	t.Parallel()
	doc := repoFile(t, "docs/deploy.md")
	n := 0
	for _, line := range strings.Split(doc, "\n") {
		for _, cmd := range []string{"relay", "demo"} {
			if _, rest, ok := strings.Cut(line, "scanin "+cmd+" "); ok {
				n++
				checkFlags(t, "docs/deploy.md: "+strings.TrimSpace(line), cmd, rest)
			}
		}
	}
	if n == 0 {
		t.Fatal("docs/deploy.md runs no scanin relay")
	}
}

func checkRelayFlags(t *testing.T, where, args string) {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(args), "relay") && !strings.Contains(args, "relay,") {
		t.Errorf("%s does not run scanin relay: %q", where, args)
	}
	checkFlags(t, where, "relay", args)
}

// checkFlags checks that every --flag in args is one of scanin cmd's.
func checkFlags(t *testing.T, where, cmd, args string) {
	t.Helper()
	help := runInProcess(t, cmd, "--help").stdout
	for _, m := range regexp.MustCompile(`(?:^|[\s,\[])--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(args, -1) {
		if m[1] == "help" {
			continue
		}
		if !strings.Contains(help, "\n  -"+m[1]+" ") && !strings.Contains(help, "\n  -"+m[1]+"\n") {
			t.Errorf("%s: scanin %s has no --%s", where, cmd, m[1])
		}
	}
}
