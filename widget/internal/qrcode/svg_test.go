package qrcode

import (
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
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

// TestEncodeDecodes renders each code and reads it back with an
// independent decoder, at every recovery level.
func TestEncodeDecodes(t *testing.T) {
	for _, level := range []RecoveryLevel{Low, Medium, High, Highest} {
		for _, content := range testContents() {
			q, err := New(content, level)
			if err != nil {
				t.Fatalf("New(%.20q, %v): %v", content, level, err)
			}
			if got := decode(t, rasterize(q.Bitmap(), 4)); got != content {
				t.Fatalf("level %v: decoded %.40q; want %.40q", level, got, content)
			}
		}
	}
}

// TestSVGMatchesBitmap reads the SVG's path back into modules: it must
// cover exactly the dark modules, quiet zone included.
func TestSVGMatchesBitmap(t *testing.T) {
	run := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	for _, content := range testContents() {
		q, err := New(content, Medium)
		if err != nil {
			t.Fatal(err)
		}
		bits := q.Bitmap()
		svg := q.SVG("label")
		n := len(bits)
		if !strings.Contains(svg, `viewBox="0 0 `+strconv.Itoa(n)+" "+strconv.Itoa(n)+`"`) {
			t.Fatalf("viewBox is not %dx%d: %.200s", n, n, svg)
		}
		_, path, ok := strings.Cut(svg, `class="qr-fg" fill="#000" d="`)
		if !ok {
			t.Fatalf("no path in %.200s", svg)
		}
		path, _, _ = strings.Cut(path, `"`)
		got := make([][]bool, n)
		for i := range got {
			got[i] = make([]bool, n)
		}
		matches := run.FindAllStringSubmatch(path, -1)
		if rebuilt := strings.Join(func() []string {
			var s []string
			for _, m := range matches {
				s = append(s, m[0])
			}
			return s
		}(), ""); rebuilt != path {
			t.Fatal("the path has commands other than horizontal runs")
		}
		for _, m := range matches {
			x, _ := strconv.Atoi(m[1])
			y, _ := strconv.Atoi(m[2])
			w, _ := strconv.Atoi(m[3])
			if m[4] != m[3] {
				t.Fatalf("run %s does not close", m[0])
			}
			for i := x; i < x+w; i++ {
				if got[y][i] {
					t.Fatalf("module %d,%d drawn twice", i, y)
				}
				got[y][i] = true
			}
		}
		for y := range bits {
			for x := range bits[y] {
				if got[y][x] != bits[y][x] {
					t.Fatalf("module %d,%d: svg %v, bitmap %v", x, y, got[y][x], bits[y][x])
				}
			}
		}
		// The quiet zone: four light modules on every side.
		for i := range n {
			for j := range 4 {
				if bits[j][i] || bits[n-1-j][i] || bits[i][j] || bits[i][n-1-j] {
					t.Fatalf("dark module in the quiet zone at %d,%d", i, j)
				}
			}
		}
	}
}

func TestSVGEscapesLabel(t *testing.T) {
	q, err := New("x", Low)
	if err != nil {
		t.Fatal(err)
	}
	svg := q.SVG(`a "quoted" <b>&</b>`)
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, `aria-label="a &quot;quoted&quot; &lt;b&gt;&amp;&lt;/b&gt;"`) {
		t.Fatalf("label not escaped: %s", svg[:200])
	}
}

func TestTooLong(t *testing.T) {
	if _, err := New(strings.Repeat("x", 3000), Low); err == nil {
		t.Fatal("3000 bytes encoded; the largest code holds 2953")
	}
}

// rasterize draws the bitmap at scale pixels per module.
func rasterize(bits [][]bool, scale int) image.Image {
	n := len(bits) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			c := color.Gray{255}
			if bits[y/scale][x/scale] {
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
