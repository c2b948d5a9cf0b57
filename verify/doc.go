// Package verify checks scanin assertions on an integrator's backend: the
// server-side mode of docs/server-side.md, where a site mints its own
// session per browser and can revoke one phone without touching the
// others.
//
// A phone app registers its device (an ECDSA P-256 key made once) with the
// site while the user is signed in there; DeviceStore keeps the
// registrations. When the user scans the site's code, the phone signs an
// assertion (package assertion) and delivers it through the relay; the
// site's page posts it, with the session id the widget reports, to the
// site's backend, which calls Verifier.Verify and, when it passes, starts a
// session of its own (ExchangeHandler does all of this).
//
// # Checks and their order
//
// Verify checks everything docs/protocol.md lists, in this order, and
// returns an *Error whose Code names the first check that failed:
//
//  1. malformed: three base64url parts; a header and a payload that are
//     JSON objects, no member twice, the known members of the right JSON
//     types, and sub, iat, exp and jti present; exp not before iat.
//  2. bad_alg: alg is exactly ES256, whatever the key (none, HS256, RS256,
//     ES384 ... are refused before any key is looked at).
//  3. bad_typ: typ is exactly scanin-assertion+jwt.
//  4. unknown_device, revoked: kid names a registered device that is not
//     revoked.
//  5. bad_signature: the signature is 64 bytes of R||S and verifies with
//     that device's key.
//  6. bad_issuer: iss equals kid.
//  7. bad_subject: sub is the device's user, when the store recorded one
//     (this package's own check: a device registered by one user cannot
//     sign another user in).
//  8. bad_audience, bad_app, bad_sid: aud is the verifier's origin, app
//     its app id, and sid the session id the page reported, when given.
//  9. expired, not_yet_valid, too_long: the clock is before exp, iat is at
//     most 60 s ahead of it, and exp - iat is at most 120 s.
//  10. replayed: the jti was not accepted before. This check comes last so
//     that an assertion refused for any other reason never uses up its
//     jti; the ReplayStore remembers each accepted jti until its exp.
//
// Nothing about the claims is trusted before the signature has verified:
// the checks that read the payload's values come after it.
//
// A failing store (a database that is down) is not a refusal: Verify then
// returns an error that is not an *Error, and CodeOf returns "".
package verify
