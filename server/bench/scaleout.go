package bench

// The scale-out benchmark (cmd/redisbench, docs/benchmarks.md "Scale-out
// over Redis"): N scanin relay processes sharing one redis-server, against
// the in-memory relay, driven through the Relay API with every handoff
// crossing nodes (the receiver on node i, its sender on node i+1).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scanin/scanin/internal/rediscmd"
	"github.com/scanin/scanin/protocol"
)

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
		if _, err := RedisDo(ctx, addr, "PING"); err == nil {
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

// RedisDo sends one command to the Redis server at addr on a new
// connection and returns its reply as text: a simple string, an integer,
// a bulk string (nil as ""), or an array's elements joined by newlines. An
// error reply is an error. It gives up after 5 s.
func RedisDo(ctx context.Context, addr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return rediscmd.Do(ctx, addr, args...)
}

// redisInt is an integer reply, or a field of INFO's "name:value" lines.
func redisInt(ctx context.Context, addr, field string, args ...string) (int64, error) {
	s, err := RedisDo(ctx, addr, args...)
	if err != nil {
		return 0, err
	}
	if field != "" {
		v, ok := "", false
		for _, line := range strings.Split(s, "\n") {
			if v, ok = strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				break
			}
		}
		if !ok {
			return 0, fmt.Errorf("redis: no %s in %s", field, strings.Join(args, " "))
		}
		s = v
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
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

// Sizing is what n waiting receivers cost Redis.
type Sizing struct {
	Receivers int
	// Keys and Bytes are the growth of DBSIZE and of INFO memory's
	// used_memory while they wait.
	Keys, Bytes int64
	// SessionKey is MEMORY USAGE of one waiting session's key
	// (sessionKeyPrefix and its sid), -1 when there is no such key.
	SessionKey int64
}

// MeasureRedisSizing opens n receivers on c's nodes (round robin, 32 at a
// time), each waiting on a session of its own, and measures Redis's memory
// and keys before and while they wait. sessionKeyPrefix is what the relay
// puts before a sid in a session's key.
func MeasureRedisSizing(ctx context.Context, c *Cluster, n int, sessionKeyPrefix string) (Sizing, error) {
	if c.Redis == nil {
		return Sizing{}, errors.New("sizing needs a relay over Redis")
	}
	keys0, err := redisInt(ctx, c.Redis.Addr, "", "DBSIZE")
	if err != nil {
		return Sizing{}, err
	}
	mem0, err := redisInt(ctx, c.Redis.Addr, "used_memory", "INFO", "memory")
	if err != nil {
		return Sizing{}, err
	}
	type rcv struct {
		sid  string
		conn interface{ CloseNow() error }
	}
	rs := make([]rcv, n)
	defer func() {
		for _, r := range rs {
			if r.conn != nil {
				_ = r.conn.CloseNow()
			}
		}
	}()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				sid := protocol.NewSessionID()
				conn, err := apiListen(ctx, c.Nodes[i%len(c.Nodes)].Addr, sid)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					// Read, so that the relay's pings are answered.
					conn.CloseRead(ctx)
					rs[i] = rcv{sid: sid, conn: conn}
				}
				mu.Unlock()
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return Sizing{}, firstErr
	}
	keys1, err := redisInt(ctx, c.Redis.Addr, "", "DBSIZE")
	if err != nil {
		return Sizing{}, err
	}
	mem1, err := redisInt(ctx, c.Redis.Addr, "used_memory", "INFO", "memory")
	if err != nil {
		return Sizing{}, err
	}
	one, err := RedisDo(ctx, c.Redis.Addr, "MEMORY", "USAGE", sessionKeyPrefix+rs[0].sid)
	if err != nil {
		return Sizing{}, err
	}
	sz := Sizing{Receivers: n, Keys: keys1 - keys0, Bytes: mem1 - mem0, SessionKey: -1}
	if one != "" {
		if sz.SessionKey, err = strconv.ParseInt(one, 10, 64); err != nil {
			return Sizing{}, fmt.Errorf("MEMORY USAGE: %q", one)
		}
	}
	return sz, nil
}
