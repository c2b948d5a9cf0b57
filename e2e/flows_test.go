//go:build !js

package e2e

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/protocol"
)

// TestRotationAndShowLimit runs codes with the shortest ttl the protocol
// allows and a 30 s show limit: the first code expires and a fresh one
// (new session, new key) takes its place; at the limit the widget stops
// and offers "Show a new code", whose code works.
func TestRotationAndShowLimit(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", ttl: 15, limit: 30})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	first := readCode(t, ctx, "")
	if d := inWidget[string](t, ctx, "the countdown ring", `(() => {
		const ring = document.querySelector("#ring .left");
		return ring.classList.contains("run") && getComputedStyle(ring).animationDuration;
	})()`, 5*time.Second); d != "15s" {
		t.Errorf("countdown ring runs for %s; want 15s", d)
	}

	// Rotation: the relay expires the session at 15 s, the widget shows a
	// new one without a click, and without telling the page it expired.
	waitStates(t, ctx, "waiting", 2, 25*time.Second)
	if n := countStates(t, ctx, "expired"); n != 0 {
		t.Errorf("%d expiries before the second code; want none (a rotation is silent)\n%s", n, pageLog(ctx))
	}
	second := readCode(t, ctx, first.SessionID)
	if string(second.PublicKey) == string(first.PublicKey) {
		t.Fatal("the rotated code reuses the old public key")
	}
	ph := newPhone(t)
	if status, body := ph.read(first); status != http.StatusGone {
		t.Errorf("the first session after rotation: %d %s; want 410", status, body)
	}

	// The show limit: after 30 s of codes the widget stops.
	waitFor(t, ctx, "the final expiry", `window.__t.states.some((s) => s.state === "expired" && s.final)`, 25*time.Second)
	inWidget[bool](t, ctx, "the stopped state", `document.getElementById("scanin").dataset.state === "stopped" &&
		!document.getElementById("new-code").hidden && document.getElementById("qr").childElementCount === 0`, 5*time.Second)
	waiting := countStates(t, ctx, "waiting")

	clickInWidget(t, ctx, "#new-code")
	waitStates(t, ctx, "waiting", waiting+1, 10*time.Second)
	third := readCode(t, ctx, second.SessionID)
	token := "after-the-limit"
	if status, body := ph.deliver(third, seal(t, third, phoneMessage("token", token, time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering to the new code: %d %s", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length === 1 && window.__t.results[0].data === `+jsString(token), 10*time.Second)
}

// TestScannedThenDenied: the phone reads the session (the widget says
// "Confirm on your phone" and pauses), then the person declines.
func TestScannedThenDenied(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	link := readCode(t, ctx, "")

	ph := newPhone(t)
	status, body := ph.read(link)
	if status != http.StatusOK || !strings.Contains(body, `"state":"waiting"`) || !strings.Contains(body, `"origin":"`+s.localhostURL()+`"`) {
		t.Fatalf("reading the session: %d %s; want 200, waiting, requester origin %s", status, body, s.localhostURL())
	}
	waitStates(t, ctx, "scanned", 1, 10*time.Second)
	inWidget[bool](t, ctx, "the scanned state", `document.getElementById("scanin").dataset.state === "scanned" &&
		document.getElementById("status").textContent === "Confirm on your phone" &&
		document.getElementById("status").getAttribute("aria-live") === "polite" &&
		document.getElementById("open-app").hidden`, 5*time.Second)

	if status, body := ph.deny(link); status != http.StatusOK {
		t.Fatalf("denying: %d %s", status, body)
	}
	waitStates(t, ctx, "denied", 1, 10*time.Second)
	inWidget[bool](t, ctx, "the denied state", `document.getElementById("scanin").dataset.state === "denied" &&
		!document.getElementById("new-code").hidden`, 5*time.Second)
	if n := eval[int](t, ctx, `window.__t.results.length`); n != 0 {
		t.Fatalf("%d results after a denial", n)
	}
	// A new code after the denial works; the button takes the keyboard.
	must(t, ctx, chromedp.Focus(chromedp.CSS("#new-code"), chromedp.FromNode(widgetFrame(t, ctx))), chromedp.KeyEvent("\r"))
	waitStates(t, ctx, "waiting", 2, 10*time.Second)
	next := readCode(t, ctx, link.SessionID)
	if status, body := ph.deliver(next, seal(t, next, phoneMessage("data", "hello", time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering after the denial: %d %s", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length === 1 && window.__t.results[0].kind === "data"`, 10*time.Second)
}

// TestRelayRestart stops the relay while the widget shows a code and starts
// a new one on the same port: the widget says it is reconnecting, then
// shows a fresh code that works.
func TestRelayRestart(t *testing.T) {
	t.Parallel()
	relay := newRelay(t)
	s := newSite(t)
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: relay.url, app: "shop", storage: "localStorage"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	before := readCode(t, ctx, "")

	stopping := time.Now()
	relay.stop()
	t.Logf("the relay stopped in %v", time.Since(stopping))
	waitFor(t, ctx, "the reconnecting state", `window.__t.states.some((s) => s.state === "error" && s.retrying)`, 15*time.Second)
	inWidget[bool](t, ctx, "Reconnecting…", `document.getElementById("scanin").dataset.state === "reconnecting" &&
		document.getElementById("status").textContent === "Reconnecting…"`, 5*time.Second)

	restarting := time.Now()
	restarted, err := startRelay(relay.addr)
	if err != nil {
		t.Fatalf("restarting the relay on %s: %v", relay.addr, err)
	}
	t.Cleanup(restarted.stop)
	waitStates(t, ctx, "waiting", 2, 20*time.Second)
	t.Logf("a new code %v after the restart", time.Since(restarting))
	after := readCode(t, ctx, before.SessionID)
	token := "after-restart"
	if status, body := newPhone(t).deliver(after, seal(t, after, phoneMessage("token", token, time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering after the restart: %d %s", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length === 1 && window.__t.results[0].data === `+jsString(token), 10*time.Second)
	if got := storedToken(t, ctx, "localStorage"); got != token {
		t.Fatalf("localStorage holds %q; want %q", got, token)
	}
}

// TestUnopenableMessages posts what the widget must refuse: bytes that do
// not open, a message sealed for another session, a stale one and one of
// an unknown kind. Each gets 422 rejected and the session stays usable.
func TestUnopenableMessages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, true)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", storage: "sessionStorage"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	link := readCode(t, ctx, "")
	ph := newPhone(t)

	garbage := make([]byte, 80)
	rand.Read(garbage)
	otherSession := link
	otherSession.SessionID = protocol.NewSessionID()
	for _, tc := range []struct {
		name   string
		sealed []byte
	}{
		{"random bytes", garbage},
		{"sealed for another session", seal(t, otherSession, phoneMessage("token", "wrong-info", time.Now()))},
		{"stale iat", seal(t, link, phoneMessage("token", "stale", time.Now().Add(-10*time.Minute)))},
		{"unknown kind", seal(t, link, phoneMessage("password", "kind", time.Now()))},
		{"not a JSON object", seal(t, link, []byte(`["token"]`))},
	} {
		status, body := ph.deliver(link, tc.sealed)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"rejected"`) {
			t.Fatalf("%s: %d %s; want 422 rejected", tc.name, status, body)
		}
	}
	token := "the-real-one"
	if status, body := ph.deliver(link, seal(t, link, phoneMessage("token", token, time.Now()))); status != http.StatusOK {
		t.Fatalf("delivering after the rejections: %d %s", status, body)
	}
	waitFor(t, ctx, "the result", `window.__t.results.length >= 1`, 10*time.Second)
	if got := eval[[]string](t, ctx, `window.__t.results.map((r) => r.data)`); len(got) != 1 || got[0] != token {
		t.Fatalf("results = %q; want only %q", got, token)
	}
	if got := storedToken(t, ctx, "sessionStorage"); got != token {
		t.Fatalf("sessionStorage holds %q; want %q", got, token)
	}
}

// TestVerifyMode: the widget shows the check code both ends derive with
// HPKE's exporter, and hands the result over only after the person
// confirms it.
func TestVerifyMode(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop", verify: true})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	link := readCode(t, ctx, "")

	// Seal with the standard library's HPKE context and export the check
	// code from it, as a phone does.
	pub, err := ecdh.X25519().NewPublicKey(link.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	enc, sender, err := hpke.NewSender(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte("scanin/v1\x00"+link.App+"\x00"+link.SessionID))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sender.Seal(nil, phoneMessage("assertion", "signed-statement", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	exported, err := sender.Export("scanin/v1 check", 2)
	if err != nil {
		t.Fatal(err)
	}
	check := fmt.Sprintf("%02d", binary.BigEndian.Uint16(exported)%100)

	done := make(chan string, 1)
	go func() {
		// The relay holds the POST until the ack, which needs a click.
		status, body := newPhone(t).deliver(link, append(enc, ct...))
		done <- fmt.Sprint(status, " ", body)
	}()
	shown := inWidget[string](t, ctx, "the check code", `!document.getElementById("check").hidden &&
		!document.getElementById("confirm").hidden && document.getElementById("check").textContent`, 10*time.Second)
	if shown != check {
		t.Fatalf("the widget shows check code %q; the phone computed %q", shown, check)
	}
	if n := eval[int](t, ctx, `window.__t.results.length`); n != 0 {
		t.Fatal("the result reached the page before the person confirmed")
	}
	clickInWidget(t, ctx, "#confirm")
	waitFor(t, ctx, "the result", `window.__t.results.length === 1 && window.__t.results[0].kind === "assertion"`, 10*time.Second)
	if got := <-done; !strings.HasPrefix(got, "200 ") && !strings.HasPrefix(got, "202 ") {
		t.Fatalf("the delivery answered %s", got)
	}
}

// TestOpenInApp: on a phone the widget offers "Open in app", which opens
// the code's link (the same one the QR code holds) in a new window: the
// phone's app, or the relay's landing page.
func TestOpenInApp(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := tab(t, false)
	_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36",
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: env.relay.url, app: "shop"})))
	waitStates(t, ctx, "waiting", 1, 20*time.Second)
	link := readCode(t, ctx, "")
	inWidget[bool](t, ctx, "the Open in app button", `!document.getElementById("open-app").hidden`, 5*time.Second)
	clickInWidget(t, ctx, "#open-app")

	deadline := time.Now().Add(10 * time.Second)
	for {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ti := range targets {
			if ti.Type == "page" && strings.HasPrefix(ti.URL, link.Base+"#") {
				got, err := protocol.ParseLink(ti.URL, nil)
				if err != nil || got.SessionID != link.SessionID || string(got.PublicKey) != string(link.PublicKey) {
					t.Fatalf("the window opened %s; want the QR code's link (%v)", ti.URL, err)
				}
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Open in app opened no window with the link")
		}
		must(t, ctx, chromedp.Poll[chromedp.Void](`true`)) // one animation frame
	}
}
