package server

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHashedName(t *testing.T) {
	for name, want := range map[string]string{
		"dist/widget.wasm": "dist/widget.12345678.wasm",
		"wasm_exec.js":     "wasm_exec.12345678.js",
		"embed.d.ts":       "embed.12345678.d.ts",
		"LICENSE":          "LICENSE.12345678",
	} {
		if got := hashedName(name, "12345678"); got != want {
			t.Errorf("hashedName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestWidgetFiles serves a stand-in widget and checks the contract with
// the widget: hashed immutable assets, encodings, placeholders, and the
// headers of the entry points.
func TestWidgetFiles(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	fsys := fstest.MapFS{
		"widget.html":         {Data: []byte(`<script src="{{asset:wasm_exec.js}}"></script><link href="{{asset:dist/widget.wasm}}"> {{relay}} {{asset:nope.js}}`)},
		"embed.js":            {Data: []byte(`const relay = "{{relay}}"; const wasm = "{{asset:dist/widget.wasm}}";`)},
		"embed.d.ts":          {Data: []byte(`export {};`)},
		"dist/widget.wasm":    {Data: []byte("\x00asm raw")},
		"dist/widget.wasm.br": {Data: []byte("brotli bytes")},
		"dist/widget.wasm.gz": {Data: []byte("gzip bytes")},
		"dist/.gitkeep":       {Data: nil},
	}
	a, err := loadAssetsFrom(fsys, []byte("// wasm_exec"))
	if err != nil {
		t.Fatal(err)
	}
	tr.rl.assets = a
	wasm := a.byName["dist/widget.wasm"]
	if wasm == nil || !strings.HasPrefix(wasm.url, "/assets/dist/widget.") || len(wasm.url) != len("/assets/dist/widget.12345678.wasm") {
		t.Fatalf("wasm asset: %+v", wasm)
	}
	if len(a.byURL) != 3 { // widget.wasm, wasm_exec.js, embed.d.ts
		t.Errorf("%d assets, want 3: %v", len(a.byURL), a.byURL)
	}
	if len(a.missing) != 1 || a.missing[0] != "nope.js" {
		t.Errorf("missing %v, want [nope.js]", a.missing)
	}

	for enc, want := range map[string]string{"br, gzip": "brotli bytes", "gzip": "gzip bytes", "": "\x00asm raw", "br;q=0, gzip": "gzip bytes"} {
		st, h, b := tr.do(t, "GET", wasm.url, nil, http.Header{"Accept-Encoding": {enc}})
		if st != 200 || string(b) != want {
			t.Errorf("Accept-Encoding %q: %d %q, want %q", enc, st, b, want)
		}
		for k, v := range map[string]string{
			"Content-Type": "application/wasm", "Vary": "Accept-Encoding",
			"Cache-Control": "public, max-age=31536000, immutable", "Access-Control-Allow-Origin": "*",
			"Cross-Origin-Resource-Policy": "cross-origin", "X-Content-Type-Options": "nosniff",
		} {
			if h.Get(k) != v {
				t.Errorf("%s: %q, want %q", k, h.Get(k), v)
			}
		}
	}
	if st, _, _ := tr.do(t, "GET", "/assets/dist/widget.wasm", nil, nil); st != 404 {
		t.Errorf("unhashed name: %d, want 404", st)
	}
	if st, _, _ := tr.do(t, "GET", "/assets/dist/widget.wasm.br", nil, nil); st != 404 {
		t.Errorf("a precompressed sibling by name: %d, want 404", st)
	}

	st, h, b := tr.do(t, "GET", "/widget.html?app=demo", nil, nil)
	if st != 200 {
		t.Fatalf("widget.html: %d", st)
	}
	body := string(b)
	if !strings.Contains(body, a.byName["wasm_exec.js"].url) || !strings.Contains(body, wasm.url) || !strings.Contains(body, tr.srv.URL) || strings.Contains(body, "{{") {
		t.Errorf("widget.html not filled in: %s", body)
	}
	csp := h.Get("Content-Security-Policy")
	wsURL := "ws" + strings.TrimPrefix(tr.srv.URL, "http")
	for _, want := range []string{"frame-ancestors http://localhost:* http://127.0.0.1:*", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self' " + wsURL, "default-src 'self'", "img-src 'self' data: blob:", "style-src 'self' 'unsafe-inline'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("widget CSP %q lacks %q", csp, want)
		}
	}
	if h.Get("X-Frame-Options") != "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("Cache-Control") != "max-age=300" || h.Get("ETag") == "" {
		t.Errorf("widget headers: %v", h)
	}
	if st2, _, _ := tr.do(t, "GET", "/widget?app=demo", nil, nil); st2 != 200 {
		t.Errorf("/widget: %d", st2)
	}
	if st2, _, _ := tr.do(t, "GET", "/widget.html?app=demo", nil, http.Header{"If-None-Match": {h.Get("ETag")}}); st2 != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", st2)
	}
	for _, q := range []string{"?app=unknown", ""} {
		st, h, _ := tr.do(t, "GET", "/widget.html"+q, nil, nil)
		if st != 404 || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("widget.html%s: %d, CSP %q", q, st, h.Get("Content-Security-Policy"))
		}
	}

	st, h, b = tr.do(t, "GET", "/embed.js", nil, nil)
	if st != 200 || string(b) != `const relay = "`+tr.srv.URL+`"; const wasm = "`+wasm.url+`";` {
		t.Errorf("embed.js: %d %s", st, b)
	}
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") ||
		h.Get("Cache-Control") != "max-age=300" || h.Get("ETag") == "" {
		t.Errorf("embed.js headers: %v", h)
	}
	st, h, _ = tr.do(t, "GET", "/embed.d.ts", nil, nil)
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("embed.d.ts: %d %v", st, h)
	}
}

