package main

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// TestReceiveHuman: without --json the QR code, link and progress go to
// stderr, and stdout holds the payload alone.
func TestReceiveHuman(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := scaninCommand(t, "receive", "--relay", relay.URL(), "--app", "demo", "--once")
	if err := recv.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.cmd.Process.Kill() })

	// The link is printed under the QR code: wait for it on stderr.
	var link string
	waitFor(t, "the link on stderr", func() bool {
		for _, line := range strings.Split(recv.stderr.String(), "\n") {
			if strings.Contains(line, "#v=1&") {
				link = strings.TrimSpace(line)
				return true
			}
		}
		return false
	})
	stderr := recv.stderr.String()
	if !strings.ContainsAny(stderr, "█▀▄") {
		t.Errorf("no QR code on stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "Expires in") {
		t.Errorf("no time left on stderr:\n%s", stderr)
	}
	if _, err := protocol.ParseLink(link, []string{"demo"}); err != nil {
		t.Fatalf("printed link %q: %v", link, err)
	}
	wantExit(t, "send", scanin(t, "", "send", "--link", link, "--data", "the token", "--yes"), sendOK)
	r := recv.wait()
	wantExit(t, "receive", r, receiveOK)
	if r.stdout != "the token\n" {
		t.Errorf("stdout %q, want the payload alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "Received a token from") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestReceiveErrors(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	for _, tc := range []struct {
		name string
		args []string
		code int
		json string // the error event's code, for --json runs
	}{
		{"no relay", []string{"--app", "demo"}, receiveUsage, ""},
		{"no app", []string{"--relay", relay.URL()}, receiveUsage, ""},
		{"bad app", []string{"--relay", relay.URL(), "--app", "Demo"}, receiveUsage, ""},
		{"plain http relay", []string{"--relay", "http://relay.example", "--app", "demo"}, receiveUsage, ""},
		{"short ttl", []string{"--relay", relay.URL(), "--app", "demo", "--ttl", "5"}, receiveUsage, ""},
		{"extra argument", []string{"--relay", relay.URL(), "--app", "demo", "extra"}, receiveUsage, ""},
		{"unknown app", []string{"--relay", relay.URL(), "--app", "nope", "--json"}, receiveFailed, "not_found"},
		{"unknown app, human", []string{"--relay", relay.URL(), "--app", "nope"}, receiveFailed, ""},
		{"no relay there", []string{"--relay", "http://127.0.0.1:1", "--app", "demo", "--json"}, receiveFailed, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scanin(t, "", append([]string{"receive"}, tc.args...)...)
			wantExit(t, "receive "+strings.Join(tc.args, " "), r, tc.code)
			if tc.json != "" {
				want := `{"event":"error","code":"` + tc.json + `"`
				if !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
					t.Errorf("stdout %q, want one line starting %s", r.stdout, want)
				}
			}
		})
	}
}

func TestReceiveHelp(t *testing.T) {
	t.Parallel()
	r := scanin(t, "", "receive", "--help")
	wantExit(t, "receive --help", r, receiveOK)
	for _, want := range []string{"-relay", "-app", "-ttl", "-json", "-once", `"event":"result"`, "Exit codes", "130"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestTerminalQRScans reads the terminal QR code back, as a camera would,
// and checks it holds the link.
func TestTerminalQRScans(t *testing.T) {
	t.Parallel()
	link := unusedLink(t, "https://relay.example")
	drawn, err := terminalQR(link)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimRight(drawn, "\n"), "\n")
	const scale = 4 // pixels per module
	width := len([]rune(rows[0]))
	img := image.NewGray(image.Rect(0, 0, width*scale, 2*len(rows)*scale))
	for y, row := range rows {
		for x, r := range []rune(row) {
			upper := r == '█' || r == '▀'
			lower := r == '█' || r == '▄'
			if !upper && !lower && r != ' ' {
				t.Fatalf("unexpected character %q in the QR code", r)
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					if upper {
						img.SetGray(x*scale+dx, 2*y*scale+dy, color.Gray{Y: 255})
					}
					if lower {
						img.SetGray(x*scale+dx, (2*y+1)*scale+dy, color.Gray{Y: 255})
					}
				}
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the terminal QR code does not scan: %v\n%s", err, drawn)
	}
	if res.GetText() != link {
		t.Errorf("scanned %q, want %q", res.GetText(), link)
	}
}
