// Command redisbench runs the scale-out benchmark of docs/benchmarks.md
// ("Scale-out over Redis"): scanin's relay in memory (one node) and over
// Redis with 1, 2 and 3 nodes, in one run, on this machine. For each it
// measures handoffs per second and the CPU per handoff (the relay
// processes and redis-server, from /proc) under load, and the handoff
// latency at a light load, where the p50 and p99 that Redis adds over the
// in-memory relay show without queueing. Every configuration runs on fresh
// processes, the configurations interleaved, -runs times; the table shows
// medians and the spread.
//
//	go run ./server/bench/cmd/redisbench [-scanin bin/scanin] [-runs 3]
//
// It builds cmd/scanin into a temporary directory unless -scanin names a
// binary, and rewrites the results block of -write (docs/benchmarks.md by
// default). A scanin without `relay --redis` is measured in memory only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/internal/rediscmd"
	"github.com/scanin/scanin/server/bench"
)

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 3, "runs of every configuration; the table shows medians and the spread (0: the sizing only, printed, not written)")
	flag.IntVar(&o.loadN, "handoffs", 3000, "handoffs of the throughput phase")
	flag.IntVar(&o.loadC, "concurrency", 64, "concurrent handoffs of the throughput phase")
	flag.IntVar(&o.latN, "latency-handoffs", 1000, "handoffs of the latency phase")
	flag.IntVar(&o.latC, "latency-concurrency", 4, "concurrent handoffs of the latency phase")
	flag.IntVar(&o.warmN, "warmup", 300, "handoffs that warm every configuration up before it is measured")
	flag.IntVar(&o.sizing, "sizing", 10000, "waiting receivers whose cost in Redis memory and keys to measure, on one node over Redis; 0: none")
	flag.StringVar(&o.nodes, "nodes", "1,2,3", "comma-separated numbers of relay nodes over Redis")
	flag.StringVar(&o.scanin, "scanin", "", "prebuilt scanin `binary` (default: build ./cmd/scanin)")
	flag.StringVar(&o.redis, "redis-server", "", "redis-server `binary` (default: on PATH, else /usr/bin/redis-server)")
	flag.StringVar(&o.write, "write", "docs/benchmarks.md", "markdown `file` whose redisbench results block to replace; empty: print only")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "redisbench:", err)
		os.Exit(1)
	}
}

// options are the flags.
type options struct {
	runs, loadN, loadC, latN, latC, warmN int
	sizing                                int
	nodes, scanin, redis, write           string
}

// config is one relay setup: in memory, or nodes over Redis.
type config struct {
	name  string
	redis bool
	nodes int
}

// figures are one configuration's measurements over the runs.
type figures struct {
	perSecond, cpu, redisCPU []float64 // handoffs/s; µs per handoff
	p50, p99                 []float64 // ms, POST to receiver, light load
	wholeP50, wholeP99       []float64 // ms, whole handoff, light load
	errs                     []string
}

