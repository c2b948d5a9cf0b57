// Package bench measures relays side by side on loopback: scanin's relay
// and two peers from npm (piping-server, and a minimal relay on ws in
// bench/ws-relay.js). The same harness drives all three; each peer is an
// adapter that knows how a receiver waits and how a sender delivers. See
// docs/benchmarks.md ("Relay") for the method and cmd/relaybench to run it.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// Peer is one relay under test.
type Peer interface {
	// Name is the peer's name in the results.
	Name() string
	// Start runs a fresh relay process.
	Start(ctx context.Context) (*Proc, error)
	// NewID makes a session id in the peer's format.
	NewID() string
	// Listen makes a receiver wait for id. It returns once the receiver
	// is waiting, as far as the peer's protocol tells.
	Listen(ctx context.Context, p *Proc, id string) (Receiver, error)
	// Send delivers body to id on a new TCP connection and returns once
	// the sender has its whole answer, which must be a success.
	Send(ctx context.Context, p *Proc, id string, body []byte) error
}

// Receiver is a waiting receiver.
type Receiver interface {
	// Receive waits for the message and acks it where the protocol has an
	// ack.
	Receive(ctx context.Context) ([]byte, error)
	Close()
}

// Proc is a running relay process.
type Proc struct {
	cmd  *exec.Cmd
	Addr string // host:port
	PID  int
	// DebugAddr is where the relay serves its profiling endpoints
	// (server.DebugAddrEnv); empty when it does not.
	DebugAddr string
}

// Pinning runs a relay on a set of CPUs, so the relay under test and the
// load generator do not compete for the same ones. The zero value runs it
// wherever the scheduler likes.
type Pinning struct {
	// CPUs is a taskset(1) CPU list, like "1" or "2-3"; empty: no pinning.
	CPUs string
	// Procs is how many CPUs CPUs names; the Go relay gets it as
	// GOMAXPROCS.
	Procs int
}

// command makes the command that runs name with args, pinned.
func (pin Pinning) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if pin.CPUs == "" {
		return exec.CommandContext(ctx, name, args...)
	}
	// taskset execs the relay, so the PID is the relay's.
	return exec.CommandContext(ctx, "taskset", append([]string{"--cpu-list", pin.CPUs, name}, args...)...)
}

// Stop ends the process (SIGTERM, then SIGKILL after 10 s).
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// startProc starts cmd and reads its stdout until parse finds the address.
func startProc(ctx context.Context, cmd *exec.Cmd, parse func(line string) (string, bool)) (*Proc, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", cmd.Path, err)
	}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := parse(sc.Text()); ok {
				addrs <- a
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addrs:
		return &Proc{cmd: cmd, Addr: a, PID: cmd.Process.Pid}, nil
	case <-time.After(15 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("%s did not say where it listens", cmd.Path)
}

// post writes an HTTP/1.1 POST on a new connection and reads the answer.
func post(ctx context.Context, addr, path string, body []byte) (int, []byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), body...)); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b, err
}

// Scanin is scanin's relay: `scanin relay --no-rate-limit`.
type Scanin struct {
	Bin string
	Pin Pinning
	// GOGC, when not empty, is the relay's GOGC environment variable.
	GOGC string
	// Profile turns on the relay's profiling endpoints (server.DebugAddrEnv)
	// on a free loopback port.
	Profile bool
	// Args are more `scanin relay` arguments, e.g. --redis URL.
	Args []string
}

func (Scanin) Name() string  { return "scanin relay (Go)" }
func (Scanin) NewID() string { return protocol.NewSessionID() }

func (s Scanin) Start(ctx context.Context) (*Proc, error) {
	cmd := s.Pin.command(ctx, s.Bin, append([]string{"relay", "--addr", "127.0.0.1:0", "--no-rate-limit"}, s.Args...)...)
	cmd.Env = os.Environ()
	if s.Pin.Procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(s.Pin.Procs))
	}
	if s.GOGC != "" {
		cmd.Env = append(cmd.Env, "GOGC="+s.GOGC)
	}
	debugAddr := ""
	if s.Profile {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		debugAddr = "127.0.0.1:" + strconv.Itoa(port)
		cmd.Env = append(cmd.Env, "SCANIN_RELAY_DEBUG_ADDR="+debugAddr)
	}
	p, err := startProc(ctx, cmd, func(line string) (string, bool) {
		u, ok := strings.CutPrefix(line, "scanin relay: listening on http://")
		return u, ok
	})
	if p != nil {
		p.DebugAddr = debugAddr
	}
	return p, err
}

