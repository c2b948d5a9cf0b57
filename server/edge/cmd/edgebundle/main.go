// Command edgebundle writes the edge relay's static bundle, which
// `./build.sh edge` builds and src/static.js serves without starting Go:
//
//   - OUT/public/: the hashed assets (/assets/…) and their .br and .gz
//     siblings, at their URL paths: the Worker's static assets (the ASSETS
//     binding: wrangler.jsonc's "assets", a disk service in workerd.capnp);
//   - OUT/static.js: a module with every answer's headers (from
//     server.StaticFiles, the self-hosted relay's own rules), the small
//     templated files and pages inline, widget.html's
//     Content-Security-Policy per app, and the apps for the Go rules.
//
// The apps come from the same JSON config file as `scanin relay --config`,
// read and checked by server.LoadConfig; without -config, the built-in
// demo app.
//
// Usage:
//
//	go run ./server/edge/cmd/edgebundle [-config FILE] [-out server/edge/dist]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
)

func main() {
	config := flag.String("config", "", "the relay's JSON config file (as `scanin relay --config`); empty: the demo app")
	out := flag.String("out", "server/edge/dist", "the directory to write public/ and static.js into")
	flag.Parse()
	if err := run(*config, *out); err != nil {
		fmt.Fprintln(os.Stderr, "edgebundle:", err)
		os.Exit(1)
	}
}

// answer is one answer as static.js has it.
type answer struct {
	Headers map[string]string `json:"headers"`
	// Body is the answer's text, for the templated files and pages; the
	// assets' bodies are in public/.
	Body      *string `json:"body,omitempty"`
	Templated bool    `json:"templated,omitempty"`
	Br        bool    `json:"br,omitempty"` // public/PATH.br exists
	Gz        bool    `json:"gz,omitempty"` // public/PATH.gz exists
}

// manifest is static.js's default export.
type manifest struct {
	Files     map[string]answer `json:"files"`
	Widget    answer            `json:"widget"`
	WidgetCSP map[string]string `json:"widgetCSP"`
	NoApp     answer            `json:"noApp"`
	NoAsset   answer            `json:"noAsset"`
	// Apps is the config file's apps (the demo app when none) as JSON,
	// in the config file's form, each with its ttl filled in; the Go rules
	// read it.
	Apps string `json:"apps"`
	// Limits is the config file's limits that apply at the edge, as JSON
	// (edgeLimits); the Go rules read it.
	Limits string `json:"limits"`
}

// edgeLimits is the JSON form of edge.Limits that the Go rules read, with
// durations in milliseconds. A zero keeps the protocol's default.
type edgeLimits struct {
	MaxSealedSize           int   `json:"max_sealed_size"`
	AckWaitMS               int64 `json:"ack_wait_ms"`
	TombstoneTTLMS          int64 `json:"tombstone_ttl_ms"`
	NewSessionsPerMinute    int   `json:"new_sessions_per_minute"`
	SenderRequestsPerMinute int   `json:"sender_requests_per_minute"`
}

func headers(h http.Header) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		m[k] = strings.Join(v, ", ")
	}
	return m
}

func text(f server.StaticFile) answer {
	body := string(f.Body)
	return answer{Headers: headers(f.Header), Body: &body, Templated: f.Templated}
}

func run(configPath, out string) error {
	var cfg server.Config
	if configPath != "" {
		var err error
		if cfg, err = server.LoadConfig(configPath); err != nil {
			return err
		}
	}
	apps := cfg.Apps
	if len(apps) == 0 {
		apps = []server.App{server.DemoApp()}
	}
	ttl := cfg.Limits.DefaultTTL
	if ttl == 0 {
		ttl = protocol.DefaultTTL
	}
	for i := range apps {
		if apps[i].TTL == 0 {
			apps[i].TTL = int(ttl / time.Second)
		}
	}
	b, err := server.StaticFiles(apps)
	if err != nil {
		return err
	}
	if len(b.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "edgebundle: the widget files refer to files that do not exist (%s): run ./build.sh build first for the widget\n",
			strings.Join(b.Missing, ", "))
	}
	appsJSON, err := json.Marshal(apps)
	if err != nil {
		return err
	}
	l := cfg.Limits
	limitsJSON, err := json.Marshal(edgeLimits{
		MaxSealedSize: l.MaxSealedSize, AckWaitMS: l.AckWait.Milliseconds(), TombstoneTTLMS: l.TombstoneTTL.Milliseconds(),
		NewSessionsPerMinute: l.NewSessionsPerMinute, SenderRequestsPerMinute: l.SenderRequestsPerMinute,
	})
	if err != nil {
		return err
	}
	m := manifest{Files: map[string]answer{}, WidgetCSP: b.WidgetCSP, Widget: text(b.Widget),
		NoApp: text(b.NoApp), NoAsset: text(b.NoAsset), Apps: string(appsJSON), Limits: string(limitsJSON)}

	public := filepath.Join(out, "public")
	written := map[string]bool{}
	write := func(urlPath string, body []byte) error {
		p := filepath.Join(public, filepath.FromSlash(strings.TrimPrefix(urlPath, "/")))
		written[p] = true
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return writeFile(p, body)
	}
	for _, f := range b.Files {
		if !strings.HasPrefix(f.Path, "/assets/") {
			m.Files[f.Path] = text(f)
			continue
		}
		a := answer{Headers: headers(f.Header), Br: f.Br != nil, Gz: f.Gz != nil}
		err := errors.Join(write(f.Path, f.Body), writeIf(write, f.Path+".br", f.Br), writeIf(write, f.Path+".gz", f.Gz))
		if err != nil {
			return fmt.Errorf("failed to write %s: %w", f.Path, err)
		}
		m.Files[f.Path] = a
	}
	js, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(m.Files))
	for p := range m.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	src := "// Written by server/edge/cmd/edgebundle (./build.sh edge): do not edit.\n// " +
		strings.Join(paths, " ") + "\nexport default " + string(js) + ";\n"
	if err := writeFile(filepath.Join(out, "static.js"), []byte(src)); err != nil {
		return fmt.Errorf("failed to write static.js: %w", err)
	}
	// The previous builds' hashed names.
	return filepath.WalkDir(public, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || written[p] {
			return err
		}
		return os.Remove(p)
	})
}

// writeFile replaces a file at once (a rename), so that a relay serving
// the bundle while another build writes the same files never sees one
// half written.
func writeFile(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".edgebundle-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func writeIf(write func(string, []byte) error, path string, body []byte) error {
	if body == nil {
		return nil
	}
	return write(path, body)
}
