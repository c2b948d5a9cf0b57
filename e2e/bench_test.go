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
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// benchRuns is how many page loads each figure is the median of.
const benchRuns = 10

// netCondition is a network, and a browser process model, the benchmark
// loads the widget with.
type netCondition struct {
	name       string
	throttled  bool
	latencyMS  float64 // added to each request, as DevTools does: the RTT
	throughput float64 // bytes per second, each way
	// isolated is Chromium's default site isolation: the widget's frame runs
	// in a process and DevTools target of its own. DevTools emulates the
	// network per target, so a throttled run must keep the frame in the
	// page's process (measured: with isolation on, "9 Mbit/s" loads the
	// 670 KB widget in under 600 ms, because the frame is not throttled).
	isolated bool
}

// benchConditions are the rows of the benchmark.
func benchConditions() []netCondition {
	return []netCondition{
		{name: "loopback", isolated: true},
		{name: "loopback-1proc"},
		// 9 Mbit/s and 60 ms RTT: a good 4G connection, or poor Wi-Fi.
		{name: "9mbit-60ms", throttled: true, latencyMS: 60, throughput: 9e6 / 8},
	}
}

// BenchmarkWidget measures what a visitor waits for: the widget's size on
// the wire, and the time from the parent page's navigation start to the QR
// code on screen (the page receiving scanin:ready, which the widget posts
// right after it put the code's SVG in the DOM), as the median of
// benchRuns loads, cold (a fresh browser profile each time) and warm (the
// same browser, navigating again), on loopback and under DevTools network
// emulation. Run it with ./build.sh bench widget, or
//
//	go test ./e2e -run '^$' -bench . -benchtime 1x -count 1
func BenchmarkWidget(b *testing.B) {
	for range b.N {
		dist := filepath.Join(env.root, "widget", "web", "dist")
		var report []string
		for _, f := range []struct{ name, file string }{
			{"raw", "widget.wasm"}, {"gzip", "widget.wasm.gz"}, {"brotli", "widget.wasm.br"},
		} {
			st, err := os.Stat(filepath.Join(dist, f.file))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size())/1000, f.name+"-KB")
			report = append(report, fmt.Sprintf("widget.wasm %-6s %8.1f KB", f.name, float64(st.Size())/1000))
		}
		s := newSite(b)
		for _, cond := range benchConditions() {
			cold := make([]float64, 0, benchRuns)
			for range benchRuns {
				ms, err := coldLoad(s, env.relay.url, cond, cond.isolated)
				if err != nil {
					b.Fatal(err)
				}
				cold = append(cold, ms)
			}
			warm, err := warmLoads(s, env.relay.url, cond, cond.isolated)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range []struct {
				name string
				v    []float64
			}{{"cold", cold}, {"warm", warm}} {
				med := median(m.v)
				b.ReportMetric(med, m.name+"-"+cond.name+"-ms")
				report = append(report, fmt.Sprintf("QR visible %-4s %-14s median %6.0f ms (min %4.0f, max %4.0f)",
					m.name, cond.name, med, slices.Min(m.v), slices.Max(m.v)))
			}
		}
		b.Log("\n" + strings.Join(report, "\n"))
	}
}

// benchBrowser starts a browser with a fresh profile under cond and
// returns its context and what stops it and removes the profile.
func benchBrowser(cond netCondition, isolated bool) (context.Context, func(), error) {
	dir, err := os.MkdirTemp(env.tmp, "chromium-bench-")
	if err != nil {
		return nil, nil, err
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), browserFlags(dir, isolated)...)
	ctx, cancel := chromedp.NewContext(actx)
	stop := func() {
		cancel()
		acancel()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("failed to start Chromium: %w", err)
	}
	if err := emulate(ctx, cond); err != nil {
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// coldLoad starts a browser with a fresh profile, loads the page once and
// returns the time to the QR code.
func coldLoad(s *site, relayURL string, cond netCondition, isolated bool) (float64, error) {
	ctx, stop, err := benchBrowser(cond, isolated)
	if err != nil {
		return 0, err
	}
	defer stop()
	return loadOnce(ctx, s, relayURL)
}

// warmLoads loads the page once to warm the browser's caches, then
// benchRuns more times.
func warmLoads(s *site, relayURL string, cond netCondition, isolated bool) ([]float64, error) {
	ctx, stop, err := benchBrowser(cond, isolated)
	if err != nil {
		return nil, err
	}
	defer stop()
	var out []float64
	for i := range benchRuns + 1 {
		ms, err := loadOnce(ctx, s, relayURL)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, ms)
		}
	}
	return out, nil
}

func emulate(ctx context.Context, cond netCondition) error {
	if !cond.throttled {
		return nil
	}
	_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{
			Latency: cond.latencyMS, DownloadThroughput: cond.throughput, UploadThroughput: cond.throughput,
		}},
	})
	if err != nil {
		return fmt.Errorf("failed to emulate %s: %w", cond.name, err)
	}
	return nil
}

