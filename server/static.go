package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	wasmexec "github.com/scanin/scanin/wasm_exec"
	"github.com/scanin/scanin/widget/web"
)

// The browser files, as the relay serves them (the contract with the
// widget):
//
//   - Every file of web.FS() except the two templated entry points below
//     (widget.html, embed.js), and the
//     toolchain's wasm_exec.js under the name "wasm_exec.js", is served at
//     /assets/{dir/}{stem}.{hash}{rest}, where stem is the file's base name
//     up to its first dot, rest is the remainder from that dot, and hash is
//     the first 8 hex digits of the SHA-256 of its (uncompressed) contents:
//     dist/widget.wasm -> /assets/dist/widget.3fa9c2d1.wasm,
//     wasm_exec.js -> /assets/wasm_exec.1a2b3c4d.js. These answers are
//     immutable (cached for a year) and loadable from any origin. A file
//     with a NAME.br or NAME.gz sibling is sent in that encoding when the
//     request's Accept-Encoding allows (br first), with Vary:
//     Accept-Encoding; the siblings have no URL of their own.
//   - widget.html (also at /widget), embed.js and embed.d.ts are also
//     served at those stable paths, cacheable for five minutes and with an
//     ETag for revalidation after that (entryCacheControl). In widget.html and
//     embed.js, {{asset:NAME}} becomes NAME's /assets/ path and {{relay}}
//     the relay's public base URL (no trailing slash). An unknown NAME
//     becomes /assets/missing/NAME, which is a 404.
//
// widget.html carries a Content-Security-Policy whose frame-ancestors are
// the origins of the app named by its ?app= parameter.

// templated entry points are served at stable paths only, not under
// /assets/: their contents depend on the relay's URL (and widget.html's
// headers on the app).
var templated = map[string]bool{"widget.html": true, "embed.js": true}

const assetsPrefix = "/assets/"

type asset struct {
	name        string // path in web.FS(), or wasm_exec.js
	url         string
	contentType string
	raw, br, gz []byte
	etag        string
}

type assets struct {
	byURL   map[string]*asset
	byName  map[string]*asset
	widget  string // widget.html with asset URLs filled in, {{relay}} still open
	embedJS string
	embedTS []byte
	missing []string // names referenced by a placeholder that do not exist
}

// loadAssets reads the embedded browser files and names them.
func loadAssets() (*assets, error) {
	return loadAssetsFrom(web.FS(), wasmexec.JS())
}

func loadAssetsFrom(fsys fs.FS, wasmExecJS []byte) (*assets, error) {
	a := &assets{byURL: map[string]*asset{}, byName: map[string]*asset{}}
	files := map[string][]byte{"wasm_exec.js": wasmExecJS}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to read the widget files: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if templated[name] {
			continue
		}
		if base, ok := strings.CutSuffix(name, ".br"); ok && files[base] != nil {
			continue
		}
		if base, ok := strings.CutSuffix(name, ".gz"); ok && files[base] != nil {
			continue
		}
		raw := files[name]
		sum := sha256.Sum256(raw)
		hash := hex.EncodeToString(sum[:4])
		as := &asset{
			name:        name,
			url:         assetsPrefix + hashedName(name, hash),
			contentType: contentType(name),
			raw:         raw,
			br:          files[name+".br"],
			gz:          files[name+".gz"],
			etag:        `"` + hash + `"`,
		}
		a.byURL[as.url] = as
		a.byName[name] = as
	}
	a.widget = a.fill(string(files["widget.html"]))
	a.embedJS = a.fill(string(files["embed.js"]))
	a.embedTS = files["embed.d.ts"]
	return a, nil
}

// hashedName puts hash before the first dot of name's base name.
func hashedName(name, hash string) string {
	dir, base := path.Split(name)
	stem, rest, ok := strings.Cut(base, ".")
	if !ok {
		return dir + base + "." + hash
	}
	return dir + stem + "." + hash + "." + rest
}

var assetPlaceholder = regexp.MustCompile(`\{\{asset:([^{}\s]+)\}\}`)

// fill replaces {{asset:NAME}} with NAME's URL.
func (a *assets) fill(src string) string {
	return assetPlaceholder.ReplaceAllStringFunc(src, func(m string) string {
		name := assetPlaceholder.FindStringSubmatch(m)[1]
		if as := a.byName[name]; as != nil {
			return as.url
		}
		a.missing = append(a.missing, name)
		return assetsPrefix + "missing/" + name
	})
}

func contentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".wasm":
		return "application/wasm"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".ts":
		return "text/plain; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

// acceptsEncoding reports whether an Accept-Encoding header allows coding.
func acceptsEncoding(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return !(strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q=0"), ".0") == "")
	}
	return false
}

