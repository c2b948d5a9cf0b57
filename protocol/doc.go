// Package protocol is scanin's wire protocol, version 1, with no I/O: session
// ids, the link a QR code holds, RFC 9180 HPKE, the plaintext message, the
// check code, relay frames, error codes and limits. The relay, the widget, the
// terminal receiver and the phone SDK all build on it, so each rule of
// docs/protocol.md is written down exactly once, here.
//
// # Size
//
// The widget (GOOS=js GOARCH=wasm) links this package, and every import lands
// in the .wasm a visitor downloads. So the files the widget uses import no fmt,
// encoding/json, net/url or log: a small JSON reader and writer lives in
// jsonlite.go, and the link is parsed by hand. HPKE is built on
// golang.org/x/crypto rather than crypto/hpke, which links every suite and
// costs the widget about 74 KB more. Native-only helpers (encoding/json
// marshalling of relay API bodies) live in files built with //go:build !js.
package protocol
