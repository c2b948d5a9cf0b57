//go:build !js

package e2e

import (
	"image"
	"image/color"
	"testing"

	qrencode "github.com/skip2/go-qrcode"
)

// TestDecodeImage checks the tests' own QR reader on a code the decoder's
// finder-pattern search misses at 4 and 8 pixels per module (it reports
// dimension 27 for this 49-module code): a link as the demo's widget
// showed it in a failed run, drawn as the widget draws it.
func TestDecodeImage(t *testing.T) {
	const link = "http://127.0.0.1:34457/phone#v=1&a=demo&s=B0sBm0eHtLPAZGRnyZBJ3Q&k=QeB2XXMtgGPsS-c4svG5KhsNSTfFyIWKUb-d0E76oFU&r=http%3A%2F%2F127.0.0.1%3A34457"
	q, err := qrencode.New(link, qrencode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bits := q.Bitmap()
	for _, px := range []int{1, 2, 3, 4, 8} {
		img := renderModules(bits, px)
		if _, err := decodeAtSize(img); err != nil {
			t.Logf("%d px per module: the decoder alone fails: %v", px, err)
		}
		got, err := decodeImage(img)
		if err != nil {
			t.Errorf("%d px per module: %v", px, err)
		} else if got != link {
			t.Errorf("%d px per module: read %q, want %q", px, got, link)
		}
	}
}

// renderModules draws a QR bitmap (quiet zone included) with px pixels a
// module.
func renderModules(bits [][]bool, px int) image.Image {
	n := len(bits)
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for y := range n * px {
		for x := range n * px {
			c := color.Gray{Y: 255}
			if bits[y/px][x/px] {
				c = color.Gray{}
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}
