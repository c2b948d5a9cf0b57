//go:build !js

package e2e

import (
	"bytes"
	"context"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/internal/words"
	"github.com/scanin/scanin/protocol"
)

// The widget's states and words (issue 10 §3), in Chromium: the words of
// both ends, the instruction from the app's config, the verifying state,
// /link's buttons, the countdown's number, the theme, the logo, and the
// demo phone page at a phone's width.
//
// SCANIN_SHOTS=DIR also saves screenshots of what the tests check by
// layout, to look at by eye.

// wordsConfig are apps with and without the per-app fields of the widget
// and /link. The logo is the relay's own icon, a path on the relay.
const wordsConfig = `{"apps": [
  {"id": "full", "name": "Full Shop", "origins": ["http://localhost:*"], "ttl": 60,
   "scan_hint": "Open {name} and tap the QR button", "logo": "/favicon.svg", "app_link": "fullshop://scan",
   "ios_app_store_url": "https://apps.apple.com/app/id100", "play_store_url": "https://play.google.com/store/apps/details?id=example.full"},
  {"id": "plain", "name": "Plain Shop", "origins": ["http://localhost:*"], "ttl": 60,
   "play_store_url": "https://play.google.com/store/apps/details?id=example.plain"},
  {"id": "bare", "name": "Bare Shop", "origins": ["http://localhost:*"], "ttl": 60}
]}`

