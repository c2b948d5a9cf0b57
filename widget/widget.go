//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver/policy"
)

// event is anything the widget's loop reacts to. Callbacks and timers only
// queue events; all state lives in the loop's goroutine.
type event interface{}

type (
	configLoaded struct {
		status int
		body   string
		err    error
	}
	parentMessage struct {
		origin string
		kind   string // "scanin:hello" or "scanin:refresh"
	}
	helloTimeout  struct{}
	clicked       struct{ id string }
	socketOpened  struct{ conn int }
	socketMessage struct {
		conn int
		data string
	}
	// socketClosed is a socket's close event. For a socket that never
	// opened it also has widget.js's probe of its listen URL: the HTTP
	// status (0 for none) and the error code and message of the relay's
	// answer ("" for none), as policy.AfterProbe reads them.
	socketClosed struct {
		conn    int
		code    int
		reason  string
		status  int
		error   string
		message string
	}
	codeTimeout  struct{ sid string }
	keepaliveDue struct{ conn int }
	retryNow     struct{ conn int }
	configRetry  struct{}
	healthResult struct {
		conn    int
		healthy bool
	}
)

// phase is what the widget shows. It is written to the page as
// data-state, which the stylesheet keys on.
type phase string

const (
	phaseLoading      phase = "loading"      // no code yet
	phaseWaiting      phase = "waiting"      // a code is showing
	phaseScanned      phase = "scanned"      // a phone read the session: "Confirm on your phone"
	phaseVerifying    phase = "verifying"    // verify mode: the check code asks for a click
	phaseReconnecting phase = "reconnecting" // the socket dropped; the code stays, dimmed
	phaseSuccess      phase = "success"
	phaseDenied       phase = "denied"
	phaseStopped      phase = "stopped" // the show limit is reached: "Show a new code"
	phaseError        phase = "error"   // the relay is unreachable or refuses; retrying
	phaseRefused      phase = "refused" // the widget will not run here (origin, app)
)

// helloWait is how long the widget waits for embed.js to introduce the
// page before it says that it cannot verify where it is.
const helloWait = 10 * time.Second

// code is one QR code: a session at the relay and the key that opens what
// is sealed to it.
type code struct {
	sid     string
	key     *protocol.PrivateKey
	link    string
	resume  string    // from the relay's ready frame; "" until the first one
	expires time.Time // on this browser's clock
	scanned bool
	timer   *time.Timer

	pending   *protocol.Message // verify mode: opened, waiting for the person
	checkCode string

	resumedHealthy bool // a resume was tried while the relay said it was healthy
}

// widget is the state of one iframe. Only run's goroutine touches it.
type widget struct {
	global js.Value
	view   *view
	opts   options
	relay  string
	in     *inbox

	app     protocol.AppConfig
	haveApp bool
	parent  string // the verified origin of the embedding page; "" until the hello

	phase   phase
	message string // the status text for phaseError and phaseRefused
	phone   bool   // the browser runs on a phone: offer "Open in app"

	cur       *code
	sock      *socket
	conn      int       // number of the newest socket; older sockets' events are stale
	opened    bool      // whether the newest socket ever opened
	heard     time.Time // when the newest socket opened or last brought a frame
	pinged    time.Time // when the widget last pinged on it; zero for not yet
	retries   int
	showSince time.Time
	configTry int
}

func newWidget(global js.Value) (*widget, error) {
	opts, err := parseOptions(global.Get("location").Get("search"))
	if err != nil {
		return nil, err
	}
	w := &widget{
		global: global,
		opts:   opts,
		relay:  relayBase(global),
		in:     newInbox(),
		phase:  phaseLoading,
		phone:  isPhone(),
	}
	w.view = newView(global.Get("document"), w.in)
	return w, nil
}

// run is the widget's event loop.
func (w *widget) run() {
	w.listen()
	w.render()
	for {
		for _, ev := range w.in.take() {
			w.handle(ev)
		}
		w.render()
	}
}

