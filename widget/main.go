//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver/policy"
)

func main() {
	w, err := newWidget(js.Global())
	if err != nil {
		showFatal(err.Error())
	} else {
		go w.run()
	}
	// The program must stay alive: the callbacks that drive the widget
	// live only as long as it does.
	select {}
}

// options are what the iframe's URL asks of the widget:
//
//	widget.html?app=demo&ttl=60&verify=1&theme=dark&limit=300
//
// theme (light, dark or auto) is widget.js's, which applies it before the
// first paint; the program only refuses a value that is none of these.
type options struct {
	app    string        // the integrator's app id (required)
	ttl    int           // seconds per code; 0 leaves it to the app's configuration
	verify bool          // show the check code and ask before accepting
	limit  time.Duration // how long to rotate codes before asking for a click
}

// errorString is a constant error without importing fmt.
type errorString string

func (e errorString) Error() string { return string(e) }

// parseOptions reads the iframe URL's query string.
func parseOptions(search js.Value) (options, error) {
	q, err := jsCall(func() js.Value { return js.Global().Get("URLSearchParams").New(search) })
	if err != nil {
		return options{}, errorString("failed to read the widget's URL: " + err.Error())
	}
	get := func(name string) string {
		v := q.Call("get", name)
		if v.Type() != js.TypeString {
			return ""
		}
		return v.String()
	}
	o := options{app: get("app"), limit: protocol.WidgetShowLimit}
	if err := protocol.CheckAppID(o.app); err != nil {
		return options{}, errorString("This sign-in code is misconfigured: the page gave no valid app id.")
	}
	if s := get("ttl"); s != "" {
		ttl, err := protocol.ParseTTL(s)
		if err != nil {
			return options{}, errorString("This sign-in code is misconfigured: ttl must be 15 to 300 seconds.")
		}
		o.ttl = int(ttl / time.Second)
	}
	if s := get("limit"); s != "" {
		if o.limit, err = policy.ParseShowLimit(s); err != nil {
			return options{}, errorString("This sign-in code is misconfigured: limit must be 15 to 300 seconds.")
		}
	}
	switch v := strings.ToLower(get("verify")); v {
	case "", "0", "false":
	case "1", "true":
		o.verify = true
	default:
		return options{}, errorString("This sign-in code is misconfigured: verify must be 1 or 0.")
	}
	switch get("theme") {
	case "", "auto", "light", "dark":
	default:
		return options{}, errorString("This sign-in code is misconfigured: theme must be light, dark or auto.")
	}
	return o, nil
}

// relayBase is the relay's public base URL, which the relay wrote into the
// page. A page served without templating falls back to its own origin.
func relayBase(global js.Value) string {
	doc := global.Get("document")
	if r := doc.Get("documentElement").Get("dataset").Get("relay"); r.Type() == js.TypeString {
		if base, err := protocol.CheckRelayURL(r.String()); err == nil {
			return base
		}
	}
	return global.Get("location").Get("origin").String()
}

// showFatal puts a message where the code would be, for errors that stop
// the widget before it could start.
func showFatal(msg string) {
	doc := js.Global().Get("document")
	doc.Call("getElementById", "scanin").Get("dataset").Set("state", "refused")
	doc.Call("getElementById", "status").Set("textContent", msg)
}
