package mobile

import (
	"errors"

	"github.com/scanin/scanin/protocol"
)

// Outcome and error codes: one vocabulary for Outcome.Code and ErrorCode,
// so a Kotlin or Swift UI can switch on a string. They are the protocol's
// own names (a state the relay answers with, or a relay error code), so a
// code means the same here as on the wire; only the last three are the
// SDK's own, for what never reaches the relay. They stay untyped string
// constants, which gomobile binds.
const (
	// CodeDelivered: the browser opened the payload and acknowledged it.
	CodeDelivered = string(protocol.StateDelivered)
	// CodePending: the browser has not acknowledged the payload within the
	// relay's wait, and the relay holds it: a browser in verify mode waits
	// for its user to check the number (show Outcome.CheckCode: "Waiting
	// for the browser: check that it shows 42"); one that went offline gets
	// it when it reconnects, before the session expires.
	CodePending = string(protocol.StatePending)
	// CodeDenied: the session is ended; the browser was told "denied".
	CodeDenied = string(protocol.StateDenied)
	// CodeExpired: the session's time ran out. Scan a fresh code.
	CodeExpired = string(protocol.CodeExpired)
	// CodeAlreadyUsed: the session was delivered or denied already.
	CodeAlreadyUsed = string(protocol.CodeAlreadyUsed)
	// CodeNotFound: the relay knows no such session (or no such app).
	CodeNotFound = string(protocol.CodeNotFound)
	// CodeRejected: the browser could not open the payload (a wrong key,
	// or the phone's clock is far off). The session stays open.
	CodeRejected = string(protocol.CodeRejected)
	// CodeRateLimited: too many requests from this network; see
	// RetryAfterSeconds.
	CodeRateLimited = string(protocol.CodeRateLimited)
	// CodeTooLarge: the payload does not fit in a sealed message.
	CodeTooLarge = string(protocol.CodeTooLarge)
	// CodeBadRequest: the relay or the SDK refused the request's shape (an
	// unknown kind, for example).
	CodeBadRequest = string(protocol.CodeBadRequest)
	// CodeUnavailable: the relay is at capacity or shutting down.
	CodeUnavailable = string(protocol.CodeUnavailable)
	// CodeConflict: another delivery to this session is in flight; see
	// RetryAfterSeconds.
	CodeConflict = string(protocol.CodeConflict)
	// CodeOriginDenied: the relay refused the request's origin. A phone
	// sends none, so only a misconfigured relay or proxy answers this.
	CodeOriginDenied = string(protocol.CodeOriginDenied)
	// CodeNetworkError: the relay could not be reached or did not answer.
	// Retrying Approve is safe.
	CodeNetworkError = "network_error"
	// CodeCancelled: Client.Close was called.
	CodeCancelled = "cancelled"
	// CodeUnexpected: the relay answered something the protocol does not
	// define.
	CodeUnexpected = "unexpected"
)

// Codes for a scanned link that breaks a rule of docs/protocol.md, one per rule:
// protocol.LinkRule's names, which all start with "link_".
const (
	// CodeLinkMalformed: not a scanin link at all (no fragment, bad escapes).
	CodeLinkMalformed = string(protocol.LinkMalformed)
	// CodeLinkVersion: a protocol version this SDK does not speak.
	CodeLinkVersion = string(protocol.LinkVersion)
	// CodeLinkMissing: a required parameter is missing (see ScanError.Param).
	CodeLinkMissing = string(protocol.LinkMissing)
	// CodeLinkRepeated: a parameter appears twice.
	CodeLinkRepeated = string(protocol.LinkRepeated)
	// CodeLinkSessionID: the session id is not 16 bytes of base64url.
	CodeLinkSessionID = string(protocol.LinkSessionID)
	// CodeLinkKey: the public key is not 32 bytes of base64url.
	CodeLinkKey = string(protocol.LinkKey)
	// CodeLinkApp: the app id is malformed.
	CodeLinkApp = string(protocol.LinkApp)
	// CodeLinkInsecureRelay: the relay is plain http to a host other than
	// this machine.
	CodeLinkInsecureRelay = string(protocol.LinkInsecureRelay)
	// CodeLinkRelay: the relay URL is malformed.
	CodeLinkRelay = string(protocol.LinkRelay)
	// CodeLinkWrongApp: the link is for an app this app is not built for.
	CodeLinkWrongApp = string(protocol.LinkWrongApp)
)