// listen starts everything that feeds the inbox: the app configuration
// widget.js began fetching, the parent's messages, and the hello deadline.
func (w *widget) listen() {
	boot := w.global.Get("scaninBoot")
	if !boot.Truthy() {
		w.refuse("The sign-in code could not start: widget.js is missing.")
		return
	}
	go func() {
		res, err := await(boot.Get("config"))
		if err != nil {
			w.in.put(configLoaded{err: err})
			return
		}
		w.in.put(configLoaded{status: res.Get("status").Int(), body: res.Get("body").String()})
	}()
	parentWindow := w.global.Get("parent")
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		// Only the embedding page itself may talk to the widget: not
		// another frame, not a window this page opened.
		if !e.Get("source").Equal(parentWindow) || e.Get("source").Equal(w.global) {
			return nil
		}
		data := e.Get("data")
		if data.Type() != js.TypeObject {
			return nil
		}
		kind := data.Get("type")
		if kind.Type() != js.TypeString {
			return nil
		}
		switch k := kind.String(); k {
		case "scanin:hello", "scanin:refresh":
			w.in.put(parentMessage{origin: e.Get("origin").String(), kind: k})
		}
		return nil
	})
	boot.Call("takeMessages", onMessage) // lives as long as the page
	time.AfterFunc(helloWait, func() { w.in.put(helloTimeout{}) })
}

func (w *widget) handle(ev event) {
	switch ev := ev.(type) {
	case configLoaded:
		w.configLoaded(ev)
	case configRetry:
		go func() {
			status, body, err := fetchText(w.relay + protocol.AppPath(w.opts.app))
			w.in.put(configLoaded{status: status, body: body, err: err})
		}()
	case parentMessage:
		w.parentMessage(ev)
	case helloTimeout:
		if w.parent == "" && w.phase == phaseLoading {
			w.refuse("This sign-in code must be embedded with the relay's embed.js.")
		}
	case clicked:
		w.clicked(ev.id)
	case socketOpened:
		if ev.conn == w.conn {
			w.opened = true
			w.heard, w.pinged = time.Now(), time.Time{}
			w.keepalive()
		}
	case socketMessage:
		if ev.conn == w.conn {
			w.heard = time.Now()
			w.frame(ev.data)
		}
	case keepaliveDue:
		if ev.conn == w.conn {
			w.keepalive()
		}
	case socketClosed:
		if ev.conn == w.conn {
			w.socketClosed(ev)
		}
	case codeTimeout:
		// The relay says "expired" itself; this covers a relay that went
		// quiet. While a phone holds the session, rotation waits for it.
		if w.cur != nil && w.cur.sid == ev.sid && w.phase != phaseScanned && w.phase != phaseVerifying {
			w.expired()
		}
	case retryNow:
		if ev.conn == w.conn {
			w.retry()
		}
	case healthResult:
		if ev.conn != w.conn {
			return
		}
		w.healthResult(ev.healthy)
	}
}

func (w *widget) configLoaded(ev configLoaded) {
	if w.haveApp || w.phase == phaseRefused {
		return
	}
	switch {
	case ev.err != nil || ev.status == 0 || ev.status >= 500 || ev.status == 429:
		w.configTry++
		w.fail("Can't reach the sign-in service. Retrying…", "unavailable")
		time.AfterFunc(policy.Backoff(w.configTry), func() { w.in.put(configRetry{}) })
		return
	case ev.status == 404:
		w.refuse("This sign-in code is misconfigured: the app \"" + w.opts.app + "\" does not exist.")
		return
	case ev.status != 200:
		w.refuse("The sign-in service refused this app's configuration.")
		return
	}
	app, err := protocol.ParseAppConfig([]byte(ev.body))
	if err != nil || app.ID != w.opts.app {
		w.refuse("The sign-in service sent a malformed app configuration.")
		return
	}
	w.app, w.haveApp = app, true
	if w.phase == phaseError {
		w.phase = phaseLoading
	}
	w.view.setTitle(app.Name)
	w.start()
}

// parentMessage handles the embedding page's messages. The first hello
// establishes the parent origin; everything after must come from it.
func (w *widget) parentMessage(ev parentMessage) {
	if w.parent == "" {
		if ev.kind != "scanin:hello" || w.phase == phaseRefused {
			return
		}
		if !w.consistentParent(ev.origin) {
			w.refuse("This sign-in code could not verify the page it is on.")
			return
		}
		w.parent = ev.origin
		w.start()
		return
	}
	if ev.origin != w.parent {
		return
	}
	if ev.kind == "scanin:refresh" {
		switch w.phase {
		case phaseWaiting, phaseReconnecting, phaseStopped, phaseDenied, phaseError, phaseScanned:
			w.showSince = time.Now()
			w.newCode()
		}
	}
}

