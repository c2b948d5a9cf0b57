//go:build !js

package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// readmeBlock is one fenced code block of README.md.
type readmeBlock struct {
	lang, body, section string
	line                int
}

// readmeBlocks reads README.md's fenced code blocks, each with the
// heading it is under.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	var cur *readmeBlock
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		case strings.HasPrefix(line, "```"):
			cur = &readmeBlock{lang: strings.TrimPrefix(line, "```"), section: section, line: i + 1}
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
	}
	if cur != nil {
		t.Fatalf("README.md line %d: a code block that never ends", cur.line)
	}
	return blocks
}

// integratorBlocks are the blocks of the README's "Put it on your login
// page" section and its subsections, with lang.
func integratorBlocks(t *testing.T, lang string) []readmeBlock {
	t.Helper()
	sections := []string{"Put it on your login page", "Every option", "When it is misconfigured",
		"Content-Security-Policy", "TypeScript", "React", "Testing your sign-in end to end"}
	var out []readmeBlock
	for _, b := range readmeBlocks(t) {
		if b.lang == lang && slices.Contains(sections, b.section) {
			out = append(out, b)
		}
	}
	return out
}

// readmeRelay is the relay URL the README's examples use; the tests put the
// shared test relay in its place.
const readmeRelay = "https://relay.example"

// globalGuard, in a page's head, defines __guard: scripts run inside
// `with (__guard) {...}` and every global name they read or write that is
// not a standard one is recorded in __t.undeclared. A name declared in the
// script (const, let, function, a parameter) never gets here. It catches
// what running alone would not: in sloppy mode `status.textContent = x`
// silently writes to window.status, a string.
const globalGuard = `<script>
window.__t = {events: [], results: [], errors: [], undeclared: []};
document.addEventListener("scanin:state", (e) => window.__t.events.push(e.detail));
addEventListener("error", (e) => window.__t.errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => window.__t.errors.push("unhandled rejection: " + String(e.reason)));
(() => {
  const standard = new Set(["document", "window", "location", "console", "Scanin", "React", "JSON", "Object", "Array",
    "String", "Number", "Boolean", "Promise", "URL", "URLSearchParams", "Error", "Math", "Date", "setTimeout",
    "clearTimeout", "fetch", "localStorage", "sessionStorage", "navigator", "encodeURIComponent",
    "decodeURIComponent", "undefined", "NaN", "Infinity", "globalThis"]);
  window.__guard = new Proxy({}, {
    has: (_, name) => typeof name === "string",
    get(_, name) {
      if (typeof name !== "string") return undefined;
      if (!standard.has(name)) window.__t.undeclared.push(name);
      const v = window[name];
      return typeof v === "function" && /^[a-z]/.test(name) ? v.bind(window) : v;
    },
    set(_, name, value) {
      window.__t.undeclared.push(String(name));
      window[name] = value;
      return true;
    },
  });
})();
</script>`

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// readmePage serves README snippets as pages on http://localhost:PORT, an
// origin the test relay's shop app allows.
type readmePage struct {
	srv  *httptest.Server
	html string
	csp  string
}

func newReadmePage(t *testing.T, html, csp string) string {
	t.Helper()
	p := &readmePage{html: html, csp: csp}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.csp != "" {
			w.Header().Set("Content-Security-Policy", p.csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(p.html))
	}))
	t.Cleanup(p.srv.Close)
	return strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1) + "/"
}

// checkSnippetRan fails the test if a snippet's page threw, read or wrote
// an undeclared global, or made embed.js report an error; it waits for
// the widget to show a code.
func checkSnippetRan(t *testing.T, console *consoleErrors, ctx context.Context, what string) {
	t.Helper()
	waitFor(t, ctx, what+" showing a code", `window.__t.events.some((e) => e.state === "waiting")
		|| window.__t.events.some((e) => e.state === "error") || window.__t.errors.length > 0`, 20*time.Second)
	if u := eval[[]string](t, ctx, `window.__t.undeclared`); len(u) != 0 {
		t.Errorf("%s uses globals it does not declare: %q", what, u)
	}
	if e := eval[[]string](t, ctx, `window.__t.errors`); len(e) != 0 {
		t.Errorf("%s threw: %q", what, e)
	}
	if n := eval[int](t, ctx, `window.__t.events.filter((e) => e.state === "error").length`); n != 0 {
		t.Errorf("%s: embed.js reported errors: %s", what, pageLog(ctx))
	}
	if c := console.scanin(); len(c) != 0 {
		t.Errorf("%s: console errors %q", what, c)
	}
}

