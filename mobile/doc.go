// Package mobile is scanin's phone SDK: what an app that already has the
// user signed in uses to sign a browser in by scanning its QR code.
//
// The flow has three steps, and the API's shape makes the middle one
// mandatory:
//
//  1. NewClient with the app ids the app is built for. A scanned link for
//     any other app is refused (CodeLinkWrongApp), as is a link that breaks
//     any rule of docs/protocol.md (the Code* constants starting with CodeLink).
//  2. Client.Inspect reads the session from the relay and returns a
//     Session: the app, the requesting page's origin, a readable browser,
//     both IP addresses, whether they look like the same network, and the
//     seconds left. The app shows this to the person. Reading reveals
//     nothing about the person or the phone: the request carries no cookie,
//     no device name and a fixed User-Agent; the relay only tells the
//     browser "scanned".
//  3. Session.Approve or Session.Deny. Approve exists only on a Session,
//     so there is no way to deliver without having inspected first.
//
// Approve seals the payload once (RFC 9180 HPKE to the key in the QR code,
// which the relay never sees) and posts the sealed bytes. Calling Approve
// again with the same arguments resends the same bytes, which the relay
// answers with the delivery's current state, so retrying after a network
// error is always safe. Every answer is an Outcome with a Code: delivered,
// pending, expired, already used, not found, rejected, rate limited (with
// RetryAfterSeconds), too large, network error, and the rarer bad request,
// unavailable, conflict, cancelled and unexpected.
//
// # Same network
//
// Session.SameNetwork compares the IP address the relay saw for the browser
// with the one it sees for the phone. They count as the same network when
// they are equal, or both IPv4 in the same /24, or both IPv6 in the same
// /64 (IPv4-mapped IPv6 addresses count as IPv4). It is a hint for a
// warning ("the browser is not on your network"), not a security check:
// carrier NAT, VPNs and proxies make both answers possible for honest and
// dishonest requests alike.
//
// # Binding
//
// The exported API uses only what gomobile's gobind can bind: basic types,
// []byte, pointers to structs, and functions returning at most (T, error).
// Lists go in as one string (NewClient takes "app-a,app-b"), error kinds
// come out as strings (ErrorCode), and there is no context.Context:
// Client.Close cancels what is in flight. A test runs gobind for Java and
// Objective-C and fails when it skips any exported name.
//
// Calls block on the network: call them off the UI thread.
package mobile
