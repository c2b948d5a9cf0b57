//go:build js && wasm

// Command wasm is the edge relay's rules as WebAssembly for workerd: it
// sets globalThis.scaninEdge to an object of synchronous functions, one
// per event, which src/worker.js calls (see package edge). main returns to
// JavaScript once they are set and nothing of Go runs between calls: no
// goroutine, no timer.
package main

import (
	"encoding/binary"
	"math"
	"strings"
	"syscall/js"
	"time"

	"github.com/scanin/scanin/server/edge"
)

func main() {
	rl := edge.New(configuredLimits(), configuredApps()...)
	api := js.Global().Get("Object").New()
	// Each function takes plain arguments and answers one Uint8Array in
	// the layout of type out, which src/worker.js's decode reads: one
	// js.Value per call each way, not an object built field by field.

	// route(request) -> Routed: request is Request's fields joined by
	// "\n", in the order below (no field can hold a newline: the URL
	// parser drops them and Headers refuses them).
	api.Set("route", js.FuncOf(func(_ js.Value, a []js.Value) any {
		f := strings.Split(a[0].String(), "\n")
		if len(f) != 12 {
			panic("scanin edge: route: want 12 fields") // a bug in worker.js
		}
		r := rl.Route(edge.Request{
			Method: f[0], Path: f[1], RawQuery: f[2], Base: f[3],
			Origin: f[4], Connection: f[5], Upgrade: f[6],
			WSVersion: f[7], WSKey: f[8], ContentLength: f[9],
			UserAgent: f[10], IP: f[11],
		})
		var o out
		o.response(tagResponse, r.Response)
		o.str(tagSID, r.SID)
		o.str(tagForward, r.Forward)
		o.num(tagReadBody, int64(r.ReadBody))
		o.str(tagLimit, r.Limit)
		o.str(tagLimitKey, r.LimitKey)
		return o.js()
	}))
	// limit(kind, bucket, nowMs) -> {bucket, full, refused}
	api.Set("limit", js.FuncOf(func(_ js.Value, a []js.Value) any {
		b, full, refused := rl.Limit(a[0].String(), goBytes(a[1]), at(a[2]))
		var o out
		o.bytes(tagBucket, b)
		o.num(tagFull, full)
		o.response(tagRefused, refused)
		return o.js()
	}))
	// request(forward, session, body, tooLarge, nowMs) -> Result
	api.Set("request", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return result(rl.Request(a[0].String(), goBytes(a[1]), goBytes(a[2]), a[3].Bool(), at(a[4])))
	}))
	// frame(session, data, nowMs) -> Result; data is a string (a text
	// frame) or a Uint8Array (a binary one)
	api.Set("frame", js.FuncOf(func(_ js.Value, a []js.Value) any {
		if a[1].Type() == js.TypeString {
			return result(rl.Frame(goBytes(a[0]), []byte(a[1].String()), false, at(a[2])))
		}
		return result(rl.Frame(goBytes(a[0]), goBytes(a[1]), true, at(a[2])))
	}))
	// closed(session, nowMs) -> Result
	api.Set("closed", js.FuncOf(func(_ js.Value, a []js.Value) any {
		return result(rl.Closed(goBytes(a[0]), at(a[1])))
	}))
	// alarm(session, nowMs) -> Result
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
		apps[i] = edge.App{
			ID: str(a.Get("id")), Name: str(a.Get("name")), Origins: strs(a.Get("origins")),
			WidgetOrigins: strs(a.Get("widget_origins")), LinkBase: str(a.Get("link_base")),
			NativeReceivers: a.Get("native_receivers").Type() == js.TypeBoolean && a.Get("native_receivers").Bool(),
			ScanHint:        str(a.Get("scan_hint")),
			Logo:            str(a.Get("logo")),
			IOSAppStoreURL:  str(a.Get("ios_app_store_url")),
			PlayStoreURL:    str(a.Get("play_store_url")),
			AppLink:         str(a.Get("app_link")),
		}
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
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b
}

// uint8Array is JavaScript's Uint8Array, looked up once.
var uint8Array = js.Global().Get("Uint8Array")