// TestReadmeSnippets runs the README's integrator examples as written, in
// Chromium against the test relay (in place of https://relay.example):
// each html block as a page, whose inline scripts may use no global they
// do not declare; the React example under StrictMode's mount, cleanup,
// mount; and the page CSP it gives.
func TestReadmeSnippets(t *testing.T) {
	html := integratorBlocks(t, "html")
	if len(html) < 2 {
		t.Fatalf("%d html examples in the README's integrator sections; want the script tag and Scanin.mount", len(html))
	}
	for _, b := range html {
		t.Run("html@"+strconv.Itoa(b.line), func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(b.body, readmeRelay) {
				t.Fatalf("README.md line %d: the example does not load embed.js from %s", b.line, readmeRelay)
			}
			body := strings.ReplaceAll(b.body, readmeRelay, env.relay.url)
			body = inlineScript.ReplaceAllString(body, "<script>with (__guard) {$1}</script>")
			page := "<!doctype html><html><head><meta charset=\"utf-8\">" + globalGuard + "</head><body>\n" + body + "</body></html>"
			ctx := tab(t, true)
			console := watchConsole(ctx)
			must(t, ctx, chromedp.Navigate(newReadmePage(t, page, "")))
			checkSnippetRan(t, console, ctx, "README.md line "+strconv.Itoa(b.line))
		})
	}

	t.Run("react", func(t *testing.T) {
		t.Parallel()
		jsx := integratorBlocks(t, "jsx")
		if len(jsx) != 1 {
			t.Fatalf("%d React examples; want 1", len(jsx))
		}
		component := reactToJS(t, jsx[0])
		page := "<!doctype html><html><head><meta charset=\"utf-8\">" + globalGuard + "<script>" + fakeReact + "</script></head><body>\n" +
			`<div id="root"></div><script src="` + env.relay.url + `/embed.js"></script>
<script>with (__guard) {
` + component + `
window.__unmount = React.strictMount(ScaninLogin, {app: "shop", onSignedIn: (r) => window.__t.results.push(r)},
  document.getElementById("root"));
}</script></body></html>`
		ctx := tab(t, true)
		console := watchConsole(ctx)
		must(t, ctx, chromedp.Navigate(newReadmePage(t, page, "")))
		checkSnippetRan(t, console, ctx, "the React example")
		if n := eval[int](t, ctx, `window.__t.mounts`); n != 2 {
			t.Fatalf("the effect ran %d times; want 2, as under StrictMode", n)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#root iframe").length`); n != 1 {
			t.Fatalf("%d widget frames after StrictMode's mount, cleanup, mount; want 1", n)
		}
		eval[bool](t, ctx, `window.__unmount(), true`)
		if n := eval[int](t, ctx, `document.querySelectorAll("#root *").length`); n != 0 {
			t.Fatalf("%d elements left after unmounting", n)
		}
	})

	t.Run("csp", func(t *testing.T) {
		t.Parallel()
		var csp string
		for _, b := range integratorBlocks(t, "text") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(b.body), "Content-Security-Policy: "); ok {
				csp = strings.ReplaceAll(v, readmeRelay, env.relay.url)
			}
		}
		if csp == "" {
			t.Fatal("the README gives no Content-Security-Policy line")
		}
		// The script-tag example, with no inline script: the policy need
		// not allow any.
		page := `<!doctype html><meta charset="utf-8"><div id="login"></div>
<script src="` + env.relay.url + `/embed.js" data-app="shop" data-target="#login"></script>`
		ctx := tab(t, true)
		console := watchConsole(ctx)
		must(t, ctx, chromedp.Navigate(newReadmePage(t, page, csp)))
		link := readCode(t, ctx, "")
		if link.App != "shop" {
			t.Fatalf("under the README's CSP the code is for %q", link.App)
		}
		if c := console.scanin(); len(c) != 0 {
			t.Fatalf("under the README's CSP %q: console errors %q", csp, c)
		}
	})
}

