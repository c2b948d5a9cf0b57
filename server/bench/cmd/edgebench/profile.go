package main

// The edge relay's CPU profile: V8's sampling profiler over the inspector
// protocol that workerd serves with --inspector-addr (there is no `node
// --cpu-prof` for workerd), with a rules.wasm that keeps its function
// names.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/server/bench"
)

// cdp is a connection to one inspector target.
type cdp struct {
	conn *websocket.Conn
	next int
}

// call sends method and returns its result, skipping events.
func (c *cdp) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.next++
	id := c.next
	req, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := c.conn.Write(ctx, websocket.MessageText, req); err != nil {
		return nil, err
	}
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &m) != nil || m.ID != id {
			continue // an event, or another answer
		}
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	}
}

// cpuProfile is the part of V8's Profiler.Profile used here.
type cpuProfile struct {
	Nodes []struct {
		ID        int `json:"id"`
		CallFrame struct {
			FunctionName string `json:"functionName"`
			URL          string `json:"url"`
		} `json:"callFrame"`
	} `json:"nodes"`
	Samples    []int   `json:"samples"`
	TimeDeltas []int64 `json:"timeDeltas"` // µs
}

// runProfile builds rules.wasm with its names into server/edge/bench,
// serves the edge relay with it, in-memory Durable Object storage (what
// on-disk storage adds is the difference between the edge and
// edge-memory rows) and the inspector, and profiles o.profileN
// whole handoffs (8 at a time) after a warm-up. It writes the raw profile
// to file (Chrome DevTools opens it) and renders where the time went.
func runProfile(root, edgeDir string, w bench.Workerd, o options, file string) (string, error) {
	wasm := filepath.Join(edgeDir, "bench", "rules-names.wasm")
	build := exec.Command("go", "build", "-trimpath", "-o", wasm, "./server/edge/wasm")
	build.Dir, build.Stderr = root, os.Stderr
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("failed to build rules.wasm with names: %w", err)
	}
	var err error
	if w.Config, err = writeConfig(edgeDir, "profile", configOptions{memory: true, wasm: "rules-names.wasm"}); err != nil {
		return "", err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return "", err
	}
	inspector := "127.0.0.1:" + strconv.Itoa(port)
	w.Args = []string{"--inspector-addr", inspector}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := w.Start(ctx)
	if err != nil {
		return "", err
	}
	defer p.Stop()
	if _, err := bench.MeasureHandoffCPU(ctx, p, 50, 4, bench.ThreadsCPU); err != nil {
		return "", fmt.Errorf("warm-up: %w", err)
	}
	resp, err := http.Get("http://" + inspector + "/json/list")
	if err != nil {
		return "", err
	}
	var targets []struct {
		URL string `json:"webSocketDebuggerUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if err != nil || len(targets) == 0 {
		return "", fmt.Errorf("no inspector target: %v", err)
	}
	conn, _, err := websocket.Dial(ctx, targets[0].URL, nil)
	if err != nil {
		return "", err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 30)
	c := &cdp{conn: conn}
	// Answers the inspector's messages while the handoffs run.
	for _, m := range []struct {
		method string
		params any
	}{{"Profiler.enable", nil}, {"Profiler.setSamplingInterval", map[string]int{"interval": 100}}, {"Profiler.start", nil}} {
		if _, err := c.call(ctx, m.method, m.params); err != nil {
			return "", err
		}
	}
	before, err := bench.ThreadsCPU(p.PID)
	if err != nil {
		return "", err
	}
	if _, err := bench.MeasureHandoffCPU(ctx, p, o.profileN, 8, bench.ThreadsCPU); err != nil {
		return "", err
	}
	after, err := bench.ThreadsCPU(p.PID)
	if err != nil {
		return "", err
	}
	res, err := c.call(ctx, "Profiler.stop", nil)
	if err != nil {
		return "", err
	}
	var stopped struct {
		Profile json.RawMessage `json:"profile"`
	}
	if err := json.Unmarshal(res, &stopped); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, stopped.Profile, 0o644); err != nil {
		return "", err
	}
	var prof cpuProfile
	if err := json.Unmarshal(stopped.Profile, &prof); err != nil {
		return "", err
	}
	return renderProfile(prof, o.profileN, after-before, file), nil
}

// category sorts a profile node into where its time went.
func category(fn, url string) string {
	switch {
	case fn == "(idle)":
		return "idle"
	case fn == "(garbage collector)":
		return "V8's garbage collector"
	case fn == "(program)" || fn == "(root)":
		return "V8, outside JavaScript and wasm (compiling, runtime calls)"
	case strings.HasPrefix(url, "wasm://"):
		switch {
		case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "$runtime."):
			return "Go runtime (wasm: allocation, GC, scheduler)"
		case strings.Contains(fn, "syscall/js"):
			return "Go's syscall/js (wasm)"
		default:
			return "Go rules and libraries (wasm)"
		}
	case strings.Contains(url, "wasm_exec"):
		return "wasm_exec.js (Go's JavaScript glue)"
	case strings.Contains(url, "worker.js"), strings.Contains(url, "static.js"):
		return "the relay's JavaScript (src/)"
	case url == "":
		return "platform APIs and built-ins (fetch, idFromName, storage, Request, Response, WebSocket send)"
	default:
		return "other JavaScript (" + url + ")"
	}
}

func renderProfile(prof cpuProfile, n int, workerdCPU time.Duration, file string) string {
	type frame struct{ fn, url string }
	nodes := map[int]frame{}
	for _, nd := range prof.Nodes {
		nodes[nd.ID] = frame{nd.CallFrame.FunctionName, nd.CallFrame.URL}
	}
	self := map[frame]time.Duration{}
	cats := map[string]time.Duration{}
	var busy time.Duration
	for i, id := range prof.Samples {
		if i+1 >= len(prof.TimeDeltas) {
			break
		}
		// A sample stands for the time until the next one.
		d := time.Duration(prof.TimeDeltas[i+1]) * time.Microsecond
		f := nodes[id]
		cat := category(f.fn, f.url)
		cats[cat] += d
		if cat != "idle" {
			busy += d
			self[f] += d
		}
	}
	per := func(d time.Duration) float64 { return bench.Milliseconds(d) / float64(n) }
	var b strings.Builder
	fmt.Fprintf(&b, "CPU profile of the edge relay with in-memory storage: V8's sampler every 100 µs over the inspector, rules.wasm with its names, %d whole handoffs 8 at a time (raw profile: %s, for Chrome DevTools). workerd's CPU meanwhile: %.2f ms per handoff (the profiler included). The samples are the isolate thread's time, in JavaScript, wasm or a platform call, whether or not it had the CPU: shares, not CPU figures.\n\n",
		n, filepath.Base(file), per(workerdCPU))
	b.WriteString("| where | share of the samples |\n|---|---|\n")
	names := make([]string, 0, len(cats))
	for k := range cats {
		if k != "idle" {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return cats[names[i]] > cats[names[j]] })
	for _, k := range names {
		fmt.Fprintf(&b, "| %s | %.1f %% |\n", k, 100*float64(cats[k])/float64(busy))
	}
	b.WriteString("\n| function (self time) | share of the samples |\n|---|---|\n")
	fs := make([]frame, 0, len(self))
	for f := range self {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return self[fs[i]] > self[fs[j]] })
	for i, f := range fs {
		if i == 15 {
			break
		}
		where := f.url
		if i := strings.LastIndexByte(where, '/'); i >= 0 {
			where = where[i+1:]
		}
		name := f.fn
		if name == "" {
			name = "(anonymous)"
		}
		fmt.Fprintf(&b, "| `%s` %s | %.1f %% |\n", name, where, 100*float64(self[f])/float64(busy))
	}
	return b.String()
}
