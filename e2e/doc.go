//go:build !js

// Package e2e tests scanin's browser side in real Chromium, end to end: the
// widget with embed.js, and the demo (shop and phone page). It also
// benchmarks the widget. It has no code of its own outside its tests.
//
// The tests use what `./build.sh build` made (./build.sh test builds
// first): bin/scanin, which embeds the widget (widget/web/dist) and the demo
// phone's wasm (demo/phone/dist); they build nothing, stop with "run
// ./build.sh build first" when those are missing, and write nothing into
// the repository but, with SCANIN_SCREENSHOTS=1, docs/img/. TestMain runs
// `bin/scanin relay --addr 127.0.0.1:0` as a user would. Each test serves a
// parent page on http://localhost:PORT that loads {relay}/embed.js from
// http://127.0.0.1:RELAYPORT, drives /usr/lib/chromium/chromium headless
// through the DevTools protocol (github.com/chromedp/chromedp), reads the QR
// code from a screenshot (github.com/makiuchi-d/gozxing), and plays the
// phone with the standard library's crypto/hpke and plain HTTP.
//
// Most tests share two browsers, each test in a tab with storage of its
// own: one as users run Chromium, and one with site isolation off, where
// the widget's cross-origin frame shares the page's DevTools target so a
// test can read its DOM, click its buttons and instrument its postMessage
// calls. Browser security (origins, postMessage, CSP) is the same in both.
//
//	./build.sh build                                        # first, and after each change
//	go test ./e2e                                           # the tests, about a minute
//	SCANIN_SCREENSHOTS=1 go test ./e2e -run TestDemo        # also refresh docs/img/
//	go test ./e2e -run '^$' -bench . -benchtime 1x -count 1 # the benchmark (docs/benchmarks.md)
package e2e
