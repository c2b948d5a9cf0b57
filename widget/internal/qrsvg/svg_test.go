package qrsvg

import (
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	qrcode "github.com/skip2/go-qrcode"
)

// testContents spans the versions a scanin link needs and beyond.
func testContents() []string {
	return []string{
		"a",
		"HELLO WORLD 123",
		"https://relay.example/link#v=1&a=demo&s=AAAAAAAAAAAAAAAAAAAAAA&k=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&r=https%3A%2F%2Frelay.example",
		"http://127.0.0.1:38271/link#v=1&a=shop&s=abcdefghijklmnopqrstuv&k=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG&r=http%3A%2F%2F127.0.0.1%3A38271",
		strings.Repeat("scanin-é✓ ", 60),
	}
}

// bitmap encodes content as the widget does. Bitmap is called once: it
// finishes the encoding in place.
func bitmap(t *testing.T, content string, level qrcode.RecoveryLevel) [][]bool {
	t.Helper()
	q, err := qrcode.New(content, level)
	if err != nil {
		t.Fatalf("qrcode.New(%.20q, %v): %v", content, level, err)
	}
	return q.Bitmap()
}

// TestSVGDecodes reads each SVG's path back into modules, draws them and
// decodes the picture with an independent decoder (gozxing), at every
// recovery level: what the SVG shows is the code for the content.
func TestSVGDecodes(t *testing.T) {
	for _, level := range []qrcode.RecoveryLevel{qrcode.Low, qrcode.Medium, qrcode.High, qrcode.Highest} {
		for _, content := range testContents() {
			bits := bitmap(t, content, level)
			modules := parseSVG(t, SVG(bits, "label"))
			for y := range bits {
				for x := range bits[y] {
					if modules[y][x] != bits[y][x] {
						t.Fatalf("level %v, %.20q: module %d,%d is %v in the SVG, %v in the bitmap", level, content, x, y, modules[y][x], bits[y][x])
					}
				}
			}
			if got := decode(t, rasterize(modules, 4)); got != content {
				t.Fatalf("level %v: decoded %.40q; want %.40q", level, got, content)
			}
		}
	}
}

// TestLogoDecodes: a code at level H still decodes with the logo as
// widget.js draws it over Hole: the hole's modules light, and the logo,
// as black as a logo can be, inside them with a one-module margin; at
// every size a scanin link needs.
func TestLogoDecodes(t *testing.T) {
	for _, content := range testContents() {
		bits := bitmap(t, content, qrcode.Highest)
		n := len(bits)
		from, to := Hole(n)
		side := to - from
		if side%2 != 1 || from+to != n || side*side*10000 > 625*(n-8)*(n-8) {
			t.Fatalf("%d modules: hole %d..%d is not an odd square centred in the code, at most 6.25 %% of it", n, from, to)
		}
		hidden := 0
		for y := from; y < to; y++ {
			for x := from; x < to; x++ {
				if bits[y][x] {
					hidden++
				}
				bits[y][x] = y > from && y < to-1 && x > from && x < to-1
			}
		}
		if hidden == 0 {
			t.Fatalf("%d modules: the logo hides no dark module; the test proves nothing", n)
		}
		if got := decode(t, rasterize(bits, 4)); got != content {
			t.Fatalf("decoded %.40q; want %.40q", got, content)
		}
	}
}

// TestQuietZone: go-qrcode's Bitmap (DisableBorder left false) carries a
// quiet zone of four light modules on every side, which the widget's fitCode
// counts on when it lets up to two a side be clipped.
func TestQuietZone(t *testing.T) {
	for _, content := range testContents() {
		bits := bitmap(t, content, qrcode.Medium)
		n := len(bits)
		if (n-8-17)%4 != 0 || n < 21+8 {
			t.Fatalf("%d modules a side is not a QR version plus 2×4 quiet modules", n)
		}
		for i := range n {
			for j := range 4 {
				if bits[j][i] || bits[n-1-j][i] || bits[i][j] || bits[i][n-1-j] {
					t.Fatalf("dark module in the quiet zone at %d,%d", i, j)
				}
			}
		}
		// The finder patterns start right after it.
		if !bits[4][4] || !bits[4][n-5] || !bits[n-5][4] {
			t.Fatalf("no finder pattern corner at 4 modules in (%d modules a side)", n)
		}
	}
}

func TestSVGEscapesLabel(t *testing.T) {
	svg := SVG(bitmap(t, "x", qrcode.Low), `a "quoted" <b>&</b>`)
	want := `a &quot;quoted&quot; &lt;b&gt;&amp;&lt;/b&gt;`
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, `aria-label="`+want+`"`) || !strings.Contains(svg, "<title>"+want+"</title>") {
		t.Fatalf("label not escaped: %.300s", svg)
	}
}

// TestTooLong: the widget shows a message instead of a code when New
// refuses the link.
func TestTooLong(t *testing.T) {
	if _, err := qrcode.New(strings.Repeat("x", 3000), qrcode.Low); err == nil {
		t.Fatal("3000 bytes encoded; the largest code holds 2953")
	}
}

// parseSVG checks the SVG's viewBox and that its path is nothing but
// closed horizontal runs one module high, drawn once each, and returns the
// modules the runs cover.
func parseSVG(t *testing.T, svg string) [][]bool {
	t.Helper()
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no square viewBox: %.200s", svg)
	}
	n, _ := strconv.Atoi(m[1])
	if !strings.Contains(svg, `<rect class="qr-bg" fill="#fff" width="`+m[1]+`" height="`+m[1]+`"/>`) {
		t.Fatalf("no light square under the code: %.300s", svg)
	}
	_, path, ok := strings.Cut(svg, `<path class="qr-fg" fill="#000" d="`)
	if !ok {
		t.Fatalf("no path in %.200s", svg)
	}
	path, rest, _ := strings.Cut(path, `"`)
	if rest != "/></svg>" {
		t.Fatalf("the SVG ends with %q", rest)
	}
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	run := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	for path != "" {
		r := run.FindStringSubmatch(path)
		if r == nil {
			t.Fatalf("the path has a command other than a horizontal run: %.40q", path)
		}
		path = path[len(r[0]):]
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		if r[4] != r[3] || w == 0 || x+w > n || y >= n {
			t.Fatalf("run %s does not close inside the %d×%d box", r[0], n, n)
		}
		for i := x; i < x+w; i++ {
			if got[y][i] {
				t.Fatalf("module %d,%d drawn twice", i, y)
			}
			got[y][i] = true
		}
	}
	return got
}

// rasterize draws modules at scale pixels per module.
func rasterize(modules [][]bool, scale int) image.Image {
	n := len(modules) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			c := color.Gray{255}
			if modules[y/scale][x/scale] {
				c = color.Gray{0}
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText()
}
