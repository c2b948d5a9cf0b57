package server

import (
	"net/http"
	"sort"
)

// A relay that serves the browser files from elsewhere, as the edge relay
// does (server/edge: a build step writes them out, and the Worker serves
// them without starting Go), takes them and their headers from
// StaticFiles, so that this file's rules and package server's handlers
// are the one home of both.

// Placeholders left in a StaticBundle for the serving relay to fill in per
// request.
const (
	// RelayPlaceholder is the relay's public base URL, no trailing slash.
	RelayPlaceholder = "{{relay}}"
	// WSPlaceholder is the same URL with ws or wss for http or https.
	WSPlaceholder = "{{ws}}"
)

// StaticFile is one fixed answer of the relay, a browser file or page.
type StaticFile struct {
	// Path is its URL path.
	Path string
	// Header is every header of its 200 answer except those that depend on
	// the request: Strict-Transport-Security (https only, as
	// securityHeaders), Content-Encoding, Content-Length, and a templated
	// file's ETag.
	Header http.Header
	// Body is the file. In a templated one, RelayPlaceholder is to be
	// filled in first; then its ETag is templatedETag's: the quoted first
	// 8 bytes of the body's SHA-256 in hex.
	Body      []byte
	Templated bool
	// Br and Gz are Body compressed, or nil: sent with Content-Encoding
	// when the request's Accept-Encoding allows (br first, an explicit q=0
	// refuses), as serveAsset does. A If-None-Match holding the ETag gets
	// 304 with no body.
	Br, Gz []byte
}

// StaticBundle is every fixed answer of a relay serving apps.
type StaticBundle struct {
	// Files are the hashed assets (immutable), /embed.js, /embed.d.ts and
	// /link, sorted by Path.
	Files []StaticFile
	// Widget is widget.html (also served at /widget) without its
	// Content-Security-Policy, which depends on the ?app= parameter.
	Widget StaticFile
	// WidgetCSP is that policy by app id, with WSPlaceholder to fill in.
	WidgetCSP map[string]string
	// NoApp is widget.html's 404 answer for an app the relay lacks.
	NoApp StaticFile
	// NoAsset is the 404 answer for any other path under /assets/.
	NoAsset StaticFile
	// Missing names the files a placeholder refers to that do not exist
	// (the widget is not built).
	Missing []string
}

// StaticFiles returns the relay's browser files and pages for apps (none:
// the demo app), with their headers, as the relay serves them over plain
// http.
func StaticFiles(apps []App) (*StaticBundle, error) {
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	return a.bundle(apps), nil
}

func (a *assets) bundle(apps []App) *StaticBundle {
	if len(apps) == 0 {
		apps = []App{DemoApp()}
	}
	fixed := func(h http.Header) http.Header {
		securityHeaders(h, false)
		return h
	}
	b := &StaticBundle{WidgetCSP: map[string]string{}, Missing: a.missing}
	for _, as := range a.byURL {
		h := http.Header{}
		crossOrigin(h)
		assetHeader(h, as)
		b.Files = append(b.Files, StaticFile{Path: as.url, Header: fixed(h), Body: as.raw, Br: as.br, Gz: as.gz})
	}
	entry := func(path, contentType string, body []byte) {
		h := http.Header{}
		crossOrigin(h)
		entryHeader(h, contentType)
		b.Files = append(b.Files, StaticFile{Path: path, Header: fixed(h), Body: body, Templated: true})
	}
	entry("/embed.js", "text/javascript; charset=utf-8", []byte(a.embedJS))
	entry("/embed.d.ts", "text/plain; charset=utf-8", a.embedTS)
	link := http.Header{}
	linkHeader(link)
	b.Files = append(b.Files, StaticFile{Path: "/link", Header: fixed(link), Body: []byte(linkPage)})
	for _, p := range []string{"/favicon.ico", "/favicon.svg"} {
		b.Files = append(b.Files, StaticFile{Path: p, Header: fixed(faviconHeader(http.Header{})), Body: []byte(faviconSVG)})
	}
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Path < b.Files[j].Path })

	wh := http.Header{}
	widgetHeader(wh)
	entryHeader(wh, "text/html; charset=utf-8")
	b.Widget = StaticFile{Path: "/widget.html", Header: fixed(wh), Body: []byte(a.widget), Templated: true}
	for _, app := range apps {
		b.WidgetCSP[app.ID] = widgetCSP(WSPlaceholder, app.Origins, app.Logo)
	}
	nh := http.Header{}
	noAppHeader(nh)
	b.NoApp = StaticFile{Path: "/widget.html", Header: fixed(nh), Body: []byte(noAppBody)}
	// As serveAsset's http.Error.
	na := http.Header{}
	crossOrigin(na)
	na.Set("Content-Type", "text/plain; charset=utf-8")
	b.NoAsset = StaticFile{Path: assetsPrefix, Header: fixed(na), Body: []byte("no such file\n")}
	return b
}
