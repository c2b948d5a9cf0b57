//go:build !js

package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/receiver/policy"
)

// A relay that refuses the widget's listen before the upgrade, for a
// setting no retry can change, makes the widget stop and say so: the
// relay's own code and sentence, in the widget and in a scanin:error
// event, and no second listen. The browser hides why a WebSocket handshake
// failed; the widget learns it by asking again with a plain GET of the
// listen URL (policy.AfterProbe).
//
// The widget checks what it can before it listens, from the app's
// configuration, so the relay refuses a listen only when its configuration
// says otherwise than the one the widget read: here, one relay address
// served by two nodes in the middle of a configuration change, where the
// node that answers GET /v1/apps/shop lets the page's origin embed the app
// and the node that takes the listens no longer does: 403 origin_denied.
func TestWidgetShowsListenRefusal(t *testing.T) {
	pages := newEmbedPages(t)
	origin := pages.origin()

	// The relay's address, a proxy: listens go to the changed node, the
	// rest to the other. Both have the proxy's URL as their public URL.
	var sockets, probes atomic.Int64
	var toOld, toChanged *httputil.ReverseProxy
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/listen") {
			toOld.ServeHTTP(w, r)
			return
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			sockets.Add(1)
		} else {
			probes.Add(1)
		}
		toChanged.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	node := func(origins string) *httputil.ReverseProxy {
		config := filepath.Join(t.TempDir(), "relay.json")
		if err := os.WriteFile(config, []byte(`{"apps": [{"id": "shop", "name": "Test Shop", "origins": [`+origins+`], "ttl": 60}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := closedPort(t) // the relay's own address, behind the proxy
		startRelayArgs(t, "--addr", strings.TrimPrefix(addr, "http://"), "--public-url", proxy.URL, "--config", config, "--no-rate-limit")
		u, err := url.Parse(addr)
		if err != nil {
			t.Fatal(err)
		}
		return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	}
	toOld, toChanged = node(`"http://localhost:*"`), node(`"https://shop.example"`)

	ctx := tab(t, false) // inWidget reads the widget's frame
	page := pages.page(`<script src="`+proxy.URL+`/embed.js" data-app="shop" data-target="#login"></script>`, "")
	must(t, ctx, chromedp.Navigate(page))

	waitFor(t, ctx, "the widget's scanin:error", `window.__t.events.some((e) => e.state === "error")`, 20*time.Second)
	ev := eval[struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Retrying bool   `json:"retrying"`
	}](t, ctx, `window.__t.events.find((e) => e.state === "error")`)
	if ev.Code != "origin_denied" || ev.Retrying {
		t.Fatalf("the first error event is %+v, want origin_denied, not retrying (after %d sockets and %d probes)\nstates: %s",
			ev, sockets.Load(), probes.Load(), pageLog(ctx))
	}
	// The sentence is the relay's, and says what to change.
	if want := `origin ` + origin + ` is not one of app "shop"'s origins: add "` + origin + `" to the app's origins in the relay's config file`; ev.Message != want {
		t.Errorf("the error's message is %q, want the relay's %q", ev.Message, want)
	}
	shown := inWidget[string](t, ctx, "the refusal shown",
		`document.getElementById("scanin").dataset.state === "refused" && document.getElementById("status").textContent`, 5*time.Second)
	if shown != ev.Message {
		t.Errorf("the widget shows %q, want the relay's message %q", shown, ev.Message)
	}

	// One socket, one probe, and nothing after: the widget stopped. A
	// retry would come within policy.BackoffFirst; watch for four times
	// as long, a round trip to the page at a time.
	for deadline := time.Now().Add(4 * policy.BackoffFirst); time.Now().Before(deadline); {
		if n, p := sockets.Load(), probes.Load(); n != 1 || p != 1 {
			t.Fatalf("the widget opened %d sockets and probed %d times, want 1 and 1 (no retry)", n, p)
		}
		eval[bool](t, ctx, `true`)
	}
	if n := eval[int](t, ctx, `window.__t.events.filter((e) => e.state === "error").length`); n != 1 {
		t.Errorf("the page got %d error events, want 1: %s", n, pageLog(ctx))
	}
}

// startRelayArgs starts bin/scanin relay with args (startRelayCmd) and
// stops it when the test ends. Its url is the public URL it printed.
func startRelayArgs(t *testing.T, args ...string) *relayProc {
	t.Helper()
	r, err := startRelayCmd(env.bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}