// ScanError is why a link could not be inspected: a link that breaks a
// rule, or a relay that refused or could not be reached. Every error the
// Client and Session return is one; ErrorCode reads its Code through a
// binding, where the error arrives as an Exception or NSError.
type ScanError struct {
	// Code is one of the Code* constants.
	Code string
	// Message is a sentence for logs and developers; show the person a
	// text chosen by Code instead.
	Message string
	// Param is the link parameter at fault ("v", "a", "s", "k", "r") for
	// the CodeLink* codes, or empty.
	Param string
	// RetryAfterSeconds is how long to wait before trying again, for
	// CodeRateLimited and CodeConflict; 0 otherwise.
	RetryAfterSeconds int

	err error
}

// Error returns "CODE: message", the text an Exception or NSError carries.
// It names no product: the app or tool that shows it says who speaks.
func (e *ScanError) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying error, such as a protocol.ErrLink* rule or
// the network error, for errors.Is in Go.
func (e *ScanError) Unwrap() error { return e.err }

// IsLinkError reports whether the link itself was refused, before any
// request: the person scanned something that is not a valid code for this
// app, and scanning on makes sense.
func (e *ScanError) IsLinkError() bool {
	for _, r := range protocol.LinkRules {
		if e.Code == string(r) {
			return true
		}
	}
	return false
}

// ErrorCode returns the Code of an error the SDK returned, "" for nil, and
// CodeUnexpected for any other error. Through a binding, pass the
// Exception or NSError the call threw back in.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var se *ScanError
	if errors.As(err, &se) {
		return se.Code
	}
	return CodeUnexpected
}

// ErrorRetryAfterSeconds returns how long to wait before retrying after an
// error the SDK returned (rate limited, conflict), or 0.
func ErrorRetryAfterSeconds(err error) int {
	var se *ScanError
	if errors.As(err, &se) {
		return se.RetryAfterSeconds
	}
	return 0
}

// linkError turns a protocol link rejection into a ScanError.
func linkError(err error) *ScanError {
	se := &ScanError{Code: string(protocol.LinkRuleFor(err)), Message: err.Error(), err: err}
	var le *protocol.LinkError
	if errors.As(err, &le) {
		se.Param = le.Param
	}
	return se
}

// Outcome is the answer to Approve or Deny.
type Outcome struct {
	// Code is one of the Code* constants.
	Code string
	// Message is a sentence for logs and developers.
	Message string
	// RetryAfterSeconds is how long to wait before trying again, for
	// CodeRateLimited and CodeConflict; 0 otherwise.
	RetryAfterSeconds int
	// CheckCode is the two-digit code the browser can show in verify mode,
	// once the payload is sealed; empty otherwise.
	CheckCode string
}

// OK reports whether the relay did what was asked: delivered or pending
// after Approve, denied after Deny.
func (o *Outcome) OK() bool {
	return o.Code == CodeDelivered || o.Code == CodePending || o.Code == CodeDenied
}

// Retryable reports whether trying the same call again later can succeed:
// network errors, rate limits, conflicts, an unavailable relay.
func (o *Outcome) Retryable() bool {
	switch o.Code {
	case CodeNetworkError, CodeRateLimited, CodeConflict, CodeUnavailable:
		return true
	}
	return false
}

// outcomeOf turns a failed request into an Outcome.
func outcomeOf(err *ScanError) *Outcome {
	return &Outcome{Code: err.Code, Message: err.Message, RetryAfterSeconds: err.RetryAfterSeconds}
}
