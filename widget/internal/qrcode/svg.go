package qrcode

import (
	"strconv"
	"strings"
)

// SVG renders the code, quiet zone included, as an inline <svg> element:
// one light square and one path with a subpath per run of dark modules in a
// row. It has a viewBox and no width or height, so the page sizes it and it
// stays crisp at any device pixel ratio; shape-rendering="crispEdges" keeps
// neighbouring runs from showing hairline seams. The fill colours are
// attributes, so CSS can override them (classes qr-bg and qr-fg). label
// becomes the element's accessible name.
func (q *QRCode) SVG(label string) string {
	bits := q.Bitmap()
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
			b.WriteString("M" + strconv.Itoa(start) + " " + strconv.Itoa(y))
			b.WriteString("h" + strconv.Itoa(x-start) + "v1h-" + strconv.Itoa(x-start) + "z")
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