// out is one call's answer as JavaScript receives it: a Uint8Array of
// fields, each a tag byte then its value, in any order; a field left out
// is its zero value (false, 0, "", null). src/worker.js's decode reads it;
// this comment is the layout's one description.
//
// Values, all integers little-endian:
//
//   - a flag (tagDelete, tagAccept): nothing; present means true
//   - a number (Unix ms, sizes): 8 bytes, a float64
//   - a string or bytes: a uint32 length, then the bytes (UTF-8 for a
//     string; bytes decode as a Uint8Array of their own)
//   - a close: a uint32 code, then the reason as a string
//   - a response: a uint32 status, a uint32 count of headers, each header
//     a name then a value as strings, then the body as a string
//
// A result's frames are one tagFrame field per frame, in order (decode
// collects them in frames, [] when none).
type out []byte

// The tags, one per field; decode's names in the comments.
const (
	// Route's Routed
	tagSID      = 'i' // sid: string
	tagForward  = 'F' // forward: string
	tagReadBody = 'b' // readBody: number
	tagLimit    = 'l' // limit: string
	tagLimitKey = 'k' // limitKey: string
	// Limit's answer
	tagBucket  = 'B' // bucket: bytes
	tagFull    = 'u' // full: number
	tagRefused = 'x' // refused: response
	// Result (and Routed's response)
	tagSession  = 's' // session: bytes
	tagDelete   = 'D' // delete: flag
	tagAlarm    = 'a' // alarm: number
	tagAccept   = 'A' // accept: flag
	tagReplace  = 'p' // replace: close
	tagFrame    = 'f' // frames: string, one per frame
	tagClose    = 'c' // close: close
	tagSettle   = 'S' // settle: response
	tagResponse = 'r' // response: response
	tagWait     = 'w' // wait: number
	tagPending  = 'P' // pending: response
)

func (o *out) u32(n int) { *o = binary.LittleEndian.AppendUint32(*o, uint32(n)) }

func (o *out) raw(s string) {
	o.u32(len(s))
	*o = append(*o, s...)
}

func (o *out) flag(tag byte, v bool) {
	if v {
		*o = append(*o, tag)
	}
}

func (o *out) num(tag byte, n int64) {
	if n != 0 {
		*o = append(*o, tag)
		*o = binary.LittleEndian.AppendUint64(*o, math.Float64bits(float64(n)))
	}
}

func (o *out) str(tag byte, s string) {
	if s != "" {
		*o = append(*o, tag)
		o.raw(s)
	}
}

// bytes writes b even when empty: only nil is left out.
func (o *out) bytes(tag byte, b []byte) {
	if b != nil {
		*o = append(*o, tag)
		o.u32(len(b))
		*o = append(*o, b...)
	}
}

func (o *out) close(tag byte, c *edge.Close) {
	if c != nil {
		*o = append(*o, tag)
		o.u32(c.Code)
		o.raw(c.Reason)
	}
}

func (o *out) response(tag byte, r *edge.Response) {
	if r == nil {
		return
	}
	*o = append(*o, tag)
	o.u32(r.Status)
	o.u32(len(r.Headers))
	for _, h := range r.Headers {
		o.raw(h[0])
		o.raw(h[1])
	}
	o.raw(r.Body)
}

// js copies the answer into a new Uint8Array.
func (o out) js() js.Value {
	v := uint8Array.New(len(o))
	js.CopyBytesToJS(v, o)
	return v
}

func result(r edge.Result) js.Value {
	o := make(out, 0, 256+len(r.Session))
	o.bytes(tagSession, r.Session)
	o.flag(tagDelete, r.Delete)
	o.num(tagAlarm, r.Alarm)
	o.flag(tagAccept, r.Accept)
	o.close(tagReplace, r.Replace)
	for _, f := range r.Frames {
		o = append(o, tagFrame)
		o.raw(f)
	}
	o.close(tagClose, r.Close)
	o.response(tagSettle, r.Settle)
	o.response(tagResponse, r.Response)
	o.num(tagWait, r.Wait)
	o.response(tagPending, r.Pending)
	return o.js()
}
