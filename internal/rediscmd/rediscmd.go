// Package rediscmd sends single raw commands to a Redis server, without a
// client library, and finds the redis-server binary. It is for tests' and
// benchmarks' own checks (PING, FLUSHALL, DBSIZE, INFO memory, MEMORY
// USAGE key) and is what internal/redistest and server/bench share.
package rediscmd

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
)

// InstallHint is the command that installs redis-server on Debian.
const InstallHint = "apt-get install redis-server"

// ServerBinary returns the path of redis-server: the one on PATH, else
// Debian's /usr/bin/redis-server. It returns an error naming InstallHint
// when there is none.
func ServerBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/redis-server"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", fmt.Errorf("redis-server is not installed (neither on PATH nor %s): %s", debian, InstallHint)
}

// Do sends one command to the Redis server at addr (host:port) on a new
// connection and returns its reply as text: a simple string, a bulk string
// (nil as ""), an integer in decimal, or an array's elements joined by
// newlines. A Redis error reply is returned as an error. ctx bounds the
// whole exchange.
func Do(ctx context.Context, addr string, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("rediscmd: Do needs a command")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("failed to connect to redis-server at %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection when ctx ends, so a read blocked on a server
	// that does not answer returns.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", fmt.Errorf("failed to send %s to %s: %w", args[0], addr, err)
	}
	reply, err := readReply(bufio.NewReader(conn))
	if err != nil {
		return "", fmt.Errorf("%s on %s: %w", args[0], addr, err)
	}
	return reply, nil
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("failed to read the reply: %w", err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+', ':':
		return body, nil
	case '-':
		return "", fmt.Errorf("redis error: %s", body)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", body)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("failed to read a %d-byte bulk reply: %w", n, err)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return "", fmt.Errorf("bad array length %q", body)
		}
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	default:
		return "", fmt.Errorf("unexpected reply %q", line)
	}
}