// consistentParent cross-checks the origin the hello came from with what
// the browser says about the page: location.ancestorOrigins where it exists
// (Chromium, Safari), else the referrer, when the page sent one.
func (w *widget) consistentParent(origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	if ancestors := w.ancestors(); len(ancestors) > 0 {
		return strings.EqualFold(ancestors[0], origin)
	}
	if ref := w.global.Get("document").Get("referrer").String(); ref != "" {
		return strings.EqualFold(originOf(ref), origin)
	}
	return true
}

// ancestors lists location.ancestorOrigins, nearest first, or nil where
// the browser does not have it.
func (w *widget) ancestors() []string {
	list := w.global.Get("location").Get("ancestorOrigins")
	if !list.Truthy() {
		return nil
	}
	out := make([]string, list.Length())
	for i := range out {
		out[i] = list.Call("item", i).String()
	}
	return out
}

// start shows the first code once both the app and the page are known.
func (w *widget) start() {
	if !w.haveApp || w.parent == "" || w.phase == phaseRefused || w.cur != nil {
		return
	}
	// Every page up the chain must be allowed, as CSP frame-ancestors
	// demands; a browser without it still meets this check.
	allowed := w.app.AllowsOrigin(w.parent)
	for _, a := range w.ancestors() {
		allowed = allowed && w.app.AllowsOrigin(a)
	}
	if !allowed {
		w.stop(string(protocol.CodeOriginDenied), "This sign-in code cannot be used on "+w.parent+".")
		return
	}
	w.showSince = time.Now()
	// widget.js opened the first session's socket while the WebAssembly
	// loaded. Adopt it if it is for this page.
	early := w.global.Get("scaninBoot").Call("takeSocket")
	if early.Truthy() {
		sid := early.Get("sid").String()
		if early.Get("origin").String() == w.parent && protocol.CheckSessionID(sid) == nil && w.makeCode(sid) {
			w.conn++
			w.opened = false
			w.sock = adoptSocket(early.Get("ws"), early.Get("events"), w.conn, w.in)
			w.view.prepareCode(w.cur.link, w.app.Name, w.app.Logo)
			return
		}
		_, _ = jsCall(func() js.Value { return early.Get("ws").Call("close", 1000) })
	}
	w.newCode()
}

// dropEarlySocket closes the socket widget.js opened before the Go program
// ran, unless the program adopted it: a widget that refuses to run keeps no
// session waiting at the relay.
func (w *widget) dropEarlySocket() {
	boot := w.global.Get("scaninBoot")
	if !boot.Truthy() {
		return
	}
	if early := boot.Call("takeSocket"); early.Truthy() {
		_, _ = jsCall(func() js.Value { return early.Get("ws").Call("close", 1000) })
	}
}

// newCode drops the current code, if any, and shows a fresh one: a new
// session id and a new key pair.
func (w *widget) newCode() {
	w.dropCode()
	if !w.makeCode(protocol.NewSessionID()) {
		return
	}
	w.connect()
	// The QR code is drawn, hidden, while the socket connects; the relay's
	// ready frame reveals it.
	w.view.prepareCode(w.cur.link, w.app.Name, w.app.Logo)
}

// makeCode makes the current code for sid with a fresh key pair.
func (w *widget) makeCode(sid string) bool {
	key, err := protocol.GenerateKey()
	if err != nil {
		w.fail("Your browser could not make a secure key.", "error")
		return false
	}
	w.cur = &code{
		sid: sid,
		key: key,
		link: protocol.Link{
			Base:      w.app.LinkBase,
			App:       w.app.ID,
			SessionID: sid,
			PublicKey: key.PublicKey(),
			Relay:     w.relay,
		}.String(),
	}
	if w.phase != phaseError {
		w.phase = phaseLoading
	}
	return true
}

