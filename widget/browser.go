//go:build js && wasm

package main

import (
	"errors"
	"strings"
	"sync"
	"syscall/js"
)

// inbox queues events from JavaScript callbacks and timers for the widget's
// one event loop. put never blocks (a callback that blocks deadlocks the Go
// runtime in the browser) and keeps the order events happened in, which
// matters for a socket's last message and its close.
type inbox struct {
	mu    sync.Mutex
	queue []event
	wake  chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

// put queues ev. It is safe to call from a js.Func callback.
func (b *inbox) put(ev event) {
	b.mu.Lock()
	b.queue = append(b.queue, ev)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take waits for at least one event and returns all that are queued.
func (b *inbox) take() []event {
	for {
		<-b.wake
		b.mu.Lock()
		q := b.queue
		b.queue = nil
		b.mu.Unlock()
		if len(q) > 0 {
			return q
		}
	}
}

// jsCall calls a JavaScript function and turns a thrown exception into an
// error instead of a panic.
func jsCall(f func() js.Value) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if jsErr, ok := r.(js.Error); ok {
				err = jsErr
				return
			}
			err = errors.New("javascript call failed")
		}
	}()
	return f(), nil
}

// await blocks the calling goroutine until the promise p settles. Never
// call it from a js.Func callback or the event loop: only from a goroutine
// of its own.
func await(p js.Value) (js.Value, error) {
	type outcome struct {
		v  js.Value
		ok bool
	}
	done := make(chan outcome, 1)
	resolve := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- outcome{args[0], true}
		return nil
	})
	reject := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var reason js.Value
		if len(args) > 0 {
			reason = args[0]
		}
		done <- outcome{reason, false}
		return nil
	})
	defer resolve.Release()
	defer reject.Release()
	p.Call("then", resolve, reject)
	o := <-done
	if !o.ok {
		msg := "promise rejected"
		if o.v.Truthy() {
			msg = o.v.Call("toString").String()
		}
		return js.Undefined(), errors.New(msg)
	}
	return o.v, nil
}

// fetchText GETs url with the browser's fetch and returns the status and
// body. Network failures are errors; HTTP errors are statuses.
func fetchText(url string) (status int, body string, err error) {
	init := js.ValueOf(map[string]any{"credentials": "omit", "cache": "no-store"})
	p, err := jsCall(func() js.Value { return js.Global().Call("fetch", url, init) })
	if err != nil {
		return 0, "", err
	}
	resp, err := await(p)
	if err != nil {
		return 0, "", err
	}
	text, err := await(resp.Call("text"))
	if err != nil {
		return 0, "", err
	}
	return resp.Get("status").Int(), text.String(), nil
}

// socket is one browser WebSocket to the relay. Its callbacks only queue
// events, tagged with the connection number so that the widget can ignore a
// socket it has already given up on.
type socket struct {
	ws    js.Value
	funcs []js.Func
}

// dialSocket opens a WebSocket to url with widget.js's socket, whose close
// event comes with the probe of a socket that never opened. Everything it
// learns arrives in the inbox as socketOpened, socketMessage and
// socketClosed.
func dialSocket(url string, conn int, in *inbox) (*socket, error) {
	ws, err := jsCall(func() js.Value { return js.Global().Get("scaninBoot").Call("socket", url) })
	if err != nil {
		return nil, errors.New("failed to open a WebSocket: " + err.Error())
	}
	return watchSocket(ws, conn, in), nil
}

// adoptSocket takes over a WebSocket that widget.js opened before the Go
// program ran, with the events it queued meanwhile ({type, data, code,
// reason, status, error, message}), which reach the inbox first and in
// order.
func adoptSocket(ws, queued js.Value, conn int, in *inbox) *socket {
	s := watchSocket(ws, conn, in)
	for i := range queued.Length() {
		e := queued.Index(i)
		switch e.Get("type").String() {
		case "open":
			in.put(socketOpened{conn})
		case "message":
			if d := e.Get("data"); d.Type() == js.TypeString {
				in.put(socketMessage{conn, d.String()})
			}
		case "close":
			in.put(closed(conn, e))
		}
	}
	return s
}

// closed is the socketClosed of a close event from widget.js (socket).
func closed(conn int, e js.Value) socketClosed {
	return socketClosed{conn, e.Get("code").Int(), e.Get("reason").String(),
		e.Get("status").Int(), e.Get("error").String(), e.Get("message").String()}
}

// watchSocket routes a WebSocket's events to the inbox. JavaScript runs one
// task at a time, so no event can slip between queued ones and these.
func watchSocket(ws js.Value, conn int, in *inbox) *socket {
	s := &socket{ws: ws}
	on := func(name string, f func(js.Value)) {
		fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
			f(args[0])
			return nil
		})
		s.funcs = append(s.funcs, fn)
		ws.Set(name, fn)
	}
	on("onopen", func(js.Value) { in.put(socketOpened{conn}) })
	on("onmessage", func(e js.Value) {
		if d := e.Get("data"); d.Type() == js.TypeString {
			in.put(socketMessage{conn, d.String()})
		}
	})
	on("scaninClose", func(e js.Value) { in.put(closed(conn, e)) })
	return s
}

// send writes one text frame; a socket that is not open drops it, as the
// relay will hand the message over again on resume.
func (s *socket) send(b []byte) {
	if s.ws.Get("readyState").Int() == 1 { // OPEN
		s.ws.Call("send", string(b))
	}
}

// close closes the socket normally and detaches its callbacks, so that no
// event of it reaches the widget any more.
func (s *socket) close() {
	for _, name := range [...]string{"onopen", "onmessage", "scaninClose"} {
		s.ws.Set(name, js.Null())
	}
	if state := s.ws.Get("readyState").Int(); state == 0 || state == 1 { // CONNECTING, OPEN
		_, _ = jsCall(func() js.Value { return s.ws.Call("close", 1000) })
	}
	s.release()
}

// release frees the callbacks once the socket can send no more events.
func (s *socket) release() {
	for _, f := range s.funcs {
		f.Release()
	}
	s.funcs = nil
}

// originOf returns the scheme://host[:port] part of an absolute URL, or ""
// when u is not one.
func originOf(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || scheme == "" {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return ""
	}
	return strings.ToLower(scheme) + "://" + strings.ToLower(rest)
}

// isPhone guesses whether the browser runs on a phone or tablet, where the
// person cannot scan their own screen and wants "Open in app" instead.
func isPhone() bool {
	nav := js.Global().Get("navigator")
	if uad := nav.Get("userAgentData"); uad.Truthy() && uad.Get("mobile").Truthy() {
		return true
	}
	ua := nav.Get("userAgent").String()
	for _, s := range [...]string{"Android", "iPhone", "iPad", "iPod", "Mobile"} {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}
