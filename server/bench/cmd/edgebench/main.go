// Command edgebench runs the edge benchmark of docs/benchmarks.md ("Edge"):
// scanin's edge relay (server/edge) and a minimal JavaScript Durable Object
// relay (server/edge/bench/mini.js), both under workerd, and the
// self-hosted `scanin relay` for reference, driven by the same client
// through scanin's Relay API, interleaved, fresh processes every run. It
// prints two results tables and, with -write, puts them into
// docs/benchmarks.md between the edgebench markers.
//
//	go run ./server/bench/cmd/edgebench [-scanin bin/scanin]
//
// It first builds server/edge/dist the way a user does, by starting
// `./build.sh edge --no-rate-limit` until it serves (-build), then runs
// workerd itself with server/edge/workerd.capnp, as build.sh does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scanin/scanin/server/bench"
)

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 5, "runs per relay, interleaved; the tables show medians and the spread")
	flag.IntVar(&o.cpuN, "cpu-handoffs", 400, "whole handoffs (8 concurrent) per CPU measurement")
	flag.IntVar(&o.stepN, "step-handoffs", 100, "handoffs run one step at a time per run")
	flag.DurationVar(&o.settle, "settle", 10*time.Millisecond, "wait after each step before reading the relay's CPU time")
	flag.IntVar(&o.latN, "latency-handoffs", 300, "deliveries to waiting receivers per latency figure")
	flag.StringVar(&o.only, "only", "edge,edge-memory,mini,scanin", "relays to run: edge, edge-memory (the same with in-memory Durable Object storage), mini, scanin")
	flag.StringVar(&o.scaninBin, "scanin", "", "prebuilt scanin `binary` (default: build ./cmd/scanin)")
	flag.BoolVar(&o.build, "build", true, "build server/edge/dist first with ./build.sh edge")
	flag.StringVar(&o.write, "write", "docs/benchmarks.md", "markdown `file` whose edgebench results block to replace; empty: print only")
	flag.IntVar(&o.probeN, "probe-handoffs", 200, "handoffs, one step at a time, through server/edge/bench/probe.js after the runs (0: none)")
	flag.StringVar(&o.profile, "profile", filepath.Join(os.TempDir(), "edgebench-edge.cpuprofile"), "`file` for the edge relay's V8 CPU profile, taken after the runs; empty: none")
	flag.IntVar(&o.profileN, "profile-handoffs", 400, "whole handoffs (8 concurrent) in the CPU profile")
	flag.IntVar(&o.routeN, "route-requests", 300, "GET requests (8 concurrent) per route in the routes' CPU table (0: none)")
	flag.BoolVar(&o.pin, "pin", true, "pin the relay under test to the last CPU and this harness to the others (needs 2 CPUs and taskset)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		os.Exit(1)
	}
}

type options struct {
	runs, cpuN, stepN, latN int
	probeN, profileN        int
	routeN                  int
	profile                 string
	settle                  time.Duration
	only, scaninBin, write  string
	build, pin              bool
	relayPin                bench.Pinning
	harnessCPUs             string
}

// senders are the latency runs' numbers of concurrent senders.
var senders = []int{1, 8}

// figures are one relay's measurements, one value per run (ms).
type figures struct {
	startup, firstListen, firstPost, warmListen []float64
	firstGet                                    []float64 // GET /healthz, the first request of another fresh process
	cpu                                         []float64
	steps                                       [4][]float64 // each step's median
	costP50, costP99, costMax                   []float64    // the costliest step of a handoff
	stepSum                                     []float64    // a handoff's steps added up
	p50, p99, rqWait                            map[int][]float64
	errs                                        []string
}

