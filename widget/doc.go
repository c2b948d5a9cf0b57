//go:build js && wasm

// Command widget is scanin's browser receiver, compiled to WebAssembly and
// run in a sandboxed iframe that the relay serves (widget.html). It shows a
// QR code holding a fresh session id and public key, listens for the
// relay's frames, opens the sealed message with the private key that never
// leaves the iframe, and tells the embedding page the result.
//
// The page's embed.js creates the iframe and says hello; the hello's origin,
// checked against location.ancestorOrigins (or the referrer) and the app's
// configured origins, is the only origin the widget ever posts to.
//
// widget.js, the page's bootstrap, does three things while the WebAssembly
// downloads and compiles, because each would otherwise wait for it: it
// fetches the app's configuration, asks the page for its hello (posting
// only to the origin location.ancestorOrigins or the referrer names), and,
// once the hello's origin is one of the app's, opens the first session's
// WebSocket with a session id from crypto.getRandomValues. The Go program
// adopts that socket with the events it queued (or closes it) and makes
// the key pair itself; on a 9 Mbit/s, 60 ms link this takes the socket's
// two round trips off the path to the first code.
//
// Messages to the embedding page (window.parent, targetOrigin the verified
// origin): scanin:ready {expires_at} (for each code: a rotation is silent),
// scanin:scanned, scanin:verifying (verify mode: the check code waits for
// a click), scanin:expired {final: true} (only when the widget stops),
// scanin:denied, scanin:error {code, message, retrying}, scanin:result
// {kind, data, device, sid}, and two that only embed.js needs: scanin:resize
// {height} and scanin:open {link} (the iframe may not open windows itself).
// From the page: scanin:hello and scanin:refresh.
//
// The iframe URL's query: app (required), ttl (15..300 s per code), verify=1
// (show the check code and ask before accepting), theme=light|dark|auto
// (widget.js applies it), and limit (15..300 s of codes before "Show a new
// code").
//
// The words the widget shows are widget.html's: the status line's and the
// badge's data-* attributes, one per state, which view.render reads, and
// a test in internal/words holds to scanin's vocabulary. The waiting
// instruction is the app's scan_hint. widget.js also draws the countdown's
// seconds (from the ring's animation) and the app's logo over the code
// (qrsvg.Hole; the program encodes such a code at level H), so that none
// of it is in the WebAssembly.
//
// # Wasm
//
// Everything the widget imports lands in the file each visitor downloads,
// so it links no encoding/json, net/http or net/url, and no Go WebSocket
// library: JSON is the protocol package's small reader and writer, and the
// WebSocket and fetch are the browser's own through syscall/js. The QR code
// is github.com/skip2/go-qrcode's Bitmap, drawn as SVG by
// widget/internal/qrsvg; the library's PNG and file output is never called,
// but its imports (log, image/png, compress/zlib) still link: the widget
// measured 795 KB brotli with them, within its 800 KB budget (see
// docs/benchmarks.md, "Widget"). X25519 is the protocol package's
// RFC 7748 ladder, not golang.org/x/crypto/curve25519, whose crypto/ecdh
// would link the NIST curves too (110 KB brotli more). Further caveats:
//
//   - main blocks forever (select{}): the JavaScript callbacks that drive
//     the widget die with the program.
//   - A js.Func callback must never block, or the Go runtime deadlocks:
//     callbacks only queue events (inbox.put), and promises are awaited on
//     goroutines of their own. One goroutine, run, owns all state.
//   - A browser hides why a WebSocket failed to open (every refusal is close
//     code 1006), so widget.js GETs the same listen URL over http(s) when a
//     socket closes before it opened, and the relay answers with its JSON
//     error, by the same checks as the handshake. On a refusal that asking
//     again cannot change (policy.AfterProbe: 400, 403, 404) the widget
//     stops and shows the relay's message, which says what to change;
//     otherwise it retries, and after a failed reconnect asks the relay's
//     /healthz whether the relay is down (keep retrying) or up and refusing
//     the old session (show a new code).
//   - A browser cannot see the relay's WebSocket pings, so the widget sends
//     {"type":"ping"} after every 25 s without a frame (policy.Keepalive),
//     which every relay answers with {"type":"pong"}, and resumes a socket
//     on which nothing at all arrived for another 25 s. The interval is
//     fixed (policy.PingAfter); its rule is tested natively in
//     receiver/policy, as the widget has no test hooks.
//   - time.Now is the browser's clock; the relay's expires_at is trusted only
//     when it is within the ttl of it.
//   - The private key is zeroed (PrivateKey.Destroy) when its code is
//     dropped, but a garbage-collected runtime may have copied it before.
package main