// dropCode forgets the current code: its socket is closed and its private
// key zeroed, so nothing sealed to it can be opened any more.
func (w *widget) dropCode() {
	w.closeSocket()
	if w.cur != nil {
		if w.cur.timer != nil {
			w.cur.timer.Stop()
		}
		w.cur.key.Destroy()
		w.cur = nil
	}
	w.view.clearCode()
}

func (w *widget) closeSocket() {
	w.conn++ // whatever the old socket still says is stale
	w.opened = false
	if w.sock != nil {
		w.sock.close()
		w.sock = nil
	}
}

// connect opens a socket for the current code, resuming when the relay
// already confirmed the session.
func (w *widget) connect() {
	w.closeSocket()
	url := protocol.ListenURL(w.relay, w.cur.sid, protocol.ListenParams{
		App:    w.app.ID,
		TTL:    w.opts.ttl,
		Origin: w.parent,
		Resume: w.cur.resume,
	})
	s, err := dialSocket(url, w.conn, w.in)
	if err != nil {
		w.fail("The sign-in service's address is not usable.", "error")
		return
	}
	w.sock = s
}

// frame handles one frame from the relay.
func (w *widget) frame(data string) {
	f, err := protocol.ParseFrame([]byte(data))
	if err != nil || w.cur == nil {
		return // a later protocol revision may add frames; ignore, don't break
	}
	c := w.cur
	switch f.Type {
	case protocol.FrameReady:
		w.retries = 0
		first := c.resume == ""
		c.resume = f.Resume
		if first {
			c.expires = policy.Deadline(time.UnixMilli(f.ExpiresAt), w.ttl(), time.Now())
			c.timer = time.AfterFunc(time.Until(c.expires)+500*time.Millisecond, func() {
				w.in.put(codeTimeout{c.sid})
			})
			w.phase = phaseWaiting
			w.view.showCode(c.link, w.app.Name, w.app.Logo, time.Until(c.expires), w.ttl())
			w.post("scanin:ready", map[string]any{"expires_at": f.ExpiresAt})
			return
		}
		if c.pending != nil {
			w.phase = phaseVerifying
		} else if c.scanned {
			w.phase = phaseScanned
		} else {
			w.phase = phaseWaiting
		}
		if time.Now().After(c.expires) && !c.scanned {
			w.expired()
		}
	case protocol.FrameScanned:
		c.scanned = true
		if w.phase != phaseVerifying {
			w.phase = phaseScanned
		}
		w.post("scanin:scanned", nil)
	case protocol.FrameSealed:
		w.sealed(f.Sealed)
	case protocol.FrameDenied:
		w.finish(phaseDenied)
		w.post("scanin:denied", nil)
	case protocol.FrameExpired:
		w.expired()
	}
	// A pong, like any frame, only told keepalive that the relay is there.
}

// keepalive pings the relay after policy.PingAfter without a frame (a
// browser cannot see the relay's WebSocket pings, and a relay that cannot
// send them relies on these), and treats a socket on which nothing answered
// for another PingAfter as dropped: it resumes, as policy.Retry says. Each
// open socket has one timer chain; a stale socket's ends at its next tick.
func (w *widget) keepalive() {
	if w.sock == nil {
		return
	}
	now := time.Now()
	beat, next := policy.Keepalive(w.heard, w.pinged, policy.PingAfter, now)
	switch beat {
	case policy.Ping:
		w.sock.send([]byte(protocol.PingJSON))
		w.pinged = now
	case policy.Dead:
		w.sock.close()
		w.sock = nil
		w.scheduleRetry()
		return
	}
	conn := w.conn
	time.AfterFunc(next.Sub(now), func() { w.in.put(keepaliveDue{conn}) })
}

// sealed opens a delivered message. One that does not open or does not
// validate is rejected with the protocol's reason and the code keeps
// waiting: whoever sent it may have known only the session id.
func (w *widget) sealed(b []byte) {
	c := w.cur
	if c.pending != nil {
		return // the person is comparing check codes; the relay holds the rest
	}
	m, check, err := protocol.OpenMessage(c.key, w.app.ID, c.sid, b, time.Now())
	if err != nil {
		w.send(protocol.Frame{Type: protocol.FrameReject, Reason: protocol.RejectReasonFor(err)})
		return
	}
	if w.opts.verify {
		c.pending, c.checkCode = &m, check
		w.phase = phaseVerifying
		w.post("scanin:verifying", nil)
		return
	}
	w.accept(m)
}

