package words

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scanin/scanin/widget/web"
)

// table is every word of the package, by its name.
func table() map[string]string {
	return map[string]string{
		"WidgetLoading": WidgetLoading, "WidgetScanned": WidgetScanned, "WidgetVerifying": WidgetVerifying,
		"WidgetReconnecting": WidgetReconnecting, "WidgetSuccess": WidgetSuccess, "WidgetDeclined": WidgetDeclined,
		"WidgetExpired": WidgetExpired,
		"BadgeScanned":  BadgeScanned, "ButtonNewCode": ButtonNewCode, "ButtonMatches": ButtonMatches,
		"ButtonNoMatch": ButtonNoMatch, "ButtonOpenApp": ButtonOpenApp,
		"PhoneQuestion": PhoneQuestion, "PhoneApprove": PhoneApprove, "PhoneDecline": PhoneDecline,
		"PhoneSignedInTitle": PhoneSignedInTitle, "PhoneSignedInText": PhoneSignedInText,
		"PhoneWaitingTitle": PhoneWaitingTitle, "PhoneWaitingText": PhoneWaitingText,
		"PhoneDeclinedTitle": PhoneDeclinedTitle, "PhoneDeclinedText": PhoneDeclinedText,
		"PhoneExpiredTitle": PhoneExpiredTitle, "PhoneExpiredText": PhoneExpiredText,
		"CLIQuestion": CLIQuestion, "CLISignedIn": CLISignedIn, "CLIWaiting": CLIWaiting, "CLIDeclined": CLIDeclined,
	}
}

// TestVocabulary holds the table to the words the package chose: "Sign in"
// (never "Log in" or "login"), "declined" (never "denied" or "Deny"), no
// "timed out", and "Confirm on your phone" in one place only.
func TestVocabulary(t *testing.T) {
	forbidden := regexp.MustCompile(`(?i)log ?in|\bden(y|ied)\b|timed out|other screen`)
	confirm := 0
	for name, w := range table() {
		if w == "" {
			t.Errorf("%s is empty", name)
		}
		if m := forbidden.FindString(w); m != "" {
			t.Errorf("%s = %q uses %q", name, w, m)
		}
		confirm += strings.Count(strings.ToLower(w), "confirm on your phone")
	}
	if confirm != 1 {
		t.Errorf(`"Confirm on your phone" is in %d words; want 1 (the widget's status while a phone has scanned)`, confirm)
	}
	for _, w := range []string{PhoneWaitingText, CLIWaiting, CLISignedIn} {
		if !strings.Contains(w, "{check}") {
			t.Errorf("%q does not show the check code", w)
		}
	}
	if got := Fill(PhoneQuestion, "Demo Shop", ""); got != "Sign in to Demo Shop?" {
		t.Errorf("Fill(PhoneQuestion) = %q", got)
	}
	if got := Fill(CLIWaiting, "", "42"); !strings.HasPrefix(got, "Waiting for the browser: check that it shows 42.") {
		t.Errorf("Fill(CLIWaiting) = %q", got)
	}
}

// attrs returns the attributes of the element with id in an HTML page (a
// page whose tags this package's copies are in: no attribute value holds
// ">").
func attrs(t *testing.T, page, id string) map[string]string {
	t.Helper()
	tag := regexp.MustCompile(`<[a-z0-9]+\s[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(page)
	if tag == "" {
		t.Fatalf("no element with id %q", id)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`([a-z-]+)="([^"]*)"`).FindAllStringSubmatch(tag, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// text returns the text of the element with id, which must hold no other
// element.
func text(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`\bid="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no element with id %q and only text in it", id)
	}
	return m[1]
}

// TestWidgetCopies: the widget reads its words from widget.html (its
// status line's and badge's data-* attributes, one per state, and the
// buttons), so that they are not in the WebAssembly. They must be these.
func TestWidgetCopies(t *testing.T) {
	b, err := fs.ReadFile(web.FS(), "widget.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	status := attrs(t, page, "status")
	for state, want := range map[string]string{
		"loading": WidgetLoading, "scanned": WidgetScanned, "verifying": WidgetVerifying,
		"reconnecting": WidgetReconnecting, "success": WidgetSuccess, "denied": WidgetDeclined,
		"stopped": WidgetExpired,
	} {
		if got := status["data-"+state]; got != want {
			t.Errorf("widget.html's status for %s is %q; want %q", state, got, want)
		}
	}
	if got := text(t, page, "status"); got != WidgetLoading {
		t.Errorf("widget.html's first status is %q; want %q", got, WidgetLoading)
	}
	badge := attrs(t, page, "badge")
	if got := badge["data-scanned"]; got != BadgeScanned {
		t.Errorf("widget.html's badge for scanned is %q; want %q", got, BadgeScanned)
	}
	for state := range badge {
		if s, ok := strings.CutPrefix(state, "data-"); ok && s != "scanned" {
			t.Errorf("widget.html's badge has words for %s: the status line says it", s)
		}
	}
	for id, want := range map[string]string{
		"confirm": ButtonMatches, "cancel": ButtonNoMatch, "open-app": ButtonOpenApp, "new-code": ButtonNewCode,
	} {
		if got := text(t, page, id); got != want {
			t.Errorf("widget.html's %s button says %q; want %q", id, got, want)
		}
	}
}

// TestPhoneCopies: the demo phone page's buttons.
func TestPhoneCopies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "demo", "phone", "static", "phone.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for id, want := range map[string]string{"approve": PhoneApprove, "deny": PhoneDecline} {
		if got := text(t, page, id); got != want {
			t.Errorf("phone.html's %s button says %q; want %q", id, got, want)
		}
	}
	q := regexp.MustCompile(`<h1 id="c-question">([^<]*)<span id="c-app"></span>([^<]*)</h1>`).FindStringSubmatch(page)
	if q == nil || q[1]+"{app}"+q[2] != PhoneQuestion {
		t.Errorf("phone.html's question is %q; want %q", q, PhoneQuestion)
	}
	if strings.Contains(page, "Log in") || strings.Contains(page, "Deny") {
		t.Errorf("phone.html says Log in or Deny")
	}
}
