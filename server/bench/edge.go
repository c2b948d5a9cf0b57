package bench

// The edge benchmark (cmd/edgebench, docs/benchmarks.md "Edge"): relays
// served by workerd, and scanin's self-hosted relay for reference, all
// driven through scanin's Relay API by the functions below. Unlike the
// Peer adapters of the relay benchmark, every relay here speaks the same
// API (server/edge/bench/mini.js speaks just enough of it), so one client
// drives all of them and can stop between the steps of a handoff.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// Server is a relay process the edge benchmark can start.
type Server interface {
	Name() string
	// Start runs a fresh relay process and returns once it accepts
	// connections.
	Start(ctx context.Context) (*Proc, error)
}

// Workerd is a Worker served by workerd from a capnp configuration.
type Workerd struct {
	Label  string
	Bin    string // the workerd binary
	Config string // the .capnp file
	// Dirs are workerd's --directory-path NAME=PATH arguments.
	Dirs map[string]string
	// Fresh names directories that get a new empty directory under Tmp at
	// every Start (Durable Object storage on disk).
	Fresh []string
	Tmp   string
	Env   []string // added to this process's environment
	Args  []string // more workerd arguments
	Pin   Pinning
}

func (w Workerd) Name() string { return w.Label }

// Start runs workerd on a free loopback port and returns once the port
// accepts connections (polled every millisecond).
func (w Workerd) Start(ctx context.Context) (*Proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"serve", "--experimental", w.Config, "--socket-addr", "http=" + addr}
	for name, path := range w.Dirs {
		args = append(args, "--directory-path", name+"="+path)
	}
	args = append(args, w.Args...)
	for _, name := range w.Fresh {
		d, err := os.MkdirTemp(w.Tmp, name)
		if err != nil {
			return nil, err
		}
		args = append(args, "--directory-path", name+"="+d)
	}
	logFile, err := os.CreateTemp(w.Tmp, "workerd-*.log")
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := w.Pin.command(ctx, w.Bin, args...)
	cmd.Env = append(os.Environ(), w.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start workerd: %w", err)
	}
	p := &Proc{cmd: cmd, Addr: addr, PID: cmd.Process.Pid}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		if exited(p.PID) {
			_ = cmd.Wait()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("workerd exited before listening: %s", strings.TrimSpace(string(log)))
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(time.Millisecond): // polling until it binds
		}
	}
	p.Stop()
	return nil, errors.New("workerd did not listen within 30 s")
}

// exited tells whether the child pid has exited (a zombie, not yet
// waited for).
func exited(pid int) bool {
	s, err := readProc(pid, "stat")
	i := strings.LastIndexByte(s, ')')
	return err != nil || i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// ThreadsCPU is the CPU time of all the process's threads (the first field
// of /proc/PID/task/*/schedstat, in nanoseconds). Threads that exited are
// not counted; workerd's and the Go runtime's threads live as long as the
// process.
func ThreadsCPU(pid int) (time.Duration, error) {
	return schedstatSum(pid, 0)
}

// apiListen opens a receiver's WebSocket for sid and reads its ready frame.
func apiListen(ctx context.Context, addr, sid string) (*websocket.Conn, error) {
	u := protocol.ListenURL("http://"+addr, sid, protocol.ListenParams{App: "demo", TTL: 300})
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	_, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("listen: %w", err)
	}
	if f, err := protocol.ParseFrame(b); err != nil || f.Type != protocol.FrameReady {
		conn.CloseNow()
		return nil, fmt.Errorf("listen: first frame %q, want ready", b)
	}
	return conn, nil
}

// readSealed reads frames until the sealed one and returns its bytes and
// when it arrived.
func readSealed(ctx context.Context, conn *websocket.Conn) ([]byte, time.Time, error) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return nil, time.Time{}, err
		}
		at := time.Now()
		f, err := protocol.ParseFrame(b)
		if err != nil {
			return nil, at, err
		}
		if f.Type == protocol.FrameSealed {
			return f.Sealed, at, nil
		}
	}
}

func sendAck(ctx context.Context, conn *websocket.Conn) error {
	return conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ack"}`))
}

