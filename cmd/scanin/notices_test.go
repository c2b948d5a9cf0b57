package main

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// noticesFile is the notices file, relative to the repository root.
const noticesFile = "THIRD_PARTY_NOTICES.md"

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// shipped is every binary built from this repository that links
// third-party modules: its name in noticesFile, its main package and the
// platform it is built for. bin/scanin embeds the two wasm modules.
var shipped = []struct {
	name, pkg, goos, goarch string
}{
	{"scanin", "./cmd/scanin", "", ""}, // native: the go command's default
	{"widget.wasm", "./widget", "js", "wasm"},
	{"phone.wasm", "./demo/phone/wasm", "js", "wasm"},
	{"rules.wasm", "./server/edge/wasm", "js", "wasm"},
}

// licenceMarks tells the licences the notices file may name from the text
// of a module's licence files. An id whose marks all occur (whitespace
// folded) is in the file.
var licenceMarks = map[string][]string{
	"Apache-2.0":   {"Apache License", "Version 2.0, January 2004"},
	"MIT":          {"Permission is hereby granted, free of charge, to any person obtaining a copy"},
	"ISC":          {"distribute this software for any purpose with or without fee is hereby granted"},
	"BSD-3-Clause": {"Redistribution and use in source and binary forms", "Neither the name of"},
	"BSD-2-Clause": {"Redistribution and use in source and binary forms"},
}

// licenceUnlessMarks are marks that rule a licence of licenceMarks out: the
// two-clause BSD licence is the three-clause one without its third clause.
var licenceUnlessMarks = map[string][]string{
	"BSD-2-Clause": {"Neither the name of"},
}

// TestThirdPartyNotices checks THIRD_PARTY_NOTICES.md against what the go
// command links into each shipped binary: every third-party module is
// listed with the version linked, the licence its licence files show and
// the binaries that link it; no module is listed that nothing links; and
// the file carries the text of each module's licence files and of the Go
// distribution's LICENSE, which covers the standard library and
// wasm_exec.js.
func TestThirdPartyNotices(t *testing.T) {
	t.Parallel()
	notices, err := os.ReadFile(filepath.Join(repoRoot, noticesFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := parseNotices(t, notices)

	linked := map[string]*noticeRow{} // by module path
	for _, b := range shipped {
		for _, m := range linkedModules(t, b.pkg, b.goos, b.goarch) {
			path, version, _ := strings.Cut(m, " ")
			r := linked[path]
			if r == nil {
				r = &noticeRow{path: path, version: version}
				linked[path] = r
			}
			if r.version != version {
				t.Errorf("%s is linked at %s and at %s", path, r.version, version)
			}
			r.binaries = append(r.binaries, b.name)
		}
	}
	if len(linked) == 0 {
		t.Fatal("go list found no third-party module at all: the check checked nothing")
	}
	dirs := moduleDirs(t, linked)

	folded := foldSpace(string(notices))
	for _, path := range sortedKeys(linked) {
		want := linked[path]
		texts, licences := licenceFiles(t, dirs[path])
		want.licence = strings.Join(licences, " AND ")
		got, ok := listed[path]
		if !ok {
			t.Errorf("%s lacks %s, linked into %s; add the row\n%s\nand its licence text", noticesFile, path, strings.Join(want.binaries, ", "), want)
			continue
		}
		if got.version != want.version {
			t.Errorf("%s lists %s %s, but %s is linked: update the row and its licence text", noticesFile, path, got.version, want.version)
		}
		if !slices.Equal(got.binaries, want.binaries) {
			t.Errorf("%s says %s is linked into %s, but it is linked into %s", noticesFile, path, strings.Join(got.binaries, ", "), strings.Join(want.binaries, ", "))
		}
		if !sameLicences(got.licence, licences) {
			t.Errorf("%s gives %s the licence %q, but its licence files read as %q", noticesFile, path, got.licence, want.licence)
		}
		for name, text := range texts {
			if !strings.Contains(folded, foldSpace(text)) {
				t.Errorf("%s lacks the text of %s's %s", noticesFile, path, name)
			}
		}
	}
	for _, path := range sortedKeys(listed) {
		if linked[path] == nil {
			t.Errorf("%s lists %s, which no shipped binary links any more: remove it", noticesFile, path)
		}
	}

	goLicence, err := os.ReadFile(filepath.Join(goEnv(t, "GOROOT"), "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(folded, foldSpace(string(goLicence))) {
		t.Errorf("%s lacks the text of the Go distribution's LICENSE (standard library, wasm_exec.js)", noticesFile)
	}
}

// noticeRow is one module in the notices file's table.
type noticeRow struct {
	path, version, licence string
	binaries               []string
}

// String is the row as the notices file writes it.
func (r *noticeRow) String() string {
	return fmt.Sprintf("| `%s` | %s | %s | %s |", r.path, r.version, r.licence, strings.Join(r.binaries, ", "))
}

// rowPattern is a module's row in the notices file's table.
var rowPattern = regexp.MustCompile("^\\| `([^`]+)` \\| (\\S+) \\| ([^|]+?) \\| ([^|]+?) \\|$")

func parseNotices(t *testing.T, notices []byte) map[string]*noticeRow {
	t.Helper()
	rows := map[string]*noticeRow{}
	sc := bufio.NewScanner(bytes.NewReader(notices))
	for sc.Scan() {
		m := rowPattern.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if rows[m[1]] != nil {
			t.Errorf("%s lists %s twice", noticesFile, m[1])
		}
		rows[m[1]] = &noticeRow{path: m[1], version: m[2], licence: m[3], binaries: strings.Split(m[4], ", ")}
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no module rows like %s", noticesFile, &noticeRow{"example.com/mod", "v1.0.0", "MIT", []string{"scanin"}})
	}
	return rows
}

// linkedModules lists the third-party modules pkg links when built for
// goos/goarch (the default platform when empty), as "path version".
func linkedModules(t *testing.T, pkg, goos, goarch string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", pkg)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	if goos != "" {
		cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH="+goarch)
	}
	out := goOutput(t, cmd)
	var mods []string
	for _, line := range strings.Split(out, "\n") {
		if line != "" && !slices.Contains(mods, line) {
			mods = append(mods, line)
		}
	}
	return mods
}

// moduleDirs finds the modules' directories in the module cache.
func moduleDirs(t *testing.T, mods map[string]*noticeRow) map[string]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Dir}}"}, sortedKeys(mods)...)...)
	cmd.Dir = repoRoot
	dirs := map[string]string{}
	for _, line := range strings.Split(goOutput(t, cmd), "\n") {
		path, dir, _ := strings.Cut(line, " ")
		if path == "" {
			continue
		}
		if dir == "" {
			t.Fatalf("%s is not in the module cache: run go mod download", path)
		}
		dirs[path] = dir
	}
	return dirs
}