func run(o options) error {
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	if o.pin {
		var err error
		if o.relayPin, o.harnessCPUs, err = bench.PinHarness(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "edgebench: relays on CPU %s, harness on CPU %s\n", o.relayPin.CPUs, o.harnessCPUs)
	}
	edgeDir := filepath.Join(root, "server/edge")
	workerd := filepath.Join(edgeDir, "node_modules/@cloudflare/workerd-linux-64/bin/workerd")
	if _, err := os.Stat(workerd); err != nil {
		return fmt.Errorf("no workerd in server/edge/node_modules: run ./build.sh edge once (or ./build.sh bench edge)")
	}
	tmp, err := os.MkdirTemp("", "edgebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.build {
		if err := buildEdge(root); err != nil {
			return err
		}
	}
	bin, err := bench.ScaninBinary(root, o.scaninBin, tmp)
	if err != nil {
		return err
	}

	all := map[string]bench.Server{
		"edge": bench.Workerd{Label: "scanin edge relay (workerd, Go rules as wasm)", Bin: workerd,
			Config: filepath.Join(edgeDir, "workerd.capnp"),
			Dirs:   map[string]string{"assets": filepath.Join(edgeDir, "dist/public")},
			Fresh:  []string{"do-storage"}, Tmp: tmp, Env: []string{"SCANIN_EDGE_RATE_LIMIT=off"}, Pin: o.relayPin},
		"edge-memory": bench.Workerd{Label: "scanin edge relay, in-memory storage", Bin: workerd,
			Config: filepath.Join(edgeDir, "bench/edge-memory.capnp"),
			Dirs:   map[string]string{"assets": filepath.Join(edgeDir, "dist/public")},
			// The disk service stays declared, unused.
			Fresh: []string{"do-storage"}, Tmp: tmp, Env: []string{"SCANIN_EDGE_RATE_LIMIT=off"}, Pin: o.relayPin},
		"mini": bench.Workerd{Label: "minimal JS Durable Object relay (workerd, mini.js)", Bin: workerd,
			Config: filepath.Join(edgeDir, "bench/mini.capnp"), Tmp: tmp, Pin: o.relayPin},
		"scanin": bench.Scanin{Bin: bin, Pin: o.relayPin},
	}
	if _, err := writeConfig(edgeDir, "edge-memory", configOptions{memory: true}); err != nil {
		return err
	}
	var servers []bench.Server
	for _, name := range strings.Split(o.only, ",") {
		s, ok := all[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown relay %q (edge, edge-memory, mini, scanin)", name)
		}
		servers = append(servers, s)
	}
	results := map[string]*figures{}
	for _, s := range servers {
		results[s.Name()] = &figures{p50: map[int][]float64{}, p99: map[int][]float64{}, rqWait: map[int][]float64{}}
	}
	for r := 1; r <= o.runs; r++ {
		for _, s := range servers {
			f := results[s.Name()]
			if err := runOnce(s, f, o); err != nil {
				msg := fmt.Sprintf("run %d: %v", r, err)
				fmt.Fprintln(os.Stderr, "edgebench:", s.Name(), msg)
				f.errs = append(f.errs, msg)
			}
		}
	}
	table := render(servers, results, o)
	if o.probeN > 0 && slices.Contains(strings.Split(o.only, ","), "edge") {
		probe := all["edge"].(bench.Workerd)
		probe.Label = "probe"
		probe.Config, err = writeConfig(edgeDir, "probe", configOptions{probe: true})
		if err != nil {
			return err
		}
		report, err := runProbe(probe, o)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		table += "\n" + report
	}
	if o.routeN > 0 {
		report, err := runRoutes(edgeDir, servers, o)
		if err != nil {
			return fmt.Errorf("routes: %w", err)
		}
		table += "\n" + report
	}
	if o.profile != "" && slices.Contains(strings.Split(o.only, ","), "edge") {
		report, err := runProfile(root, edgeDir, all["edge"].(bench.Workerd), o, o.profile)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		table += "\n" + report
	}
	fmt.Print(table)
	if o.write != "" {
		if err := bench.WriteResults(filepath.Join(root, o.write), "edgebench", "Edge", table); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if len(results[s.Name()].errs) > 0 {
			return fmt.Errorf("%s had errors; see above", s.Name())
		}
	}
	return nil
}

// firstGet times GET /healthz, the first request of a fresh process of s.
func firstGet(ctx context.Context, s bench.Server) (time.Duration, error) {
	p, err := s.Start(ctx)
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get("http://" + p.Addr + "/healthz")
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), err
}