// awaitClose reads until the relay closes the socket; the library answers
// the close frame, which completes the close handshake.
func awaitClose(ctx context.Context, conn *websocket.Conn) error {
	defer conn.CloseNow()
	// The relay closes at once after the ack; a close that never comes is
	// a lost frame to report, not a benchmark that waits forever.
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return fmt.Errorf("close: %w", err)
		}
	}
}

// closeWait bounds awaitClose's wait for the relay's close after an ack.
const closeWait = 10 * time.Second

// apiPost delivers body to sid on a new TCP connection and wants a 200.
func apiPost(ctx context.Context, addr, sid string, body []byte) error {
	st, b, err := post(ctx, addr, protocol.SessionPath(sid), body)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("POST: %d %s", st, b)
	}
	return err
}

// Handoff runs one whole handoff: listen and ready, POST, sealed, ack, the
// POST's 200, and the close handshake the relay starts. It returns how long
// the listen took (dial to ready) and the time from the POST's dial to the
// sealed frame at the receiver.
func Handoff(ctx context.Context, addr string) (listen, postToReceiver time.Duration, err error) {
	return HandoffAcross(ctx, addr, addr)
}

// HandoffAcross is Handoff with the receiver on the relay at listenAddr and
// the sender posting to the one at postAddr: two nodes of one relay.
func HandoffAcross(ctx context.Context, listenAddr, postAddr string) (listen, postToReceiver time.Duration, err error) {
	sid := protocol.NewSessionID()
	start := time.Now()
	conn, err := apiListen(ctx, listenAddr, sid)
	if err != nil {
		return 0, 0, err
	}
	listen = time.Since(start)
	defer conn.CloseNow()
	body := randomBody(BodySize)
	posted := make(chan error, 1)
	sent := time.Now()
	// A POST that fails ends the wait for the sealed frame, so that the
	// benchmark reports the relay's answer instead of waiting forever.
	readCtx, cancelRead := context.WithCancelCause(ctx)
	defer cancelRead(nil)
	go func() {
		err := apiPost(ctx, postAddr, sid, body)
		if err != nil {
			cancelRead(err)
		}
		posted <- err
	}()
	got, at, err := readSealed(readCtx, conn)
	if err != nil {
		if cause := context.Cause(readCtx); cause != nil && readCtx.Err() != nil {
			return 0, 0, fmt.Errorf("sender: %w", cause)
		}
		return 0, 0, fmt.Errorf("receiver: %w", err)
	}
	if !bytes.Equal(got, body) {
		return 0, 0, fmt.Errorf("receiver got %d bytes that differ from the %d sent", len(got), len(body))
	}
	if err := sendAck(ctx, conn); err != nil {
		return 0, 0, err
	}
	if err := <-posted; err != nil {
		return 0, 0, err
	}
	return listen, at.Sub(sent), awaitClose(ctx, conn)
}

// MeasureHandoffCPU runs n whole handoffs (Handoff) with the given
// concurrency and returns the relay's CPU time per handoff by cpu.
func MeasureHandoffCPU(ctx context.Context, p *Proc, n, concurrency int, cpu func(pid int) (time.Duration, error)) (time.Duration, error) {
	before, err := cpu(p.PID)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan struct{})
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if _, _, err := Handoff(ctx, p.Addr); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	after, err := cpu(p.PID)
	if err != nil {
		return 0, err
	}
	return (after - before) / time.Duration(n), nil
}

// Steps is the relay's CPU time for each step of one handoff run alone.
type Steps struct {
	// Listen: the receiver dials, the relay upgrades and sends ready.
	Listen time.Duration
	// Post: the POST's request until the sealed frame is at the receiver.
	Post time.Duration
	// Ack: the receiver's ack until the POST's 200 (the relay also sends
	// its close frame).
	Ack time.Duration
	// Close: the receiver's answer to the close frame.
	Close time.Duration
}

// StepNames names the fields of Steps in order.
var StepNames = []string{"listen", "POST", "ack", "close"}

// All is the steps' figures in StepNames' order.
func (s Steps) All() []time.Duration { return []time.Duration{s.Listen, s.Post, s.Ack, s.Close} }

