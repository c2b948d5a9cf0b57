// Package assertion is the format of scanin's device-signed assertions
// (docs/protocol.md, "Assertions"), shared by the signer (the phone SDK,
// the CLI) and the verifier (package verify, an integrator's backend).
//
// An assertion is a JWS in Compact Serialization (RFC 7515): a header
// {"alg":"ES256","typ":"scanin-assertion+jwt","kid":DEVICE_ID}, a payload
// of claims (Claims), and an ES256 signature written as the 64-byte R||S
// of RFC 7518 §3.4. A device registers its public key with the app's own
// backend beforehand, as a Registration that carries a JWK (RFC 7517).
//
// The package is pure: no I/O, no clock, no policy. It encodes, parses,
// converts signatures and checks keys; which devices exist, whether one is
// revoked, what time it is and which jti values were seen are the
// verifier's business (package verify).
//
// The widget must not import it: widget.wasm has no room for ECDSA.
package assertion