// fakeReact is as much of React as the README's example uses, with the
// development StrictMode's double effects: strictMount renders the
// component, mounts its element, runs the effects, runs their cleanups
// and runs them again; the function it returns unmounts.
const fakeReact = `window.React = (() => {
  let hooks = [], i = 0, effects = [];
  const api = {
    createElement: (type, props) => ({type, props: props || {}}),
    useRef(v) { const k = i++; if (!(k in hooks)) hooks[k] = {current: v}; return hooks[k]; },
    useEffect(f) { effects.push(f); i++; },
    strictMount(Component, props, container) {
      window.__t.mounts = 0;
      i = 0; effects = []; Component(props); // StrictMode renders twice
      i = 0; effects = []; const el = Component(props);
      const node = document.createElement(el.type);
      if (el.props.ref) el.props.ref.current = node;
      container.appendChild(node);
      const run = () => effects.map((f) => (window.__t.mounts++, f()));
      run().forEach((c) => typeof c === "function" && c());
      const cleanups = run();
      return () => { cleanups.forEach((c) => typeof c === "function" && c()); node.remove(); };
    },
  };
  return api;
})();`

// reactToJS turns the README's React example into plain JavaScript: its
// import from "react" reads the fake React, and its one JSX element, a
// <div ref={...} />, becomes React.createElement.
func reactToJS(t *testing.T, b readmeBlock) string {
	t.Helper()
	imports := regexp.MustCompile(`(?m)^import \{([^}]*)\} from "react";$`)
	src := imports.ReplaceAllString(b.body, "const {$1} = React;")
	src = regexp.MustCompile(`(?m)^export `).ReplaceAllString(src, "")
	src = regexp.MustCompile(`<(\w+) ref=\{(\w+)\} />`).ReplaceAllString(src, `React.createElement("$1", {ref: $2})`)
	if regexp.MustCompile(`<[A-Za-z/]`).MatchString(src) || strings.Contains(src, "import ") {
		t.Fatalf("README.md line %d: the React example has JSX or imports this test cannot run:\n%s", b.line, src)
	}
	return src
}