// wordsRelay starts a relay with wordsConfig for the test.
func wordsRelay(t *testing.T) *relayProc {
	t.Helper()
	config := filepath.Join(t.TempDir(), "words.json")
	if err := os.WriteFile(config, []byte(wordsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := startRelayConfig(env.bin, "127.0.0.1:0", config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

// wordsTemplate is a page that mounts the widget with the options it is
// given (JSON) and records its states and results in window.__t, as the
// other tests' page does.
var wordsTemplate = template.Must(template.New("mount").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>mount</title><link rel="icon" href="data:,">
<script>window.__t = {states: [], results: [], errors: []};</script>
</head><body style="margin:0">
<div id="login"></div>
<script src="{{.Relay}}/embed.js"></script>
<script>
try {
  window.__w = Scanin.mount("#login", Object.assign({{.Options}}, {
    onResult(r) { window.__t.results.push(r); },
    onState(state, detail) { window.__t.states.push(Object.assign({state}, detail)); },
  }));
} catch (e) {
  window.__t.errors.push(String(e));
}
</script>
</body></html>
`))

// wordsPage serves wordsTemplate on a localhost origin of its own and
// returns the page's URL for relay and options.
func wordsPage(t *testing.T, relay string, options map[string]any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := wordsTemplate.Execute(w, map[string]any{"Relay": relay, "Options": options}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"
}

// notFound records every 404 the tab's pages and frames get.
type notFound struct {
	mu   sync.Mutex
	urls []string
}

func watch404s(ctx context.Context) *notFound {
	nf := &notFound{}
	events := chromedp.Events(ctx, network.ResponseReceived)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if ev.Response != nil && ev.Response.Status == http.StatusNotFound {
				nf.mu.Lock()
				nf.urls = append(nf.urls, ev.Response.URL)
				nf.mu.Unlock()
			}
		}
	}()
	return nf
}

func (nf *notFound) check(t *testing.T, what string) {
	t.Helper()
	nf.mu.Lock()
	defer nf.mu.Unlock()
	if len(nf.urls) > 0 {
		t.Errorf("%s: 404 for %v", what, nf.urls)
	}
}

// shot saves a screenshot of the tab (or of the element sel) under
// $SCANIN_SHOTS/name, when that is set.
func shot(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	dir := os.Getenv("SCANIN_SHOTS")
	if dir == "" {
		return
	}
	var b []byte
	var err error
	if sel == "" {
		b, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	} else {
		b, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWidgetWordsFromConfig: the widget's title and instruction come from
// the app's config (its name and scan_hint, or the default hint); the
// countdown shows its seconds; an app with a logo gets it in the code's
// centre, and the code, at level H, still reads.
func TestWidgetWordsFromConfig(t *testing.T) {
	t.Parallel()
	relay := wordsRelay(t)
	for _, tc := range []struct {
		app, title, hint string
		logo             bool
	}{
		{"full", "Sign in to Full Shop", "Open Full Shop and tap the QR button", true},
		{"bare", "Sign in to Bare Shop", "Open Bare Shop on your phone and tap Scan", false},
	} {
		t.Run(tc.app, func(t *testing.T) {
			ctx := tab(t, false)
			nf := watch404s(ctx)
			must(t, ctx, chromedp.Navigate(wordsPage(t, relay.url, map[string]any{"app": tc.app})))
			waitStates(t, ctx, "waiting", 1, 20*time.Second)
			inWidget[bool](t, ctx, "the app's title and hint", `document.getElementById("title").textContent === `+jsString(tc.title)+
				` && document.getElementById("status").textContent === `+jsString(tc.hint), 5*time.Second)
			left := inWidget[string](t, ctx, "the countdown's number", `document.getElementById("remaining").textContent`, 5*time.Second)
			if n, err := strconv.Atoi(strings.TrimSuffix(left, " s")); err != nil || n < 40 || n > 60 {
				t.Errorf("the countdown says %q; want the seconds left of 60", left)
			}
			logo := inWidget[string](t, ctx, "the code", `document.querySelector("#qr svg") && (document.querySelector("#qr svg image.qr-logo")?.getAttribute("href") || "none")`, 5*time.Second)
			if want := map[bool]string{true: relay.url + "/favicon.svg", false: "none"}[tc.logo]; logo != want {
				t.Fatalf("the code's logo is %q; want %q", logo, want)
			}
			if tc.logo {
				inWidget[bool](t, ctx, "the logo to load", `performance.getEntriesByType("resource").some((e) => e.name.endsWith("/favicon.svg") && e.responseEnd > 0)`, 5*time.Second)
				// The light square under it: an odd number of modules, centred,
				// at most 6.25 % of the code (qrsvg.Hole), the image inside.
				hole := inWidget[map[string]float64](t, ctx, "the logo's square", `(() => {
					const svg = document.querySelector("#qr svg"), r = svg.querySelector("rect.qr-hole"), i = svg.querySelector("image.qr-logo");
					const a = (el, k) => Number(el.getAttribute(k));
					return {n: svg.viewBox.baseVal.width, x: a(r, "x"), y: a(r, "y"), side: a(r, "width"), ix: a(i, "x"), iside: a(i, "width")};
				})()`, 5*time.Second)
				n, side := int(hole["n"]), int(hole["side"])
				if side%2 != 1 || int(hole["x"])*2+side != n || hole["y"] != hole["x"] || side*side*10000 > 625*(n-8)*(n-8) ||
					hole["ix"] != hole["x"]+1 || hole["iside"] != hole["side"]-2 {
					t.Errorf("the logo's square in a %d-module code: %v", n, hole)
				}
			}
			shot(t, ctx, "#login iframe", "widget-"+tc.app+".png")
			link := readCode(t, ctx, "")
			if link.App != tc.app {
				t.Fatalf("the code is for app %q; want %q", link.App, tc.app)
			}
			nf.check(t, "the widget")
		})
	}
}

// TestWidgetTheme: theme "dark" and "light" win over the visitor's
// prefers-color-scheme; "auto" (and no theme) follows it.
func TestWidgetTheme(t *testing.T) {
	t.Parallel()
	const dark, light = "rgb(23, 25, 28)", "rgb(255, 255, 255)"
	for _, tc := range []struct {
		theme, prefers, want string
	}{
		{"dark", "light", dark},
		{"light", "dark", light},
		{"auto", "dark", dark},
		{"auto", "light", light},
		{"", "dark", dark},
	} {
		t.Run(tc.theme+"/"+tc.prefers, func(t *testing.T) {
			ctx := tab(t, false)
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: tc.prefers}},
			})
			if err != nil {
				t.Fatal(err)
			}
			options := map[string]any{"app": "shop"}
			if tc.theme != "" {
				options["theme"] = tc.theme
			}
			must(t, ctx, chromedp.Navigate(wordsPage(t, env.relay.url, options)))
			waitStates(t, ctx, "waiting", 1, 20*time.Second)
			got := inWidget[string](t, ctx, "the background", `getComputedStyle(document.body).backgroundColor`, 5*time.Second)
			if got != tc.want {
				t.Errorf("theme %q with prefers-color-scheme %s: background %s; want %s", tc.theme, tc.prefers, got, tc.want)
			}
			// The code itself stays dark on light, which every camera reads.
			if qr := inWidget[string](t, ctx, "the code's background", `getComputedStyle(document.getElementById("qr-box")).backgroundColor`, 5*time.Second); qr != light {
				t.Errorf("the code's box is %s; want %s", qr, light)
			}
			shot(t, ctx, "#login iframe", "theme-"+tc.theme+"-"+tc.prefers+".png")
			readCode(t, ctx, "")
		})
	}
}

// TestWidgetVerifyingWords: in verify mode the widget is in the state
// verifying ("Check the number on your phone", the number, two buttons),
// and the sender, whose POST the relay answers 202 while the browser waits
// for the click, says "Waiting for the browser: check that it shows NN"
// with the same number.
func TestWidgetVerifyingWords(t *testing.T) {
	t.Parallel()
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(wordsPage(t, env.relay.url, map[string]any{"app": "shop", "verify": true})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	link := readCode(t, ctx, "")

	type result struct {
		out []byte
		err error
	}
	sent := make(chan result, 1)
	go func() {
		out, err := exec.Command(env.bin, "send", "--link", link.String(), "--data", "tok", "--yes").CombinedOutput()
		sent <- result{out, err}
	}()
	waitStates(t, ctx, "verifying", 1, 15*time.Second)
	check := inWidget[string](t, ctx, "the verifying state", `document.getElementById("scanin").dataset.state === "verifying" &&
		document.getElementById("status").textContent === `+jsString(words.WidgetVerifying)+` &&
		!document.getElementById("confirm").hidden && !document.getElementById("cancel").hidden &&
		document.getElementById("check").textContent`, 5*time.Second)
	shot(t, ctx, "#login iframe", "widget-verifying.png")
	var r result
	select {
	case r = <-sent:
	case <-time.After(30 * time.Second):
		t.Fatal("scanin send did not end")
	}
	want := words.Fill(words.CLIWaiting, "", check)
	if r.err != nil || !strings.Contains(string(r.out), want) || strings.Contains(string(r.out), "Pending") {
		t.Fatalf("scanin send (%v):\n%s\nwant %q", r.err, r.out, want)
	}
	clickInWidget(t, ctx, "#confirm")
	waitFor(t, ctx, "the result", `window.__t.results.length === 1 && window.__t.results[0].data === "tok"`, 10*time.Second)
	if n := countStates(t, ctx, "expired"); n != 0 {
		t.Errorf("%d expired states", n)
	}
	// Signed in: no room left for the code, the countdown or buttons.
	inWidget[bool](t, ctx, "the success state", `document.getElementById("scanin").dataset.state === "success" &&
		document.getElementById("status").textContent === `+jsString(words.WidgetSuccess), 5*time.Second)
	shot(t, ctx, "#login iframe", "widget-success.png")
	waitFor(t, ctx, "the frame to shrink", `document.querySelector("#login iframe").getBoundingClientRect().height < 160`, 5*time.Second)
}

// TestWidgetRotationAndStop: a code that runs out is replaced without an
// expired event (the page hears waiting again); when the show limit is
// reached the widget stops, and only that is expired (final), with "The
// code expired." and "Show a new code" and no room left for the code.
func TestWidgetRotationAndStop(t *testing.T) {
	t.Parallel()
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(wordsPage(t, env.relay.url, map[string]any{"app": "shop", "ttl": 15, "limit": 30})))
	waitStates(t, ctx, "waiting", 2, 45*time.Second)
	if n := countStates(t, ctx, "expired"); n != 0 {
		t.Errorf("%d expired states at the rotation; want none\n%s", n, pageLog(ctx))
	}
	waitStates(t, ctx, "expired", 1, 30*time.Second)
	if got := eval[[]bool](t, ctx, `window.__t.states.filter((s) => s.state === "expired").map((s) => s.final)`); len(got) != 1 || !got[0] {
		t.Errorf("expired states: %v; want one, final", got)
	}
	inWidget[bool](t, ctx, "the stopped state", `document.getElementById("scanin").dataset.state === "stopped" &&
		document.getElementById("status").textContent === `+jsString(words.WidgetExpired)+` &&
		!document.getElementById("new-code").hidden`, 5*time.Second)
	waitFor(t, ctx, "the frame to shrink", `document.querySelector("#login iframe").getBoundingClientRect().height < 200`, 5*time.Second)
	shot(t, ctx, "#login iframe", "widget-stopped.png")
}

// TestLinkPageButtons: /link shows the app's name, opens its app_link with
// the code's fragment, and offers only the store pages the app configured;
// with neither, it says to scan with the app (no demo phone on this relay).
func TestLinkPageButtons(t *testing.T) {
	t.Parallel()
	relay := wordsRelay(t)
	ctx := tab(t, true)
	nf := watch404s(ctx)
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app, name, open, ios, play string
	}{
		{"full", "Full Shop", "fullshop://scan#", "https://apps.apple.com/app/id100", "https://play.google.com/store/apps/details?id=example.full"},
		{"plain", "Plain Shop", "", "", "https://play.google.com/store/apps/details?id=example.plain"},
		{"bare", "Bare Shop", "", "", ""},
	} {
		link := protocol.Link{Base: relay.url + "/link", App: tc.app, SessionID: protocol.NewSessionID(), PublicKey: key.PublicKey(), Relay: relay.url}
		_, fragment, _ := strings.Cut(link.String(), "#")
		// After the first, only the fragment changes: the page reloads
		// itself, so that no button keeps the old code.
		must(t, ctx, chromedp.Navigate(link.String()))
		waitAcrossReload(t, ctx, "the app's name", `document.getElementById("app").textContent === `+jsString(tc.name), 5*time.Second)
		if tc.app == "bare" {
			waitFor(t, ctx, "the scan note", `!document.getElementById("scan-note").hidden`, 5*time.Second)
		} else {
			waitFor(t, ctx, "the install box", `!document.getElementById("install").hidden`, 5*time.Second)
		}
		got := eval[map[string]string](t, ctx, `Object.fromEntries(["open", "ios", "play", "demo"].map((id) => {
			const a = document.getElementById(id);
			return [id, a.getClientRects().length === 0 ? "" : a.href]; // shown, not only not hidden
		}))`)
		want := map[string]string{"open": "", "ios": tc.ios, "play": tc.play, "demo": ""}
		if tc.open != "" {
			want["open"] = tc.open + fragment
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: #%s opens %q; want %q", tc.app, id, got[id], w)
			}
		}
		if tc.open != "" {
			if label := eval[string](t, ctx, `document.getElementById("open").textContent`); label != "Open in "+tc.name {
				t.Errorf("%s: the button says %q", tc.app, label)
			}
		}
		shot(t, ctx, "", "link-"+tc.app+".png")
	}
	nf.check(t, "/link")
}

// TestDemoPhoneWords is the demo at a phone's width: the demo phone reads
// a picture of the shop's code, its Sign in and Decline buttons are large
// and in the bottom half; declining shows the same story on both ends;
// the same file, uploaded again with a new code in it, is read again; an
// inverted picture of the code (light on dark) is read; no page gets a
// 404; and /link on the demo relay points to the demo phone.
func TestDemoPhoneWords(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	shop := tab(t, false)
	shop404 := watch404s(shop)
	must(t, shop, chromedp.Navigate(d.shop+"/?storage=localStorage"))
	waitFor(t, shop, "the shop's sign-in page", `!document.getElementById("signed-out").hidden`, 10*time.Second)
	first := readCodeIn(t, shop, "#login iframe", "")
	picture := filepath.Join(t.TempDir(), "code.png")
	saveCode := func() {
		t.Helper()
		b, err := chromedp.Run(shop, chromedp.Screenshot(chromedp.CSS("#login iframe")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(picture, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	saveCode()

	phone := tab(t, true)
	phone404 := watch404s(phone)
	must(t, phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(d.phone))
	waitFor(t, phone, "the phone page", `typeof scaninPhone === "object"`, 15*time.Second)
	if ph := eval[string](t, phone, `document.getElementById("link").placeholder`); !strings.HasPrefix(ph, d.phone+"#v=1&a=") {
		t.Errorf("the link field's placeholder is %q; want the demo's links, %s#v=1&a=…", ph, d.phone)
	}
	upload := func(file, what string) {
		t.Helper()
		must(t, phone, chromedp.SetUploadFiles(chromedp.CSS("#picture"), []string{file}))
		waitFor(t, phone, "the confirmation screen for "+what, `!document.getElementById("confirm").hidden`, 15*time.Second)
	}
	upload(picture, "the picture")

	// The widget says it once; the shop's own line names the event.
	inWidget[bool](t, shop, "the scanned state", `document.getElementById("scanin").dataset.state === "scanned" &&
		document.body.innerText.split(`+jsString(words.WidgetScanned)+`).length === 2`, 10*time.Second)
	if n := eval[int](t, shop, `document.body.innerText.split(`+jsString(words.WidgetScanned)+`).length - 1`); n != 0 {
		t.Errorf("the shop's page says %q %d times besides the widget", words.WidgetScanned, n)
	}

	// The buttons: at least 44 px tall, in the bottom half of the screen.
	for _, id := range []string{"approve", "deny"} {
		box := eval[map[string]float64](t, phone, `(() => {
			const r = document.getElementById(`+jsString(id)+`).getBoundingClientRect();
			return {top: r.top, bottom: r.bottom, height: r.height, screen: innerHeight, width: r.width};
		})()`)
		if box["height"] < 44 || box["top"] < box["screen"]/2 || box["bottom"] > box["screen"] || box["width"] < 200 {
			t.Errorf("#%s at %v: want at least 44 px tall and 200 wide, in the bottom half of a %v px screen", id, box, box["screen"])
		}
	}
	if got := eval[string](t, phone, `document.getElementById("c-question").textContent`); got != words.Fill(words.PhoneQuestion, "Demo Shop", "") {
		t.Errorf("the phone asks %q", got)
	}
	shot(t, phone, "", "phone-confirm.png")

	// Decline: both ends tell the same story.
	must(t, phone, chromedp.Click(chromedp.CSS("#deny")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === `+jsString(words.PhoneDeclinedTitle)+
		` && document.getElementById("o-text").textContent === `+jsString(words.PhoneDeclinedText), 15*time.Second)
	inWidget[bool](t, shop, "the declined widget", `document.getElementById("scanin").dataset.state === "denied" &&
		document.getElementById("status").textContent === `+jsString(words.WidgetDeclined)+` &&
		!document.getElementById("new-code").hidden && document.getElementById("new-code").textContent === `+jsString(words.ButtonNewCode), 10*time.Second)
	waitFor(t, shop, "the frame to shrink", `document.querySelector("#login iframe").getBoundingClientRect().height < 200`, 5*time.Second)
	shot(t, shop, "#login iframe", "widget-declined.png")
	shot(t, phone, "", "phone-declined.png")

	// A new code, photographed to the same file: the page reads it again.
	// Declined once more, for a third code.
	clickInWidget(t, shop, "#new-code")
	second := readCodeIn(t, shop, "#login iframe", first.SessionID)
	saveCode()
	must(t, phone, chromedp.Click(chromedp.CSS("#again")))
	upload(picture, "the same file again")
	must(t, phone, chromedp.Click(chromedp.CSS("#deny")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === `+jsString(words.PhoneDeclinedTitle), 15*time.Second)
	inWidget[bool](t, shop, "the declined widget", `document.getElementById("scanin").dataset.state === "denied"`, 10*time.Second)

	// The third code inverted, as a terminal with a dark theme shows it.
	clickInWidget(t, shop, "#new-code")
	readCodeIn(t, shop, "#login iframe", second.SessionID)
	saveCode()
	inverted := filepath.Join(t.TempDir(), "inverted.png")
	invertPNG(t, picture, inverted)
	must(t, phone, chromedp.Click(chromedp.CSS("#again")))
	upload(inverted, "the inverted picture")
	must(t, phone, chromedp.Click(chromedp.CSS("#approve")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === `+jsString(words.PhoneSignedInTitle), 15*time.Second)
	waitAcrossReload(t, shop, "the shop signed in", `document.getElementById("welcome").textContent === "Signed in as Ada Lovelace"`, 15*time.Second)

	// /link on the demo relay: the demo phone plays the app.
	must(t, phone, chromedp.Navigate(d.relay+"/link#"+strings.SplitN(second.String(), "#", 2)[1]))
	waitFor(t, phone, "the demo phone button", `!document.getElementById("demo").hidden`, 10*time.Second)
	if href := eval[string](t, phone, `document.getElementById("demo").href`); !strings.HasPrefix(href, d.relay+"/phone#v=1&a=demo&s="+second.SessionID) {
		t.Errorf("the demo phone button opens %q", href)
	}
	shop404.check(t, "the shop")
	phone404.check(t, "the phone")
}

// invertPNG writes the picture in src, inverted (light on dark), to dst.
func invertPNG(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewGray(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			out.SetGray(x, y, color.Gray{Y: 255 - color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y})
		}
	}
	var w bytes.Buffer
	if err := png.Encode(&w, out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, w.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The picture is the inverted code indeed: the tests' own decoder,
	// which reads dark on light only, does not read it.
	if _, err := decodeQR(w.Bytes()); err == nil {
		t.Log("note: the tests' decoder reads the inverted picture too")
	}
}
