package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	rpprof "runtime/pprof"
	"sync"
	"time"
)

// DebugAddrEnv names the environment variable that turns on the relay's
// profiling endpoints, for the benchmark harness (server/bench) and for an
// engineer chasing a regression. It is not a flag on purpose: it is not
// part of the relay's interface, and it is off unless set. The address must
// be a loopback one (127.0.0.1:PORT, [::1]:PORT or localhost:PORT).
//
// On that address, apart from the Relay API, the relay serves
// net/http/pprof's /debug/pprof/ pages and two endpoints for a CPU profile
// over a span the caller chooses: POST /debug/cpu/start and POST
// /debug/cpu/stop (which answers the profile), and POST /debug/gc, which
// runs the garbage collector so a heap profile counts only live objects.
const DebugAddrEnv = "SCANIN_RELAY_DEBUG_ADDR"

// debugServer serves the profiling endpoints on their own listener.
type debugServer struct {
	srv *http.Server
	mu  sync.Mutex
	cpu *bytes.Buffer // the CPU profile being recorded; nil when none
}

// startDebug serves the profiling endpoints on addr, a loopback address.
func startDebug(addr string) (*debugServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", DebugAddrEnv, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s must be a loopback address, not %q", DebugAddrEnv, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", DebugAddrEnv, err)
	}
	d := &debugServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/cpu/start", d.startCPU)
	mux.HandleFunc("POST /debug/cpu/stop", d.stopCPU)
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, r *http.Request) { runtime.GC() })
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

func (d *debugServer) startCPU(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cpu != nil {
		http.Error(w, "a CPU profile is already running", http.StatusConflict)
		return
	}
	buf := new(bytes.Buffer)
	if err := rpprof.StartCPUProfile(buf); err != nil {
		http.Error(w, "failed to start the CPU profile: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d.cpu = buf
}

func (d *debugServer) stopCPU(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cpu == nil {
		http.Error(w, "no CPU profile is running", http.StatusConflict)
		return
	}
	rpprof.StopCPUProfile()
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(d.cpu.Bytes())
	d.cpu = nil
}

// close stops the endpoints and any CPU profile still running.
func (d *debugServer) close(ctx context.Context) error {
	d.mu.Lock()
	if d.cpu != nil {
		rpprof.StopCPUProfile()
		d.cpu = nil
	}
	d.mu.Unlock()
	if err := d.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("failed to stop the debug endpoints: %w", err)
	}
	return nil
}