// TestReadmeMatchesEmbed: the README lists exactly embed.js's error codes,
// script-tag attributes and mount options, and docs/protocol.md the same
// error codes; the TypeScript and testing examples name types and a button
// that exist.
func TestReadmeMatchesEmbed(t *testing.T) {
	t.Parallel()
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join(env.root, path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	embed, readme, spec := read("widget/web/embed.js"), read("README.md"), read("docs/protocol.md")
	dts, widgetHTML := read("widget/web/embed.d.ts"), read("widget/web/widget.html")

	strs := func(list string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(list, -1) {
			out = append(out, m[1])
		}
		return out
	}
	array := func(name string) []string {
		m := regexp.MustCompile(`(?s)const ` + name + ` = \[(.*?)\];`).FindStringSubmatch(embed)
		if m == nil {
			t.Fatalf("embed.js has no %s", name)
		}
		return strs(m[1])
	}
	section := func(doc, heading string) string {
		i := strings.Index(doc, heading)
		if i < 0 {
			t.Fatalf("no section %q", heading)
		}
		rest := doc[i+len(heading):]
		if j := regexp.MustCompile(`\n#{2,4} `).FindStringIndex(rest); j != nil {
			rest = rest[:j[0]]
		}
		return rest
	}
	sorted := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}

	// Error codes: the keys of embed.js's failures table.
	ft := regexp.MustCompile(`(?s)const failures = \{(.*?)\n  \};`).FindStringSubmatch(embed)
	if ft == nil {
		t.Fatal("embed.js has no failures table")
	}
	var codes []string
	for _, m := range regexp.MustCompile(`(?m)^    (\w+): \(p\) =>`).FindAllStringSubmatch(ft[1], -1) {
		codes = append(codes, m[1])
	}
	if len(codes) < 10 {
		t.Fatalf("found %d codes in embed.js's failures table", len(codes))
	}
	tableCodes := func(text string) []string {
		var out []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := tableCodes(section(readme, "### When it is misconfigured")); !slices.Equal(sorted(got), sorted(codes)) {
		t.Errorf("README's error codes %v; embed.js has %v", got, codes)
	}
	if got := tableCodes(section(spec, "**When embed.js refuses:**")); !slices.Equal(sorted(got), sorted(codes)) {
		t.Errorf("docs/protocol.md's embed.js error codes %v; embed.js has %v", got, codes)
	}
	for _, c := range codes {
		if !strings.Contains(dts, `"`+c+`"`) {
			t.Errorf("embed.d.ts's ScaninErrorCode lacks %q", c)
		}
	}

	// Attributes and options: the README's table, columns 1 and 2.
	var attrs, opts, storage []string
	for _, row := range strings.Split(section(readme, "### Every option"), "\n") {
		cells := strings.Split(row, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") && !strings.HasPrefix(strings.TrimSpace(cells[1]), "(none)") {
			continue
		}
		if m := regexp.MustCompile("^`data-([a-z-]+)`$").FindStringSubmatch(strings.TrimSpace(cells[1])); m != nil {
			attrs = append(attrs, m[1])
		}
		if m := regexp.MustCompile("^`(\\w+)(?:\\.(\\w+))?`$").FindStringSubmatch(strings.TrimSpace(cells[2])); m != nil {
			opts = append(opts, m[1])
			if m[2] != "" {
				storage = append(storage, m[2])
			}
		}
	}
	var wantAttrs []string
	for _, a := range array("attributeNames") {
		wantAttrs = append(wantAttrs, regexp.MustCompile(`[A-Z]`).ReplaceAllStringFunc(a, func(c string) string { return "-" + strings.ToLower(c) }))
	}
	if !slices.Equal(sorted(attrs), sorted(wantAttrs)) {
		t.Errorf("README's data-* attributes %v; embed.js knows %v", sorted(attrs), sorted(wantAttrs))
	}
	if !slices.Equal(sorted(opts), sorted(array("optionNames"))) {
		t.Errorf("README's mount options %v; embed.js knows %v", sorted(opts), sorted(array("optionNames")))
	}
	if !slices.Equal(sorted(storage), sorted(array("storageNames"))) {
		t.Errorf("README's storage members %v; embed.js knows %v", sorted(storage), sorted(array("storageNames")))
	}

	// The TypeScript example's types, and the testing recipe's button.
	for _, b := range integratorBlocks(t, "ts") {
		if m := regexp.MustCompile(`import type \{([^}]*)\} from "\./scanin";`).FindStringSubmatch(b.body); m != nil {
			for _, name := range strings.Split(m[1], ",") {
				if name = strings.TrimSpace(name); !strings.Contains(dts, "export interface "+name+" ") && !strings.Contains(dts, "export type "+name+" ") {
					t.Errorf("README.md line %d imports %s, which embed.d.ts does not export", b.line, name)
				}
			}
		}
		if strings.Contains(b.body, `"#open-app"`) && !strings.Contains(widgetHTML, `id="open-app"`) {
			t.Errorf("README.md line %d clicks #open-app, which widget.html does not have", b.line)
		}
	}
}

// TestReadmeTestingRecipe follows the README's recipe for an integrator's
// own end-to-end test: on a phone's user agent, "Open in app" in the
// widget opens the link in a new window; `scanin send --link … --yes`
// plays the phone; the page gets the token.
func TestReadmeTestingRecipe(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36",
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", storage: "localStorage"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	inWidget[bool](t, ctx, "the Open in app button", `!document.getElementById("open-app").hidden`, 5*time.Second)
	clickInWidget(t, ctx, "#open-app")

	var link string
	for deadline := time.Now().Add(10 * time.Second); link == ""; {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range targets {
			if ti.Type == "page" && strings.Contains(ti.URL, "#v=1&") {
				link = ti.URL
			}
		}
		if link == "" && time.Now().After(deadline) {
			t.Fatal("Open in app opened no window with a link")
		}
		if link == "" {
			must(t, ctx, chromedp.Poll[chromedp.Void](`true`)) // one animation frame
		}
	}

	token := "readme-recipe-token"
	out, err := exec.Command(env.bin, "send", "--link", link, "--data", token, "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("scanin send --link %s --yes: %v\n%s", link, err, out)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length === 1`, 10*time.Second)
	if got := storedToken(t, ctx, "localStorage"); got != token {
		t.Fatalf("localStorage holds %q; want %q", got, token)
	}
}
