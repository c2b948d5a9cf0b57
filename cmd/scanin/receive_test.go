package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	noApp := receiveHint(protocol.CodeNotFound, relay.URL(), "nope")
	const noRelay = "check that --relay http://127.0.0.1:1 is a relay that is up and reachable from here"
	for _, tc := range []struct {
		name string
		args []string
		code int
		json string // the error event's code, for --json runs
		says string // what stderr's first line says
		hint string // how a failure's one line ends
	}{
		{"no relay", []string{"--app", "demo"}, receiveUsage, "", "--relay is required", ""},
		{"no app", []string{"--relay", relay.URL()}, receiveUsage, "", "--app is required", ""},
		{"bad app", []string{"--relay", relay.URL(), "--app", "Demo"}, receiveUsage, "", `--app "Demo"`, ""},
		{"plain http relay", []string{"--relay", "http://relay.example", "--app", "demo"}, receiveUsage, "",
			`--relay "http://relay.example" is plain http on a non-loopback host; phones refuse such a relay: give the relay's https URL`, ""},
		{"not a relay URL", []string{"--relay", "relay.example", "--app", "demo"}, receiveUsage, "", `--relay "relay.example" is not a valid relay URL`, ""},
		{"short ttl", []string{"--relay", relay.URL(), "--app", "demo", "--ttl", "5"}, receiveUsage, "", "--ttl", ""},
		{"extra argument", []string{"--relay", relay.URL(), "--app", "demo", "extra"}, receiveUsage, "", "unexpected argument", ""},
		{"unknown app", []string{"--relay", relay.URL(), "--app", "nope", "--json"}, receiveFailed, "not_found", "the relay refused: not_found: ", noApp},
		{"unknown app, human", []string{"--relay", relay.URL(), "--app", "nope"}, receiveFailed, "", "the relay refused: not_found: ", noApp},
		{"no relay there", []string{"--relay", "http://127.0.0.1:1", "--app", "demo", "--json"}, receiveFailed, "error", "connection refused", noRelay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scanin(t, "", append([]string{"receive"}, tc.args...)...)
			wantExit(t, "receive "+strings.Join(tc.args, " "), r, tc.code)
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.HasPrefix(first, "scanin receive: ") || !strings.Contains(first, tc.says) {
				t.Errorf("stderr's first line %q, want scanin receive: and %q", first, tc.says)
			}
			if tc.hint != "" {
				wantOneLine(t, tc.name, r.stderr, "scanin receive: ", tc.hint)
			}
			if tc.json != "" {
				want := `{"event":"error","code":"` + tc.json + `"`
				if !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
					t.Errorf("stdout %q, want one line starting %s", r.stdout, want)
				}
				if msg := strings.TrimPrefix(first, "scanin receive: "); !strings.Contains(r.stdout, `"message":`+strconv.Quote(msg)) {
					t.Errorf("the error event %q lacks the message %q", r.stdout, msg)
				}
			}
		})
	}
}

// TestReceiveOriginDenied: a relay that refuses a terminal receiver for a
// web-only app (403 origin_denied, native_receivers false) is one line
// naming the code, the relay's message and what to do.
func TestReceiveOriginDenied(t *testing.T) {
	t.Parallel()
	const message = `app "web" takes no receivers without a page origin`
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == protocol.AppPath("web"):
			io.WriteString(w, `{"id":"web","name":"Web Shop","origins":["https://shop.example"],"link_base":"https://shop.example/scan","ttl":60,"native_receivers":false}`)
		case strings.HasSuffix(r.URL.Path, "/listen"):
			w.WriteHeader(http.StatusForbidden)
			body := protocol.Error{Code: protocol.CodeOriginDenied, Message: message}
			w.Write(body.AppendJSON(nil))
		default:
			http.NotFound(w, r)
		}
	}))
	defer relay.Close()
	hint := receiveHint(protocol.CodeOriginDenied, relay.URL, "web")
	if !strings.Contains(hint, `"native_receivers": true`) {
		t.Errorf("the hint %q does not name native_receivers", hint)
	}
	for _, jsonOut := range []bool{false, true} {
		args := []string{"receive", "--relay", relay.URL, "--app", "web", "--once"}
		if jsonOut {
			args = append(args, "--json")
		}
		r := scanin(t, "", args...)
		wantExit(t, strings.Join(args, " "), r, receiveFailed)
		line := wantOneLine(t, strings.Join(args, " "), r.stderr, "scanin receive: the relay refused: origin_denied: "+message+"; ", hint)
		if jsonOut {
			want, _ := json.Marshal(map[string]string{"code": "origin_denied", "message": strings.TrimPrefix(line, "scanin receive: ")})
			if !strings.HasPrefix(r.stdout, `{"event":"error",`) || !strings.Contains(r.stdout, strings.TrimPrefix(string(want), "{")) {
				t.Errorf("stdout %q, want the error event %s", r.stdout, want)
			}
		} else if r.stdout != "" {
			t.Errorf("stdout %q, want nothing", r.stdout)
		}
	}
}

// TestReceiveFailureLines: every relay error code, and an error that is
// not the relay's, is one line naming scanin once (the caller's prefix),
// the code and the relay's message, and what to do.
func TestReceiveFailureLines(t *testing.T) {
	const relay, app = "https://relay.example", "shop"
	for _, c := range append(protocol.Codes[:], "teapot") {
		perr := &protocol.Error{Code: c, Message: "the relay's own words"}
		code, line := describeReceiveFailure(fmt.Errorf("failed to listen: %w", perr), relay, app)
		if code != string(c) {
			t.Errorf("%s: code %q", c, code)
		}
		wantOneLine(t, string(c), "scanin receive: "+line, "scanin receive: the relay refused: "+string(c)+": the relay's own words; ", receiveHint(c, relay, app))
	}
	// A relay that names the setting itself is not told twice.
	const named = `app "shop" does not allow native receivers: set "native_receivers": true`
	_, line := describeReceiveFailure(&protocol.Error{Code: protocol.CodeOriginDenied, Message: named}, relay, app)
	wantOneLine(t, "named", "scanin receive: "+line, "scanin receive: the relay refused: origin_denied: "+named+"; ",
		"ask the relay's operator for that, or sign in from the app's web page")
	code, line := describeReceiveFailure(errors.New("failed to listen: dial tcp: connection refused"), relay, app)
	if code != "error" {
		t.Errorf("a network error's code is %q, want error", code)
	}
	wantOneLine(t, "network error", "scanin receive: "+line, "scanin receive: failed to listen: dial tcp: connection refused; ",
		"check that --relay "+relay+" is a relay that is up and reachable from here")
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
	// The image is the code's exact module grid (cut square: a terminal
	// row holds two module rows, so an odd count leaves one more half row),
	// so it is read as a pure barcode: gozxing's finder-pattern detector
	// misreads about 1 in 100 random version-7 codes drawn this way (15 of
	// 1,500 measured), all of which decode as pure barcodes.
	bmp, err := gozxing.NewBinaryBitmapFromImage(img.SubImage(image.Rect(0, 0, width*scale, width*scale)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the terminal QR code does not scan: %v\n%s", err, drawn)
	}
	if res.GetText() != link {
		t.Errorf("scanned %q, want %q", res.GetText(), link)
	}
}
