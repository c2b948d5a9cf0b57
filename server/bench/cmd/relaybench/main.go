// Command relaybench runs the relay benchmark of docs/benchmarks.md:
// scanin's relay, npm's piping-server and bench/ws-relay.js, driven by the
// same harness on loopback. It prints a results table and, with -write,
// puts it into docs/benchmarks.md between the relaybench markers.
//
//	go run ./server/bench/cmd/relaybench [-scanin bin/scanin] [-peers bench]
//
// It installs the npm peers with `npm ci` in the peers directory when they
// are missing, builds cmd/scanin into a temporary directory unless -scanin
// names a binary, and rewrites the results block of -write
// (docs/benchmarks.md by default).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/server/bench"
)

func main() {
	runs := flag.Int("runs", 3, "runs per peer; the table shows medians and the spread")
	sizes := flag.String("n", "1000,10000", "comma-separated numbers of waiting receivers for the RSS figures")
	cpuHandoffs := flag.Int("cpu-handoffs", 4000, "handoffs per CPU measurement")
	latHandoffs := flag.Int("latency-handoffs", 2000, "handoffs per latency measurement")
	only := flag.String("only", "scanin,ws,piping", "peers to run: scanin, ws, piping")
	peersDir := flag.String("peers", "bench", "`dir`ectory with the npm peers (package.json, ws-relay.js), relative to the repository root")
	scanin := flag.String("scanin", "", "prebuilt scanin `binary` (default: build ./cmd/scanin)")
	write := flag.String("write", "docs/benchmarks.md", "markdown `file` whose relaybench results block to replace; empty: print only")
	pin := flag.Bool("pin", true, "pin the relay under test to the last CPU and this harness to the others (needs 2 CPUs and taskset)")
	gogc := flag.String("gogc", "", "GOGC for scanin's relay (default: the binary's own)")
	profile := flag.String("profile", "", "`dir`ectory to write scanin relay profiles to: CPU over each run's 8-sender deliveries, heap and goroutines at each N; empty: none")
	flag.Parse()
	o := options{runs: *runs, cpuN: *cpuHandoffs, latN: *latHandoffs, peerList: *only, peersDir: *peersDir, scaninBin: *scanin,
		write: *write, pin: *pin, gogc: *gogc, profileDir: *profile}
	if err := run(*sizes, o); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

// figures are one peer's measurements over the runs.
type figures struct {
	rss        map[int][]float64 // bytes per waiting receiver, by N
	cpu        []float64         // µs per full cycle: listen and handoff
	cpuHandoff []float64         // µs per handoff to a waiting receiver (8 senders)
	p50, p99   map[int][]float64 // ms, by concurrent senders
	rqWait     map[int][]float64 // ms the relay waited for a CPU during the deliveries, by senders
	errorsSeen []string
}

// options are the flags.
type options struct {
	runs, cpuN, latN                     int
	peerList, peersDir, scaninBin, write string
	pin                                  bool
	gogc, profileDir                     string
	relayPin                             bench.Pinning
	harnessCPUs                          string
}

func run(sizeList string, o options) error {
	runs, cpuN, latN, peerList, peersDir, scaninBin, write := o.runs, o.cpuN, o.latN, o.peerList, o.peersDir, o.scaninBin, o.write
	var ns []int
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -n %q", sizeList)
		}
		ns = append(ns, n)
	}
	// 10,000 waiting receivers need as many sockets, here and in the
	// relay (which inherits the limit).
	if n, err := bench.RaiseFileLimit(); err != nil {
		return err
	} else if n < 12000 {
		return fmt.Errorf("open-files limit %d is too low for 10,000 receivers; raise the hard limit", n)
	}
	if o.pin {
		var err error
		if o.relayPin, o.harnessCPUs, err = bench.PinHarness(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "relaybench: relays on CPU %s, harness on CPU %s (GOMAXPROCS %d)\n", o.relayPin.CPUs, o.harnessCPUs, runtime.GOMAXPROCS(0))
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	benchDir := peersDir
	if !filepath.IsAbs(benchDir) {
		benchDir = filepath.Join(root, benchDir)
	}
	if _, err := os.Stat(filepath.Join(benchDir, "node_modules", "piping-server")); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench: npm ci in bench/")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = benchDir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("failed to install the npm peers: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "relaybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := bench.ScaninBinary(root, scaninBin, tmp)
	if err != nil {
		return err
	}

	all := map[string]bench.Peer{
		"scanin": bench.Scanin{Bin: bin, Pin: o.relayPin, GOGC: o.gogc, Profile: o.profileDir != ""},
		"ws":     bench.WSRelay{Dir: benchDir, Pin: o.relayPin},
		"piping": bench.Piping{Dir: benchDir, Pin: o.relayPin},
	}
	var peers []bench.Peer
	for _, name := range strings.Split(peerList, ",") {
		p, ok := all[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown peer %q", name)
		}
		peers = append(peers, p)
	}
	results := map[string]*figures{}
	for _, p := range peers {
		results[p.Name()] = &figures{rss: map[int][]float64{}, p50: map[int][]float64{}, p99: map[int][]float64{}, rqWait: map[int][]float64{}}
	}
	senders := []int{8, 128}
	ctx := context.Background()
	for r := 1; r <= runs; r++ {
		for _, peer := range peers {
			f := results[peer.Name()]
			fail := func(what string, err error) {
				msg := fmt.Sprintf("run %d %s: %v", r, what, err)
				fmt.Fprintln(os.Stderr, "relaybench:", peer.Name(), msg)
				f.errorsSeen = append(f.errorsSeen, msg)
			}
			for _, n := range ns {
				c, cancel := context.WithTimeout(ctx, 5*time.Minute)
				var hooks bench.Hooks
				if _, ok := peer.(bench.Scanin); ok && o.profileDir != "" {
					hooks.Waiting = func(p *bench.Proc) { saveWaitingProfiles(c, p, o.profileDir, r, n) }
				}
				per, err := bench.MeasureRSS(c, peer, n, hooks)
				cancel()
				if err != nil {
					fail(fmt.Sprintf("RSS N=%d", n), err)
					continue
				}
				f.rss[n] = append(f.rss[n], per)
				fmt.Fprintf(os.Stderr, "relaybench: run %d %s: N=%d: %.0f B per waiting receiver\n", r, peer.Name(), n, per)
			}
			c, cancel := context.WithTimeout(ctx, 10*time.Minute)
			p, err := peer.Start(c)
			if err != nil {
				cancel()
				return fmt.Errorf("%s: %w", peer.Name(), err)
			}
			// Warm up before the CPU and latency figures.
			if _, err := bench.MeasureCPU(c, peer, p, 500); err != nil {
				fail("warm-up", err)
			}
			if cpu, err := bench.MeasureCPU(c, peer, p, cpuN); err != nil {
				fail("CPU", err)
			} else {
				f.cpu = append(f.cpu, float64(cpu)/float64(time.Microsecond))
				fmt.Fprintf(os.Stderr, "relaybench: run %d %s: %v CPU per full cycle\n", r, peer.Name(), cpu)
			}
			for _, s := range senders {
				var hooks bench.Hooks
				if _, ok := peer.(bench.Scanin); ok && o.profileDir != "" {
					hooks.Deliveries = cpuProfileHook(c, p, filepath.Join(o.profileDir, fmt.Sprintf("cpu-run%d-%dsenders.pprof", r, s)))
				}
				var rqWait time.Duration
				hooks.RunQueueWait = func(d time.Duration) { rqWait = d }
				lat, cpu, err := bench.MeasureLatency(c, peer, p, latN, s, hooks)
				if err != nil {
					fail(fmt.Sprintf("latency at %d senders", s), err)
					continue
				}
				if s == senders[0] {
					f.cpuHandoff = append(f.cpuHandoff, float64(cpu)/float64(time.Microsecond))
					fmt.Fprintf(os.Stderr, "relaybench: run %d %s: %v CPU per handoff to a waiting receiver\n", r, peer.Name(), cpu)
				}
				p50, p99 := bench.Percentile(lat, 50), bench.Percentile(lat, 99)
				f.p50[s] = append(f.p50[s], bench.Milliseconds(p50))
				f.p99[s] = append(f.p99[s], bench.Milliseconds(p99))
				fmt.Fprintf(os.Stderr, "relaybench: run %d %s: %d senders: p50 %v p99 %v (the relay waited %v for a CPU)\n", r, peer.Name(), s, p50, p99, rqWait.Round(time.Microsecond))
				f.rqWait[s] = append(f.rqWait[s], bench.Milliseconds(rqWait))
			}
			p.Stop()
			cancel()
		}
	}

	table := render(peers, results, ns, senders, runs, cpuN, latN, o)
	fmt.Print(table)
	if write != "" {
		if err := bench.WriteResults(filepath.Join(root, write), "relaybench", "Relay", table); err != nil {
			return err
		}
	}
	for _, p := range peers {
		if len(results[p.Name()].errorsSeen) > 0 {
			return fmt.Errorf("%s had errors; see above", p.Name())
		}
	}
	return nil
}

