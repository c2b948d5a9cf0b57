//go:build !js

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestDisallowedOriginIsFramedByNoOne: a page whose origin is not one of
// the app's gets no widget, because the relay's CSP frame-ancestors makes
// the browser refuse to load it in the frame. The page frames widget.html
// itself: embed.js would not even try (TestEmbedErrors).
func TestDisallowedOriginIsFramedByNoOne(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	sockets := countSockets(t, ctx)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "strict", raw: true})))

	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		var child *page.FrameTree
		if len(res.FrameTree.ChildFrames) > 0 {
			child = res.FrameTree.ChildFrames[0]
		}
		if child != nil && strings.Contains(child.Frame.UnreachableURL, "/widget.html?app=strict") {
			if !strings.HasPrefix(child.Frame.URL, "chrome-error:") {
				t.Fatalf("the blocked frame shows %s", child.Frame.URL)
			}
			break
		}
		if child != nil && strings.Contains(child.Frame.URL, "/widget.html") {
			t.Fatalf("the widget loaded in a page its app does not allow: %s", child.Frame.URL)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the frame never settled: %+v", child)
		}
		must(t, ctx, chromedp.Poll[chromedp.Void](`true`)) // one animation frame
	}
	if n := eval[int](t, ctx, `window.__t.states.length`); n != 0 {
		t.Fatalf("the page got %d states from a blocked widget: %s", n, pageLog(ctx))
	}
	if n := sockets.Load(); n != 0 {
		t.Fatalf("a blocked widget opened %d sockets", n)
	}
}

// TestDisallowedOriginWidgetRefuses strips the CSP header on the way to the
// browser, as a browser without frame-ancestors would ignore it: the widget
// itself must see that the page is not allowed, say so, and show no code.
// The page frames widget.html itself, past embed.js's own check.
func TestDisallowedOriginWidgetRefuses(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	stripCSP(t, ctx)
	sockets := countSockets(t, ctx)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "strict", raw: true})))

	waitFor(t, ctx, "the widget's refusal", `window.__t.states.some((s) => s.state === "error" && s.code === "origin_denied")`, 20*time.Second)
	status := inWidget[string](t, ctx, "the refusal text", `document.getElementById("scanin").dataset.state === "refused" &&
		document.getElementById("qr").childElementCount === 0 && document.getElementById("status").textContent`, 5*time.Second)
	if !strings.Contains(status, s.localhostURL()) {
		t.Errorf("the refusal %q does not name the page's origin %s", status, s.localhostURL())
	}
	if n := sockets.Load(); n != 0 {
		t.Fatalf("a refusing widget opened %d sockets", n)
	}
	if n := countStates(t, ctx, "waiting"); n != 0 {
		t.Fatalf("a refusing widget said waiting %d times", n)
	}
}

// stripCSP removes Content-Security-Policy from widget.html responses.
func stripCSP(t *testing.T, ctx context.Context) {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{
		URLPattern: "*/widget.html*", RequestStage: fetch.RequestStageResponse,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			body, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
			if err != nil {
				return
			}
			var headers []*fetch.HeaderEntry
			for _, h := range ev.ResponseHeaders {
				if !strings.EqualFold(h.Name, "Content-Security-Policy") {
					headers = append(headers, h)
				}
			}
			chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: ev.ResponseStatusCode, ResponseHeaders: headers,
				Body: body.Body,
			})
		}
	}()
}

// postRecorder runs in every frame before its scripts. In the widget's
// frame it records each postMessage to the parent with its targetOrigin.
// Go's syscall/js makes every JavaScript method call through Reflect.apply
// (wasm_exec.js), so wrapping it sees every message the widget sends; a
// cross-origin window's postMessage cannot be wrapped directly.
const postRecorder = `(() => {
  if (location.origin !== RELAY_ORIGIN) return;
  const posted = (window.__posted = []);
  const parentWindow = window.parent;
  const realApply = Reflect.apply;
  Reflect.apply = function (f, self, args) {
    if (self === parentWindow && f === parentWindow.postMessage) {
      const m = args[0] || {};
      posted.push({type: String(m.type), target: String(args[1]), data: typeof m.data === "string" ? m.data : null});
    }
    return realApply(f, self, args);
  };
})();`

