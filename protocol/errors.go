package protocol

import "strconv"

// Code is one of the relay's error codes, as written in an error body's
// "error" field and in a WebSocket close reason.
type Code string

// The relay's error codes (docs/protocol.md, "Relay API").
const (
	CodeBadRequest   Code = "bad_request"
	CodeOriginDenied Code = "origin_denied"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeAlreadyUsed  Code = "already_used"
	CodeExpired      Code = "expired"
	CodeTooLarge     Code = "too_large"
	CodeRejected     Code = "rejected"
	CodeRateLimited  Code = "rate_limited"
	CodeUnavailable  Code = "unavailable"
)

// Codes lists every error code, for tables and tests.
var Codes = [...]Code{
	CodeBadRequest, CodeOriginDenied, CodeNotFound, CodeConflict, CodeAlreadyUsed,
	CodeExpired, CodeTooLarge, CodeRejected, CodeRateLimited, CodeUnavailable,
}

// HTTPStatus is the status the relay answers with for the code, or 0 for a
// code the protocol does not define.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeBadRequest:
		return 400
	case CodeOriginDenied:
		return 403
	case CodeNotFound:
		return 404
	case CodeConflict:
		return 409
	case CodeAlreadyUsed, CodeExpired:
		return 410
	case CodeTooLarge:
		return 413
	case CodeRejected:
		return 422
	case CodeRateLimited:
		return 429
	case CodeUnavailable:
		return 503
	}
	return 0
}

// CloseCode is the WebSocket close code for an error after the upgrade:
// 4000 plus the HTTP status.
func (c Code) CloseCode() int { return 4000 + c.HTTPStatus() }

// Known reports whether c is one of the protocol's codes.
func (c Code) Known() bool { return c.HTTPStatus() != 0 }

// Error is the relay's error body, {"error": CODE, "message": "..."}, plus
// "retry_after" (milliseconds) on a conflict caused by a delivery in flight.
// It is also the error the Go clients return for a relay's refusal.
type Error struct {
	Code         Code
	Message      string
	RetryAfterMS int64
}

// Error returns the code, and the message when there is one.
func (e *Error) Error() string {
	if e.Message == "" {
		return "relay: " + string(e.Code)
	}
	return "relay: " + string(e.Code) + ": " + e.Message
}

// Is makes errors.Is(err, &Error{Code: c}) match any relay error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// MarshalJSON writes the wire form of the error body.
func (e *Error) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// AppendJSON appends the wire form of the error body to dst.
func (e *Error) AppendJSON(dst []byte) []byte {
	w := newJSONObject(dst)
	w.str("error", string(e.Code))
	w.str("message", e.Message)
	if e.RetryAfterMS > 0 {
		w.int("retry_after", e.RetryAfterMS)
	}
	return w.close()
}

// ParseError reads a relay error body. A body that is not one yields an
// Error whose code is empty.
func ParseError(body []byte) *Error {
	v, err := parseJSON(body)
	if err != nil || v.kind != jsonObject {
		return &Error{Message: "unreadable error body"}
	}
	e := &Error{}
	if f, ok := v.field("error"); ok && f.kind == jsonString {
		e.Code = Code(f.text)
	}
	if f, ok := v.field("message"); ok && f.kind == jsonString {
		e.Message = f.text
	}
	if f, ok := v.field("retry_after"); ok {
		e.RetryAfterMS, _ = f.int64()
	}
	return e
}

// ErrorFromClose maps a WebSocket close (code and reason) from the relay to
// an Error, when the code is one of the protocol's 4000+status codes.
func ErrorFromClose(closeCode int, reason string) (*Error, bool) {
	if closeCode < 4000 || closeCode > 4999 {
		return nil, false
	}
	c := Code(reason)
	if !c.Known() || c.CloseCode() != closeCode {
		// An unknown reason still tells the status; keep it readable.
		return &Error{Code: c, Message: "closed with " + strconv.Itoa(closeCode)}, true
	}
	return &Error{Code: c}, true
}
