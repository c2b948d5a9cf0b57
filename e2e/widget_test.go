//go:build !js

package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWholePath is what a visitor and their phone do, once per storage
// type: the page on one origin embeds the widget from the relay on another;
// the phone scans the QR code, seals a token to the key in it and posts it;
// the page's onResult gets exactly that token and it sits in the storage.
func TestWholePath(t *testing.T) {
	for _, tc := range []struct {
		storage string
		noCode  bool
	}{
		{"localStorage", false},
		{"sessionStorage", false},
		{"cookie", false},
		{"localStorage", true},
	} {
		name := tc.storage
		if tc.noCode {
			name += "/script-tag"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSite(t)
			ctx := tab(t, true)
			must(t, ctx, chromedp.Navigate(s.pageURL(pageOptions{
				relay: env.relay.url, app: "shop", storage: tc.storage, noCode: tc.noCode,
			})))
			waitStates(t, ctx, "waiting", 1, 20*time.Second)
			link := readCode(t, ctx, "")
			if link.App != "shop" || link.Relay != env.relay.url || link.Base != env.relay.url+"/link" {
				t.Fatalf("link = %+v; want app shop on relay %s", link, env.relay.url)
			}

			ph := newPhone(t)
			if status, body := ph.read(link); status != http.StatusOK {
				t.Fatalf("reading the session: %d %s", status, body)
			}
			token := "tok-" + link.SessionID[:8] + "-é✓"
			status, body := ph.deliver(link, seal(t, link, phoneMessage("token", token, time.Now())))
			if status != http.StatusOK {
				t.Fatalf("delivering: %d %s; want 200", status, body)
			}
			waitFor(t, ctx, "the result", `window.__t.results.length >= 1`, 10*time.Second)
			got := eval[[]map[string]any](t, ctx, `window.__t.results`)
			if len(got) != 1 || got[0]["kind"] != "token" || got[0]["data"] != token {
				t.Fatalf("results = %v; want one token %q", got, token)
			}
			if dev, _ := got[0]["device"].(map[string]any); dev["name"] != "Test Phone" || dev["type"] != "android" {
				t.Errorf("device = %v; want Test Phone/android", got[0]["device"])
			}
			stored := storedToken(t, ctx, tc.storage)
			if tc.storage == "cookie" {
				stored = eval[string](t, ctx, `decodeURIComponent(`+jsString(stored)+`)`)
			}
			if stored != token {
				t.Fatalf("%s holds %q; want %q", tc.storage, stored, token)
			}
			// The session is spent: a replay gets the delivery's state, and
			// a second, different message is refused.
			if status, _ := ph.deliver(link, seal(t, link, phoneMessage("token", "again", time.Now()))); status == http.StatusOK {
				t.Errorf("a second delivery to a finished session got 200")
			}
		})
	}
}
