package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BodySize is the size of every delivered message.
const BodySize = 1024

// RSS is the process's resident set size in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	s, err := readProc(pid, "status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// CPU is the process's user plus system time.
func CPU(pid int) (time.Duration, error) {
	s, err := readProc(pid, "stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; count from after it.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	const ticksPerSecond = 100 // CLK_TCK on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// stableRSS waits until two readings 300 ms apart differ by under 0.5%,
// at most 10 s, and returns the last.
func stableRSS(pid int) (int64, error) {
	prev, err := RSS(pid)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond) // sampling a child's memory, not synchronising
		cur, err := RSS(pid)
		if err != nil {
			return 0, err
		}
		if math.Abs(float64(cur-prev)) < 0.005*float64(prev) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// handoff runs one delivery to a waiting receiver and checks the bytes.
// It returns the time from the sender's dial until both the sender has its
// answer and the receiver has the whole message.
func handoff(ctx context.Context, peer Peer, p *Proc, id string, rcvDone <-chan rcvResult, body []byte) (time.Duration, error) {
	start := time.Now()
	if err := peer.Send(ctx, p, id, body); err != nil {
		return 0, err
	}
	sent := time.Now()
	var r rcvResult
	select {
	case r = <-rcvDone:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if r.err != nil {
		return 0, fmt.Errorf("receiver: %w", r.err)
	}
	if !bytes.Equal(r.body, body) {
		return 0, fmt.Errorf("receiver got %d bytes that differ from the %d sent", len(r.body), len(body))
	}
	end := sent
	if r.at.After(end) {
		end = r.at
	}
	return end.Sub(start), nil
}

type rcvResult struct {
	body []byte
	at   time.Time
	err  error
}

// waiting is a receiver with its Receive already running.
type waiting struct {
	id   string
	rcv  Receiver
	done chan rcvResult
}

func listenAndReceive(ctx context.Context, peer Peer, p *Proc) (*waiting, error) {
	id := peer.NewID()
	rcv, err := peer.Listen(ctx, p, id)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	w := &waiting{id: id, rcv: rcv, done: make(chan rcvResult, 1)}
	go func() {
		b, err := rcv.Receive(ctx)
		w.done <- rcvResult{body: b, at: time.Now(), err: err}
	}()
	return w, nil
}

// openReceivers opens n waiting receivers with the given concurrency.
func openReceivers(ctx context.Context, peer Peer, p *Proc, n, concurrency int) ([]*waiting, error) {
	out := make([]*waiting, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				wt, err := listenAndReceive(ctx, peer, p)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				out[i] = wt
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, firstErr
	}
	return out, nil
}

func closeAll(ws []*waiting) {
	for _, w := range ws {
		if w != nil {
			w.rcv.Close()
		}
	}
}

// MeasureRSS opens n waiting receivers on a fresh process and returns
// the RSS growth per receiver.
func MeasureRSS(ctx context.Context, peer Peer, n int, hooks Hooks) (float64, error) {
	p, err := peer.Start(ctx)
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	// Warm up: a few handoffs, so pools and JITs are primed.
	if _, err := runHandoffs(ctx, peer, p, 100, 4); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	base, err := stableRSS(p.PID)
	if err != nil {
		return 0, err
	}
	ws, err := openReceivers(ctx, peer, p, n, 32)
	if err != nil {
		return 0, err
	}
	defer closeAll(ws)
	// Every receiver is waiting: prove it on a sample by delivering to it
	// after the measurement (a receiver that was not waiting would fail).
	rss, err := stableRSS(p.PID)
	if err != nil {
		return 0, err
	}
	if hooks.Waiting != nil {
		hooks.Waiting(p)
	}
	for _, w := range ws[len(ws)-5:] {
		if _, err := handoff(ctx, peer, p, w.id, w.done, randomBody(BodySize)); err != nil {
			return 0, fmt.Errorf("a waiting receiver did not get its message: %w", err)
		}
	}
	return float64(rss-base) / float64(n), nil
}

// runHandoffs runs n complete handoffs (receiver connects and waits,
// sender POSTs on a new connection, receiver gets and acks) with the given
// concurrency, and returns each one's latency.
func runHandoffs(ctx context.Context, peer Peer, p *Proc, n, concurrency int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan struct{})
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				w, err := listenAndReceive(ctx, peer, p)
				var d time.Duration
				if err == nil {
					d, err = handoff(ctx, peer, p, w.id, w.done, randomBody(BodySize))
					w.rcv.Close()
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	return lat, firstErr
}

// MeasureCPU runs n complete handoffs and returns the relay's CPU time
// per handoff.
func MeasureCPU(ctx context.Context, peer Peer, p *Proc, n int) (time.Duration, error) {
	before, err := CPU(p.PID)
	if err != nil {
		return 0, err
	}
	if _, err := runHandoffs(ctx, peer, p, n, 8); err != nil {
		return 0, err
	}
	after, err := CPU(p.PID)
	if err != nil {
		return 0, err
	}
	return (after - before) / time.Duration(n), nil
}

// MeasureLatency opens n waiting receivers, then delivers to them with
// `senders` concurrent senders, each POST on a new TCP connection. It
// returns the handoff latencies and the relay's CPU time per handoff
// during the deliveries (the receivers' connections not included).
func MeasureLatency(ctx context.Context, peer Peer, p *Proc, n, senders int, hooks Hooks) ([]time.Duration, time.Duration, error) {
	ws, err := openReceivers(ctx, peer, p, n, 32)
	if err != nil {
		return nil, 0, err
	}
	defer closeAll(ws)
	if hooks.Deliveries != nil {
		after := hooks.Deliveries()
		defer after()
	}
	cpuBefore, err := CPU(p.PID)
	if err != nil {
		return nil, 0, err
	}
	waitBefore, _ := RunQueueWait(p.PID)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan *waiting)
	for c := 0; c < senders; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range next {
				d, err := handoff(ctx, peer, p, w.id, w.done, randomBody(BodySize))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for _, w := range ws {
		next <- w
	}
	close(next)
	wg.Wait()
	cpuAfter, err := CPU(p.PID)
	if err != nil {
		return nil, 0, err
	}
	if waitAfter, err := RunQueueWait(p.PID); err == nil && hooks.RunQueueWait != nil {
		hooks.RunQueueWait(waitAfter - waitBefore)
	}
	return lat, (cpuAfter - cpuBefore) / time.Duration(n), firstErr
}

// Percentile returns the q-th percentile (0..100) of ds.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q/100*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}

// RunQueueWait is how long the process's threads have waited, runnable,
// for a CPU (the second field of /proc/PID/task/*/schedstat): time another
// process, or another of its own threads, had the CPU it needed. Over a
// measurement it tells the latency figures' noise from the relay's own
// cost. Threads that exited are not counted.
func RunQueueWait(pid int) (time.Duration, error) {
	return schedstatSum(pid, 1)
}

// schedstatSum adds up field (0: time on a CPU, 1: time waiting for one)
// of /proc/PID/task/*/schedstat over the process's threads, in
// nanoseconds. Threads that exited are not counted.
func schedstatSum(pid, field int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) <= field {
			return 0, fmt.Errorf("unreadable schedstat of %d", pid)
		}
		ns, err := strconv.ParseInt(f[field], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unreadable schedstat of %d: %w", pid, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}