func render(peers []bench.Peer, results map[string]*figures, ns, senders []int, runs, cpuN, latN int, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s; %d runs, median (min–max).",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), runs)
	if o.relayPin.CPUs != "" {
		fmt.Fprintf(&b, " Relay under test pinned to CPU %s (scanin: GOMAXPROCS=%d), harness to CPU %s.", o.relayPin.CPUs, o.relayPin.Procs, o.harnessCPUs)
	} else {
		b.WriteString(" Not pinned: relay and harness share the CPUs.")
	}
	if o.gogc != "" {
		fmt.Fprintf(&b, " scanin relay with GOGC=%s.", o.gogc)
	}
	b.WriteString("\n\n")
	b.WriteString("| relay |")
	for _, n := range ns {
		fmt.Fprintf(&b, " RSS per waiting receiver, N=%d |", n)
	}
	fmt.Fprintf(&b, " CPU per handoff, receiver waiting (%d, 8 senders) | CPU per full cycle, listen + handoff (%d) |", latN, cpuN)
	for _, s := range senders {
		fmt.Fprintf(&b, " p50 / p99 at %d senders |", s)
	}
	fmt.Fprintf(&b, " relay's wait for a CPU during the %d deliveries at 8 senders |", latN)
	b.WriteString("\n|---|")
	for range ns {
		b.WriteString("---|")
	}
	b.WriteString("---|---|")
	for range senders {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, p := range peers {
		f := results[p.Name()]
		fmt.Fprintf(&b, "| %s |", p.Name())
		for _, n := range ns {
			kb := make([]float64, len(f.rss[n]))
			for i, v := range f.rss[n] {
				kb[i] = v / 1024
			}
			fmt.Fprintf(&b, " %s KB |", bench.Summary(kb, "%.2f"))
		}
		fmt.Fprintf(&b, " %s µs | %s µs |", bench.Summary(f.cpuHandoff, "%.0f"), bench.Summary(f.cpu, "%.0f"))
		for _, s := range senders {
			fmt.Fprintf(&b, " %s / %s ms |", bench.Summary(f.p50[s], "%.2f"), bench.Summary(f.p99[s], "%.2f"))
		}
		fmt.Fprintf(&b, " %s ms |\n", bench.Summary(f.rqWait[senders[0]], "%.1f"))
	}
	fmt.Fprintf(&b, "\nLatency: %d handoffs per figure, to receivers already waiting, 1 KB bodies checked byte for byte.\n", latN)
	return b.String()
}

// cpuProfileHook records a CPU profile of the relay over the deliveries and
// writes it to file. A failure is reported, not fatal: profiles are extras.
func cpuProfileHook(ctx context.Context, p *bench.Proc, file string) func() func() {
	return func() func() {
		stop, err := bench.StartCPUProfile(ctx, p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "relaybench: CPU profile:", err)
			return func() {}
		}
		return func() {
			b, err := stop()
			if err == nil {
				err = os.WriteFile(file, b, 0o644)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "relaybench: CPU profile:", err)
			}
		}
	}
}

// saveWaitingProfiles writes the relay's heap and goroutine profiles while
// n receivers wait. A failure is reported, not fatal.
func saveWaitingProfiles(ctx context.Context, p *bench.Proc, dir string, run, n int) {
	for _, prof := range []struct {
		name string
		get  func(context.Context, *bench.Proc) ([]byte, error)
	}{{"heap", bench.HeapProfile}, {"goroutine", bench.GoroutineProfile}, {"memstats", bench.MemStats}} {
		b, err := prof.get(ctx, p)
		if err == nil {
			ext := ".pprof"
			if prof.name == "memstats" {
				ext = ".txt"
			}
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-run%d-n%d%s", prof.name, run, n, ext)), b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "relaybench: %s profile: %v\n", prof.name, err)
		}
	}
}