// securityHeaders are sent with every page and file.
func securityHeaders(h http.Header, https bool) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if https {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

func (rl *Relay) https(r *http.Request) bool {
	return strings.HasPrefix(rl.publicBase(r), "https://")
}

// crossOrigin lets any page load the file, as the embedding page does
// with embed.js and preloads the wasm.
func crossOrigin(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

// assetHeader sets a hashed asset's own headers, those of every answer
// with it but the encoding it is sent in.
func assetHeader(h http.Header, as *asset) {
	h.Set("Content-Type", as.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", as.etag)
	if as.br != nil || as.gz != nil {
		h.Set("Vary", "Accept-Encoding")
	}
}

func (rl *Relay) serveAsset(w http.ResponseWriter, r *http.Request) {
	as := rl.assets.byURL[r.URL.Path]
	h := w.Header()
	securityHeaders(h, rl.https(r))
	crossOrigin(h)
	if as == nil {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	assetHeader(h, as)
	body := as.raw
	if as.br != nil || as.gz != nil {
		ae := r.Header.Get("Accept-Encoding")
		switch {
		case as.br != nil && acceptsEncoding(ae, "br"):
			body = as.br
			h.Set("Content-Encoding", "br")
		case as.gz != nil && acceptsEncoding(ae, "gzip"):
			body = as.gz
			h.Set("Content-Encoding", "gzip")
		}
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	_, _ = w.Write(body)
}

// entryCacheControl is how long a browser may use widget.html, embed.js
// and embed.d.ts without asking again. Served no-cache, each visit cost a
// revalidation round trip for embed.js (which blocks the page's parser) and
// another for widget.html (which everything in the frame waits for):
// measured on loopback, 20-33 ms each on a warm load, and two round trips
// more on a slow network. The price is that a new release, and a change to
// an app's origins in widget.html's frame-ancestors, reach a browser that
// has the old copy up to this long after the relay serves them. The relay
// checks the page origin of every session itself, so an origin removed from
// an app is refused at once all the same; and the old copy names the
// previous release's hashed assets, which that browser fetched together
// with it and holds as immutable.
const entryCacheControl = "max-age=300"

// entryHeader sets the headers of widget.html, embed.js and embed.d.ts but
// the security headers and the ETag (templatedETag).
func entryHeader(h http.Header, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", entryCacheControl)
}

// templatedETag is an entry point's ETag: the first 8 bytes of its SHA-256
// in hex, quoted. It depends on the body with {{relay}} filled in.
func templatedETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// serveTemplated writes an entry point with {{relay}} filled in, cacheable
// for a short time (entryCacheControl), then revalidated by its ETag.
func (rl *Relay) serveTemplated(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	etag := templatedETag(body)
	entryHeader(h, contentType)
	h.Set("ETag", etag)
	if status == http.StatusOK && r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (rl *Relay) render(tmpl string, r *http.Request) []byte {
	return []byte(strings.ReplaceAll(tmpl, "{{relay}}", rl.publicBase(r)))
}

// noAppBody is widget.html's answer, 404, for an app the relay lacks.
const noAppBody = "no such app\n"

// noAppHeader sets the headers of that answer but the security headers.
func noAppHeader(h http.Header) {
	h.Set("Permissions-Policy", widgetPermissions)
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Content-Type", "text/plain; charset=utf-8")
}

const widgetPermissions = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

// widgetHeader sets widget.html's headers but the security headers, its
// Content-Security-Policy (widgetCSP) and the ones serveTemplated sets.
func widgetHeader(h http.Header) {
	h.Set("Permissions-Policy", widgetPermissions)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

// wsBase is the relay's base URL with ws or wss for http or https.
func wsBase(base string) string { return "ws" + strings.TrimPrefix(base, "http") }

// widgetCSP is widget.html's Content-Security-Policy for an app of those
// origins, on the relay whose base URL as a WebSocket URL is wsBase: the
// page may be framed by those origins only. logo is the app's logo, drawn
// in the code's centre: a path on the relay ('self'), or an https URL
// whose origin img-src then allows too.
func widgetCSP(wsBase string, origins []string, logo string) string {
	img := "'self' data: blob:"
	if o := httpsOrigin(logo); o != "" {
		img += " " + o
	}
	return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' " + wsBase +
		"; img-src " + img + "; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'none'" +
		"; frame-ancestors " + strings.Join(origins, " ")
}

// httpsOrigin is the scheme://host[:port] of an https URL, or "" for
// anything else.
func httpsOrigin(u string) string {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "?#@; '\"") {
		return ""
	}
	return "https://" + host
}

// faviconSVG is the relay's icon (a QR code's corner), for its pages and
// for browsers that ask for /favicon.ico.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">` +
	`<rect width="16" height="16" rx="3" fill="#1a66d2"/>` +
	`<path d="M3 3h4v4H3zM9 3h4v4H9zM3 9h4v4H3zM9 9h2v2H9zM11 11h2v2h-2z" fill="#fff"/>` +
	`<path d="M4 4h2v2H4zM10 4h2v2h-2zM4 10h2v2H4z" fill="#1a66d2"/></svg>`

// serveFavicon serves faviconSVG at /favicon.svg and /favicon.ico (which
// browsers ask for by themselves), so that no page of the relay gets a 404
// for its icon.
func (rl *Relay) serveFavicon(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h, rl.https(r))
	faviconHeader(h)
	_, _ = w.Write([]byte(faviconSVG))
}

// faviconHeader sets the icon's headers but the security headers.
func faviconHeader(h http.Header) http.Header {
	crossOrigin(h)
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=86400")
	return h
}

// serveWidget serves the iframe page, framable only by the app's origins.
func (rl *Relay) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h, rl.https(r))
	app := rl.apps.Get(r.URL.Query().Get("app"))
	if app == nil {
		noAppHeader(h)
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(noAppBody))
		return
	}
	widgetHeader(h)
	base := rl.publicBase(r)
	h.Set("Content-Security-Policy", widgetCSP(wsBase(base), app.Origins, app.Logo))
	rl.serveTemplated(w, r, http.StatusOK, "text/html; charset=utf-8", rl.render(rl.assets.widget, r))
}

// serveEmbedJS serves the script an integrator's page includes.
func (rl *Relay) serveEmbedJS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h, rl.https(r))
	crossOrigin(h)
	rl.serveTemplated(w, r, http.StatusOK, "text/javascript; charset=utf-8", rl.render(rl.assets.embedJS, r))
}

// serveEmbedDTS serves embed.js's TypeScript declarations.
func (rl *Relay) serveEmbedDTS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h, rl.https(r))
	crossOrigin(h)
	rl.serveTemplated(w, r, http.StatusOK, "text/plain; charset=utf-8", bytes.Clone(rl.assets.embedTS))
}
