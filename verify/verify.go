package verify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
)

// Config is what a Verifier checks assertions against.
type Config struct {
	// Origin is the site's own origin ("https://shop.example"), which
	// every assertion's aud must equal: the page the widget is on.
	Origin string
	// App is the site's app id on the relay, which every assertion's app
	// must equal.
	App string
	// Devices holds the registered devices; nil means a new MemoryDevices.
	Devices DeviceStore
	// Replay holds the accepted jti values; nil means a new MemoryReplay
	// on the same clock.
	Replay ReplayStore
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Verifier checks assertions for one origin and app. It is safe for
// concurrent use when its stores are.
type Verifier struct {
	cfg Config
}

// New checks cfg and returns its Verifier.
func New(cfg Config) (*Verifier, error) {
	if err := checkOrigin(cfg.Origin); err != nil {
		return nil, fmt.Errorf("failed to make a verifier: %w", err)
	}
	if err := protocol.CheckAppID(cfg.App); err != nil {
		return nil, fmt.Errorf("failed to make a verifier: app id %q: %w", cfg.App, err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Devices == nil {
		cfg.Devices = NewMemoryDevices()
	}
	if cfg.Replay == nil {
		cfg.Replay = NewMemoryReplay(cfg.Now)
	}
	return &Verifier{cfg: cfg}, nil
}

// checkOrigin accepts an origin only in the normalised form a relay hands
// the phone as requester.origin (protocol.NormalizeOrigin: lower case, no
// default port, no path), because aud is compared byte for byte: a
// verifier set to "https://shop.example:443" would refuse every assertion.
func checkOrigin(origin string) error {
	n, err := protocol.NormalizeOrigin(origin)
	if err != nil {
		return fmt.Errorf("origin %q: want scheme://host[:port], like https://shop.example: %w", origin, err)
	}
	if n != origin {
		return fmt.Errorf("origin %q: write it as %q, the form browsers send and assertions carry", origin, n)
	}
	return nil
}

// Devices returns the verifier's device store.
func (v *Verifier) Devices() DeviceStore { return v.cfg.Devices }

// Origin returns the origin the verifier accepts as aud.
func (v *Verifier) Origin() string { return v.cfg.Origin }

// Now returns the verifier's clock's time.
func (v *Verifier) Now() time.Time { return v.cfg.Now() }

// Options are what a single verification depends on.
type Options struct {
	// SessionID is the session id the page reported with the assertion
	// (scanin:result's sid). When set, the assertion's sid must equal it;
	// a site should always pass it.
	SessionID string
}

// Result is an accepted assertion.
type Result struct {
	// Claims are the assertion's claims: Subject is the user to sign in.
	Claims assertion.Claims
	// Device is the device that signed it.
	Device Device
}

// Verify checks an assertion (the data of a scanin:result of kind
// "assertion") and returns its claims and device. A refusal is an *Error
// with a Code; the checks and their order are in the package
// documentation. An accepted assertion's jti is remembered: verifying the
// same assertion again is refused as CodeReplayed.
func (v *Verifier) Verify(ctx context.Context, compact string, opts Options) (*Result, error) {
	t, err := assertion.Parse(compact)
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Message: err.Error(), err: err}
	}
	h, c := t.Header, t.Claims
	// exp before iat is no lifetime at all; Parse only checks types.
	if c.ExpiresAt < c.IssuedAt {
		return nil, refuse(CodeMalformed, "exp is before iat")
	}
	if h.Alg != assertion.Algorithm {
		return nil, refuse(CodeBadAlg, fmt.Sprintf("alg is %q, only %q is accepted", h.Alg, assertion.Algorithm))
	}
	if h.Typ != assertion.Type {
		return nil, refuse(CodeBadTyp, fmt.Sprintf("typ is %q, want %q", h.Typ, assertion.Type))
	}
	if assertion.CheckDeviceID(h.Kid) != nil {
		return nil, refuse(CodeUnknownDevice, fmt.Sprintf("kid %q is not a device id", h.Kid))
	}
	d, err := v.cfg.Devices.Lookup(ctx, h.Kid)
	switch {
	case errors.Is(err, ErrNoDevice):
		return nil, refuse(CodeUnknownDevice, fmt.Sprintf("no device %q is registered", h.Kid))
	case err != nil:
		return nil, fmt.Errorf("failed to look up device %q: %w", h.Kid, err)
	case d.Revoked:
		return nil, refuse(CodeRevoked, fmt.Sprintf("device %q was revoked", h.Kid))
	}
	if !assertion.VerifySignature(d.PublicKey, t.SigningInput, t.Signature) {
		msg := "the signature does not verify with the device's key"
		if len(t.Signature) != assertion.SignatureSize {
			msg = fmt.Sprintf("the signature is %d bytes, want the 64-byte R||S of ES256 (not DER)", len(t.Signature))
		}
		return nil, refuse(CodeBadSignature, msg)
	}
	switch {
	case c.Issuer != h.Kid:
		return nil, refuse(CodeBadIssuer, fmt.Sprintf("iss %q differs from kid %q", c.Issuer, h.Kid))
	case d.User != "" && c.Subject != d.User:
		return nil, refuse(CodeBadSubject, fmt.Sprintf("sub %q is not the user who registered device %q", c.Subject, h.Kid))
	case c.Audience != v.cfg.Origin:
		return nil, refuse(CodeBadAudience, fmt.Sprintf("aud %q is not this site's origin %q", c.Audience, v.cfg.Origin))
	case c.App != v.cfg.App:
		return nil, refuse(CodeBadApp, fmt.Sprintf("app %q is not this site's app %q", c.App, v.cfg.App))
	case opts.SessionID != "" && c.SessionID != opts.SessionID:
		return nil, refuse(CodeBadSID, fmt.Sprintf("sid %q is not the session id the page reported, %q", c.SessionID, opts.SessionID))
	}
	now := v.cfg.Now().Unix()
	switch {
	case now >= c.ExpiresAt:
		return nil, refuse(CodeExpired, "exp "+strconv.FormatInt(c.ExpiresAt, 10)+" is "+strconv.FormatInt(now-c.ExpiresAt, 10)+" s past")
	case c.IssuedAt > now+assertion.MaxFutureSkew:
		return nil, refuse(CodeNotYetValid, fmt.Sprintf("iat is %d s ahead of this clock, more than %d", c.IssuedAt-now, assertion.MaxFutureSkew))
	case c.ExpiresAt-c.IssuedAt > assertion.MaxLifetime:
		return nil, refuse(CodeTooLong, fmt.Sprintf("exp - iat is %d s, more than %d", c.ExpiresAt-c.IssuedAt, assertion.MaxLifetime))
	}
	fresh, err := v.cfg.Replay.Remember(ctx, c.ID, time.Unix(c.ExpiresAt, 0))
	switch {
	case err != nil:
		return nil, fmt.Errorf("failed to record jti: %w", err)
	case !fresh:
		return nil, refuse(CodeReplayed, fmt.Sprintf("jti %q was accepted before", c.ID))
	}
	return &Result{Claims: c, Device: d}, nil
}
