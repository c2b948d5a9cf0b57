// Package qrcode is a trimmed copy of github.com/skip2/go-qrcode's encoder
// (MIT licence, Copyright 2014 Tom Harwood: see LICENSE) that renders to SVG.
//
// scanin's widget is compiled to WebAssembly and every package it imports
// lands in the file a visitor downloads. The library as published imports
// fmt, log and image/png (for its PNG output): linked into the widget that
// measured +147 KB brotli. This copy keeps the encoder, the symbol builder,
// the version tables, bitset and reedsolomon exactly as they were, and
// changes only this:
//
//   - log.Panic* and fmt.Sprintf are replaced by panic and strconv;
//   - the image, PNG, file and string outputs, NewWithForcedVersion and
//     the colour fields are removed;
//   - SVG (svg.go) is added: a vector image stays crisp at any pixel ratio
//     and costs nothing to link.
//
// The measurements are in docs/benchmarks.md, section "Widget".
package qrcode
