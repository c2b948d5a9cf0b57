package main

import (
	"debug/buildinfo"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	const rev = "3409f7a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{
			"no build info",
			nil,
			"scanin (devel)\nunknown revision\nbuilt with " + runtime.Version() + " for " + platform + "\n",
		},
		{
			"go test: no main module version, no settings",
			&debug.BuildInfo{GoVersion: "go1.26.0"},
			"scanin (devel)\nunknown revision\nbuilt with go1.26.0 for " + platform + "\n",
		},
		{
			"go run or -buildvcs=false",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/scanin/scanin", Version: "(devel)"},
				Settings: settings("-trimpath", "true", "GOARCH", "arm64", "GOOS", "darwin")},
			"scanin (devel)\nunknown revision\nbuilt with go1.26.0 for darwin/arm64\n",
		},
		{
			"release",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/scanin/scanin", Version: "v0.1.0"},
				Settings: settings("GOARCH", "amd64", "GOOS", "linux", "vcs", "git", "vcs.revision", rev,
					"vcs.time", "2026-03-01T12:00:00Z", "vcs.modified", "false")},
			"scanin v0.1.0\nrevision " + rev + ", committed 2026-03-01T12:00:00Z\nbuilt with go1.26.0 for linux/amd64\n",
		},
		{
			"modified work tree",
			&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/scanin/scanin", Version: "v0.0.0-20260301120000-3409f7a1b2c3+dirty"},
				Settings: settings("GOARCH", "wasm", "GOOS", "js", "vcs", "git", "vcs.revision", rev,
					"vcs.time", "2026-03-01T12:00:00Z", "vcs.modified", "true")},
			"scanin v0.0.0-20260301120000-3409f7a1b2c3+dirty\nrevision " + rev + "-dirty, committed 2026-03-01T12:00:00Z\nbuilt with go1.26.0 for js/wasm\n",
		},
		{
			"revision without a time",
			&debug.BuildInfo{GoVersion: "go1.26.0", Settings: settings("vcs.revision", rev, "GOOS", "linux", "GOARCH", "amd64")},
			"scanin (devel)\nrevision " + rev + "\nbuilt with go1.26.0 for linux/amd64\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionText(tc.bi); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestVersionOfBuiltBinary checks that the binary TestMain built the way
// build.sh does (-trimpath) prints what the go command stamped into it, and
// that in a git work tree the stamp includes the revision.
func TestVersionOfBuiltBinary(t *testing.T) {
	t.Parallel()
	bi, err := buildinfo.ReadFile(scaninBinary)
	if err != nil {
		t.Fatal(err)
	}
	want := versionText(bi)
	for _, arg := range []string{"version", "--version"} {
		r := scanin(t, "", arg)
		wantExit(t, arg, r, 0)
		if r.stdout != want {
			t.Errorf("scanin %s printed\n%s\nwant\n%s", arg, r.stdout, want)
		}
	}

	if out, err := exec.Command("git", "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not in a git work tree: nothing to stamp")
	}
	if vcsUnreadable != "" {
		t.Skipf("built without VCS information: %s", vcsUnreadable)
	}
	if !strings.Contains(want, "\nrevision ") {
		t.Errorf("built in a git work tree, yet no VCS revision was stamped:\n%s", want)
	}
}
