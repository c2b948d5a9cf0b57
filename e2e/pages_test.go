//go:build !js

package e2e

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// site is an integrator's web server: the parent page that embeds the
// widget. Tests open it as http://localhost:PORT, a different origin from
// the relay's http://127.0.0.1:PORT, as a real shop and relay are. The same
// server reached as http://127.0.0.1:PORT is a third origin, for the pages
// that play an attacker.
type site struct {
	srv *httptest.Server
}

func newSite(t testing.TB) *site {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page", servePage)
	mux.HandleFunc("GET /evil", serveEvil)
	s := &site{srv: httptest.NewServer(mux)}
	t.Cleanup(s.srv.Close)
	return s
}

// pageOptions configure the parent page.
type pageOptions struct {
	relay   string // base URL; embed.js is loaded from it
	app     string
	storage string // "", "cookie", "localStorage", "sessionStorage"
	ttl     int
	limit   int
	verify  bool
	noCode  bool // use the <script data-app=...> form instead of Scanin.mount
	raw     bool // frame widget.html directly, as a page that skips embed.js's checks would
	evil    bool // also frame an attacker page from another origin
}

// pageURL is the parent page on the localhost origin.
func (s *site) pageURL(o pageOptions) string {
	q := url.Values{"relay": {o.relay}, "app": {o.app}}
	if o.storage != "" {
		q.Set("storage", o.storage)
	}
	if o.ttl > 0 {
		q.Set("ttl", strconv.Itoa(o.ttl))
	}
	if o.limit > 0 {
		q.Set("limit", strconv.Itoa(o.limit))
	}
	if o.verify {
		q.Set("verify", "1")
	}
	if o.noCode {
		q.Set("nocode", "1")
	}
	if o.raw {
		q.Set("raw", "1")
	}
	if o.evil {
		q.Set("evil", s.otherOrigin()+"/evil")
	}
	return s.localhostURL() + "/page?" + q.Encode()
}

// localhostURL is the site's origin as the parent page has it.
func (s *site) localhostURL() string {
	return strings.Replace(s.srv.URL, "127.0.0.1", "localhost", 1)
}

// otherOrigin is the same server under another origin.
func (s *site) otherOrigin() string { return s.srv.URL }

// The parent page records everything embed.js tells it in window.__t, for
// the test to poll: states (onState, with the time since navigation start),
// results (onResult) and errors.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>parent</title>
<script>
window.__t = {states: [], results: [], errors: [], events: [], evil: []};
addEventListener("message", (e) => {
  if (e.data && e.data.type === "evil:done") window.__t.evil.push("done");
});
</script>
</head>
<body>
<h1>Shop</h1>
<div id="login"></div>
<div id="login2"></div>
{{if .NoCode}}
<script src="{{.Relay}}/embed.js" data-app="{{.App}}" data-target="#login"
  {{if .Storage}}data-storage="{{.Storage}}" data-key="session"{{end}}
  {{if .TTL}}data-ttl="{{.TTL}}"{{end}}></script>
<script>
const login = document.getElementById("login");
login.addEventListener("scanin:state", (e) => window.__t.states.push(e.detail));
login.addEventListener("scanin:result", (e) => window.__t.results.push(e.detail));
</script>
{{else if .Raw}}
<script>
(() => {
  const origin = new URL({{.Relay}}).origin;
  const f = document.createElement("iframe");
  f.src = {{.Relay}} + "/widget.html?app=" + encodeURIComponent({{.App}});
  f.setAttribute("sandbox", "allow-scripts allow-same-origin");
  f.style.cssText = "border:0;width:320px;height:372px;";
  const hello = () => f.contentWindow && f.contentWindow.postMessage({type: "scanin:hello", v: 1}, origin);
  addEventListener("message", (e) => {
    if (e.source !== f.contentWindow || e.origin !== origin || !e.data) return;
    if (e.data.type === "scanin:hello") hello();
    if (e.data.type === "scanin:ready") window.__t.states.push({state: "waiting"});
    if (e.data.type === "scanin:error") window.__t.states.push({state: "error", code: e.data.code, message: e.data.message});
  });
  f.addEventListener("load", hello);
  document.getElementById("login").appendChild(f);
})();
</script>
{{else}}
<script src="{{.Relay}}/embed.js"></script>
<script>
try {
  window.__w = Scanin.mount(document.getElementById("login"), {
    app: {{.App}},
    {{if .Storage}}storage: {type: {{.Storage}}, key: "session"},{{end}}
    {{if .TTL}}ttl: Number({{.TTL}}),{{end}}
    {{if .Limit}}limit: Number({{.Limit}}),{{end}}
    {{if .Verify}}verify: true,{{end}}
    onResult(r) { window.__t.results.push(r); },
    onState(state, detail) { window.__t.states.push(Object.assign({state, at: performance.now()}, detail)); },
  });
} catch (e) {
  window.__t.errors.push(String(e));
}
</script>
{{end}}
{{if .Evil}}<iframe id="evil" src="{{.Evil}}"></iframe>{{end}}
</body></html>
`))

func servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := struct {
		Relay, App, Storage, Evil string
		TTL, Limit                string
		Verify, NoCode, Raw       bool
	}{
		Relay: q.Get("relay"), App: q.Get("app"), Storage: q.Get("storage"), Evil: q.Get("evil"),
		TTL: q.Get("ttl"), Limit: q.Get("limit"),
		Verify: q.Get("verify") == "1", NoCode: q.Get("nocode") == "1", Raw: q.Get("raw") == "1",
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// The attacker's page, framed by the parent from another origin. When the
// test says go (through the parent), it forges the messages a widget would
// send to the page and the ones a page would send to the widget, with
// targetOrigin "*", then says it is done. Loaded with ?now it does so at
// once: that is for a page whose widget iframe was navigated to it.
const evilPage = `<!doctype html><meta charset="utf-8"><title>evil</title>
<script>
const forge = () => {
  const page = window.parent;
  const widget = page.frames[0];
  const forged = [
  {type: "scanin:result", kind: "token", data: "forged-token", device: null},
  {type: "scanin:ready", expires_at: 1},
  {type: "scanin:resize", height: 1999},
  {type: "scanin:open", link: "https://evil.example/#phish"},
];
  for (const m of forged) page.postMessage(m, "*");
  widget.postMessage({type: "scanin:refresh"}, "*");
  widget.postMessage({type: "scanin:hello", v: 1}, "*");
  page.postMessage({type: "evil:done"}, "*");
};
addEventListener("message", (e) => {
  if (e.source === window.parent && e.data && e.data.type === "evil:go") forge();
});
if (location.search === "?now") forge();
</script>`

func serveEvil(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(evilPage))
}