// TestForgedMessages: a frame from another origin forges widget messages to
// the page and page messages to the widget, and a second widget of the same
// relay gets a result; none of it reaches the first widget's page handler
// or the widget. The widget posts only to the page's origin: the token is
// never posted with targetOrigin "*".
func TestForgedMessages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: strings.ReplaceAll(postRecorder, "RELAY_ORIGIN", jsString(env.relay.url)),
	})
	if err != nil {
		t.Fatal(err)
	}
	sockets := countSockets(t, ctx)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", storage: "localStorage", evil: true})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	first := readCode(t, ctx, "")

	// The attacker frame forges, and reports done only after its messages
	// were posted, so the page has handled them by then.
	eval[bool](t, ctx, `document.getElementById("evil").contentWindow.postMessage({type: "evil:go"}, "*"), true`)
	waitFor(t, ctx, "the attacker", `window.__t.evil.includes("done")`, 10*time.Second)
	if got := pageLog(ctx); eval[int](t, ctx, `window.__t.results.length`) != 0 || countStates(t, ctx, "waiting") != 1 {
		t.Fatalf("the page took a forged message: %s", got)
	}
	if h := eval[string](t, ctx, `document.querySelector("#login iframe").style.height`); h == "1999px" {
		t.Fatal("a forged resize reached the iframe")
	}
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range targets {
		if strings.Contains(ti.URL, "evil.example") {
			t.Fatalf("a forged scanin:open opened %s", ti.URL)
		}
	}

	// The page's own refresh works; the forged one, posted before it,
	// did nothing: exactly one new socket.
	eval[bool](t, ctx, `window.__w.refresh(), true`)
	waitStates(t, ctx, "waiting", 2, 10*time.Second)
	if n := sockets.Load(); n != 2 {
		t.Fatalf("%d sockets after one real and one forged refresh; want 2", n)
	}
	current := readCode(t, ctx, first.SessionID)

	// A second widget of the same relay, in another iframe: its messages
	// have the right origin but the wrong source for the first one.
	eval[bool](t, ctx, `window.__t.results2 = [], window.__w2 = Scanin.mount("#login2", {app: "shop",
		onResult(r) { window.__t.results2.push(r); }}), true`)
	waitFor(t, ctx, "the second widget", `document.querySelector("#login2 iframe") !== null`, 5*time.Second)
	other := readCodeIn(t, ctx, "#login2 iframe", current.SessionID)
	if other.SessionID == current.SessionID {
		t.Fatal("both widgets show the same session")
	}
	ph := newPhone(t)
	if status, body := ph.deliver(other, seal(t, other, phoneMessage("token", "for-the-second", time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering to the second widget: %d %s", status, body)
	}
	waitFor(t, ctx, "the second result", `window.__t.results2.length === 1`, 10*time.Second)
	if n := eval[int](t, ctx, `window.__t.results.length`); n != 0 {
		t.Fatalf("the first widget's page took the second widget's result: %s", pageLog(ctx))
	}

	token := "the-real-token"
	if status, body := ph.deliver(current, seal(t, current, phoneMessage("token", token, time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering: %d %s", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length === 1`, 10*time.Second)
	if got := eval[string](t, ctx, `window.__t.results[0].data`); got != token {
		t.Fatalf("result %q; want %q", got, token)
	}
	if got := storedToken(t, ctx, "localStorage"); got != token {
		t.Fatalf("localStorage holds %q; want %q", got, token)
	}

	// What the widget posted, recorded inside its frame.
	type post struct {
		Type, Target string
		Data         *string
	}
	posts := inWidget[[]post](t, ctx, "the recorded posts", `window.__posted && window.__posted.some((p) => p.type === "scanin:result") && window.__posted`, 5*time.Second)
	sawToken := false
	for _, p := range posts {
		if p.Target != s.localhostURL() {
			t.Errorf("the widget posted %s with targetOrigin %q; want only %s", p.Type, p.Target, s.localhostURL())
		}
		if p.Type == "scanin:result" && p.Data != nil && *p.Data == token {
			sawToken = true
		}
	}
	if !sawToken || len(posts) < 3 {
		t.Fatalf("the recorder saw %d posts and the token %v: %+v", len(posts), sawToken, posts)
	}
}

// TestNavigatedFrameIgnored: when the widget's iframe is navigated away to
// another origin, its window is the same object but what it says now comes
// from that origin; embed.js must ignore it.
func TestNavigatedFrameIgnored(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, true)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", storage: "localStorage"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	eval[bool](t, ctx, `document.querySelector("#login iframe").src = `+jsString(s.otherOrigin()+"/evil?now")+`, true`)
	waitFor(t, ctx, "the navigated frame's forgeries", `window.__t.evil.includes("done")`, 10*time.Second)
	if n := eval[int](t, ctx, `window.__t.results.length + window.__t.states.filter((s) => s.state !== "waiting").length`); n != 0 {
		t.Fatalf("the page took messages from a navigated frame: %s", pageLog(ctx))
	}
	if got := storedToken(t, ctx, "localStorage"); got != "" {
		t.Fatalf("localStorage holds %q from a forged result", got)
	}
}