func (Scanin) Listen(ctx context.Context, p *Proc, id string) (Receiver, error) {
	u := protocol.ListenURL("http://"+p.Addr, id, protocol.ListenParams{App: "demo", TTL: 300})
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	_, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	if f, err := protocol.ParseFrame(b); err != nil || f.Type != protocol.FrameReady {
		conn.CloseNow()
		return nil, fmt.Errorf("first frame %q, want ready", b)
	}
	return &scaninReceiver{conn: conn}, nil
}

type scaninReceiver struct{ conn *websocket.Conn }

func (r *scaninReceiver) Receive(ctx context.Context) ([]byte, error) {
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		f, err := protocol.ParseFrame(b)
		if err != nil {
			return nil, err
		}
		if f.Type != protocol.FrameSealed {
			continue
		}
		if err := r.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ack"}`)); err != nil {
			return nil, err
		}
		return f.Sealed, nil
	}
}

func (r *scaninReceiver) Close() { _ = r.conn.CloseNow() }

func (Scanin) Send(ctx context.Context, p *Proc, id string, body []byte) error {
	st, b, err := post(ctx, p.Addr, protocol.SessionPath(id), body)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("POST: %d %s", st, b)
	}
	return err
}

// WSRelay is bench/ws-relay.js on Node.
type WSRelay struct {
	Dir string // bench/
	Pin Pinning
}

func (WSRelay) Name() string { return "ws-relay.js (node ws)" }
func (WSRelay) NewID() string {
	return protocol.NewSessionID()
}

func (w WSRelay) Start(ctx context.Context) (*Proc, error) {
	cmd := w.Pin.command(ctx, "node", filepath.Join(w.Dir, "ws-relay.js"), "0")
	return startProc(ctx, cmd, func(line string) (string, bool) {
		port, ok := strings.CutPrefix(line, "ws-relay listening on ")
		return "127.0.0.1:" + port, ok
	})
}

func (WSRelay) Listen(ctx context.Context, p *Proc, id string) (Receiver, error) {
	conn, _, err := websocket.Dial(ctx, "ws://"+p.Addr+"/listen/"+id, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	return &wsReceiver{conn: conn}, nil
}

type wsReceiver struct{ conn *websocket.Conn }

func (r *wsReceiver) Receive(ctx context.Context) ([]byte, error) {
	_, b, err := r.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	return b, r.conn.Write(ctx, websocket.MessageText, []byte("ack"))
}

func (r *wsReceiver) Close() { _ = r.conn.CloseNow() }

func (WSRelay) Send(ctx context.Context, p *Proc, id string, body []byte) error {
	st, b, err := post(ctx, p.Addr, "/send/"+id, body)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("POST: %d %s", st, b)
	}
	return err
}

// Piping is npm's piping-server: a GET waits, a POST streams to it.
type Piping struct {
	Dir string // bench/
	Pin Pinning
}

func (Piping) Name() string  { return "piping-server (npm)" }
func (Piping) NewID() string { return protocol.NewSessionID() }

func (pp Piping) Start(ctx context.Context) (*Proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := pp.Pin.command(ctx, "node", filepath.Join(pp.Dir, "node_modules/piping-server/dist/src/index.js"),
		"--host", "127.0.0.1", "--http-port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start piping-server: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &Proc{cmd: cmd, Addr: addr, PID: cmd.Process.Pid}, nil
		}
		time.Sleep(50 * time.Millisecond) // waiting for a child process to bind
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("piping-server did not start listening")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (Piping) Listen(ctx context.Context, p *Proc, id string) (Receiver, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "GET /"+id+" HTTP/1.1\r\nHost: "+p.Addr+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	return &pipingReceiver{conn: conn}, nil
}

type pipingReceiver struct{ conn net.Conn }

func (r *pipingReceiver) Receive(ctx context.Context) ([]byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = r.conn.SetReadDeadline(dl)
	}
	resp, err := http.ReadResponse(bufio.NewReader(r.conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET: %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

func (r *pipingReceiver) Close() { _ = r.conn.Close() }

func (Piping) Send(ctx context.Context, p *Proc, id string, body []byte) error {
	st, b, err := post(ctx, p.Addr, "/"+id, body)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("POST: %d %s", st, b)
	}
	return err
}

// randomBody is a 1 KB message, different every time, so a mix-up shows.
func randomBody(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// readProc reads a /proc file of pid.
func readProc(pid int, name string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	return string(b), err
}
