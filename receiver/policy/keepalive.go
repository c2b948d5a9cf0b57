package policy

import (
	"strconv"
	"time"
)

// PingAfter is how long a receiver lets its connection to the relay stay
// silent before it sends {"type":"ping"} (protocol.PingJSON;
// docs/protocol.md 6.4). Every relay answers {"type":"pong"} at once. A
// relay that cannot send WebSocket pings itself (an edge relay's Durable
// Object) relies on these pings to keep the connection alive, and a
// browser cannot see the WebSocket pings of a relay that can, so the
// widget pings after every PingAfter of silence.
const PingAfter = 25 * time.Second

// Beat is what Keepalive tells a receiver to do about a quiet connection.
type Beat uint8

// The beats. The zero Beat is none of them.
const (
	// Wait: nothing to do yet; ask Keepalive again at the time it gave.
	Wait Beat = iota + 1
	// Ping: send {"type":"ping"} now, note the time as the ping's, and ask
	// again at the time Keepalive gave.
	Ping
	// Dead: the relay has not answered a ping within another interval, and
	// nothing else came either: the connection is dead without either side
	// having seen it close (a NAT or proxy that dropped it, a relay that
	// hung). Drop it and resume as for Retry, with Backoff.
	Dead
)

// String names the beat, for logs and test failures.
func (b Beat) String() string {
	switch b {
	case Wait:
		return "wait"
	case Ping:
		return "ping"
	case Dead:
		return "dead"
	}
	return "beat(" + strconv.Itoa(int(b)) + ")"
}

// Keepalive decides, at now, for a connection on which the relay's last
// frame arrived at heard (or which opened then), and on which the receiver
// last sent a ping at pinged (the zero time, or any time not after heard,
// when no ping is waiting for its answer). interval is PingAfter, or a
// shorter one in tests; 0 or less means PingAfter.
//
// The connection may be silent for interval; then the receiver pings. The
// relay answers at once, so a ping that nothing at all follows within
// another interval means the connection is dead. This is the relay's own
// rule for its WebSocket pings, the other way round. Any frame from the
// relay counts, not only the pong: it proves the connection as well.
//
// It returns what to do now and when to ask next (the zero time after
// Dead).
func Keepalive(heard, pinged time.Time, interval time.Duration, now time.Time) (Beat, time.Time) {
	if interval <= 0 {
		interval = PingAfter
	}
	if !pinged.After(heard) {
		due := heard.Add(interval)
		if now.Before(due) {
			return Wait, due
		}
		return Ping, now.Add(interval)
	}
	dead := pinged.Add(interval)
	if now.Before(dead) {
		return Wait, dead
	}
	return Dead, time.Time{}
}
