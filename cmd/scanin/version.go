package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion is `scanin version` (and `scanin --version`).
func runVersion(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("scanin version", flag.ContinueOnError)
	if exit, done := parseFlags(fs, args, io, `Usage: scanin version

Prints scanin's module version, the VCS revision it was built from (with
-dirty if the work tree had changes, and the commit time), and the Go
version and platform it was built with and for.`, ""); done {
		return exit
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(io.out, versionText(bi))
	return 0
}

// versionText is what `scanin version` prints for bi, the build
// information the go command stamps into a binary; bi may be nil. Three
// lines:
//
//	scanin v0.0.0-20260301120000-3409f7a1b2c3+dirty
//	revision 3409f7a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7-dirty, committed 2026-03-01T12:00:00Z
//	built with go1.26.0 for linux/amd64
//
// Builds by `go run` and `go test`, and builds with -buildvcs=false or
// outside a work tree, lack some fields: the version is then "(devel)" and
// the revision "unknown revision".
func versionText(bi *debug.BuildInfo) string {
	version, goVersion := "", ""
	settings := map[string]string{}
	if bi != nil {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if version == "" {
		version = "(devel)"
	}
	if goVersion == "" {
		goVersion = runtime.Version()
	}

	revision := "unknown revision"
	if r := settings["vcs.revision"]; r != "" {
		revision = "revision " + r
		if settings["vcs.modified"] == "true" {
			revision += "-dirty"
		}
	}
	if t := settings["vcs.time"]; t != "" {
		revision += ", committed " + t
	}

	goos, goarch := settings["GOOS"], settings["GOARCH"]
	if goos == "" || goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}

	var b strings.Builder
	fmt.Fprintf(&b, "scanin %s\n", version)
	fmt.Fprintf(&b, "%s\n", revision)
	fmt.Fprintf(&b, "built with %s for %s/%s\n", goVersion, goos, goarch)
	return b.String()
}
