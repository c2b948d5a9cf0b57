//go:build js && wasm

// Command wasm is the edge relay's rules as WebAssembly for workerd: it
// sets globalThis.scaninEdge to an object of synchronous functions, one
// per event, which src/worker.js calls (see package edge). main returns to
// JavaScript once they are set and nothing of Go runs between calls: no
// goroutine, no timer.
package main

import (
	"syscall/js"
	"time"

	"github.com/scanin/scanin/server/edge"
)

func main() {
	rl := edge.New(configuredLimits(), configuredApps()...)
	api := js.Global().Get("Object").New()
	// route(request) -> {response} or {sid, forward, readBody}, with
	// {limit, limitKey} for the rate limit to take first
	api.Set("route", js.FuncOf(func(_ js.Value, a []js.Value) any {
		r := a[0]
		str := func(k string) string { return r.Get(k).String() }
		out := rl.Route(edge.Request{
			Method: str("method"), Path: str("path"), RawQuery: str("query"), Base: str("base"),
			Origin: str("origin"), Connection: str("connection"), Upgrade: str("upgrade"),
			WSVersion: str("wsVersion"), WSKey: str("wsKey"), ContentLength: str("contentLength"),
			UserAgent: str("userAgent"), IP: str("ip"),
		})
		if out.Response != nil {
			return map[string]any{"response": response(out.Response), "limit": out.Limit, "limitKey": out.LimitKey}
		}
		return map[string]any{"sid": out.SID, "forward": out.Forward, "readBody": out.ReadBody,
			"limit": out.Limit, "limitKey": out.LimitKey}
	}))
	// limit(kind, bucket, nowMs) -> {bucket, full, refused}
	api.Set("limit", js.FuncOf(func(_ js.Value, a []js.Value) any {
		b, full, refused := rl.Limit(a[0].String(), goBytes(a[1]), at(a[2]))
		return map[string]any{"bucket": jsBytes(b), "full": float64(full), "refused": response(refused)}
	}))
	// request(forward, session, body, tooLarge, nowMs) -> result
	api.Set("request", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return result(rl.Request(a[0].String(), goBytes(a[1]), goBytes(a[2]), a[3].Bool(), at(a[4])))
	}))
	// frame(session, data, nowMs) -> result; data is a string (a text
	// frame) or an ArrayBuffer (a binary one)
	api.Set("frame", js.FuncOf(func(_ js.Value, a []js.Value) any {
		if a[1].Type() == js.TypeString {
			return result(rl.Frame(goBytes(a[0]), []byte(a[1].String()), false, at(a[2])))
		}
		data := goBytes(js.Global().Get("Uint8Array").New(a[1]))
		return result(rl.Frame(goBytes(a[0]), data, true, at(a[2])))
	}))
	// closed(session, nowMs) -> result
	api.Set("closed", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return result(rl.Closed(goBytes(a[0]), at(a[1])))
	}))
	// alarm(session, nowMs) -> result
	api.Set("alarm", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return result(rl.Alarm(goBytes(a[0]), at(a[1])))
	}))
	js.Global().Set("scaninEdge", api)
	select {} // keep the functions alive; JavaScript calls them
}

// configuredApps are the apps of the config file the static bundle was
// built with (cmd/edgebundle, each with its ttl), which src/worker.js sets
// as scaninEdgeApps before main runs: JSON in the config file's form.
// None: edge.New's demo app. JavaScript's JSON.parse reads it, so that the
// wasm does not link encoding/json for it.
func configuredApps() []edge.App {
	v := js.Global().Get("scaninEdgeApps")
	if v.Type() != js.TypeString {
		return nil
	}
	in := js.Global().Get("JSON").Call("parse", v) // throws on bad JSON: written by cmd/edgebundle, a bug
	apps := make([]edge.App, in.Length())
	for i := range apps {
		a := in.Index(i)
		apps[i] = edge.App{ID: str(a.Get("id")), Name: str(a.Get("name")), Origins: strs(a.Get("origins")),
			WidgetOrigins: strs(a.Get("widget_origins")), LinkBase: str(a.Get("link_base"))}
		if ttl := a.Get("ttl"); ttl.Type() == js.TypeNumber {
			apps[i].TTL = ttl.Int()
		}
	}
	return apps
}

// configuredLimits are the limits of the config file the static bundle was
// built with, which src/worker.js sets as scaninEdgeLimits (JSON, see
// cmd/edgebundle's edgeLimits). None: the protocol's defaults.
func configuredLimits() edge.Limits {
	v := js.Global().Get("scaninEdgeLimits")
	if v.Type() != js.TypeString {
		return edge.Limits{}
	}
	in := js.Global().Get("JSON").Call("parse", v)
	num := func(k string) int64 {
		if f := in.Get(k); f.Type() == js.TypeNumber {
			return int64(f.Float())
		}
		return 0
	}
	return edge.Limits{
		MaxSealedSize:           int(num("max_sealed_size")),
		AckWait:                 time.Duration(num("ack_wait_ms")) * time.Millisecond,
		TombstoneTTL:            time.Duration(num("tombstone_ttl_ms")) * time.Millisecond,
		NewSessionsPerMinute:    int(num("new_sessions_per_minute")),
		SenderRequestsPerMinute: int(num("sender_requests_per_minute")),
	}
}

// str is a JavaScript string, or "" for anything else (undefined, null).
func str(v js.Value) string {
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// strs is a JavaScript array of strings; nil for anything else.
func strs(v js.Value) []string {
	if !v.InstanceOf(js.Global().Get("Array")) {
		return nil
	}
	out := make([]string, v.Length())
	for i := range out {
		out[i] = str(v.Index(i))
	}
	return out
}

func at(v js.Value) time.Time { return time.UnixMilli(int64(v.Float())) }

// goBytes copies a Uint8Array; null or undefined is nil.
func goBytes(v js.Value) []byte {
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func jsBytes(b []byte) js.Value {
	v := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(v, b)
	return v
}

func response(r *edge.Response) any {
	if r == nil {
		return nil
	}
	h := make([]any, len(r.Headers))
	for i, kv := range r.Headers {
		h[i] = []any{kv[0], kv[1]}
	}
	return map[string]any{"status": r.Status, "headers": h, "body": r.Body}
}

func closeOf(c *edge.Close) any {
	if c == nil {
		return nil
	}
	return map[string]any{"code": c.Code, "reason": c.Reason}
}

func result(r edge.Result) any {
	frames := make([]any, len(r.Frames))
	for i, f := range r.Frames {
		frames[i] = f
	}
	var s any
	if r.Session != nil {
		s = jsBytes(r.Session)
	}
	return map[string]any{
		"session": s, "delete": r.Delete, "alarm": float64(r.Alarm), "accept": r.Accept,
		"replace": closeOf(r.Replace), "frames": frames, "close": closeOf(r.Close),
		"settle": response(r.Settle), "response": response(r.Response),
		"wait": float64(r.Wait), "pending": response(r.Pending),
	}
}