// runOnce measures a fresh process of s.
func runOnce(s bench.Server, f *figures, o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	get, err := firstGet(ctx, s)
	if err != nil {
		return fmt.Errorf("first GET: %w", err)
	}
	f.firstGet = append(f.firstGet, bench.Milliseconds(get))
	start := time.Now()
	p, err := s.Start(ctx)
	if err != nil {
		return err
	}
	defer p.Stop()
	f.startup = append(f.startup, bench.Milliseconds(time.Since(start)))
	// The first request of the fresh process, then a warm one.
	listen, post, err := bench.Handoff(ctx, p.Addr)
	if err != nil {
		return fmt.Errorf("first handoff: %w", err)
	}
	f.firstListen = append(f.firstListen, bench.Milliseconds(listen))
	f.firstPost = append(f.firstPost, bench.Milliseconds(post))
	if listen, _, err = bench.Handoff(ctx, p.Addr); err != nil {
		return fmt.Errorf("second handoff: %w", err)
	}
	f.warmListen = append(f.warmListen, bench.Milliseconds(listen))
	if _, err := bench.MeasureHandoffCPU(ctx, p, 50, 4, bench.ThreadsCPU); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	cpuOf := bench.ThreadsCPU
	if _, ok := s.(bench.Scanin); ok {
		cpuOf = bench.CPU // /proc/PID/stat: user + system
	}
	cpu, err := bench.MeasureHandoffCPU(ctx, p, o.cpuN, 8, cpuOf)
	if err != nil {
		return fmt.Errorf("CPU: %w", err)
	}
	f.cpu = append(f.cpu, bench.Milliseconds(cpu))
	steps, err := bench.MeasureSteps(ctx, p, o.stepN, o.settle)
	if err != nil {
		return fmt.Errorf("steps: %w", err)
	}
	costliest := make([]time.Duration, len(steps))
	sums := make([]time.Duration, len(steps))
	for j, st := range steps {
		for _, d := range st.All() {
			sums[j] += d
		}
	}
	f.stepSum = append(f.stepSum, bench.Milliseconds(bench.Percentile(sums, 50)))
	for i := range f.steps {
		ds := make([]time.Duration, len(steps))
		for j, st := range steps {
			ds[j] = st.All()[i]
			costliest[j] = max(costliest[j], ds[j])
		}
		f.steps[i] = append(f.steps[i], bench.Milliseconds(bench.Percentile(ds, 50)))
	}
	f.costP50 = append(f.costP50, bench.Milliseconds(bench.Percentile(costliest, 50)))
	f.costP99 = append(f.costP99, bench.Milliseconds(bench.Percentile(costliest, 99)))
	f.costMax = append(f.costMax, bench.Milliseconds(bench.Percentile(costliest, 100)))
	fmt.Fprintf(os.Stderr, "edgebench: %s: start %.1f ms, first listen %.1f ms, %.2f ms CPU per handoff, costliest step p50 %.2f ms\n",
		s.Name(), f.startup[len(f.startup)-1], f.firstListen[len(f.firstListen)-1], bench.Milliseconds(cpu), f.costP50[len(f.costP50)-1])
	for _, n := range senders {
		lat, wait, err := bench.MeasurePostToReceiver(ctx, p, o.latN, n)
		if err != nil {
			return fmt.Errorf("latency at %d senders: %w", n, err)
		}
		f.p50[n] = append(f.p50[n], bench.Milliseconds(bench.Percentile(lat, 50)))
		f.p99[n] = append(f.p99[n], bench.Milliseconds(bench.Percentile(lat, 99)))
		f.rqWait[n] = append(f.rqWait[n], bench.Milliseconds(wait))
	}
	return nil
}

// configOptions are how a generated configuration differs from
// server/edge's workerd.capnp.
type configOptions struct {
	probe  bool   // bench/probe.js, which wraps src/worker.js, is the main module
	memory bool   // Durable Object storage in memory instead of on disk
	wasm   string // this file of server/edge/bench instead of dist/rules.wasm
}

// writeConfig writes server/edge/bench/NAME.capnp from server/edge's
// workerd.capnp, changed as c says. (workerd embeds files only by paths
// relative to the configuration, so it is written next to probe.js.)
func writeConfig(edgeDir, name string, c configOptions) (string, error) {
	b, err := os.ReadFile(filepath.Join(edgeDir, "workerd.capnp"))
	if err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(b), `embed "`, `embed "../`)
	replace := func(old, new string) error {
		if !strings.Contains(s, old) {
			return fmt.Errorf("server/edge/workerd.capnp has no %q", old)
		}
		s = strings.Replace(s, old, new, 1)
		return nil
	}
	if c.probe {
		if err := replace("modules = [", "modules = [\n    (name = \"bench/probe.js\", esModule = embed \"probe.js\"),"); err != nil {
			return "", err
		}
	}
	if c.memory {
		if err := replace(`durableObjectStorage = (localDisk = "do-storage")`, "durableObjectStorage = (inMemory = void)"); err != nil {
			return "", err
		}
	}
	if c.wasm != "" {
		if err := replace(`wasm = embed "../dist/rules.wasm"`, `wasm = embed "`+c.wasm+`"`); err != nil {
			return "", err
		}
	}
	file := filepath.Join(edgeDir, "bench", name+".capnp")
	return file, os.WriteFile(file, []byte("# Written by cmd/edgebench from ../workerd.capnp; not to be edited.\n"+s), 0o644)
}