// licenceFiles reads a module's licence files (LICENSE*, LICENCE*,
// COPYING*) and tells the licences they hold, sorted.
func licenceFiles(t *testing.T, dir string) (texts map[string]string, licences []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	texts = map[string]string{}
	var all string
	for _, e := range entries {
		upper := strings.ToUpper(e.Name())
		if e.IsDir() || !(strings.HasPrefix(upper, "LICENSE") || strings.HasPrefix(upper, "LICENCE") || strings.HasPrefix(upper, "COPYING")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		texts[e.Name()] = string(b)
		all += " " + foldSpace(string(b))
	}
	if len(texts) == 0 {
		t.Errorf("%s has no licence file", dir)
	}
	for id, marks := range licenceMarks {
		found := true
		for _, m := range marks {
			found = found && strings.Contains(all, m)
		}
		for _, m := range licenceUnlessMarks[id] {
			found = found && !strings.Contains(all, m)
		}
		if found {
			licences = append(licences, id)
		}
	}
	if len(licences) == 0 {
		t.Errorf("the licence files in %s name no licence this test knows: read them and add the licence to licenceMarks", dir)
	}
	slices.Sort(licences)
	return texts, licences
}

// sameLicences reports whether the SPDX expression expr, a list of ids
// joined by AND, names exactly the licences found.
func sameLicences(expr string, found []string) bool {
	ids := strings.Split(expr, " AND ")
	slices.Sort(ids)
	return slices.Equal(ids, found)
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(goOutput(t, exec.Command("go", "env", name)))
}

func goOutput(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	return string(out)
}

// foldSpace turns every run of white space into one space, so that a text
// reflowed or indented in Markdown still matches.
func foldSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
