//go:build !js

package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/internal/proctest"
)

// The demo, as a newcomer meets it: `scanin demo` runs the relay and the
// shop; the shop's page embeds the widget; the demo phone page (the mobile
// SDK compiled to wasm) reads the code and approves or denies.
//
// With SCANIN_SCREENSHOTS=1 the test also refreshes the README's pictures
// in docs/img/.

// demoProc is a running `scanin demo`.
type demoProc struct {
	shop, phone, relay string // URLs it printed
}

// startDemo runs `scanin demo` with args (default: both on loopback, any
// free port) and waits for the URLs it prints.
func startDemo(t *testing.T, args ...string) *demoProc {
	t.Helper()
	if len(args) == 0 {
		args = []string{"--relay-addr", "127.0.0.1:0", "--shop-addr", "localhost:0"}
	}
	cmd := exec.Command(env.bin, append([]string{"demo"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &proctest.Output{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start the demo: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("the demo did not stop on Ctrl-C")
		}
	})

	d := &demoProc{}
	printed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 {
				switch fields[0] {
				case "shop":
					d.shop = fields[1]
				case "phone":
					d.phone = fields[1]
				case "relay":
					d.relay = fields[1]
				}
			}
			if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				close(printed)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-printed:
	case <-done:
		t.Fatalf("the demo exited: %s", logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("the demo did not say where it runs: %s", logs.String())
	}
	if d.shop == "" || d.phone == "" || d.relay == "" {
		t.Fatalf("the demo printed no shop, phone or relay URL: %+v", d)
	}
	return d
}

func TestDemo(t *testing.T) {
	d := startDemo(t)
	shot := screenshotter(t)

	shop := tab(t, true)
	must(t, shop, chromedp.Navigate(d.shop+"/?storage=localStorage"))
	waitFor(t, shop, "the shop's sign-in page", `!document.getElementById("signed-out").hidden`, 10*time.Second)
	link := readCodeIn(t, shop, "#login iframe", "")
	shot(shop, "widget-waiting.png")

	// The phone: its camera app opens the code's link, which in the demo is
	// the phone page ({relay}/phone#v=1&...); it shows who asks; log in.
	if !strings.HasPrefix(link.String(), d.phone+"#") {
		t.Fatalf("the code opens %q, want the demo phone page %s", link.String(), d.phone)
	}
	phone := tab(t, true)
	must(t, phone, chromedp.EmulateViewport(390, 720, chromedp.EmulateMobile), chromedp.Navigate(link.String()))
	waitFor(t, phone, "the confirmation screen", `!document.getElementById("confirm").hidden`, 10*time.Second)
	shopOrigin := strings.TrimSuffix(d.shop, "/")
	for id, want := range map[string]string{"c-app": "Demo Shop", "c-origin": shopOrigin, "c-ip": "127.0.0.1"} {
		if got := eval[string](t, phone, `document.getElementById("`+id+`").textContent`); got != want {
			t.Errorf("the phone shows %s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(eval[string](t, phone, `document.getElementById("c-browser").textContent`), "Chrome") {
		t.Errorf("the phone does not name the browser as Chrome")
	}
	waitFor(t, shop, "the shop to hear scanin:state scanned",
		`document.getElementById("status").textContent === "scanin:state scanned"`, 10*time.Second)
	shot(phone, "phone-confirm.png")
	must(t, phone, chromedp.Click(chromedp.CSS("#approve")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === "Signed in"`, 15*time.Second)

	waitFor(t, shop, "'Signed in as Ada Lovelace'",
		`document.getElementById("welcome").textContent === "Signed in as Ada Lovelace"`, 15*time.Second)
	if token := storedToken(t, shop, "localStorage"); !strings.HasPrefix(token, "demo.") {
		t.Errorf("localStorage holds %q, want the phone's demo token", token)
	}
	shot(shop, "signed-in.png")

	// Sign out; this time the phone reads a picture of the code (the QR
	// decoder compiled from Go) and denies.
	must(t, shop, chromedp.Click(chromedp.CSS("#sign-out")))
	waitAcrossReload(t, shop, "the sign-in page again",
		`document.readyState === "complete" && !document.getElementById("signed-out").hidden && !localStorage.getItem("session")`, 10*time.Second)
	readCodeIn(t, shop, "#login iframe", link.SessionID) // a fresh code, not the used one
	picture := filepath.Join(t.TempDir(), "code.png")
	png, err := chromedp.Run(shop, chromedp.Screenshot(chromedp.CSS("#login iframe")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(picture, png, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, phone, chromedp.Click(chromedp.CSS("#again")))
	must(t, phone, chromedp.SetUploadFiles(chromedp.CSS("#picture"), []string{picture}))
	waitFor(t, phone, "the confirmation screen for the picture", `!document.getElementById("confirm").hidden`, 15*time.Second)
	must(t, phone, chromedp.Click(chromedp.CSS("#deny")))
	waitFor(t, phone, "the phone's outcome", `document.getElementById("o-title").textContent === "Sign-in declined"`, 15*time.Second)
	waitFor(t, shop, "the shop to hear scanin:state denied",
		`document.getElementById("status").textContent === "scanin:state denied"`, 15*time.Second)
	if got := eval[string](t, shop, `localStorage.getItem("session") || ""`); got != "" {
		t.Errorf("a denied login stored a token: %q", got)
	}
}

// waitAcrossReload polls a predicate in a page that is reloading: while the
// old document goes away, evaluations fail, and that is not yet an answer.
func waitAcrossReload(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond) // the poll interval, as chromedp.Poll has
	}
	t.Fatalf("waiting for %s: %v", what, last)
}

// screenshotter returns a function that saves a tab's page as docs/img/NAME
// when SCANIN_SCREENSHOTS=1, and does nothing otherwise.
func screenshotter(t *testing.T) func(ctx context.Context, name string) {
	if os.Getenv("SCANIN_SCREENSHOTS") != "1" {
		return func(context.Context, string) {}
	}
	dir := filepath.Join(env.root, "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