// probeFigures is GET /__probe's answer.
type probeFigures struct {
	Counts map[string]float64   `json:"counts"`
	Times  map[string][]float64 `json:"times"`
}

func getProbe(addr, method string) (probeFigures, error) {
	var f probeFigures
	req, _ := http.NewRequest(method, "http://"+addr+"/__probe", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return f, err
	}
	defer resp.Body.Close()
	return f, json.NewDecoder(resp.Body).Decode(&f)
}

// runProbe starts the edge relay wrapped by probe.js, makes one handoff
// (the Go instance starts), then o.probeN handoffs one step at a time, and
// renders what the probe counted and timed.
func runProbe(w bench.Workerd, o options) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := w.Start(ctx)
	if err != nil {
		return "", err
	}
	defer p.Stop()
	if _, _, err := bench.Handoff(ctx, p.Addr); err != nil {
		return "", err
	}
	start, err := getProbe(p.Addr, "POST") // answers, then resets
	if err != nil {
		return "", err
	}
	if _, err := bench.MeasureHandoffCPU(ctx, p, 50, 4, bench.ThreadsCPU); err != nil {
		return "", err
	}
	if _, err := getProbe(p.Addr, "POST"); err != nil {
		return "", err
	}
	steps, err := bench.MeasureSteps(ctx, p, o.probeN, o.settle)
	if err != nil {
		return "", err
	}
	f, err := getProbe(p.Addr, "GET")
	if err != nil {
		return "", err
	}
	var total time.Duration
	for _, st := range steps {
		for _, d := range st.All() {
			total += d
		}
	}
	n := float64(o.probeN)
	var b strings.Builder
	fmt.Fprintf(&b, "Inside the edge relay: %d handoffs one step at a time through server/edge/bench/probe.js (%.2f ms of workerd CPU per handoff with the probe).\n\n", o.probeN, bench.Milliseconds(total)/n)
	b.WriteString("| per handoff | calls |\n|---|---|\n")
	keys := make([]string, 0, len(f.Counts))
	for k := range f.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %.2f |\n", k, f.Counts[k]/n)
	}
	b.WriteString("\n| Go call | calls per handoff | mean per call | per handoff | longest call (1 ms steps) |\n|---|---|---|---|---|\n")
	keys = keys[:0]
	for k := range f.Times {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var goTotal float64
	for _, k := range keys {
		var sum, longest float64
		for _, t := range f.Times[k] {
			sum += t
			longest = max(longest, t)
		}
		goTotal += sum
		fmt.Fprintf(&b, "| %s | %.2f | %.3f ms | %.3f ms | %.0f ms |\n", k, float64(len(f.Times[k]))/n, sum/float64(len(f.Times[k])), sum/n, longest)
	}
	fmt.Fprintf(&b, "\nGo per handoff in all: %.3f ms. The Go instance's start, on the fresh process's first request:", goTotal/n)
	for _, k := range []string{"go.instantiate", "go.main"} {
		if t := start.Times[k]; len(t) > 0 {
			fmt.Fprintf(&b, " %s %.1f ms;", strings.TrimPrefix(k, "go."), t[0])
		}
	}
	b.WriteString(" first calls:")
	for _, k := range []string{"go.route", "go.request"} {
		if t := start.Times[k]; len(t) > 0 {
			fmt.Fprintf(&b, " %s %.1f ms;", strings.TrimPrefix(k, "go."), t[0])
		}
	}
	b.WriteString("\n")
	return b.String(), nil
}