// TestWidgetCSPLogo: an app's logo on another https origin may be loaded
// by the widget (img-src), and nothing else is widened; a logo on the
// relay needs nothing more than 'self'.
func TestWidgetCSPLogo(t *testing.T) {
	for logo, want := range map[string]string{
		"":                                    "img-src 'self' data: blob:;",
		"/logo.png":                           "img-src 'self' data: blob:;",
		"https://cdn.shop.example/a/l.svg":    "img-src 'self' data: blob: https://cdn.shop.example;",
		"https://cdn.shop.example:8443?x=1":   "img-src 'self' data: blob:;",
		"https://cdn.shop.example:8443/l.png": "img-src 'self' data: blob: https://cdn.shop.example:8443;",
	} {
		csp := widgetCSP("wss://relay.example", []string{"https://shop.example"}, logo)
		if !strings.Contains(csp, want) || !strings.HasSuffix(csp, "frame-ancestors https://shop.example") {
			t.Errorf("logo %q: %s; want %s", logo, csp, want)
		}
	}
}

// TestFavicon: the relay's pages get an icon, not a 404.
func TestFavicon(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	for _, p := range []string{"/favicon.ico", "/favicon.svg"} {
		st, h, b := tr.do(t, "GET", p, nil, nil)
		if st != 200 || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(b), "<svg ") {
			t.Errorf("%s: %d %s %.40q", p, st, h.Get("Content-Type"), b)
		}
	}
}

func TestLinkPage(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	st, h, b := tr.do(t, "GET", "/link", nil, nil)
	if st != 200 || !strings.Contains(string(b), `id="open"`) || !strings.Contains(string(b), `id="play"`) {
		t.Fatalf("/link: %d", st)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, cspHash(linkScript)) || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("/link headers: %v", h)
	}
	// Self-contained: nothing is loaded from elsewhere.
	for _, bad := range []string{"src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(string(b), bad) {
			t.Errorf("/link loads an outside resource (%s)", bad)
		}
	}
}

// TestStaticBundle checks that StaticFiles, which the edge relay serves
// from, gives every file and page with the headers and body the relay's
// own handlers send.
func TestStaticBundle(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	fsys := fstest.MapFS{
		"widget.html":         {Data: []byte(`<script src="{{asset:wasm_exec.js}}"></script> {{relay}}`)},
		"embed.js":            {Data: []byte(`const relay = "{{relay}}"; const wasm = "{{asset:dist/widget.wasm}}";`)},
		"embed.d.ts":          {Data: []byte(`export {};`)},
		"dist/widget.wasm":    {Data: []byte("\x00asm raw")},
		"dist/widget.wasm.br": {Data: []byte("brotli bytes")},
		"dist/widget.wasm.gz": {Data: []byte("gzip bytes")},
	}
	a, err := loadAssetsFrom(fsys, []byte("// wasm_exec"))
	if err != nil {
		t.Fatal(err)
	}
	tr.rl.assets = a
	b := a.bundle(nil)
	fill := func(f StaticFile) string {
		return strings.ReplaceAll(string(f.Body), RelayPlaceholder, tr.srv.URL)
	}
	check := func(what, path string, f StaticFile, wantStatus int, extra map[string]string) {
		t.Helper()
		st, h, body := tr.do(t, "GET", path, nil, http.Header{"Accept-Encoding": {"identity"}})
		if st != wantStatus || string(body) != fill(f) {
			t.Errorf("%s: %d %q; the bundle has %d %q", what, st, body, wantStatus, fill(f))
		}
		want := f.Header.Clone()
		for k, v := range extra {
			want.Set(k, v)
		}
		if f.Templated {
			want.Set("ETag", templatedETag([]byte(fill(f))))
		}
		h.Del("Date")
		h.Del("Content-Length")
		for k := range h {
			if h.Get(k) != want.Get(k) {
				t.Errorf("%s: %s is %q; the bundle has %q", what, k, h.Get(k), want.Get(k))
			}
		}
		for k := range want {
			if h.Get(k) == "" {
				t.Errorf("%s: no %s; the bundle has %q", what, k, want.Get(k))
			}
		}
	}
	if len(b.Files) != 8 { // 3 assets, embed.js, embed.d.ts, link, favicon.ico, favicon.svg
		t.Errorf("%d files, want 8", len(b.Files))
	}
	for _, f := range b.Files {
		check(f.Path, f.Path, f, 200, nil)
		if f.Br != nil && (string(f.Br) != "brotli bytes" || string(f.Gz) != "gzip bytes") {
			t.Errorf("%s: br %q gz %q", f.Path, f.Br, f.Gz)
		}
	}
	wsURL := "ws" + strings.TrimPrefix(tr.srv.URL, "http")
	csp := strings.ReplaceAll(b.WidgetCSP["demo"], WSPlaceholder, wsURL)
	check("widget.html", "/widget.html?app=demo", b.Widget, 200, map[string]string{"Content-Security-Policy": csp})
	check("widget.html of no app", "/widget.html?app=nope", b.NoApp, 404, nil)
	check("no asset", "/assets/nope.js", b.NoAsset, 404, nil)
}
