//go:build !js

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/internal/proctest"
)

// TestEdge serves the relay at the edge (server/edge under workerd) with
// the tests' config file, relayConfig, and checks that:
//   - Files: every browser file and page it serves has the status, headers
//     and body of the self-hosted relay's (env.relay, the same config),
//     in each encoding, and revalidates;
//   - WholePath: a page of the config file's shop app loads embed.js, the
//     widget and its files from the edge and listens there; the phone seals
//     a token to the key of the decoded QR code and posts it to the edge;
//     the page gets exactly that token.
//
// It skips without server/edge's pinned npm packages (workerd).
func TestEdge(t *testing.T) {
	edge := startEdge(t)
	t.Run("Files", func(t *testing.T) {
		t.Parallel()
		testEdgeFiles(t, edge)
	})
	t.Run("WholePath", func(t *testing.T) {
		t.Parallel()
		testEdgeWholePath(t, edge)
	})
}

// startEdge builds the edge relay into a directory of the test's own, as
// ./build.sh edge --config does into server/edge/dist (so that it leaves
// the repository alone and runs beside server/edge's tests): the Go rules
// as wasm, the toolchain's wasm_exec.js and the static bundle
// (cmd/edgebundle) with relayConfig's apps, then serves it under workerd
// on a free port, until the test ends. It returns the base URL.
func startEdge(t *testing.T) string {
	t.Helper()
	src := filepath.Join(env.root, "server", "edge")
	workerd := filepath.Join(src, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd")
	if _, err := os.Stat(workerd); err != nil {
		t.Skip("server/edge/node_modules is missing: run `npm ci` in server/edge (./build.sh test does it first)")
	}
	dir := t.TempDir()
	copyFile := func(from, to string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(to), 0o755)
		}
		if err == nil {
			err = os.WriteFile(to, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(src, "workerd.capnp"), filepath.Join(dir, "workerd.capnp"))
	js, _ := filepath.Glob(filepath.Join(src, "src", "*.js"))
	for _, f := range js {
		copyFile(f, filepath.Join(dir, "src", filepath.Base(f)))
	}
	goroot, err := output(env.root, "go", "env", "GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	copyFile(filepath.Join(strings.TrimSpace(goroot), "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "dist", "wasm_exec.js"))
	run := func(extraEnv []string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = env.root
		cmd.Env = append(os.Environ(), extraEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run([]string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "dist", "rules.wasm"), "./server/edge/wasm")
	run(nil, "go", "run", "./server/edge/cmd/edgebundle", "-config", env.config, "-out", filepath.Join(dir, "dist"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &proctest.Output{}
	cmd := exec.Command(workerd, "serve", "--experimental", filepath.Join(dir, "workerd.capnp"),
		"--socket-addr", "http="+addr, "--directory-path", "do-storage="+filepath.Join(dir, "state"),
		"--directory-path", "assets="+filepath.Join(dir, "dist", "public"))
	cmd.Env = append(os.Environ(), "SCANIN_EDGE_RATE_LIMIT=off")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start workerd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("workerd's output:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := proctest.WaitHealthy(ctx, url, done); err != nil {
		t.Fatalf("workerd: %v\n%s", err, logs.String())
	}
	return url
}

var assetURL = regexp.MustCompile(`/assets/[A-Za-z0-9._/-]+`)

func testEdgeFiles(t *testing.T, edge string) {
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	get := func(base, path string, h http.Header) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", base, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s%s: %v", base, path, err)
		}
		return resp.StatusCode, resp.Header, string(b)
	}
	edgeHost := strings.TrimPrefix(edge, "http://")
	// same compares one answer of both relays, the self-hosted relay's
	// address replaced by the edge's.
	same := func(path string, h http.Header) (http.Header, string) {
		t.Helper()
		what := fmt.Sprintf("%s %v", path, h)
		wantStatus, wantH, wantBody := get(env.relay.url, path, h)
		status, got, body := get(edge, path, h)
		wantBody = strings.ReplaceAll(wantBody, env.relay.addr, edgeHost)
		if status != wantStatus || body != wantBody {
			t.Errorf("%s: the edge answers %d, %d bytes; the self-hosted relay %d, %d bytes", what, status, len(body), wantStatus, len(wantBody))
		}
		for _, hh := range []http.Header{wantH, got} {
			hh.Del("Date")
			if hh.Get("Content-Length") == "" || h.Get("If-None-Match") != "" {
				hh.Del("Content-Length")
			}
		}
		for k := range wantH {
			want := strings.ReplaceAll(wantH.Get(k), env.relay.addr, edgeHost)
			if k == "Etag" && strings.HasPrefix(path, "/assets/") || k != "Etag" {
				if got.Get(k) != want {
					t.Errorf("%s: %s is %q at the edge, %q self-hosted", what, k, got.Get(k), want)
				}
			} else if got.Get(k) == "" {
				t.Errorf("%s: no ETag at the edge", what)
			}
		}
		for k := range got {
			if wantH.Get(k) == "" && k != "Content-Length" {
				t.Errorf("%s: the edge sends %s: %q, the self-hosted relay does not", what, k, got.Get(k))
			}
		}
		return got, body
	}
	plain := http.Header{"Accept-Encoding": {"identity"}}
	var assets []string
	for _, path := range []string{"/embed.js", "/embed.d.ts", "/widget.html?app=shop", "/widget?app=strict", "/widget.html?app=nope", "/widget.html", "/link", "/assets/nope.js"} {
		h, body := same(path, plain)
		if etag := h.Get("ETag"); etag != "" {
			// The ETag is of the body with the relay's URL in it: each
			// relay's own.
			if st, _, _ := get(edge, path, http.Header{"If-None-Match": {etag}}); st != http.StatusNotModified {
				t.Errorf("%s with If-None-Match: %d at the edge, want 304", path, st)
			}
		}
		assets = append(assets, assetURL.FindAllString(body, -1)...)
	}
	if len(assets) < 3 {
		t.Fatalf("widget.html and embed.js name %d hashed files: %v", len(assets), assets)
	}
	for _, a := range assets {
		for _, enc := range []string{"br, gzip", "gzip", "identity", "br;q=0, gzip;q=0"} {
			h, _ := same(a, http.Header{"Accept-Encoding": {enc}})
			if enc == "br, gzip" {
				same(a, http.Header{"Accept-Encoding": {enc}, "If-None-Match": {h.Get("ETag")}})
			}
		}
	}
}

