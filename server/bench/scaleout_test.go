package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStartRedis starts the benchmark's redis-server, talks to it, reads
// its CPU time and stops it.
func TestStartRedis(t *testing.T) {
	bin, err := RedisServerBinary()
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
	if err := RedisCommand(ctx, p.Addr, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := RedisCommand(ctx, p.Addr, "NOSUCHCOMMAND"); err == nil || !strings.Contains(err.Error(), "redis:") {
		t.Errorf("an unknown command: %v, want a redis error", err)
	}
	c := &Cluster{Redis: p}
	if _, _, err := c.CPU(); err != nil {
		t.Error(err)
	}
	c.Stop()
	stopped = true
	if err := RedisCommand(ctx, p.Addr, "PING"); err == nil {
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