// accept acks the message, hands it to the page and ends the session.
func (w *widget) accept(m protocol.Message) {
	w.send(protocol.Frame{Type: protocol.FrameAck})
	var device any
	if m.Device != nil {
		device = map[string]any{"name": m.Device.Name, "type": m.Device.Type}
	}
	sid := w.cur.sid // the scanned code's, for a backend to compare with an assertion's
	w.finish(phaseSuccess)
	w.post("scanin:result", map[string]any{"kind": string(m.Kind), "data": m.Data, "device": device, "sid": sid})
}

// finish ends the current code for good and shows p, at once, so that
// the page gets the smaller height (scanin:resize) before the news, such
// as a result, after which embed.js reads no more messages.
func (w *widget) finish(p phase) {
	w.dropCode()
	w.phase = p
	w.render()
}

// expired rotates to a fresh code, silently (the page hears scanin:ready
// for it), or stops once codes have been showing for the show limit
// (policy.StopRotating): only that is scanin:expired.
func (w *widget) expired() {
	if policy.StopRotating(time.Since(w.showSince), w.ttl(), w.opts.limit) {
		w.finish(phaseStopped)
		w.post("scanin:expired", map[string]any{"final": true})
		return
	}
	w.newCode()
}

// socketClosed decides what a closed socket means.
func (w *widget) socketClosed(ev socketClosed) {
	if w.sock != nil {
		w.sock.release()
		w.sock = nil
	}
	if w.cur == nil {
		return
	}
	switch policy.AfterClose(ev.code, ev.reason) {
	case policy.Rotate:
		w.expired()
		return
	case policy.GiveUp:
		code, msg := "error", "The sign-in service refused this sign-in code."
		if e, ok := protocol.ErrorFromClose(ev.code, ev.reason); ok {
			code = string(e.Code)
			switch e.Code {
			case protocol.CodeOriginDenied:
				msg = "The sign-in service does not accept this page."
			case protocol.CodeBadRequest:
				msg = "The sign-in service refused this code's settings."
			}
		}
		w.stop(code, msg)
		return
	}
	// policy.Retry: a dropped connection, a relay going away or busy, or
	// a handshake the relay refused, which a browser does not tell apart.
	// widget.js asked the relay why (policy.AfterProbe): stop on a
	// refusal that asking again cannot change, with the relay's code and
	// message, which says what to change.
	if !w.opened && policy.AfterProbe(ev.status, protocol.Code(ev.error), ev.message) == policy.GiveUp {
		w.stop(ev.error, ev.message)
		return
	}
	if w.cur.resumedHealthy && !w.opened {
		// The relay is up and still refuses to resume: it has forgotten
		// the session. No point waiting to try again.
		w.newCode()
		return
	}
	w.scheduleRetry()
}

// scheduleRetry shows that the widget is reconnecting and tries again
// after a backoff.
func (w *widget) scheduleRetry() {
	w.retries++
	if w.cur != nil && w.cur.resume != "" {
		if w.phase != phaseReconnecting {
			w.post("scanin:error", map[string]any{"code": string(protocol.CodeUnavailable), "message": "Reconnecting…", "retrying": true})
		}
		w.phase = phaseReconnecting
	} else if w.retries > 1 {
		w.fail("Can't reach the sign-in service. Retrying…", string(protocol.CodeUnavailable))
	}
	conn := w.conn
	time.AfterFunc(policy.Backoff(w.retries), func() { w.in.put(retryNow{conn}) })
}

// retry reconnects. If the last socket never opened, the relay is either
// down or refusing this session (which a browser does not reveal), so it
// asks the relay's health check which one it is.
func (w *widget) retry() {
	if w.cur == nil {
		return
	}
	if w.sock == nil && !w.opened && w.retries > 1 {
		conn := w.conn
		go func() {
			status, _, err := fetchText(w.relay + "/healthz")
			w.in.put(healthResult{conn: conn, healthy: err == nil && status == 200})
		}()
		return
	}
	w.connect()
}