// runRoutes measures the CPU of one GET of each cold route, on a fresh
// process of each relay, after 20 warm-up requests per route.
func runRoutes(edgeDir string, servers []bench.Server, o options) (string, error) {
	assets, _ := filepath.Glob(filepath.Join(edgeDir, "dist/public/assets/widget.*.js"))
	routes := []string{"/healthz", "/v1/apps/demo", "/embed.js", "/widget.html?app=demo", "/link", "/no-such-route"}
	if len(assets) == 1 {
		routes = append(routes, "/assets/"+filepath.Base(assets[0]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CPU per request by route: %d GETs per route, 8 at a time, each on a new connection, `Accept-Encoding: br, gzip`, on a fresh process after 20 warm-up requests per route; the answer's status in brackets.\n\n| route |", o.routeN)
	for _, s := range servers {
		fmt.Fprintf(&b, " %s |", s.Name())
	}
	b.WriteString("\n|---|")
	for range servers {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	cells := map[string][]string{}
	for _, s := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		p, err := s.Start(ctx)
		if err != nil {
			cancel()
			return "", err
		}
		for _, r := range routes {
			cell := "failed"
			if _, _, err := bench.MeasureRequestCPU(ctx, p, r, 20, 4); err == nil {
				if cpu, st, err := bench.MeasureRequestCPU(ctx, p, r, o.routeN, 8); err == nil {
					cell = fmt.Sprintf("%.2f ms (%d)", bench.Milliseconds(cpu), st)
				}
			}
			cells[r] = append(cells[r], cell)
		}
		p.Stop()
		cancel()
	}
	for _, r := range routes {
		fmt.Fprintf(&b, "| `%s` |", r)
		for _, c := range cells[r] {
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// freeLoopbackPort is a port free on 127.0.0.1 a moment ago.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// buildEdge builds server/edge/dist the way a user does: ./build.sh edge,
// stopped (its whole process group) once /healthz answers.
func buildEdge(root string) error {
	port, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "edgebench: building server/edge/dist with ./build.sh edge")
	cmd := exec.Command(filepath.Join(root, "build.sh"), "edge", "--port", strconv.Itoa(port), "--no-rate-limit")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case err := <-done:
			return fmt.Errorf("./build.sh edge exited before serving: %v", err)
		case <-time.After(200 * time.Millisecond): // polling until it serves
		}
	}
	return fmt.Errorf("./build.sh edge did not serve /healthz within 5 minutes")
}

func render(servers []bench.Server, results map[string]*figures, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s; %d runs, each on fresh processes, interleaved; median (min–max) of the runs' figures, in ms.",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), o.runs)
	if o.relayPin.CPUs != "" {
		fmt.Fprintf(&b, " Relay under test pinned to CPU %s (scanin relay: GOMAXPROCS=%d), harness to CPU %s.", o.relayPin.CPUs, o.relayPin.Procs, o.harnessCPUs)
	} else {
		b.WriteString(" Not pinned.")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "| relay | CPU per whole handoff (%d, 8 concurrent) | listen step | POST step | ack step | close step | the steps added up | costliest step of a handoff, p50 / p99 / max (%d handoffs one step at a time) |\n", o.cpuN, o.stepN)
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, s := range servers {
		f := results[s.Name()]
		fmt.Fprintf(&b, "| %s | %s |", s.Name(), bench.Summary(f.cpu, "%.2f"))
		for i := range f.steps {
			fmt.Fprintf(&b, " %s |", bench.Summary(f.steps[i], "%.2f"))
		}
		fmt.Fprintf(&b, " %s |", bench.Summary(f.stepSum, "%.2f"))
		fmt.Fprintf(&b, " %s / %s / %s |\n", bench.Summary(f.costP50, "%.2f"), bench.Summary(f.costP99, "%.2f"), bench.Summary(f.costMax, "%.2f"))
	}
	b.WriteString("\n| relay |")
	for _, n := range senders {
		fmt.Fprintf(&b, " POST → receiver p50 / p99, %d sender(s) |", n)
	}
	b.WriteString(" relay's wait for a CPU during the 8-sender deliveries | process start to accepting | first request of a fresh process: GET /healthz | first listen (dial to ready) of a fresh process | first POST → receiver | warm listen |\n|---|")
	for range senders {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|---|---|---|\n")
	for _, s := range servers {
		f := results[s.Name()]
		fmt.Fprintf(&b, "| %s |", s.Name())
		for _, n := range senders {
			fmt.Fprintf(&b, " %s / %s |", bench.Summary(f.p50[n], "%.2f"), bench.Summary(f.p99[n], "%.2f"))
		}
		fmt.Fprintf(&b, " %s | %s | %s | %s | %s | %s |\n", bench.Summary(f.rqWait[8], "%.1f"), bench.Summary(f.startup, "%.1f"),
			bench.Summary(f.firstGet, "%.1f"), bench.Summary(f.firstListen, "%.1f"), bench.Summary(f.firstPost, "%.1f"), bench.Summary(f.warmListen, "%.2f"))
	}
	fmt.Fprintf(&b, "\nLatency: %d deliveries per figure to receivers already waiting, each POST on a new connection, 1 KB bodies checked byte for byte.\n", o.latN)
	return b.String()
}