// loadOnce navigates to the parent page, with the widget from relayURL, and
// returns the milliseconds from its navigation start to the widget's
// scanin:ready.
func loadOnce(ctx context.Context, s *site, relayURL string) (float64, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(s.pageURL(pageOptions{relay: relayURL, app: "shop"}))); err != nil {
		return 0, err
	}
	ms, err := chromedp.Run(ctx, chromedp.Poll[float64](
		`(() => { const s = window.__t && window.__t.states.find((s) => s.state === "waiting"); return s && s.at; })()`,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		return 0, fmt.Errorf("the QR code did not show: %w", err)
	}
	return ms, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timelineRuns is how many loads each timeline figure is the median of.
const timelineRuns = 7

// timelineScript lists a document's performance entries as JSON, with
// times on the clock of the page whose timeOrigin is passed in.
const timelineScript = `((origin) => {
  const off = performance.timeOrigin - origin;
  const short = (n) => n.replace(/^.*\/(assets\/(dist\/)?)?/, "").replace(/\.[0-9a-f]{8}\./, ".").replace(/\?.*$/, "");
  const out = {};
  for (const e of performance.getEntries()) {
    if (e.entryType === "navigation") {
      for (const k of ["requestStart", "responseStart", "responseEnd", "domInteractive", "domContentLoadedEventEnd", "loadEventEnd"]) out[WHO + " nav " + k] = e[k] + off;
      out[WHO + " nav bytes"] = e.transferSize;
    } else if (e.entryType === "resource") {
      const n = WHO + " " + short(e.name);
      out[n + " start"] = e.startTime + off;
      out[n + " responseStart"] = e.responseStart + off;
      out[n + " end"] = e.responseEnd + off;
      out[n + " bytes"] = e.transferSize;
    } else if (e.entryType === "mark") {
      out[WHO + " mark " + e.name] = e.startTime + off;
    }
  }
  return out;
})`

// BenchmarkWidgetTimeline is where the time to the QR code goes: the
// performance entries (navigation, resources with their transfer sizes,
// marks) of the parent page and of the widget's frame, on the parent's
// clock, as medians of timelineRuns cold and warm loads on loopback. It
// runs in the one-process browser, where the frame's entries are reachable.
func BenchmarkWidgetTimeline(b *testing.B) {
	s := newSite(b)
	for range b.N {
		var cold, warm []map[string]float64
		for range timelineRuns {
			dir, err := os.MkdirTemp(env.tmp, "chromium-cold-")
			if err != nil {
				b.Fatal(err)
			}
			func() {
				defer os.RemoveAll(dir)
				actx, acancel := chromedp.NewExecAllocator(context.Background(), browserFlags(dir, false)...)
				defer acancel()
				ctx, cancel := chromedp.NewContext(actx)
				defer cancel()
				tl, err := timelineOnce(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				cold = append(cold, tl)
			}()
		}
		dir, err := os.MkdirTemp(env.tmp, "chromium-warm-")
		if err != nil {
			b.Fatal(err)
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), browserFlags(dir, false)...)
		ctx, cancel := chromedp.NewContext(actx)
		for i := range timelineRuns + 1 {
			tl, err := timelineOnce(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			if i > 0 {
				warm = append(warm, tl)
			}
		}
		cancel()
		acancel()
		os.RemoveAll(dir)
		b.Log("\ncold:\n" + timelineReport(cold) + "\nwarm:\n" + timelineReport(warm))
	}
}

func timelineOnce(ctx context.Context, s *site) (map[string]float64, error) {
	ms, err := loadOnce(ctx, s, env.relay.url)
	if err != nil {
		return nil, err
	}
	origin, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
	if err != nil {
		return nil, err
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](
		strings.ReplaceAll(timelineScript, "WHO", `"page"`)+fmt.Sprintf("(%f)", origin)))
	if err != nil {
		return nil, err
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#login iframe")))
	if err != nil || len(nodes) == 0 {
		return nil, fmt.Errorf("no widget iframe: %v", err)
	}
	frame, err := chromedp.Run(ctx, chromedp.Poll[map[string]float64](
		strings.ReplaceAll(timelineScript, "WHO", `"frame"`)+fmt.Sprintf("(%f)", origin),
		chromedp.WithPollingInFrame(nodes[0]), chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil {
		return nil, err
	}
	for k, v := range frame {
		page[k] = v
	}
	page["page waiting (scanin:ready received)"] = ms
	return page, nil
}

func timelineReport(runs []map[string]float64) string {
	keys := map[string][]float64{}
	for _, r := range runs {
		for k, v := range r {
			keys[k] = append(keys[k], v)
		}
	}
	type row struct {
		k string
		v float64
	}
	var rows []row
	for k, v := range keys {
		rows = append(rows, row{k, median(v)})
	}
	slices.SortFunc(rows, func(a, b row) int {
		ab, bb := strings.HasSuffix(a.k, "bytes"), strings.HasSuffix(b.k, "bytes")
		if ab != bb {
			if ab {
				return 1
			}
			return -1
		}
		if a.v < b.v {
			return -1
		}
		if a.v > b.v {
			return 1
		}
		return strings.Compare(a.k, b.k)
	})
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("  %8.1f  %s (n=%d)", r.v, r.k, len(keys[r.k])))
	}
	return strings.Join(out, "\n")
}
