// Package qrsvg draws a QR code's modules as an inline SVG element, for the
// widget. The code itself comes from github.com/skip2/go-qrcode (Bitmap);
// this package only writes the markup, so it builds and is tested natively.
package qrsvg

import (
	"strconv"
	"strings"
)

// SVG renders bits (bits[y][x] true for a dark module, quiet zone included,
// as go-qrcode's Bitmap returns it) as an inline <svg> element: one light
// square and one path with a subpath per run of dark modules in a row. It
// has a viewBox of one unit per module and no width or height, so the page
// sizes it and it stays crisp at any device pixel ratio;
// shape-rendering="crispEdges" keeps neighbouring runs from showing hairline
// seams. The fill colours are attributes, so CSS can override them (classes
// qr-bg and qr-fg). label becomes the element's accessible name.
func SVG(bits [][]bool, label string) string {
	size := strconv.Itoa(len(bits))
	var b strings.Builder
	b.Grow(64 * len(bits) * 4)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	b.WriteString(size + " " + size)
	b.WriteString(`" shape-rendering="crispEdges" role="img" aria-label="`)
	writeEscaped(&b, label)
	b.WriteString(`"><title>`)
	writeEscaped(&b, label)
	b.WriteString(`</title><rect class="qr-bg" fill="#fff" width="`)
	b.WriteString(size + `" height="` + size)
	b.WriteString(`"/><path class="qr-fg" fill="#000" d="`)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			run := strconv.Itoa(x - start)
			b.WriteString("M" + strconv.Itoa(start) + " " + strconv.Itoa(y))
			b.WriteString("h" + run + "v1h-" + run + "z")
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}

// writeEscaped writes s as XML character data or an attribute value.
func writeEscaped(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
}

// Hole is the square of modules an app's logo covers in a code of size
// modules a side (quiet zone included): from <= x, y < to. It is about a
// quarter of the code's width, rounded down to an odd number of modules
// centred on the middle one, so at most 6.25 % of the code: level H
// (go-qrcode's Highest) restores up to 30 %. widget.js draws the logo: a
// light square over these modules, the image inside it with a one-module
// margin; the SVG here stays the code alone, which keeps the drawing out
// of the WebAssembly.
func Hole(size int) (from, to int) {
	side := (size - 8) / 4
	side -= 1 - side%2
	from = (size - side) / 2
	return from, from + side
}
