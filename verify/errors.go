package verify

import "errors"

// Code is why an assertion was refused. The values are stable: a site's
// page, logs and alerts can switch on them.
type Code string

// The refusal codes, in the order Verify checks them.
const (
	// CodeMalformed: not three base64url parts of JSON objects of the
	// assertion's shape.
	CodeMalformed Code = "malformed"
	// CodeBadAlg: the header's alg is not exactly ES256.
	CodeBadAlg Code = "bad_alg"
	// CodeBadTyp: the header's typ is not exactly scanin-assertion+jwt.
	CodeBadTyp Code = "bad_typ"
	// CodeUnknownDevice: kid names no registered device.
	CodeUnknownDevice Code = "unknown_device"
	// CodeRevoked: kid names a device that was revoked.
	CodeRevoked Code = "revoked"
	// CodeBadSignature: the signature is not a valid ES256 R||S signature
	// by the device's key.
	CodeBadSignature Code = "bad_signature"
	// CodeBadIssuer: iss differs from kid.
	CodeBadIssuer Code = "bad_issuer"
	// CodeBadSubject: sub is not the user the device was registered by
	// (only when the DeviceStore recorded one).
	CodeBadSubject Code = "bad_subject"
	// CodeBadAudience: aud is not the verifier's origin.
	CodeBadAudience Code = "bad_audience"
	// CodeBadApp: app is not the verifier's app id.
	CodeBadApp Code = "bad_app"
	// CodeBadSID: sid is not the session id the page reported.
	CodeBadSID Code = "bad_sid"
	// CodeExpired: exp is not in the future.
	CodeExpired Code = "expired"
	// CodeNotYetValid: iat is more than 60 s ahead of the verifier's clock.
	CodeNotYetValid Code = "not_yet_valid"
	// CodeTooLong: exp - iat is over 120 s.
	CodeTooLong Code = "too_long"
	// CodeReplayed: the jti was accepted before.
	CodeReplayed Code = "replayed"
)

// Error is a refused assertion: a Code and a sentence for logs.
type Error struct {
	// Code is why, one of the Code* constants.
	Code Code
	// Message says what exactly, for logs and developers.
	Message string

	err error
}

// Error returns "CODE: message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the underlying error (assertion.ErrMalformed for
// CodeMalformed), or nil.
func (e *Error) Unwrap() error { return e.err }

// CodeOf returns the Code of a refusal Verify returned, "" for nil and for
// an error that is not a refusal (a failing store).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func refuse(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }
