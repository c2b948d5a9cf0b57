//go:build !js

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// baselineEnv names a checkout of another scanin build (./build.sh build
// run in it) that BenchmarkWidgetVersus compares this one with.
const baselineEnv = "SCANIN_BENCH_BASELINE"

// build is one side of a comparison: a scanin binary, with the widget it
// embeds, and its relay while the benchmark runs.
type build struct {
	name  string
	dist  string // widget/web/dist, for the sizes
	relay *relayProc
}

// BenchmarkWidgetVersus measures the time to the QR code of this build and
// of a baseline build side by side: the two relays run at once, and every
// round loads the page from each, alternating which goes first, so that a
// noisy machine slows both alike. It reports each side's median and the
// median of the paired differences (this build minus the baseline), cold (a
// fresh browser profile per load) and warm (one browser per side, its
// loads interleaved with the other's). Run it with
//
//	SCANIN_BENCH_BASELINE=/path/to/other/checkout ./build.sh bench versus
func BenchmarkWidgetVersus(b *testing.B) {
	root := os.Getenv(baselineEnv)
	if root == "" {
		b.Skipf("set %s to a checkout of the build to compare with (built with ./build.sh build)", baselineEnv)
	}
	baselineBin := filepath.Join(root, "bin", "scanin")
	if _, err := os.Stat(baselineBin); err != nil {
		b.Fatalf("%s: no baseline binary: %v (run ./build.sh build in %s)", baselineEnv, err, root)
	}
	baselineRelay, err := startRelayBinary(baselineBin, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer baselineRelay.stop()
	builds := []build{
		{name: "this", dist: filepath.Join(env.root, "widget", "web", "dist"), relay: env.relay},
		{name: "baseline", dist: filepath.Join(root, "widget", "web", "dist"), relay: baselineRelay},
	}
	s := newSite(b)
	for range b.N {
		var report []string
		for _, bd := range builds {
			for _, f := range []string{"widget.wasm", "widget.wasm.br"} {
				st, err := os.Stat(filepath.Join(bd.dist, f))
				if err != nil {
					b.Fatal(err)
				}
				report = append(report, fmt.Sprintf("%-8s %-15s %8.1f KB", bd.name, f, float64(st.Size())/1000))
			}
		}
		for _, cond := range benchConditions() {
			cold, err := interleavedCold(s, builds, cond)
			if err != nil {
				b.Fatal(err)
			}
			warm, err := interleavedWarm(s, builds, cond)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range []struct {
				kind  string
				loads [][]float64
			}{{"cold", cold}, {"warm", warm}} {
				this, base := m.loads[0], m.loads[1]
				diffs := make([]float64, len(this))
				for i := range this {
					diffs[i] = this[i] - base[i]
				}
				b.ReportMetric(median(this), m.kind+"-"+cond.name+"-this-ms")
				b.ReportMetric(median(base), m.kind+"-"+cond.name+"-baseline-ms")
				report = append(report, fmt.Sprintf(
					"QR visible %-4s %-14s this %6.0f ms, baseline %6.0f ms, paired difference %+5.0f ms (min %+5.0f, max %+5.0f), ratio %.2f",
					m.kind, cond.name, median(this), median(base), median(diffs), slices.Min(diffs), slices.Max(diffs),
					median(this)/median(base)))
			}
		}
		b.Log("\n" + strings.Join(report, "\n"))
	}
}

// interleavedCold returns benchRuns cold loads per build, loads[i] being
// builds[i]'s, taken in rounds that alternate which build goes first.
func interleavedCold(s *site, builds []build, cond netCondition) ([][]float64, error) {
	loads := make([][]float64, len(builds))
	for round := range benchRuns {
		for k := range builds {
			i := (k + round) % len(builds)
			ms, err := coldLoad(s, builds[i].relay.url, cond, cond.isolated)
			if err != nil {
				return nil, fmt.Errorf("%s, cold load %d: %w", builds[i].name, round, err)
			}
			loads[i] = append(loads[i], ms)
		}
	}
	return loads, nil
}

// interleavedWarm keeps one browser per build open, warms each with one
// load, then takes benchRuns loads per build in alternating rounds.
func interleavedWarm(s *site, builds []build, cond netCondition) ([][]float64, error) {
	ctxs := make([]context.Context, len(builds))
	for i := range builds {
		ctx, stop, err := benchBrowser(cond, cond.isolated)
		if err != nil {
			return nil, err
		}
		defer stop()
		if _, err := loadOnce(ctx, s, builds[i].relay.url); err != nil {
			return nil, fmt.Errorf("%s, warming load: %w", builds[i].name, err)
		}
		ctxs[i] = ctx
	}
	loads := make([][]float64, len(builds))
	for round := range benchRuns {
		for k := range builds {
			i := (k + round) % len(builds)
			ms, err := loadOnce(ctxs[i], s, builds[i].relay.url)
			if err != nil {
				return nil, fmt.Errorf("%s, warm load %d: %w", builds[i].name, round, err)
			}
			loads[i] = append(loads[i], ms)
		}
	}
	return loads, nil
}
