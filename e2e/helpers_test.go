//go:build !js

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scanin/scanin/protocol"
)

// chromiumPath is Debian's Chromium binary (not the /usr/bin wrapper).
const chromiumPath = "/usr/lib/chromium/chromium"

// browserFlags are the flags every test browser runs with.
func browserFlags(userDataDir string, isolated bool) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Tabs of one browser run side by side: none may be throttled as
		// a background tab, or rotation timers would drift.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1000, 800),
	}
	if !isolated {
		// Cross-origin frames stay in the page's process, so that the
		// test can instrument and read the widget's frame. Origins,
		// postMessage and CSP are enforced the same way.
		opts = append(opts,
			chromedp.Flag("disable-features", "SitePerProcess,IsolateOrigins"),
			chromedp.Flag("disable-site-isolation-trials", true))
	}
	return opts
}

// browser is one Chromium process with a fresh profile.
type browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// start launches the browser the first time it is asked for.
func (b *browser) start(isolated bool) (context.Context, error) {
	b.once.Do(func() {
		dir, err := os.MkdirTemp(env.tmp, "chromium-")
		if err != nil {
			b.err = err
			return
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), browserFlags(dir, isolated)...)
		ctx, cancel := chromedp.NewContext(actx)
		if err := chromedp.Do(ctx); err != nil {
			cancel()
			acancel()
			b.err = fmt.Errorf("failed to start Chromium: %w", err)
			return
		}
		b.ctx = ctx
		b.cancel = func() { cancel(); acancel() }
	})
	return b.ctx, b.err
}

func (b *browser) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// tab opens a tab with storage of its own in one of the shared browsers:
// the default one (site isolation on, as users run Chromium) or, with
// isolated false, the one whose cross-origin frames share the page's
// process.
func tab(t *testing.T, isolated bool) context.Context {
	t.Helper()
	b := &env.isolated
	if !isolated {
		b = &env.unisolated
	}
	bctx, err := b.start(isolated)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("failed to open a tab: %v", err)
	}
	return ctx
}

// must runs actions and fails the test on error.
func must(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a script in the parent page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a predicate in the parent page until it is truthy.
func waitFor(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\nstates: %s", what, err, pageLog(ctx))
	}
}

