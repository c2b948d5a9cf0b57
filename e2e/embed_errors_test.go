//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// embedPages serves pages a test writes, each with the Content-Security-
// Policy it asks for, on http://localhost:PORT (an origin the shop app
// allows). Reached as http://127.0.0.1:PORT it is also a web server that
// is not a relay: its /v1/ answers 404 in HTML, open to every origin.
type embedPages struct {
	srv   *httptest.Server
	n     atomic.Int64
	mu    sync.Mutex
	pages map[string]embedPage
}

type embedPage struct{ html, csp string }

func newEmbedPages(t *testing.T) *embedPages {
	t.Helper()
	p := &embedPages{pages: map[string]embedPage{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p/{id}", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		pg, ok := p.pages[r.PathValue("id")]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if pg.csp != "" {
			w.Header().Set("Content-Security-Policy", pg.csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(pg.html))
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<h1>Not Found</h1>"))
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// origin is the pages' origin as the browser has it.
func (p *embedPages) origin() string { return strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1) }

// page registers a page whose head records every scanin:state event that
// reaches the document in window.__t.events, and whose body is body with
// {{relay}} replaced by the shared relay's URL. It returns its URL.
func (p *embedPages) page(body, csp string) string {
	id := fmt.Sprint(p.n.Add(1))
	html := `<!doctype html><html><head><meta charset="utf-8"><title>embed errors</title>
<script>
window.__t = {events: [], states: [], results: []};
document.addEventListener("scanin:state", (e) => window.__t.events.push(e.detail));
window.__rejection = (w) => w.result.then(() => ({code: "resolved"}), (e) => ({code: e.code, message: e.message, name: e.name}));
</script></head><body><h1>Shop</h1><div id="login"></div>
` + strings.ReplaceAll(body, "{{relay}}", env.relay.url) + `
</body></html>`
	p.mu.Lock()
	p.pages[id] = embedPage{html: html, csp: csp}
	p.mu.Unlock()
	return p.origin() + "/p/" + id
}

// consoleErrors collects what the tab writes with console.error, from
// DevTools' own console events.
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func watchConsole(ctx context.Context) *consoleErrors {
	c := &consoleErrors{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError {
				c.mu.Lock()
				c.msgs = append(c.msgs, m.Text)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// scanin is the console errors embed.js wrote.
func (c *consoleErrors) scanin() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if strings.HasPrefix(m, "scanin: ") {
			out = append(out, m)
		}
	}
	return out
}

// closedPort is a loopback URL where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// silentRelay answers the app check for "shop" as a relay would, but its
// widget.html never says anything: the frame loads and shows no code.
func silentRelay(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apps/shop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"shop","name":"Silent","origins":["http://localhost:*"],"link_base":"https://x.example/link","ttl":60}`))
	})
	mux.HandleFunc("GET /widget.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>silent</title><p>nothing here"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// mountPage is a page that mounts the widget from code with options (a JS
// object literal) in target.
func mountPage(target, options string) string {
	return `<script src="{{relay}}/embed.js"></script>
<script>
window.__w = Scanin.mount(` + target + `, Object.assign(` + options + `, {
  onState(state, detail) { window.__t.states.push(Object.assign({state}, detail)); },
}));
</script>`
}

// TestEmbedErrors: each misconfiguration of embed.js is reported four
// ways, with the same code and text: a scanin:state "error" event (and
// onState), console.error, a message in the box where the frame would be
// (and no frame), and the rejection of the widget's result.
func TestEmbedErrors(t *testing.T) {
	pages := newEmbedPages(t)
	relayOrigin := env.relay.url
	down := closedPort(t)
	silent := silentRelay(t)
	notRelay := pages.srv.URL
	scriptSrc := "script-src 'unsafe-inline' " + relayOrigin

	for _, tc := range []struct {
		name, body, csp string
		code            string
		want            string // part of the sentence
		noBox           bool   // nowhere to put a message: the target does not exist
		tag             bool   // the script-tag form: no result promise to read
	}{
		{name: "app_missing", body: mountPage(`"#login"`, `{}`),
			code: "app_missing", want: `pass {app: "your-app-id"}`},
		{name: "app_invalid", body: mountPage(`"#login"`, `{app: "My Shop"}`),
			code: "app_invalid", want: `app "My Shop" is not an app id`},
		{name: "target_not_found", body: mountPage(`"#logn"`, `{app: "shop"}`),
			code: "target_not_found", want: `"#logn" matches no element`, noBox: true},
		{name: "unknown_option", body: mountPage(`"#login"`, `{app: "shop", tll: 60}`),
			code: "unknown_option", want: "tll is not a scanin option, did you mean ttl?"},
		{name: "unknown_storage_option", body: mountPage(`"#login"`, `{app: "shop", storage: {type: "cookie", key: "s", maxage: 60}}`),
			code: "unknown_option", want: "storage.maxage is not a scanin option, did you mean storage.maxAge?"},
		{name: "option_invalid", body: mountPage(`"#login"`, `{app: "shop", ttl: 5}`),
			code: "option_invalid", want: "ttl is 5: it must be a whole number of seconds from 15 to 300"},
		{name: "app_not_found", body: mountPage(`"#login"`, `{app: "nope"}`),
			code: "app_not_found", want: `no app "nope" on relay ` + env.relay.url + `; check app`},
		{name: "origin_not_allowed", body: mountPage(`"#login"`, `{app: "strict"}`),
			code: "origin_not_allowed", want: `add "` + pages.origin() + `" to app "strict"'s origins`},
		{name: "relay_unreachable", body: mountPage(`"#login"`, `{app: "shop", relay: "`+down+`"}`),
			code: "relay_unreachable", want: "could not reach the relay at " + down},
		{name: "relay_invalid", body: mountPage(`"#login"`, `{app: "shop", relay: "`+notRelay+`"}`),
			code: "relay_invalid", want: notRelay + " did not answer as a scanin relay (GET /v1/apps/shop: 404 text/html)"},
		{name: "csp_frame_src", body: mountPage(`"#login"`, `{app: "shop"}`), csp: scriptSrc + "; frame-src 'none'",
			code: "csp_blocked", want: "blocks " + relayOrigin + " by its frame-src: add " + relayOrigin + " to frame-src"},
		{name: "csp_connect_src", body: mountPage(`"#login"`, `{app: "shop"}`), csp: scriptSrc + "; connect-src 'none'",
			code: "csp_blocked", want: "blocks " + relayOrigin + " by its connect-src: add " + relayOrigin + " to connect-src"},
		{name: "csp_default_src", body: mountPage(`"#login"`, `{app: "shop"}`), csp: scriptSrc + "; default-src 'self'",
			code: "csp_blocked", want: "by its default-src: add " + relayOrigin + " to default-src (or add a "},
		{name: "load_timeout", body: mountPage(`"#login"`, `{app: "shop", relay: "`+silent+`", timeout: 1}`),
			code: "load_timeout", want: "the widget did not show a code within 1 s"},

		{name: "tag/app_missing", tag: true, body: `<script src="{{relay}}/embed.js" data-target="#login"></script>`,
			code: "app_missing", want: `the script tag has no data-app: add data-app="your-app-id"`},
		{name: "tag/target_not_found", tag: true, body: `<script src="{{relay}}/embed.js" data-app="shop" data-target="#logn"></script>`,
			code: "target_not_found", want: `data-target "#logn" matches no element`},
		{name: "tag/unknown_option", tag: true, body: `<script src="{{relay}}/embed.js" data-app="shop" data-target="#login" data-tll="60"></script>`,
			code: "unknown_option", want: "data-tll is not a scanin attribute, did you mean data-ttl?"},
		{name: "tag/option_invalid", tag: true, body: `<script src="{{relay}}/embed.js" data-app="shop" data-target="#login" data-verify="yes"></script>`,
			code: "option_invalid", want: `data-verify is "yes": it must be "true" or "false"`},
		{name: "tag/origin_not_allowed", tag: true, body: `<script src="{{relay}}/embed.js" data-app="strict" data-target="#login"></script>`,
			code: "origin_not_allowed", want: `add "` + pages.origin() + `" to app "strict"'s origins`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := tab(t, true)
			console := watchConsole(ctx)
			must(t, ctx, chromedp.Navigate(pages.page(tc.body, tc.csp)))
			waitFor(t, ctx, "the error event", `window.__t.events.some((e) => e.state === "error")`, 15*time.Second)

			type state struct {
				State, Code, Message string
				Retrying             bool
			}
			events := eval[[]state](t, ctx, `window.__t.events`)
			if len(events) != 1 || events[0].State != "error" {
				t.Fatalf("scanin:state events %+v; want exactly one error", events)
			}
			ev := events[0]
			if ev.Code != tc.code || ev.Retrying {
				t.Fatalf("error event %+v; want code %s, not retrying", ev, tc.code)
			}
			if !strings.Contains(ev.Message, tc.want) {
				t.Errorf("message %q; want it to say %q", ev.Message, tc.want)
			}
			text := ev.Code + ": " + ev.Message

			if !tc.tag {
				states := eval[[]state](t, ctx, `window.__t.states`)
				if len(states) != 1 || states[0] != ev {
					t.Errorf("onState got %+v; want the event's %+v", states, ev)
				}
				rej, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`window.__rejection(window.__w)`, chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatal(err)
				}
				if rej["code"] != tc.code || rej["message"] != "scanin: "+text || rej["name"] != "ScaninError" {
					t.Errorf("result rejected with %v; want a ScaninError, code %s, message %q", rej, tc.code, "scanin: "+text)
				}
			}

			// console.error ran before the event.
			if got := console.scanin(); len(got) != 1 || got[0] != "scanin: "+text {
				t.Errorf("console errors %q; want exactly %q", got, "scanin: "+text)
			}

			if n := eval[int](t, ctx, `document.querySelectorAll("iframe").length`); n != 0 {
				t.Errorf("%d iframes left on the page; want the frame replaced by the message", n)
			}
			boxes := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(".scanin-error"), (b) => b.innerText)`)
			if tc.noBox {
				if len(boxes) != 0 {
					t.Errorf("messages %q with no element to put them in", boxes)
				}
				return
			}
			if len(boxes) != 1 || !strings.Contains(boxes[0], text) || !strings.Contains(boxes[0], "The sign-in code cannot be shown.") {
				t.Fatalf("visible messages %q; want one that says %q", boxes, text)
			}
			// The message sits where the widget would: in #login, or, when
			// data-target matches nothing, right after the script tag.
			where := `document.querySelector("#login > .scanin-error") !== null`
			if tc.name == "tag/target_not_found" {
				where = `document.querySelector("script[data-app] + div > .scanin-error") !== null`
			}
			if !eval[bool](t, ctx, where) {
				t.Errorf("the message is not where the widget would be (%s)", where)
			}
			visible := eval[bool](t, ctx, `(() => { const r = document.querySelector(".scanin-error").getBoundingClientRect();
				return r.width > 100 && r.height > 30; })()`)
			if !visible {
				t.Error("the message box has no size")
			}
		})
	}
}

// TestEmbedErrorBoxThemes: the message is readable on a light and a dark
// page: dark text on a light box, or light text on a dark one. The theme
// option decides, or else the visitor's prefers-color-scheme.
func TestEmbedErrorBoxThemes(t *testing.T) {
	t.Parallel()
	pages := newEmbedPages(t)
	for _, tc := range []struct{ name, option, scheme, want string }{
		{"light", "light", "dark", "light"},
		{"dark", "dark", "light", "dark"},
		{"auto/dark", "auto", "dark", "dark"},
		{"auto/light", "", "light", "light"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			theme := tc.want
			ctx := tab(t, true)
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: tc.scheme}},
			}); err != nil {
				t.Fatal(err)
			}
			option := ""
			if tc.option != "" {
				option = `, theme: "` + tc.option + `"`
			}
			must(t, ctx, chromedp.Navigate(pages.page(mountPage(`"#login"`, `{app: "nope"`+option+`}`), "")))
			waitFor(t, ctx, "the message", `document.querySelector(".scanin-error") !== null`, 15*time.Second)
			lum := eval[[]float64](t, ctx, `(() => {
				const l = (c) => { const [r, g, b] = c.match(/\d+/g).map(Number); return (0.2126*r + 0.7152*g + 0.0722*b) / 255; };
				const box = document.querySelector(".scanin-error"), text = document.querySelector(".scanin-error-text");
				return [l(getComputedStyle(box).backgroundColor), l(getComputedStyle(text).color)];
			})()`)
			bg, fg := lum[0], lum[1]
			if theme == "light" && (bg < 0.85 || fg > 0.3) || theme == "dark" && (bg > 0.2 || fg < 0.8) {
				t.Fatalf("%s: background luminance %.2f, text %.2f", theme, bg, fg)
			}
		})
	}
}

// TestEmbedMountTwice is what React's StrictMode does to an effect: mount,
// clean up (destroy), mount again in the same element. The first widget
// leaves nothing behind and its result rejects with "destroyed"; the second
// shows a code, and is the only frame.
func TestEmbedMountTwice(t *testing.T) {
	t.Parallel()
	pages := newEmbedPages(t)
	ctx := tab(t, true)
	must(t, ctx, chromedp.Navigate(pages.page(`<script src="{{relay}}/embed.js"></script>
<script>
const el = document.getElementById("login");
const opts = {app: "shop", onState(state, detail) { window.__t.states.push(Object.assign({state}, detail)); }};
window.__first = Scanin.mount(el, opts);
window.__first.destroy();
window.__first.destroy(); // twice is harmless
window.__w = Scanin.mount(el, opts);
</script>`, "")))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	rej, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`window.__rejection(window.__first)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if rej["code"] != "destroyed" {
		t.Errorf("the destroyed widget's result: %v; want code destroyed", rej)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#login iframe").length`); n != 1 {
		t.Fatalf("%d frames in #login; want 1", n)
	}
	if !eval[bool](t, ctx, `window.__first.iframe === null && window.__w.iframe === document.querySelector("#login iframe")`) {
		t.Error("the first widget still has a frame, or the second's is not the one on the page")
	}
	if n := countStates(t, ctx, "error"); n != 0 {
		t.Errorf("%d error states: %s", n, pageLog(ctx))
	}
	link := readCode(t, ctx, "")
	if link.App != "shop" {
		t.Fatalf("the second widget's code is for app %q", link.App)
	}
	// And the second one is destroyed cleanly too.
	eval[bool](t, ctx, `window.__w.destroy(), true`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#login > *").length`); n != 0 {
		t.Errorf("%d elements left in #login after destroy", n)
	}
}

// TestEmbedOriginTable runs protocol/testdata/origins.json, the table the Go
// rule passes (protocol.TestOriginTable), against embed.js's copy.
func TestEmbedOriginTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(env.root, "protocol", "testdata", "origins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Tables []struct {
			Patterns []string `json:"patterns"`
			Cases    []struct {
				Origin  string `json:"origin"`
				Allowed bool   `json:"allowed"`
			} `json:"cases"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	pages := newEmbedPages(t)
	ctx := tab(t, true)
	must(t, ctx, chromedp.Navigate(pages.page(`<script src="{{relay}}/embed.js"></script>`, "")))
	n := 0
	for _, tb := range table.Tables {
		patterns, _ := json.Marshal(tb.Patterns)
		for _, c := range tb.Cases {
			n++
			got := eval[bool](t, ctx, `Scanin.originAllowed(`+string(patterns)+`, `+jsString(c.Origin)+`)`)
			if got != c.Allowed {
				t.Errorf("Scanin.originAllowed(%s, %q) = %v, want %v", patterns, c.Origin, got, c.Allowed)
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d cases", n)
	}
}
