package edge

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/scanin/scanin/server/rules"
)

// The per-client rate limits (docs/protocol.md 9), as Routed.Limit names
// them.
const (
	limitListen = "listen" // every listen, resumes and refused ones too
	limitSender = "sender" // every read, deliver and deny
)

// Limit takes a token from one client's bucket for limit kind, a
// rules.Bucket. stored is the bucket's bytes (none: a full bucket): its
// tokens as float64 bits and its time as Unix ms, big-endian. It returns
// the bucket's new bytes, when the bucket will be full again (Unix ms: it
// may be forgotten then), and a 429 answer when there was no token.
func (rl *Relay) Limit(kind string, stored []byte, now time.Time) (bucket []byte, full int64, refused *Response) {
	perMinute := rl.senderRequestsPerMinute
	if kind == limitListen {
		perMinute = rl.listensPerMinute
	}
	b := rules.FullBucket(perMinute, now)
	if len(stored) == 16 {
		b.Tokens = math.Float64frombits(binary.BigEndian.Uint64(stored))
		b.Last = time.UnixMilli(int64(binary.BigEndian.Uint64(stored[8:])))
	}
	if ok, wait := b.Take(perMinute, now); !ok {
		err, secs := rules.RateLimited(wait)
		refused = errResponse(err, kind == limitSender)
		refused.Headers = append(refused.Headers, [2]string{"Retry-After", strconv.FormatInt(secs, 10)})
	}
	bucket = binary.BigEndian.AppendUint64(nil, math.Float64bits(b.Tokens))
	bucket = binary.BigEndian.AppendUint64(bucket, uint64(b.Last.UnixMilli()))
	return bucket, b.FullAt(perMinute).UnixMilli(), refused
}