// pageLog is what the parent page recorded, for failure messages.
func pageLog(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__t)`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return s
}

// countStates is the number of onState calls with that state so far.
func countStates(t *testing.T, ctx context.Context, state string) int {
	t.Helper()
	return eval[int](t, ctx, `window.__t.states.filter((s) => s.state === `+jsString(state)+`).length`)
}

// waitStates waits until the page has seen n onState calls with state.
func waitStates(t *testing.T, ctx context.Context, state string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("%d × %s", n, state),
		`window.__t && window.__t.states.filter((s) => s.state === `+jsString(state)+`).length >= `+fmt.Sprint(n), timeout)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// readCode screenshots the widget's iframe, decodes the QR code in it and
// parses the link, as a phone's camera and app would. It retries until the
// code shows a session other than notSID (the one the test saw before).
func readCode(t *testing.T, ctx context.Context, notSID string) protocol.Link {
	t.Helper()
	return readCodeIn(t, ctx, "#login iframe", notSID)
}

// readCodeIn is readCode for the widget iframe that selector finds.
func readCodeIn(t *testing.T, ctx context.Context, selector, notSID string) protocol.Link {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for try := 0; time.Now().Before(deadline); try++ {
		// Alternate the pixel ratio, as phones' cameras see codes at every
		// size; after a failure, make sure the tab is the one painted.
		scale := float64(1 + try%2)
		if try > 0 {
			if _, err := chromedp.Call(ctx, page.BringToFront, cdp.Empty{}); err != nil {
				t.Fatalf("failed to bring the tab to the front: %v", err)
			}
		}
		shot, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(selector), scale))
		if err != nil {
			t.Fatalf("failed to screenshot the widget: %v", err)
		}
		text, err := decodeQR(shot)
		if err != nil {
			lastErr = err
			continue
		}
		link, err := protocol.ParseLink(text, nil)
		if err != nil {
			t.Fatalf("the QR code holds %q, not a scanin link: %v", text, err)
		}
		if link.SessionID != notSID {
			return link
		}
		lastErr = fmt.Errorf("the code still shows session %s", notSID)
	}
	if shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(selector))); err == nil {
		f, err := os.CreateTemp("", "scanin-unreadable-*.png")
		if err == nil {
			f.Write(shot)
			f.Close()
			t.Logf("the last screenshot is %s", f.Name())
		}
	}
	t.Fatalf("no readable QR code: %v\nstates: %s", lastErr, pageLog(ctx))
	return protocol.Link{}
}

func decodeQR(pngBytes []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return "", err
	}
	return decodeImage(img)
}

// decodeImage reads the QR code in img, and if that fails, in img halved
// and halved again, as a camera further away sees it. The decoder's
// finder-pattern search misses about 1 in 100 valid codes at 4 or more
// pixels per module (it then reports a wrong dimension, such as 27 for a
// 49-module code) and reads the same codes at 2 or 3 pixels per module; a
// phone's camera, which sees the code at every size as it moves, gets past
// that too.
func decodeImage(img image.Image) (string, error) {
	text, err := decodeAtSize(img)
	for small := img; err != nil && small.Bounds().Dx() >= 100 && small.Bounds().Dy() >= 100; {
		small = halfSize(small)
		if t, err2 := decodeAtSize(small); err2 == nil {
			return t, nil
		}
	}
	return text, err
}

// halfSize is img scaled down by 2, in gray, each pixel the mean of four.
func halfSize(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			var sum uint32
			for _, d := range [4]image.Point{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				sum += uint32(color.GrayModel.Convert(img.At(b.Min.X+2*x+d.X, b.Min.Y+2*y+d.Y)).(color.Gray).Y)
			}
			out.SetGray(x, y, color.Gray{Y: uint8(sum / 4)})
		}
	}
	return out
}

func decodeAtSize(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER: true,
	})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// phoneMessage is the plaintext a phone seals, written independently of the
// protocol package.
func phoneMessage(kind, data string, iat time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"v": 1, "kind": kind, "data": data, "iat": iat.Unix(),
		"device": map[string]string{"name": "Test Phone", "type": "android"},
	})
	return b
}

// seal encrypts plaintext to the link's key with the standard library's
// RFC 9180 implementation, not the widget's code: DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, info "scanin/v1" 0 app 0 sid.
func seal(t *testing.T, link protocol.Link, plaintext []byte) []byte {
	t.Helper()
	pub, err := ecdh.X25519().NewPublicKey(link.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	info := []byte("scanin/v1\x00" + link.App + "\x00" + link.SessionID)
	sealed, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// phone is a sender talking to the relay over plain HTTP, as the phone SDK
// would.
type phone struct {
	t      *testing.T
	client *http.Client
}

func newPhone(t *testing.T) *phone {
	return &phone{t: t, client: &http.Client{Timeout: 20 * time.Second}}
}

func (p *phone) do(method, url, contentType string, body []byte) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// read is GET {relay}/v1/sessions/{sid}: the phone shows who asks.
func (p *phone) read(link protocol.Link) (int, string) {
	return p.do("GET", link.Relay+protocol.SessionPath(link.SessionID), "", nil)
}

// deliver is POST {relay}/v1/sessions/{sid} with the sealed bytes.
func (p *phone) deliver(link protocol.Link, sealed []byte) (int, string) {
	return p.do("POST", link.Relay+protocol.SessionPath(link.SessionID), "application/octet-stream", sealed)
}

// deny is POST {relay}/v1/sessions/{sid}/deny.
func (p *phone) deny(link protocol.Link) (int, string) {
	return p.do("POST", link.Relay+protocol.DenyPath(link.SessionID), "", nil)
}

// storedToken reads what embed.js stored under "session".
func storedToken(t *testing.T, ctx context.Context, storage string) string {
	t.Helper()
	switch storage {
	case "localStorage", "sessionStorage":
		return eval[string](t, ctx, `window.`+storage+`.getItem("session") || ""`)
	case "cookie":
		return eval[string](t, ctx, `(document.cookie.split("; ").find((c) => c.startsWith("session=")) || "").slice(8)`)
	}
	t.Fatalf("unknown storage %q", storage)
	return ""
}

// widgetFrame is the widget's iframe element in the parent page.
func widgetFrame(t *testing.T, ctx context.Context) *chromedp.Node {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#login iframe")))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("no widget iframe: %v", err)
	}
	return nodes[0]
}

// inWidget waits until a predicate evaluated inside the widget's frame is
// truthy and returns its value. It needs the unisolated browser, where the
// frame shares the page's process and DevTools session.
func inWidget[T any](t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingInFrame(widgetFrame(t, ctx)),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		t.Fatalf("waiting in the widget for %s: %v\nstates: %s", what, err, pageLog(ctx))
	}
	return v
}

// clickInWidget clicks a button of the widget as a person would.
func clickInWidget(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	must(t, ctx, chromedp.Click(chromedp.CSS(selector), chromedp.FromNode(widgetFrame(t, ctx))))
}

// countSockets counts the WebSockets the tab opens to a relay's listen
// path, from the DevTools protocol's own events (in the unisolated browser
// they include the widget frame's).
func countSockets(t *testing.T, ctx context.Context) *atomic.Int64 {
	var n atomic.Int64
	events := chromedp.Events(ctx, network.WebSocketCreated)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if strings.Contains(ev.URL, "/listen?") {
				n.Add(1)
			}
		}
	}()
	return &n
}
