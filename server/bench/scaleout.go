package bench

// The scale-out benchmark (cmd/redisbench, docs/benchmarks.md "Scale-out
// over Redis"): N scanin relay processes sharing one redis-server, against
// the in-memory relay, driven through the Relay API with every handoff
// crossing nodes (the receiver on node i, its sender on node i+1).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RedisServerBinary is the redis-server to run: the one on PATH, else
// Debian's /usr/bin/redis-server.
func RedisServerBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/redis-server"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", errors.New("redis-server is not installed: apt-get install redis-server")
}

// StartRedis runs redis-server on a free loopback port with its files in
// dir and nothing written to disk (no RDB snapshots, no append-only file),
// and returns once it answers PING.
func StartRedis(ctx context.Context, bin, dir string) (*Proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	log, err := os.CreateTemp(dir, "redis-*.log")
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start redis-server: %w", err)
	}
	p := &Proc{cmd: cmd, Addr: addr, PID: cmd.Process.Pid}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if RedisCommand(ctx, addr, "PING") == nil {
			return p, nil
		}
		if exited(p.PID) {
			_ = cmd.Wait()
			out, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("redis-server exited before it answered: %s", strings.TrimSpace(string(out)))
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond): // polling until it answers
		}
	}
	p.Stop()
	return nil, errors.New("redis-server did not answer PING within 15 s")
}

// RedisCommand sends one command to the Redis server at addr on a new
// connection and wants a reply that is not an error.
func RedisCommand(ctx context.Context, addr string, args ...string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.HasPrefix(line, "-") {
		return fmt.Errorf("redis: %s", strings.TrimSpace(line[1:]))
	}
	return nil
}

// RelayHasRedis tells whether the scanin binary's relay command takes
// --redis.
func RelayHasRedis(bin string) bool {
	out, _ := exec.Command(bin, "relay", "--help").CombinedOutput()
	return strings.Contains(string(out), "-redis")
}

// Cluster is one relay as the scale-out benchmark runs it: nodes, and the
// redis-server they share (nil for the in-memory relay, one node).
type Cluster struct {
	Nodes []*Proc
	Redis *Proc
}

// StartCluster starts n relay nodes of scanin; with redisBin, a
// redis-server first (files in dir) and every node with --redis.
func StartCluster(ctx context.Context, scanin Scanin, redisBin, dir string, n int) (*Cluster, error) {
	c := &Cluster{}
	if redisBin != "" {
		r, err := StartRedis(ctx, redisBin, dir)
		if err != nil {
			return nil, err
		}
		c.Redis = r
		scanin.Args = append(append([]string(nil), scanin.Args...), "--redis", "redis://"+r.Addr+"/0")
	} else if n != 1 {
		return nil, fmt.Errorf("%d in-memory nodes: nodes share sessions only through Redis", n)
	}
	for i := 0; i < n; i++ {
		p, err := scanin.Start(ctx)
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		c.Nodes = append(c.Nodes, p)
	}
	return c, nil
}

// Stop ends the nodes, then redis-server.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, p := range c.Nodes {
		wg.Go(p.Stop)
	}
	wg.Wait()
	if c.Redis != nil {
		c.Redis.Stop()
	}
}

// CPU is the CPU time (user and system, /proc/PID/stat) the nodes and
// redis-server have used so far.
func (c *Cluster) CPU() (relays, redis time.Duration, err error) {
	for _, p := range c.Nodes {
		d, err := CPU(p.PID)
		if err != nil {
			return 0, 0, err
		}
		relays += d
	}
	if c.Redis != nil {
		if redis, err = CPU(c.Redis.PID); err != nil {
			return 0, 0, err
		}
	}
	return relays, redis, nil
}

// ScaleFigures are one phase of the scale-out benchmark.
type ScaleFigures struct {
	Handoffs int
	Wall     time.Duration
	// RelayCPU and RedisCPU are the CPU time the nodes and redis-server
	// spent over the phase.
	RelayCPU, RedisCPU time.Duration
	// PostToReceiver is each handoff's time from the POST's dial to the
	// sealed frame at the receiver; Whole from the receiver's dial to the
	// end of the close handshake.
	PostToReceiver, Whole []time.Duration
}

// PerSecond is the phase's handoffs per second.
func (f ScaleFigures) PerSecond() float64 { return float64(f.Handoffs) / f.Wall.Seconds() }

// CPUPerHandoff is the nodes' and redis-server's CPU time per handoff.
func (f ScaleFigures) CPUPerHandoff() time.Duration {
	return (f.RelayCPU + f.RedisCPU) / time.Duration(f.Handoffs)
}

// RedisCPUPerHandoff is redis-server's share of CPUPerHandoff.
func (f ScaleFigures) RedisCPUPerHandoff() time.Duration {
	return f.RedisCPU / time.Duration(f.Handoffs)
}

// RunAcross runs n whole handoffs (HandoffAcross), concurrency at a time:
// the i-th listens on node i mod N and posts to node i+1 mod N, so with
// more than one node every handoff crosses nodes. It fails on the first
// handoff that fails.
func RunAcross(ctx context.Context, c *Cluster, n, concurrency int) (ScaleFigures, error) {
	relay0, redis0, err := c.CPU()
	if err != nil {
		return ScaleFigures{}, err
	}
	f := ScaleFigures{Handoffs: n, PostToReceiver: make([]time.Duration, 0, n), Whole: make([]time.Duration, 0, n)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for i := range next {
				a, b := c.Nodes[i%len(c.Nodes)], c.Nodes[(i+1)%len(c.Nodes)]
				t0 := time.Now()
				_, post, err := HandoffAcross(ctx, a.Addr, b.Addr)
				whole := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("handoff %d (listen on %s, POST to %s): %w", i, a.Addr, b.Addr, err)
					cancel()
				}
				if err == nil {
					f.PostToReceiver = append(f.PostToReceiver, post)
					f.Whole = append(f.Whole, whole)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	f.Wall = time.Since(start)
	if firstErr != nil {
		return f, firstErr
	}
	relay1, redis1, err := c.CPU()
	if err != nil {
		return f, err
	}
	f.RelayCPU, f.RedisCPU = relay1-relay0, redis1-redis0
	return f, nil
}