// healthResult continues retry once the relay's health is known.
func (w *widget) healthResult(healthy bool) {
	if w.cur == nil {
		return
	}
	switch {
	case !healthy:
		w.scheduleRetry()
	case w.cur.resume != "" && !w.cur.resumedHealthy:
		// The relay is back: try to resume once, in case it kept the
		// session (a shared store, a brief network loss).
		w.cur.resumedHealthy = true
		w.connect()
	default:
		// The relay is up but refuses the socket, which a browser does not
		// explain: the session may be gone, the sid taken, the relay at
		// capacity. Try a fresh code (this check itself came after a
		// backoff).
		if w.cur.resume == "" {
			w.fail("The sign-in service refused the connection. Retrying…", string(protocol.CodeUnavailable))
		}
		w.newCode()
	}
}

// send writes a frame to the relay, if a socket is open.
func (w *widget) send(f protocol.Frame) {
	if w.sock != nil {
		w.sock.send(f.AppendJSON(nil))
	}
}

// clicked handles the widget's buttons.
func (w *widget) clicked(id string) {
	switch id {
	case "new-code":
		switch w.phase {
		case phaseStopped, phaseDenied, phaseError:
			if !w.haveApp || w.parent == "" {
				return // still starting: the retry is under way
			}
			w.showSince = time.Now()
			if w.phase == phaseError {
				w.phase = phaseLoading
			}
			w.newCode()
		}
	case "confirm":
		if w.phase == phaseVerifying && w.cur != nil && w.cur.pending != nil {
			w.accept(*w.cur.pending)
		}
	case "cancel":
		if w.phase == phaseVerifying && w.cur != nil && w.cur.pending != nil {
			// Not the person's phone: refuse the message, which puts the
			// session back to waiting for the right one.
			w.send(protocol.Frame{Type: protocol.FrameReject, Reason: protocol.RejectDecrypt})
			w.cur.pending, w.cur.checkCode, w.cur.scanned = nil, "", false
			w.phase = phaseWaiting
		}
	case "open-app":
		if w.cur != nil && (w.phase == phaseWaiting || w.phase == phaseScanned) {
			// The iframe may not open windows (its sandbox has no
			// allow-popups), so embed.js opens the link for it.
			w.post("scanin:open", map[string]any{"link": w.cur.link})
		}
	}
}

// refuse stops the widget for good with a visible reason.
func (w *widget) refuse(msg string) {
	w.dropCode()
	w.dropEarlySocket()
	w.phase, w.message = phaseRefused, msg
}

// stop refuses with msg, and tells the page the error code and msg.
func (w *widget) stop(code, msg string) {
	w.refuse(msg)
	w.post("scanin:error", map[string]any{"code": code, "message": msg})
}

// fail shows an error the widget is recovering from, and tells the page
// once per error.
func (w *widget) fail(msg, code string) {
	if w.phase != phaseError || w.message != msg {
		w.post("scanin:error", map[string]any{"code": code, "message": msg, "retrying": true})
	}
	w.phase, w.message = phaseError, msg
}

// post sends a message to the embedding page, only ever to its verified
// origin (never "*"), so no other page can read a result.
func (w *widget) post(kind string, fields map[string]any) {
	if w.parent == "" {
		return
	}
	msg := map[string]any{"type": kind}
	for k, v := range fields {
		msg[k] = v
	}
	w.global.Get("parent").Call("postMessage", js.ValueOf(msg), w.parent)
}

// render brings the page up to date with the state.
func (w *widget) render() {
	var check string
	if w.cur != nil && w.phase == phaseVerifying {
		check = w.cur.checkCode
	}
	w.view.render(w.phase, w.message, w.app.ScanHint, check, w.cur != nil && w.phone)
	if h := w.view.height(); h != w.view.postedHeight && w.parent != "" {
		w.view.postedHeight = h
		w.post("scanin:resize", map[string]any{"height": h})
	}
}

// ttl is the lifetime the widget asks for, or the app's default.
func (w *widget) ttl() time.Duration {
	if w.opts.ttl > 0 {
		return time.Duration(w.opts.ttl) * time.Second
	}
	return time.Duration(w.app.TTL) * time.Second
}
