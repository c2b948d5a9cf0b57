//go:build js && wasm

package main

import (
	"math"
	"strconv"
	"syscall/js"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/scanin/scanin/widget/internal/qrsvg"
)

// view is the widget's page. The markup and styles are in widget.html;
// the view only sets data-state, texts, the code and which buttons show,
// and skips writes that change nothing, so that screen readers announce
// each status once.
type view struct {
	root, main, title, qr, badge, status, ring, check js.Value
	buttons                                           map[string]js.Value

	shownLink    string
	postedHeight int
	last         map[string]string // what was last written, by element
}

func newView(doc js.Value, in *inbox) *view {
	byID := func(id string) js.Value { return doc.Call("getElementById", id) }
	v := &view{
		root:    doc.Get("documentElement"),
		main:    byID("scanin"),
		title:   byID("title"),
		qr:      byID("qr"),
		badge:   byID("badge"),
		status:  byID("status"),
		ring:    doc.Call("querySelector", "#ring .left"),
		check:   byID("check"),
		buttons: map[string]js.Value{},
		last:    map[string]string{},
	}
	// A click on one of the buttons queues clicked{id}.
	for _, id := range [...]string{"confirm", "cancel", "open-app", "new-code"} {
		b := byID(id)
		v.buttons[id] = b
		b.Call("addEventListener", "click", js.FuncOf(func(js.Value, []js.Value) any {
			in.put(clicked{id})
			return nil
		}))
	}
	return v
}

// setTitle names the app the person is signing in to.
func (v *view) setTitle(appName string) {
	v.text("title", v.title, "Sign in to "+appName)
}

// prepareCode draws the QR code for link, at level H when the app has a
// logo (a URL, or ""), which widget.js draws in its centre
// (qrsvg.Hole). The page hides it until the phase is waiting, so it can
// be drawn while the socket connects.
func (v *view) prepareCode(link, appName, logo string) {
	if v.shownLink == link {
		return
	}
	// A logo hides the modules under it: level H restores them.
	level := qrcode.Medium
	if logo != "" {
		level = qrcode.Highest
	}
	q, err := qrcode.New(link, level)
	if err != nil {
		v.qr.Set("textContent", "The link is too long for a QR code.")
		return
	}
	// DisableBorder stays false: the bitmap has the 4-module quiet zone
	// fitCode counts on. Bitmap is called once; it finishes the encoding.
	svg := qrsvg.SVG(q.Bitmap(), "QR code: scan it with your phone to sign in to "+appName)
	v.qr.Set("innerHTML", svg)
	v.fitCode()
	v.shownLink = link
}

// fitCode sizes the code to a whole number of device pixels per module.
// Stretched over the box, a 49-module code gets 4.49 px modules, which
// crispEdges rounds to a mix of 4 and 5 px: an uneven grid that cameras and
// decoders misread. The module count comes from the SVG's viewBox, so the
// code is not encoded twice.
//
// The SVG carries a 4-module quiet zone on each side. The box has the same
// background and clips what overflows, so the modules are sized for at
// least 2 quiet modules a side: bigger modules, still a clear margin.
func (v *view) fitCode() {
	svg := v.qr.Get("firstElementChild")
	box := v.qr.Get("clientWidth").Float() // 0 while the box is not laid out
	dpr := js.Global().Get("devicePixelRatio").Float()
	if !svg.Truthy() || box <= 0 || dpr <= 0 {
		return
	}
	modules := svg.Get("viewBox").Get("baseVal").Get("width").Float()
	// Up to 2 of the 4 quiet modules a side may be clipped; perModule is
	// in device pixels.
	const clippedQuiet = 2 * 2
	perModule := math.Floor(box * dpr / (modules - clippedQuiet))
	if modules <= clippedQuiet || perModule < 1 {
		return
	}
	side := strconv.FormatFloat(perModule*modules/dpr, 'f', 4, 64) + "px"
	style := svg.Get("style")
	style.Set("width", side)
	style.Set("height", side)
}

// showCode shows the code for link and starts the countdown ring, whose
// number widget.js reads from the ring's animation.
func (v *view) showCode(link, appName, logo string, left, ttl time.Duration) {
	v.prepareCode(link, appName, logo)
	// Restart the ring's CSS animation: a negative delay starts it part
	// way, for the time that already passed.
	style := v.ring.Get("style")
	v.ring.Get("classList").Call("remove", "run")
	v.ring.Call("getBoundingClientRect") // forces a style flush so the animation restarts
	style.Set("animationDuration", seconds(ttl))
	style.Set("animationDelay", seconds(-(ttl - left)))
	v.ring.Get("classList").Call("add", "run")
	if perf := js.Global().Get("performance"); perf.Truthy() && perf.Get("mark").Truthy() {
		perf.Call("mark", "scanin:qr")
	}
}

// clearCode removes the code, so a stale one never stays on screen.
func (v *view) clearCode() {
	if v.shownLink == "" {
		return
	}
	v.shownLink = ""
	v.qr.Set("innerHTML", "")
	v.ring.Get("classList").Call("remove", "run")
}

// render shows phase p; message is the status for errors, hint the
// instruction under a waiting code, check the verify mode's check code,
// phone whether to offer "Open in app". The status line's and the badge's
// words for each phase are widget.html's (data-* attributes named after
// the phase), so that they live with the page, not in the WebAssembly.
func (v *view) render(p phase, message, hint, check string, phone bool) {
	if v.last["state"] != string(p) {
		v.last["state"] = string(p)
		v.main.Get("dataset").Set("state", string(p))
	}
	status := message
	switch p {
	case phaseWaiting:
		status = hint
	case phaseError, phaseRefused:
	default:
		status = wordFor(v.status, p)
	}
	v.text("status", v.status, status)
	v.text("badge", v.badge, wordFor(v.badge, p))
	v.text("check", v.check, check)
	v.show("check", v.check, check != "")
	v.show("confirm", v.buttons["confirm"], p == phaseVerifying)
	v.show("cancel", v.buttons["cancel"], p == phaseVerifying)
	v.show("open-app", v.buttons["open-app"], phone && (p == phaseWaiting || p == phaseScanned))
	v.show("new-code", v.buttons["new-code"], p == phaseStopped || p == phaseDenied || p == phaseError)
}

// wordFor is el's data-* attribute for phase p, or "".
func wordFor(el js.Value, p phase) string {
	if w := el.Get("dataset").Get(string(p)); w.Type() == js.TypeString {
		return w.String()
	}
	return ""
}

// height is the widget's content height in CSS pixels.
func (v *view) height() int {
	return int(math.Ceil(v.main.Call("getBoundingClientRect").Get("height").Float()))
}

func (v *view) text(key string, el js.Value, s string) {
	if v.last[key] != s || v.last[key+"?set"] == "" {
		v.last[key], v.last[key+"?set"] = s, "1"
		el.Set("textContent", s)
	}
}

func (v *view) show(key string, el js.Value, visible bool) {
	want := "hidden"
	if visible {
		want = "shown"
	}
	if v.last[key+"?shown"] != want {
		v.last[key+"?shown"] = want
		el.Set("hidden", !visible)
	}
}

// seconds writes d as a CSS time.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}
