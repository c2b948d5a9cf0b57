//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/verify"
)

// Server-side mode (docs/server-side.md) in Chromium: phones sign
// assertions with registered device keys, the page's embed.js exchanges
// them with its backend for an HttpOnly cookie, and a revoked phone (and
// the browsers it signed in) is cut off while the other phone goes on.

// demoPhoneTab opens the demo phone page in a tab of its own (its own
// IndexedDB, so its own device key) and registers it with the shop under
// name.
func demoPhoneTab(t *testing.T, d *demoProc, name string) context.Context {
	t.Helper()
	ctx := tab(t, true)
	must(t, ctx, chromedp.EmulateViewport(390, 720, chromedp.EmulateMobile), chromedp.Navigate(d.phone))
	waitFor(t, ctx, "the phone's Register this phone step",
		`!document.getElementById("backend").hidden && !document.getElementById("b-unregistered").hidden`, 15*time.Second)
	must(t, ctx, chromedp.SetValue(chromedp.CSS("#b-name"), name), chromedp.Click(chromedp.CSS("#b-register")))
	waitFor(t, ctx, "the phone registered as "+name,
		`!document.getElementById("b-registered").hidden && document.getElementById("b-device").textContent === `+jsString(name),
		15*time.Second)
	// The key is WebCrypto's, kept in IndexedDB, and cannot be exported.
	extractable := awaitString(t, ctx, `new Promise((resolve) => {
  const open = indexedDB.open("scanin-demo-phone", 1);
  open.onsuccess = () => {
    const req = open.result.transaction("devices").objectStore("devices").getAll();
    req.onsuccess = () => resolve(req.result.map((d) => d.privateKey.type + ":" + d.privateKey.extractable).join(","));
  };
})`)
	if extractable != "private:false" {
		t.Errorf("the phone's stored keys are %q, want one private key that is not extractable", extractable)
	}
	return ctx
}