// MeasureSteps runs n handoffs one at a time and, around each step, waits
// settle for the relay to finish what the step started and reads its
// threads' CPU time (ThreadsCPU), so a step's figure is all the CPU the
// relay spent on it: the HTTP and WebSocket work and every invocation the
// step caused.
func MeasureSteps(ctx context.Context, p *Proc, n int, settle time.Duration) ([]Steps, error) {
	out := make([]Steps, 0, n)
	for i := 0; i < n; i++ {
		var s Steps
		var mark time.Duration
		step := func(d *time.Duration) error {
			time.Sleep(settle) // letting the relay finish the step's work
			c, err := ThreadsCPU(p.PID)
			if d != nil {
				*d = c - mark
			}
			mark = c
			return err
		}
		sid := protocol.NewSessionID()
		body := randomBody(BodySize)
		if err := step(nil); err != nil {
			return nil, err
		}
		conn, err := apiListen(ctx, p.Addr, sid)
		if err != nil {
			return nil, err
		}
		if err := step(&s.Listen); err != nil {
			conn.CloseNow()
			return nil, err
		}
		posted := make(chan error, 1)
		go func() { posted <- apiPost(ctx, p.Addr, sid, body) }()
		got, _, err := readSealed(ctx, conn)
		if err == nil && !bytes.Equal(got, body) {
			err = errors.New("receiver got other bytes than were sent")
		}
		if err == nil {
			err = step(&s.Post)
		}
		if err == nil {
			err = sendAck(ctx, conn)
		}
		if err == nil {
			err = <-posted
		}
		if err == nil {
			err = step(&s.Ack)
		}
		if err == nil {
			err = awaitClose(ctx, conn)
		}
		if err == nil {
			err = step(&s.Close)
		}
		conn.CloseNow()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// MeasurePostToReceiver opens n waiting receivers, then delivers to them
// with `senders` concurrent senders, each POST on a new TCP connection, and
// returns for each the time from the POST's dial to the sealed frame at
// the receiver, and how long the relay's threads waited for a CPU
// (RunQueueWait) meanwhile.
func MeasurePostToReceiver(ctx context.Context, p *Proc, n, senders int) ([]time.Duration, time.Duration, error) {
	type rcv struct {
		sid  string
		conn *websocket.Conn
		got  chan rcvResult
	}
	rs := make([]*rcv, n)
	defer func() {
		for _, r := range rs {
			if r != nil {
				r.conn.CloseNow()
			}
		}
	}()
	for i := range rs {
		sid := protocol.NewSessionID()
		conn, err := apiListen(ctx, p.Addr, sid)
		if err != nil {
			return nil, 0, err
		}
		r := &rcv{sid: sid, conn: conn, got: make(chan rcvResult, 1)}
		rs[i] = r
		go func() {
			b, at, err := readSealed(ctx, conn)
			if err == nil {
				err = sendAck(ctx, conn)
			}
			r.got <- rcvResult{body: b, at: at, err: err}
			if err == nil {
				_ = awaitClose(ctx, conn)
			}
		}()
	}
	waitBefore, _ := RunQueueWait(p.PID)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan *rcv)
	for c := 0; c < senders; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				body := randomBody(BodySize)
				start := time.Now()
				err := apiPost(ctx, p.Addr, r.sid, body)
				var res rcvResult
				if err == nil {
					res = <-r.got
					err = res.err
				}
				if err == nil && !bytes.Equal(res.body, body) {
					err = errors.New("receiver got other bytes than were sent")
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					lat = append(lat, res.at.Sub(start))
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range rs {
		next <- r
	}
	close(next)
	wg.Wait()
	waitAfter, _ := RunQueueWait(p.PID)
	return lat, waitAfter - waitBefore, firstErr
}

// MeasureRequestCPU sends n GET requests for path, `concurrency` at a time,
// each on a new TCP connection, and returns the relay's CPU time per
// request (ThreadsCPU) and the status of the last answer.
func MeasureRequestCPU(ctx context.Context, p *Proc, path string, n, concurrency int) (time.Duration, int, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	defer client.CloseIdleConnections()
	before, err := ThreadsCPU(p.PID)
	if err != nil {
		return 0, 0, err
	}
	var mu sync.Mutex
	var firstErr error
	status := 0
	var wg sync.WaitGroup
	next := make(chan struct{})
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.Addr+path, nil)
				req.Header.Set("Accept-Encoding", "br, gzip")
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					status = resp.StatusCode
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	after, err := ThreadsCPU(p.PID)
	if err != nil {
		return 0, 0, err
	}
	return (after - before) / time.Duration(n), status, nil
}
