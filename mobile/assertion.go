package mobile

import (
	"encoding/json"
	"time"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
)

// NewDeviceID returns a fresh device id (16 random bytes, base64url): make
// one with the device key, and keep both.
func NewDeviceID() string { return assertion.NewDeviceID() }

// NewRegistration returns the registration object the app sends its own
// backend, while its user is signed in there, to register this device:
//
//	{"device_id":"...","public_key":{"kty":"EC","crv":"P-256","x":"...","y":"..."},
//	 "name":"Pixel 9","type":"android"}
//
// deviceID is 1 to 64 characters of [A-Za-z0-9_-] (NewDeviceID makes one).
// The error is a ScanError with CodeBadRequest.
func NewRegistration(signer Signer, deviceID, deviceName, deviceType string) (string, error) {
	pub, err := signerKey(signer)
	if err != nil {
		return "", &ScanError{Code: CodeBadRequest, Message: err.Error(), err: err}
	}
	reg, err := assertion.NewRegistration(deviceID, pub, deviceName, deviceType)
	if err != nil {
		return "", &ScanError{Code: CodeBadRequest, Message: "failed to make the registration: " + err.Error(), err: err}
	}
	b, err := json.Marshal(reg)
	if err != nil {
		return "", &ScanError{Code: CodeUnexpected, Message: "failed to encode the registration: " + err.Error(), err: err}
	}
	return string(b), nil
}

// AcceptsAssertion reports whether the session can receive an assertion:
// only a receiver with a page origin can (a browser widget); a terminal or
// native receiver has no origin to be the assertion's audience.
func (s *Session) AcceptsAssertion() bool { return s.inspected() && s.Origin() != "" }

// ApproveAssertion signs an assertion that user (the user's id at the app,
// as its backend knows it) signs the browser in with this device, seals
// it to the browser's key and delivers it, as Approve does for a token.
//
// The assertion (docs/protocol.md, "Assertions") is a JWS signed with
// signer: kid and iss are deviceID, which the app registered with its
// backend (NewRegistration); aud is the requesting page's origin; app and
// sid are the scanned code's; pkh binds it to the code's key; it expires
// 60 s after it was made and has a fresh jti. deviceName and deviceType
// are told to the browser, as in Approve.
//
// A session without a page origin (a terminal receiver) is refused with
// CodeBadRequest, and so is a signer whose signature does not verify
// with its own public key. Calling ApproveAssertion again with the same
// arguments resends the same sealed bytes.
func (s *Session) ApproveAssertion(signer Signer, deviceID, user, deviceName, deviceType string) *Outcome {
	if !s.inspected() {
		return notInspected()
	}
	if s.Origin() == "" {
		return &Outcome{Code: CodeBadRequest, Message: "this session has no page origin (a terminal or native receiver): an assertion needs a website to be addressed to, so it can only go to a browser"}
	}
	if err := assertion.CheckDeviceID(deviceID); err != nil {
		return &Outcome{Code: CodeBadRequest, Message: "deviceID: " + err.Error()}
	}
	if user == "" {
		return &Outcome{Code: CodeBadRequest, Message: "no user: an assertion names the user it signs in"}
	}
	// What the caller asked for, compared on a retry; the signature and
	// jti are made once.
	request := deviceID + "\x00" + user
	return s.deliver(string(protocol.KindAssertion), request, deviceName, deviceType, func() (string, *Outcome) {
		return s.signAssertion(signer, deviceID, user)
	})
}

func (s *Session) signAssertion(signer Signer, deviceID, user string) (string, *Outcome) {
	pub, err := signerKey(signer)
	if err != nil {
		return "", &Outcome{Code: CodeBadRequest, Message: err.Error()}
	}
	now := time.Now().Unix()
	claims := assertion.Claims{
		Issuer:    deviceID,
		Subject:   user,
		Audience:  s.info.Requester.Origin,
		App:       s.link.App,
		SessionID: s.link.SessionID,
		KeyHash:   assertion.KeyHash(s.link.PublicKey),
		IssuedAt:  now,
		ExpiresAt: now + assertion.Lifetime,
		ID:        assertion.NewID(),
	}
	jws, err := assertion.Sign(claims, pub, signer.Sign)
	if err != nil {
		return "", &Outcome{Code: CodeBadRequest, Message: err.Error()}
	}
	return jws, nil
}