// approveOnPhone has the phone read the link (pasted, as the page offers)
// and tap Sign in; it waits for the phone's outcome.
func approveOnPhone(t *testing.T, phone context.Context, link protocol.Link, shopOrigin string) {
	t.Helper()
	if eval[bool](t, phone, `!document.getElementById("outcome").hidden`) {
		must(t, phone, chromedp.Click(chromedp.CSS("#again")))
	}
	must(t, phone, chromedp.SetValue(chromedp.CSS("#link"), link.String()), chromedp.Click(chromedp.CSS(`#paste-form button[type="submit"]`)))
	waitFor(t, phone, "the confirmation screen", `!document.getElementById("confirm").hidden`, 15*time.Second)
	if got := eval[string](t, phone, `document.getElementById("c-origin").textContent`); got != shopOrigin {
		t.Fatalf("the phone shows the website %q, want %q", got, shopOrigin)
	}
	must(t, phone, chromedp.Click(chromedp.CSS("#approve")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === "Signed in"`, 15*time.Second)
}

// shopCookie is the shop's session cookie as the browser holds it (from
// DevTools, which sees HttpOnly cookies), or nil.
func shopCookie(t *testing.T, ctx context.Context, shopURL string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{shopURL}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "shop_session" && c.Value != "" {
			return c
		}
	}
	return nil
}

// signInBackend opens the shop's sign-in page in backend mode and reads
// its code.
func signInBackend(t *testing.T, shop context.Context, d *demoProc) protocol.Link {
	t.Helper()
	must(t, shop, chromedp.Navigate(d.shop+"/?mode=backend"))
	waitFor(t, shop, "the shop's sign-in page in backend mode",
		`document.readyState === "complete" && !document.getElementById("signed-out").hidden && document.body.dataset.mode === "backend"`,
		10*time.Second)
	return readCodeIn(t, shop, "#login iframe", "")
}

// TestServerSideDemo: the whole of backend mode in the demo. Two phones
// register; each signs a browser in (the shop says who, with which phone,
// and keeps the session in an HttpOnly cookie the page cannot read); the
// account page and the phone list the browsers; one phone is revoked on
// the account page: the browser it signed in is signed out at its next
// request and its next sign-in is refused with a clear message, while the
// other phone still signs in; a phone signs a browser out from its list.
func TestServerSideDemo(t *testing.T) {
	d := startDemo(t)
	shopOrigin := strings.TrimSuffix(d.shop, "/")

	pixel := demoPhoneTab(t, d, "Pixel 9")

	// Browser A, signed in by the Pixel.
	shopA := tab(t, true)
	link := signInBackend(t, shopA, d)
	approveOnPhone(t, pixel, link, shopOrigin)
	waitFor(t, shopA, "'Signed in as Ada Lovelace with Pixel 9'",
		`document.getElementById("welcome").textContent === "Signed in as Ada Lovelace with Pixel 9"`, 15*time.Second)
	c := shopCookie(t, shopA, d.shop)
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Fatalf("the shop's session cookie is %+v, want an HttpOnly SameSite=Lax shop_session", c)
	}
	if got := eval[string](t, shopA, `document.cookie`); strings.Contains(got, "shop_session") || strings.Contains(got, c.Value) {
		t.Errorf("the page's script reads the session cookie: document.cookie = %q", got)
	}
	if n := eval[int](t, shopA, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("backend mode left %d items in the page's storage", n)
	}

	// The phone lists the browser it signed in.
	must(t, pixel, chromedp.Click(chromedp.CSS("#again")))
	waitFor(t, pixel, "the Pixel's list of browsers", `document.querySelectorAll("#b-browsers li").length === 1`, 10*time.Second)
	if got := eval[string](t, pixel, `document.querySelector("#b-browsers li").textContent`); !strings.Contains(got, "Chrome") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the Pixel lists %q, want the browser (Chrome) and its IP", got)
	}

	// A second phone, and browser B signed in by it.
	iphone := demoPhoneTab(t, d, "iPhone 16")
	shopB := tab(t, true)
	link = signInBackend(t, shopB, d)
	approveOnPhone(t, iphone, link, shopOrigin)
	waitFor(t, shopB, "'Signed in as Ada Lovelace with iPhone 16'",
		`document.getElementById("welcome").textContent === "Signed in as Ada Lovelace with iPhone 16"`, 15*time.Second)

	// The account page, in browser B: both phones, each with its browser.
	must(t, shopB, chromedp.Click(chromedp.CSS("#account-link")))
	waitAcrossReload(t, shopB, "the account page with two phones",
		`location.pathname === "/account" && document.querySelectorAll("li.phone").length === 2`, 10*time.Second)
	phoneID := func(name string) string {
		return eval[string](t, shopB, `[...document.querySelectorAll("li.phone")].find((li) => li.querySelector(".phone-name").textContent === `+
			jsString(name)+`).dataset.device`)
	}
	pixelID, iphoneID := phoneID("Pixel 9"), phoneID("iPhone 16")
	browsersOf := func(id string) string {
		return `document.querySelectorAll('li.phone[data-device="` + id + `"] tr.browser').length`
	}
	if n := eval[int](t, shopB, browsersOf(pixelID)); n != 1 {
		t.Errorf("the account page lists %d browsers for the Pixel, want 1", n)
	}
	if got := eval[string](t, shopB, `document.querySelector('li.phone[data-device="`+iphoneID+`"] tr.browser').textContent`); !strings.Contains(got, "(this browser)") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the iPhone's browser row is %q, want this browser with its IP", got)
	}

	// Revoke the Pixel.
	must(t, shopB, chromedp.Click(chromedp.CSS(`li.phone[data-device="`+pixelID+`"] button.revoke`)))
	waitAcrossReload(t, shopB, "the Pixel revoked on the account page",
		`document.readyState === "complete" && !!document.querySelector('li.phone[data-device="`+pixelID+`"] .revoked') && `+
			browsersOf(pixelID)+` === 0 && `+browsersOf(iphoneID)+` === 1`, 10*time.Second)

	// Browser A is signed out at its next request.
	must(t, shopA, chromedp.Reload())
	waitAcrossReload(t, shopA, "browser A signed out",
		`document.readyState === "complete" && !document.getElementById("signed-out").hidden && document.getElementById("signed-in").hidden`,
		10*time.Second)
	if c := shopCookie(t, shopA, d.shop); c != nil {
		t.Errorf("browser A still holds the cookie %+v", c)
	}
	// The revoked phone says so in its list.
	must(t, pixel, chromedp.Click(chromedp.CSS("#b-refresh")))
	waitFor(t, pixel, "the Pixel told it was removed", `document.getElementById("b-status").textContent.includes("was removed")`, 10*time.Second)

	// Its next sign-in is refused, in words the person understands.
	link = readCodeIn(t, shopA, "#login iframe", "")
	approveOnPhone(t, pixel, link, shopOrigin)
	waitFor(t, shopA, "the refusal in the widget's place",
		`(document.querySelector("#login .scanin-error") || {}).textContent?.includes("This phone was removed from your Demo Shop account")`, 15*time.Second)
	if !eval[bool](t, shopA, `document.getElementById("signed-in").hidden && !document.getElementById("again").hidden`) {
		t.Errorf("after the refusal the shop is not on its sign-in page with Show a new code")
	}
	if c := shopCookie(t, shopA, d.shop); c != nil {
		t.Errorf("the refused sign-in set a cookie: %+v", c)
	}

	// The iPhone still signs in, in browser A too.
	must(t, shopA, chromedp.Click(chromedp.CSS("#again a")))
	waitAcrossReload(t, shopA, "a new sign-in page",
		`document.readyState === "complete" && !!document.querySelector("#login iframe") && !document.querySelector("#login .scanin-error")`, 10*time.Second)
	link = readCodeIn(t, shopA, "#login iframe", link.SessionID)
	approveOnPhone(t, iphone, link, shopOrigin)
	waitFor(t, shopA, "'Signed in as Ada Lovelace with iPhone 16' in browser A",
		`document.getElementById("welcome").textContent === "Signed in as Ada Lovelace with iPhone 16"`, 15*time.Second)

	// The iPhone lists both browsers, and signs browser A out.
	must(t, iphone, chromedp.Click(chromedp.CSS("#again")))
	waitFor(t, iphone, "the iPhone's two browsers", `document.querySelectorAll("#b-browsers li").length === 2`, 10*time.Second)
	handleA := lastBrowser(t, iphone)
	must(t, iphone, chromedp.Click(chromedp.CSS(`#b-browsers li[data-handle="`+handleA+`"] button`)))
	waitFor(t, iphone, "the iPhone's one browser", `document.querySelectorAll("#b-browsers li").length === 1`, 10*time.Second)
	must(t, shopA, chromedp.Reload())
	waitAcrossReload(t, shopA, "browser A signed out by the iPhone",
		`document.readyState === "complete" && !document.getElementById("signed-out").hidden`, 10*time.Second)
	must(t, shopB, chromedp.Reload())
	waitAcrossReload(t, shopB, "browser B still signed in",
		`document.readyState === "complete" && location.pathname === "/account" && `+browsersOf(iphoneID)+` === 1`, 10*time.Second)
}

// lastBrowser is the handle of the browser the phone lists last (the one
// signed in most recently: the list is oldest first).
func lastBrowser(t *testing.T, phone context.Context) string {
	t.Helper()
	return eval[string](t, phone, `[...document.querySelectorAll("#b-browsers li")].pop().dataset.handle`)
}

// exchangeSite is an integrator's site in server-side mode: pages that
// mount the widget with exchange, on http://localhost:PORT, and a backend
// that verifies assertions with package verify. It records what was
// posted to it.
type exchangeSite struct {
	srv      *httptest.Server
	origin   string
	verifier *verify.Verifier
	exchange http.Handler

	mu         sync.Mutex
	pages      map[string]string
	posted     []string      // the assertions posted to /exchange
	sids       []string      // and the sids posted with them
	slowCalled chan struct{} // a request reached /slow
}

func newExchangeSite(t *testing.T) *exchangeSite {
	t.Helper()
	s := &exchangeSite{pages: map[string]string{}, slowCalled: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		page, ok := s.pages[r.PathValue("id")]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	mux.HandleFunc("POST /exchange", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Assertion, SID string }
		json.Unmarshal(body, &req)
		s.mu.Lock()
		s.posted = append(s.posted, req.Assertion)
		s.sids = append(s.sids, req.SID)
		s.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.exchange.ServeHTTP(w, r)
	})
	mux.HandleFunc("POST /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	})
	// /slow answers only when the test ends (or the browser gives up).
	slow := make(chan struct{})
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slowCalled <- struct{}{}:
		default:
		}
		select {
		case <-slow:
		case <-r.Context().Done():
		}
		http.Error(w, "too late", http.StatusServiceUnavailable)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(slow) }) // before Close, which waits for handlers
	s.origin = strings.Replace(s.srv.URL, "127.0.0.1", "localhost", 1)
	v, err := verify.New(verify.Config{Origin: s.origin, App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	s.verifier = v
	s.exchange = &verify.ExchangeHandler{Verifier: v, Sessions: verify.NewMemorySessions(time.Hour, nil), CookieName: "site_session"}
	return s
}

// page registers a page with body after a head that records states and
// results, and returns its URL.
func (s *exchangeSite) page(body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprint(len(s.pages) + 1)
	s.pages[id] = `<!doctype html><html><head><meta charset="utf-8"><title>exchange</title>
<script>
window.__t = {states: [], results: [], events: []};
document.addEventListener("scanin:state", (e) => window.__t.events.push(e.detail));
document.addEventListener("scanin:result", (e) => window.__t.results.push(e.detail));
</script></head><body><div id="login"></div>
` + strings.ReplaceAll(body, "{{relay}}", env.relay.url) + `
</body></html>`
	return s.origin + "/p/" + id
}

// assertions is what was posted to /exchange so far.
func (s *exchangeSite) assertions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posted...)
}

// newDevice makes a device with scanin device new and returns its
// directory; registered, the site's backend knows it as user ada's.
func (s *exchangeSite) newDevice(t *testing.T, name string, registered bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "device")
	if out, err := exec.Command(env.bin, "device", "new", "--name", name, "--type", "android", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("scanin device new: %v\n%s", err, out)
	}
	if registered {
		b, err := os.ReadFile(filepath.Join(dir, "device.json"))
		if err != nil {
			t.Fatal(err)
		}
		reg, _, err := assertion.ParseRegistration(b)
		if err != nil {
			t.Fatal(err)
		}
		d, err := verify.NewDevice(reg, "ada", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.verifier.Devices().Register(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sendAssertion is the phone: scanin send --kind assertion.
func sendAssertion(t *testing.T, dir string, link protocol.Link) {
	t.Helper()
	out, err := exec.Command(env.bin, "send", "--kind", "assertion", "--device", dir, "--user", "ada", "--link", link.String(), "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("scanin send --kind assertion: %v\n%s", err, out)
	}
}

// exchangeMount mounts the widget for app shop with exchange to url (and,
// to show it changes nothing for assertions, a storage option too).
func exchangeMount(url string) string {
	return `<script src="{{relay}}/embed.js"></script>
<script>
window.__w = Scanin.mount("#login", {
  app: "shop", exchange: {url: ` + jsString(url) + `}, storage: {type: "localStorage", key: "session"},
  onResult(r) { window.__t.onResult = r; },
  onState(state, detail) { window.__t.states.push(Object.assign({state}, detail)); },
});
window.__outcome = window.__w.result.then((r) => ({resolved: r}), (e) => ({code: e.code, error: e.error, status: e.status, message: e.message}));
</script>`
}

// TestEmbedExchange: embed.js's exchange mode against a backend that uses
// package verify. scanin send --kind assertion signs in through the
// widget: embed.js posts {assertion, sid}, the backend sets an HttpOnly
// cookie, result resolves with its answer, and the assertion is nowhere
// in the page's storage or cookies (and scanin verify accepts what the
// backend got). A refusal rejects with exchange_failed, the backend's code
// and message, shown in the box; so does an answer that is not JSON.
func TestEmbedExchange(t *testing.T) {
	s := newExchangeSite(t)
	phone := s.newDevice(t, "Test Phone", true)

	t.Run("accepted", func(t *testing.T) {
		ctx := tab(t, false)
		must(t, ctx, chromedp.Navigate(s.page(exchangeMount("/exchange"))))
		link := readCode(t, ctx, "")
		sendAssertion(t, phone, link)
		waitFor(t, ctx, "the backend's answer", `window.__t.onResult !== undefined`, 15*time.Second)
		var answer struct {
			OK     bool   `json:"ok"`
			Sub    string `json:"sub"`
			Device struct{ Name string }
		}
		got := awaitString(t, ctx, `window.__outcome.then((o) => JSON.stringify(o.resolved))`)
		if err := json.Unmarshal([]byte(got), &answer); err != nil || !answer.OK || answer.Sub != "ada" || answer.Device.Name != "Test Phone" {
			t.Fatalf("result resolved with %s, want the backend's answer for ada with Test Phone", got)
		}
		if ev := eval[string](t, ctx, `JSON.stringify(window.__t.results)`); ev != "["+got+"]" {
			t.Errorf("scanin:result's detail is %s, want the backend's answer %s", ev, got)
		}
		if !eval[bool](t, ctx, `window.__t.states.some((s) => s.state === "success" && s.kind === "assertion")`) {
			t.Errorf("no success state: %s", pageLog(ctx))
		}
		posted := s.assertions()
		if len(posted) != 1 || strings.Count(posted[0], ".") != 2 {
			t.Fatalf("the backend got %q, want one assertion", posted)
		}
		jws := posted[0]
		s.mu.Lock()
		sid := s.sids[0]
		s.mu.Unlock()
		if sid != link.SessionID {
			t.Errorf("embed.js posted sid %q, want the scanned code's %q", sid, link.SessionID)
		}
		tok, err := assertion.Parse(jws)
		if err != nil || tok.Claims.SessionID != link.SessionID || tok.Claims.Audience != s.origin {
			t.Fatalf("the posted assertion: %+v %v", tok, err)
		}

		// The cookie is the backend's, HttpOnly; the page's storage and
		// cookies hold no trace of the assertion.
		c := cookieNamed(t, ctx, s.origin, "site_session")
		if c == nil || !c.HTTPOnly {
			t.Fatalf("the backend's cookie is %+v, want an HttpOnly site_session", c)
		}
		storage := eval[string](t, ctx, `JSON.stringify([document.cookie, Object.entries(localStorage), Object.entries(sessionStorage)])`)
		for _, part := range append([]string{jws}, strings.Split(jws, ".")...) {
			if strings.Contains(storage, part) {
				t.Errorf("the page's storage or cookies hold the assertion: %s", storage)
			}
		}
		all, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.origin, env.relay.url}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all.Cookies {
			if strings.Contains(c.Value, strings.Split(jws, ".")[2]) {
				t.Errorf("cookie %s holds the assertion", c.Name)
			}
		}

		// scanin verify, the terminal's backend, accepts what came through
		// the browser (its own replay store is fresh).
		devices := filepath.Join(t.TempDir(), "devices.json")
		reg, err := os.ReadFile(filepath.Join(phone, "device.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(devices, []byte("["+string(reg)+"]"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(env.bin, "verify", "--devices", devices, "--origin", s.origin, "--app", "shop", "--sid", link.SessionID)
		cmd.Stdin = strings.NewReader(jws + "\n")
		out, err := cmd.Output()
		if err != nil || !strings.HasPrefix(string(out), `{"ok":true,`) {
			t.Errorf("scanin verify: %v\n%s", err, out)
		}
	})

	// A token is no assertion: exchange leaves it to the page, with the
	// scanned code's sid, and stores it as storage says.
	t.Run("token", func(t *testing.T) {
		ctx := tab(t, false)
		must(t, ctx, chromedp.Navigate(s.page(exchangeMount("/exchange"))))
		link := readCode(t, ctx, "")
		if out, err := exec.Command(env.bin, "send", "--link", link.String(), "--data", "tok-1", "--yes").CombinedOutput(); err != nil {
			t.Fatalf("scanin send: %v\n%s", err, out)
		}
		got := awaitString(t, ctx, `window.__outcome.then((o) => JSON.stringify(o.resolved))`)
		var r struct{ Kind, Data, SID string }
		if err := json.Unmarshal([]byte(got), &r); err != nil || r.Kind != "token" || r.Data != "tok-1" || r.SID != link.SessionID {
			t.Errorf("result %s, want the token with sid %s", got, link.SessionID)
		}
		if got := storedToken(t, ctx, "localStorage"); got != "tok-1" {
			t.Errorf("localStorage holds %q", got)
		}
	})

	// destroy() while the backend has not answered rejects result with
	// "destroyed", and a late answer changes nothing.
	t.Run("destroyed while exchanging", func(t *testing.T) {
		ctx := tab(t, false)
		must(t, ctx, chromedp.Navigate(s.page(exchangeMount("/slow"))))
		link := readCode(t, ctx, "")
		sendAssertion(t, phone, link)
		select {
		case <-s.slowCalled:
		case <-time.After(10 * time.Second):
			t.Fatal("embed.js posted nothing to /slow")
		}
		must(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__w.destroy()`))
		got := awaitString(t, ctx, `window.__outcome.then((o) => JSON.stringify(o))`)
		if !strings.Contains(got, `"code":"destroyed"`) {
			t.Errorf("result after destroy: %s, want the code destroyed", got)
		}
	})

	refused := func(t *testing.T, url, device string, wantError string, wantStatus int, wantMessage string) {
		t.Helper()
		ctx := tab(t, false)
		console := watchConsole(ctx)
		must(t, ctx, chromedp.Navigate(s.page(exchangeMount(url))))
		link := readCode(t, ctx, "")
		sendAssertion(t, device, link)
		waitFor(t, ctx, "the exchange's refusal", `window.__t.states.some((s) => s.state === "error")`, 15*time.Second)
		var o struct {
			Code, Error, Message string
			Status               int
		}
		got := awaitString(t, ctx, `window.__outcome.then((o) => JSON.stringify(o))`)
		if err := json.Unmarshal([]byte(got), &o); err != nil || o.Code != "exchange_failed" || o.Error != wantError ||
			o.Status != wantStatus || !strings.Contains(o.Message, wantMessage) {
			t.Fatalf("result: %s; want exchange_failed, error %q, status %d, a message with %q", got, wantError, wantStatus, wantMessage)
		}
		ev := eval[string](t, ctx, `JSON.stringify(window.__t.events.find((e) => e.state === "error"))`)
		if !strings.Contains(ev, `"code":"exchange_failed"`) || !strings.Contains(ev, jsString(wantError)) {
			t.Errorf("the scanin:state error event is %s", ev)
		}
		box := eval[string](t, ctx, `(document.querySelector("#login .scanin-error") || {}).textContent || ""`)
		if !strings.Contains(box, "Sign-in failed.") || !strings.Contains(box, wantMessage) {
			t.Errorf("the box says %q, want the refusal's message", box)
		}
		if eval[bool](t, ctx, `!!document.querySelector("#login iframe")`) {
			t.Errorf("the widget's frame stayed after the refusal")
		}
		if n := eval[int](t, ctx, `window.__t.results.length + (window.__t.onResult ? 1 : 0) + localStorage.length + sessionStorage.length`); n != 0 {
			t.Errorf("a refused exchange reached onResult, scanin:result or storage (%d)", n)
		}
		if c := cookieNamed(t, ctx, s.origin, "site_session"); c != nil {
			t.Errorf("a refused exchange set a cookie: %+v", c)
		}
		if msgs := console.scanin(); len(msgs) == 0 || !strings.Contains(msgs[0], "exchange_failed") {
			t.Errorf("console errors %q", msgs)
		}
	}
	t.Run("unknown device", func(t *testing.T) {
		stranger := s.newDevice(t, "Stranger", false)
		refused(t, "/exchange", stranger, "unknown_device", http.StatusUnauthorized, "is registered")
	})
	t.Run("not JSON", func(t *testing.T) {
		refused(t, "/broken", phone, "", http.StatusBadGateway, "answered 502 text/plain")
	})
}

// awaitString evaluates a promise of a string in the page; it fails the
// test if the promise has not settled within 15 s.
func awaitString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// cookieNamed is the browser's cookie for url with that name, or nil.
func cookieNamed(t *testing.T, ctx context.Context, url, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestEmbedExchangeCrossOrigin: an exchange URL on another origin is
// refused at mount, from code and from the script tag, in the words of
// embed.js's other misconfigurations; so is an unknown exchange member.
func TestEmbedExchangeCrossOrigin(t *testing.T) {
	t.Parallel()
	pages := newEmbedPages(t)
	ctx := tab(t, false)
	for name, c := range map[string]struct{ body, want string }{
		"mount": {mountPage(`"#login"`, `{app: "shop", exchange: {url: "https://api.example/exchange"}}`),
			`option_invalid: exchange.url is "https://api.example/exchange": it is on https://api.example, not this page's origin`},
		"tag": {`<script src="{{relay}}/embed.js" data-app="shop" data-target="#login" data-exchange-url="http://127.0.0.1:1/x"></script>`,
			`option_invalid: data-exchange-url is "http://127.0.0.1:1/x": it is on http://127.0.0.1:1, not this page's origin`},
		"member": {mountPage(`"#login"`, `{app: "shop", exchange: {url: "/x", urll: 1}}`),
			`unknown_option: exchange.urll is not a scanin option, did you mean exchange.url?`},
		"no url": {mountPage(`"#login"`, `{app: "shop", exchange: "/x"}`),
			`option_invalid: exchange is "/x": it must be {url: "..."}`},
	} {
		t.Run(name, func(t *testing.T) {
			must(t, ctx, chromedp.Navigate(pages.page(c.body, "")))
			waitFor(t, ctx, "the error box", `!!document.querySelector("#login .scanin-error")`, 10*time.Second)
			box := eval[string](t, ctx, `document.querySelector("#login .scanin-error-text").textContent`)
			if !strings.HasPrefix(box, c.want) {
				t.Errorf("the box says %q, want it to start with %q", box, c.want)
			}
			if eval[bool](t, ctx, `!!document.querySelector("#login iframe")`) {
				t.Errorf("a frame was made")
			}
		})
	}
}
