package edge

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/scanin/scanin/protocol"
)

// The per-client rate limits (docs/protocol.md 9), as Routed.Limit names
// them.
const (
	limitListen = "listen" // every listen, resumes and refused ones too
	limitSender = "sender" // every read, deliver and deny
)

// clientKey is what a client is counted by: its address, or its /64 for
// IPv6, as the self-hosted relay's rateLimiter.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr().String()
	}
	return a.String()
}

// Limit takes a token from one client's bucket for limit kind: a token
// bucket of perMinute tokens, full at first, refilled continuously, as the
// self-hosted relay's. stored is the bucket's bytes (none: a full bucket).
// It returns the bucket's new bytes, when the bucket will be full again
// (Unix ms: it may be forgotten then), and a 429 answer when there was no
// token.
func (rl *Relay) Limit(kind string, stored []byte, now time.Time) (bucket []byte, full int64, refused *Response) {
	perMinute := float64(protocol.SenderRequestsPerMinute)
	if kind == limitListen {
		perMinute = protocol.NewSessionsPerMinute
	}
	tokens, last := perMinute, now
	if len(stored) == 16 {
		tokens = math.Float64frombits(binary.BigEndian.Uint64(stored))
		last = time.UnixMilli(int64(binary.BigEndian.Uint64(stored[8:])))
	}
	if d := now.Sub(last); d > 0 {
		tokens = min(perMinute, tokens+d.Minutes()*perMinute)
		last = now
	}
	if tokens >= 1 {
		tokens--
	} else {
		perToken := time.Minute / time.Duration(perMinute)
		wait := time.Duration((1 - tokens) * float64(perToken))
		secs := max(1, int64((wait+time.Second-1)/time.Second))
		refused = errorResponse(protocol.CodeRateLimited,
			"too many requests from this address; retry after "+strconv.FormatInt(secs, 10)+" s", kind == limitSender)
		refused.Headers = append(refused.Headers, [2]string{"Retry-After", strconv.FormatInt(secs, 10)})
	}
	bucket = binary.BigEndian.AppendUint64(nil, math.Float64bits(tokens))
	bucket = binary.BigEndian.AppendUint64(bucket, uint64(last.UnixMilli()))
	full = last.Add(time.Duration((perMinute - tokens) / perMinute * float64(time.Minute))).UnixMilli()
	return bucket, full, refused
}