func run(o options) error {
	if o.runs < 0 || o.loadN < 1 || o.loadC < 1 || o.latN < 1 || o.latC < 1 || o.warmN < 0 || o.sizing < 0 {
		return errors.New("-handoffs, -concurrency, -latency-handoffs and -latency-concurrency must be at least 1, -runs, -warmup and -sizing at least 0")
	}
	if o.runs == 0 && o.sizing == 0 {
		return errors.New("-runs 0 measures only the sizing, and -sizing is 0: nothing to measure")
	}
	var nodeCounts []int
	for _, s := range strings.Split(o.nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 16 {
			return fmt.Errorf("bad -nodes %q: want numbers 1 to 16", o.nodes)
		}
		nodeCounts = append(nodeCounts, n)
	}
	// The concurrent handoffs hold two sockets each here and in the relays.
	if _, err := bench.RaiseFileLimit(); err != nil {
		return err
	}
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "redisbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := bench.ScaninBinary(root, o.scanin, tmp)
	if err != nil {
		return err
	}
	configs := []config{{name: "in memory, 1 node", nodes: 1}}
	var note string
	redisBin := o.redis
	switch {
	case !bench.RelayHasRedis(bin):
		note = "This scanin has no `relay --redis`: in memory only."
	case redisBin == "":
		if redisBin, err = rediscmd.ServerBinary(); err != nil {
			return err
		}
	}
	if note == "" {
		for _, n := range nodeCounts {
			configs = append(configs, config{name: fmt.Sprintf("Redis, %d node%s", n, plural(n)), redis: true, nodes: n})
		}
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, "redisbench:", note)
	}
	var sizing *bench.Sizing
	if o.sizing > 0 && note == "" {
		sz, err := measureSizing(o, bin, redisBin, tmp)
		if err != nil {
			return fmt.Errorf("sizing: %w", err)
		}
		sizing = &sz
	}
	results := make([]*figures, len(configs))
	for i := range results {
		results[i] = &figures{}
	}
	ctx := context.Background()
	for r := 1; r <= o.runs; r++ {
		for i, cfg := range configs {
			if err := measure(ctx, o, bin, redisBin, tmp, cfg, r, results[i]); err != nil {
				msg := fmt.Sprintf("run %d: %v", r, err)
				fmt.Fprintf(os.Stderr, "redisbench: %s: %s\n", cfg.name, msg)
				results[i].errs = append(results[i].errs, msg)
			}
		}
	}
	if o.runs == 0 {
		return nil // the sizing is printed above
	}
	table := render(configs, results, o, note, sizing)
	fmt.Print(table)
	if o.write != "" {
		if err := bench.WriteResults(filepath.Join(root, o.write), "redisbench", "Scale-out over Redis", table); err != nil {
			return err
		}
	}
	for i, cfg := range configs {
		if len(results[i].errs) > 0 {
			return fmt.Errorf("%s had errors; see above", cfg.name)
		}
	}
	return nil
}

// measure runs one configuration once, on fresh processes: warm-up, the
// throughput phase, the latency phase.
func measure(ctx context.Context, o options, bin, redisBin, tmp string, cfg config, run int, f *figures) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	rb := ""
	if cfg.redis {
		rb = redisBin
	}
	c, err := bench.StartCluster(ctx, bench.Scanin{Bin: bin}, rb, tmp, cfg.nodes)
	if err != nil {
		return err
	}
	defer c.Stop()
	if o.warmN > 0 {
		if _, err := bench.RunAcross(ctx, c, o.warmN, 8); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	load, err := bench.RunAcross(ctx, c, o.loadN, o.loadC)
	if err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	lat, err := bench.RunAcross(ctx, c, o.latN, o.latC)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	f.perSecond = append(f.perSecond, load.PerSecond())
	f.cpu = append(f.cpu, micros(load.CPUPerHandoff()))
	f.redisCPU = append(f.redisCPU, micros(load.RedisCPUPerHandoff()))
	p50, p99 := bench.Percentile(lat.PostToReceiver, 50), bench.Percentile(lat.PostToReceiver, 99)
	w50, w99 := bench.Percentile(lat.Whole, 50), bench.Percentile(lat.Whole, 99)
	f.p50, f.p99 = append(f.p50, bench.Milliseconds(p50)), append(f.p99, bench.Milliseconds(p99))
	f.wholeP50, f.wholeP99 = append(f.wholeP50, bench.Milliseconds(w50)), append(f.wholeP99, bench.Milliseconds(w99))
	fmt.Fprintf(os.Stderr, "redisbench: run %d %s: %.0f handoffs/s, %v CPU per handoff (redis-server %v); POST to receiver p50 %v p99 %v; whole handoff p50 %v p99 %v\n",
		run, cfg.name, load.PerSecond(), load.CPUPerHandoff(), load.RedisCPUPerHandoff(),
		p50.Round(time.Microsecond), p99.Round(time.Microsecond), w50.Round(time.Microsecond), w99.Round(time.Microsecond))
	return nil
}

// sessionKeyPrefix is what the relay puts before a sid in a session's key
// in Redis (server/store_redis.go).
const sessionKeyPrefix = "scanin:s:"

