package rules

import (
	"strconv"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// MinSealedSize is the shortest body a POST may carry: a sealed message is
// at least the 32-byte enc and the 16-byte AEAD tag.
const MinSealedSize = protocol.EncSize + protocol.TagSize

// CheckSessionID checks the {sid} of a request's path: bad_request unless
// it is a session id.
func CheckSessionID(sid string) *protocol.Error {
	if err := protocol.CheckSessionID(sid); err != nil {
		return newError(protocol.CodeBadRequest, "bad sid: "+err.Error())
	}
	return nil
}

// NoSession is the error for a sid the relay does not hold: it never
// existed, or ended long enough ago to be forgotten.
func NoSession() *protocol.Error {
	return newError(protocol.CodeNotFound, "no such session")
}

// CheckContentLength refuses a POST whose announced length n is over max
// bytes, before a byte of the body is read. n < 0 means not announced.
func CheckContentLength(n int64, max int) *protocol.Error {
	if n > int64(max) {
		return TooLarge(max)
	}
	return nil
}

// CheckBody checks a POST's body, once read: at most max bytes
// (too_large), and at least MinSealedSize (bad_request: it cannot be a
// sealed message). The relay does not look inside it.
func CheckBody(body []byte, max int) *protocol.Error {
	if len(body) > max {
		return TooLarge(max)
	}
	if len(body) < MinSealedSize {
		return newError(protocol.CodeBadRequest, "the body is not a sealed message: "+strconv.Itoa(len(body))+
			" bytes, at least "+strconv.Itoa(MinSealedSize)+" expected")
	}
	return nil
}

// TooLarge is the error for a body over max bytes, for a transport that
// finds out while reading it.
func TooLarge(max int) *protocol.Error {
	return newError(protocol.CodeTooLarge, "the body is over "+strconv.Itoa(max)+" bytes")
}

// RateLimited is the answer to a client over its rate limit that may try
// again after wait: the error, and the Retry-After header's whole seconds
// (rounded up, at least 1).
func RateLimited(wait time.Duration) (*protocol.Error, int64) {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return newError(protocol.CodeRateLimited, "too many requests from this address; retry after "+
		strconv.FormatInt(secs, 10)+" s"), secs
}

// Answer is an HTTP answer: a status and a JSON body. It is sent with
// Content-Type: application/json and Cache-Control: no-store.
type Answer struct {
	Status int
	Body   []byte
}

// ErrorAnswer is the answer for a protocol error: the code's status and
// the error body.
func ErrorAnswer(e *protocol.Error) Answer {
	return Answer{Status: e.Code.HTTPStatus(), Body: e.AppendJSON(nil)}
}

// ReplyAnswer is a sender's answer for a session's Reply: the error, or
// {"state":...} with 202 for pending and 200 otherwise. A Reply with Wait
// is not an answer yet; when the transport stops waiting for it without a
// settled Reply, ReplyAnswer of the Wait reply is the answer it gives then:
// 202 pending, the message stays held.
func ReplyAnswer(rep session.Reply) Answer {
	switch {
	case rep.Err != nil:
		return ErrorAnswer(rep.Err)
	case rep.Wait || rep.State == protocol.StatePending:
		return stateAnswer(202, protocol.StatePending)
	default:
		return stateAnswer(200, rep.State)
	}
}

func stateAnswer(status int, state protocol.State) Answer {
	return Answer{Status: status, Body: []byte(`{"state":"` + string(state) + `"}`)}
}