func testEdgeWholePath(t *testing.T, edge string) {
	s := newSite(t)
	ctx := tab(t, true)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: edge, app: "shop", storage: "localStorage"})))
	waitStates(t, ctx, "waiting", 1, 30*time.Second)
	link := readCode(t, ctx, "")
	if link.App != "shop" || link.Relay != edge || link.Base != edge+"/link" {
		t.Fatalf("link = %+v; want app shop on the edge relay %s", link, edge)
	}
	ph := newPhone(t)
	if status, body := ph.read(link); status != http.StatusOK {
		t.Fatalf("reading the session at the edge: %d %s", status, body)
	}
	token := "tok-" + link.SessionID[:8] + "-edge-" + strconv.Itoa(int(time.Now().Unix()))
	if status, body := ph.deliver(link, seal(t, link, phoneMessage("token", token, time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering to the edge: %d %s; want 200", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length >= 1`, 10*time.Second)
	got := eval[[]map[string]any](t, ctx, `window.__t.results`)
	if len(got) != 1 || got[0]["kind"] != "token" || got[0]["data"] != token {
		t.Fatalf("results = %v; want one token %q", got, token)
	}
	if stored := storedToken(t, ctx, "localStorage"); stored != token {
		t.Fatalf("localStorage holds %q; want %q", stored, token)
	}
	// Everything the page and the widget loaded came from the edge or the
	// page's own site, never from the self-hosted relay.
	loaded := eval[[]string](t, ctx, `performance.getEntriesByType("resource").map((e) => e.name)`)
	for _, u := range loaded {
		if strings.HasPrefix(u, env.relay.url) {
			t.Errorf("the page loaded %s from the self-hosted relay", u)
		}
	}
}