// measureSizing opens o.sizing waiting receivers on one node over a fresh
// redis-server and measures what they cost Redis.
func measureSizing(o options, bin, redisBin, tmp string) (bench.Sizing, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := bench.StartCluster(ctx, bench.Scanin{Bin: bin}, redisBin, tmp, 1)
	if err != nil {
		return bench.Sizing{}, err
	}
	defer c.Stop()
	sz, err := bench.MeasureRedisSizing(ctx, c, o.sizing, sessionKeyPrefix)
	if err == nil {
		fmt.Fprintf(os.Stderr, "redisbench: %d waiting receivers: Redis used_memory +%d bytes (%.0f per session), keys +%d, one session key %d bytes\n",
			sz.Receivers, sz.Bytes, float64(sz.Bytes)/float64(sz.Receivers), sz.Keys, sz.SessionKey)
	}
	return sz, err
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// median is the median of xs, and false when there are none.
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// added is what a configuration's median adds over the in-memory relay's.
func added(xs, base []float64) string {
	m, ok1 := median(xs)
	b, ok2 := median(base)
	if !ok1 || !ok2 {
		return "–"
	}
	return fmt.Sprintf("%+.2f", m-b)
}

func render(configs []config, results []*figures, o options, note string, sz *bench.Sizing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s; %d run%s, each configuration on fresh processes, interleaved; median (min–max). "+
		"Not pinned: the relay nodes, redis-server (no persistence) and the harness share the CPUs.",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), o.runs, plural(o.runs))
	if note != "" {
		b.WriteString(" " + note)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "| relay | handoffs/s (%d, %d concurrent) | CPU per handoff, relays + redis-server | of which redis-server | POST → receiver p50 / p99 (%d, %d concurrent) | whole handoff p50 / p99 | p50 / p99 Redis adds, POST → receiver | p50 / p99 Redis adds, whole handoff |\n",
		o.loadN, o.loadC, o.latN, o.latC)
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	base := results[0]
	for i, cfg := range configs {
		f := results[i]
		redisCPU := "–"
		if cfg.redis {
			redisCPU = bench.Summary(f.redisCPU, "%.0f") + " µs"
		}
		fmt.Fprintf(&b, "| %s | %s | %s µs | %s | %s / %s ms | %s / %s ms |", cfg.name,
			bench.Summary(f.perSecond, "%.0f"), bench.Summary(f.cpu, "%.0f"), redisCPU,
			bench.Summary(f.p50, "%.2f"), bench.Summary(f.p99, "%.2f"),
			bench.Summary(f.wholeP50, "%.2f"), bench.Summary(f.wholeP99, "%.2f"))
		if i == 0 {
			b.WriteString(" (baseline) | (baseline) |\n")
			continue
		}
		fmt.Fprintf(&b, " %s / %s ms | %s / %s ms |\n", added(f.p50, base.p50), added(f.p99, base.p99),
			added(f.wholeP50, base.wholeP50), added(f.wholeP99, base.wholeP99))
	}
	fmt.Fprintf(&b, "\nEvery handoff is whole (listen and ready, POST, sealed, ack, the POST's 200, the close handshake), 1 KB bodies checked byte for byte; "+
		"with more than one node the receiver listens on node i and its sender posts to node i+1. "+
		"CPU: user + system time of the relay processes and redis-server over the throughput phase (/proc/PID/stat), the harness not counted. "+
		"Redis adds: the configuration's median minus the in-memory relay's.\n")
	if sz != nil {
		fmt.Fprintf(&b, "\nRedis memory: %d receivers waiting on one node over Redis grew used_memory by %d bytes, %.0f bytes per waiting session, and the keys by %d (%.2f per session); MEMORY USAGE of one waiting session's key: %d bytes.\n",
			sz.Receivers, sz.Bytes, float64(sz.Bytes)/float64(sz.Receivers), sz.Keys, float64(sz.Keys)/float64(sz.Receivers), sz.SessionKey)
	}
	return b.String()
}
