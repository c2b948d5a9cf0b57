package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/rediscmd"
)

// TestStartRedis starts the benchmark's redis-server, talks to it, reads
// its CPU time and stops it.
func TestStartRedis(t *testing.T) {
	bin, err := rediscmd.ServerBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := StartRedis(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	if r, err := RedisDo(ctx, p.Addr, "SET", "k", "v"); err != nil || r != "OK" {
		t.Fatalf("SET: %q %v", r, err)
	}
	if r, err := RedisDo(ctx, p.Addr, "GET", "k"); err != nil || r != "v" {
		t.Fatalf("GET: %q %v", r, err)
	}
	if n, err := redisInt(ctx, p.Addr, "", "DBSIZE"); err != nil || n != 1 {
		t.Fatalf("DBSIZE: %d %v", n, err)
	}
	if n, err := redisInt(ctx, p.Addr, "used_memory", "INFO", "memory"); err != nil || n <= 0 {
		t.Fatalf("used_memory: %d %v", n, err)
	}
	if _, err := RedisDo(ctx, p.Addr, "NOSUCHCOMMAND"); err == nil || !strings.Contains(err.Error(), "redis error") {
		t.Errorf("an unknown command: %v, want a redis error", err)
	}
	c := &Cluster{Redis: p}
	if _, _, err := c.CPU(); err != nil {
		t.Error(err)
	}
	c.Stop()
	stopped = true
	if _, err := RedisDo(ctx, p.Addr, "PING"); err == nil {
		t.Error("redis-server answers after Stop")
	}
}

// TestStartClusterInMemoryIsOneNode: in-memory nodes share nothing, so a
// cluster of them is refused.
func TestStartClusterInMemoryIsOneNode(t *testing.T) {
	if _, err := StartCluster(context.Background(), Scanin{Bin: "/nonexistent"}, "", t.TempDir(), 2); err == nil {
		t.Fatal("2 in-memory nodes: no error")
	}
}
