package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/scanin/scanin/internal/words"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver"
	"github.com/scanin/scanin/receiver/policy"
)

// Exit codes of `scanin receive`.
const (
	receiveOK          = 0
	receiveFailed      = 1
	receiveUsage       = 2
	receiveDenied      = 3
	receiveExpired     = 4
	receiveInterrupted = 130
)

// receiveUsageHead is the text of `scanin receive --help` above the flag
// list.
func receiveUsageHead() string {
	return fmt.Sprintf(`Usage: scanin receive --relay URL --app ID [--ttl S] [--json] [--once]

Act as the browser: show a QR code in the terminal (with its link under it
and a countdown), wait for a phone to scan it and approve, and print the
payload. A fresh session id and key pair are made for every code; when a
code expires the next one is shown, until codes have shown for about %d s
(the expiry nearest that, as the widget does), or after the first with --once.

Without --json, the QR code, link, countdown and progress go to stderr and
only the payload goes to stdout, so TOKEN=$(scanin receive ...) works.

With --json, stdout gets one JSON object per line:
  {"event":"link","link":"...","expires_at":<unix ms>}   for each code
  {"event":"scanned"}                                    a phone read the session
  {"event":"rejected","reason":"decrypt|stale|kind"}     a message did not open; still waiting
  {"event":"result","kind":"token","data":"...","device":{"name":"...","type":"..."},"check_code":"42"}
  {"event":"denied"}
  {"event":"expired"}                                    gave up: no code was used
  {"event":"error","code":"...","message":"..."}`, int(protocol.WidgetShowLimit.Seconds()))
}

// receiveUsageTail is the text of `scanin receive --help` below the flag
// list: the exit codes.
func receiveUsageTail() string {
	return fmt.Sprintf(`Exit codes:
  %3d  a payload arrived (result)
  %3d  error (the relay refused or could not be reached)
  %3d  bad flags
  %3d  denied on the phone
  %3d  expired: no code was used in time
  %3d  interrupted
`, receiveOK, receiveFailed, receiveUsage, receiveDenied, receiveExpired, receiveInterrupted)
}

// receiveEvent is one line of --json output.
type receiveEvent struct {
	Event     string  `json:"event"`
	Link      string  `json:"link,omitempty"`
	ExpiresAt int64   `json:"expires_at,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Kind      string  `json:"kind,omitempty"`
	Data      *string `json:"data,omitempty"`
	Device    *device `json:"device,omitempty"`
	CheckCode string  `json:"check_code,omitempty"`
	Code      string  `json:"code,omitempty"`
	Message   string  `json:"message,omitempty"`
}

type device struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// runReceive is `scanin receive`.
func runReceive(ctx context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("scanin receive", flag.ContinueOnError)
	relay := fs.String("relay", "", "the relay's base `URL` (https, or http to loopback)")
	app := fs.String("app", "", "the app `ID` the codes are for")
	ttl := fs.Int("ttl", 0, "each code's lifetime in `seconds`, 15 to 300 (default: the app's)")
	jsonOut := fs.Bool("json", false, "write one JSON object per line to stdout instead of the QR code")
	once := fs.Bool("once", false, "show one code only: give up when it expires")
	if exit, done := parseFlags(fs, args, stdio, receiveUsageHead(), receiveUsageTail()); done {
		return exit
	}
	switch {
	case *relay == "":
		return usageError(fs, "--relay is required")
	case *app == "":
		return usageError(fs, "--app is required")
	}
	var codeTTL time.Duration // 0: the app's
	if *ttl != 0 {
		d, err := protocol.ParseTTL(strconv.Itoa(*ttl)) // the wire's rule, so the relay agrees
		if err != nil {
			return usageError(fs, "--"+err.Error())
		}
		codeTTL = d
	}
	if _, err := protocol.CheckRelayURL(*relay); err != nil {
		if errors.Is(err, protocol.ErrLinkInsecureRelay) && strings.HasPrefix(strings.ToLower(*relay), "http://") {
			return usageError(fs, fmt.Sprintf("--relay %q is plain http on a non-loopback host; phones refuse such a relay: give the relay's https URL", *relay))
		}
		if errors.Is(err, protocol.ErrLinkInsecureRelay) {
			return usageError(fs, fmt.Sprintf("--relay %q is not https; phones refuse such a relay: give the relay's https URL", *relay))
		}
		return usageError(fs, fmt.Sprintf("--relay %q is not a valid relay URL: give its base URL, such as https://relay.example", *relay))
	}
	if err := protocol.CheckAppID(*app); err != nil {
		return usageError(fs, fmt.Sprintf("--app %q: %v", *app, err))
	}

	out := &receiveOutput{json: *jsonOut, stdout: stdio.out, stderr: stdio.err, tty: isTerminal(stdio.err), relay: *relay, app: *app}
	r, err := receiver.New(ctx, receiver.Config{Relay: *relay, App: *app, TTL: codeTTL})
	if err != nil {
		return out.failure(ctx, err)
	}
	start := time.Now()
	for {
		s, err := r.Listen(ctx)
		if err != nil {
			return out.failure(ctx, err)
		}
		code, done := waitOnCode(ctx, s, out, r.App().Name)
		s.Close() // destroys the code's key
		if done {
			return code
		}
		// The code expired unused (or the relay ended it: policy.Rotate).
		if *once || policy.StopRotating(time.Since(start), r.TTL(), protocol.WidgetShowLimit) {
			out.emit(receiveEvent{Event: "expired"}, "No phone approved in time: giving up.")
			return receiveExpired
		}
	}
}

// waitOnCode shows one code and follows its session until it ends. done is
// false when the code expired unused and the next one should be shown.
func waitOnCode(ctx context.Context, s *receiver.Session, out *receiveOutput, appName string) (code int, done bool) {
	out.showCode(s, appName)

	type next struct {
		ev  receiver.Event
		err error
	}
	events := make(chan next)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			ev, err := s.Next(ctx)
			select {
			case events <- next{ev, err}:
			case <-quit:
				return
			}
			if err != nil || ev.Type == receiver.EventResult || ev.Type == receiver.EventDenied || ev.Type == receiver.EventExpired {
				return
			}
		}
	}()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			out.countdown(s.ExpiresAt())
		case n := <-events:
			if n.err != nil {
				return out.failure(ctx, n.err), true
			}
			switch n.ev.Type {
			case receiver.EventScanned:
				out.emit(receiveEvent{Event: "scanned"}, words.BadgeScanned+": "+words.WidgetScanned+".")
			case receiver.EventRejected:
				out.emit(receiveEvent{Event: "rejected", Reason: string(n.ev.Reason)},
					fmt.Sprintf("A message could not be opened (%s: %v); still waiting.", n.ev.Reason, n.ev.Err))
			case receiver.EventDenied:
				out.emit(receiveEvent{Event: "denied"}, words.WidgetDeclined)
				return receiveDenied, true
			case receiver.EventExpired:
				if n.ev.Err != nil { // the relay ended it while we were away
					out.human("Code no longer usable (" + n.ev.Err.Error() + ").")
				} else {
					out.human("Code expired.")
				}
				return 0, false
			case receiver.EventResult:
				out.result(n.ev)
				return receiveOK, true
			}
		}
	}
}

// receiveOutput writes either JSON lines to stdout, or a person's view to
// stderr with only the payload on stdout.
type receiveOutput struct {
	json           bool
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: the countdown rewrites its line
	countdownShown bool
	relay, app     string // the flags, for the hints of failure
}

func (o *receiveOutput) emit(ev receiveEvent, text string) {
	if o.json {
		// Not json.Marshal: it writes a link's "&" as \u0026 (HTML
		// escaping), which a script grepping the line would not find.
		enc := json.NewEncoder(o.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ev); err != nil {
			fmt.Fprintf(o.stderr, "scanin receive: failed to write a %s event: %v\n", ev.Event, err)
		}
		return
	}
	o.human(text)
}

func (o *receiveOutput) human(text string) {
	if o.json {
		return
	}
	if o.countdownShown {
		fmt.Fprint(o.stderr, "\n")
		o.countdownShown = false
	}
	fmt.Fprintln(o.stderr, text)
}

func (o *receiveOutput) showCode(s *receiver.Session, appName string) {
	if o.json {
		o.emit(receiveEvent{Event: "link", Link: s.Link(), ExpiresAt: s.ExpiresAt().UnixMilli()}, "")
		return
	}
	qr, err := terminalQR(s.Link())
	if err != nil {
		o.human("(cannot draw the QR code: " + err.Error() + ")")
	} else {
		o.human(qr)
	}
	o.human(s.Link())
	o.human(fmt.Sprintf("Scan with the %s app to sign in. Expires in %d s.", appName, secondsUntil(s.ExpiresAt())))
}

// countdown rewrites the time left, on a terminal only: in a log, one
// line per second would bury everything else.
func (o *receiveOutput) countdown(expiresAt time.Time) {
	if o.json || !o.tty {
		return
	}
	fmt.Fprintf(o.stderr, "\rExpires in %3d s ", secondsUntil(expiresAt))
	o.countdownShown = true
}

func (o *receiveOutput) result(ev receiver.Event) {
	m := ev.Message
	if o.json {
		e := receiveEvent{Event: "result", Kind: string(m.Kind), Data: &m.Data, CheckCode: ev.CheckCode}
		if m.Device != nil {
			e.Device = &device{Name: m.Device.Name, Type: m.Device.Type}
		}
		o.emit(e, "")
		return
	}
	from := ""
	if m.Device != nil {
		from = fmt.Sprintf(" from %s (%s)", m.Device.Name, m.Device.Type)
	}
	o.human(fmt.Sprintf("Received a %s%s, check code %s.", m.Kind, from, ev.CheckCode))
	fmt.Fprintln(o.stdout, m.Data)
}

// failure reports an error and returns the exit code for it: one line on
// stderr (and an error event with --json).
func (o *receiveOutput) failure(ctx context.Context, err error) int {
	if ctx.Err() != nil {
		o.human("Interrupted.")
		return receiveInterrupted
	}
	code, msg := describeReceiveFailure(err, o.relay, o.app)
	if o.json {
		o.emit(receiveEvent{Event: "error", Code: code, Message: msg}, "")
	}
	// On stderr in both modes: a script reads the event, a person the line.
	if o.json {
		fmt.Fprintln(o.stderr, "scanin receive: "+msg)
	} else {
		o.human("scanin receive: " + msg)
	}
	return receiveFailed
}

// describeReceiveFailure turns an error of the receiver into its code
// (a relay error code, or "error") and one line for a person, without the
// "scanin receive: " its caller puts first. A relay's refusal reads "the
// relay refused: CODE: its message", then what to do.
func describeReceiveFailure(err error, relay, app string) (code, line string) {
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code == "" {
		return "error", err.Error() + "; check that --relay " + relay + " is a relay that is up and reachable from here"
	}
	line = "the relay refused: " + string(perr.Code)
	if perr.Message != "" {
		line += ": " + perr.Message
	}
	hint := receiveHint(perr.Code, relay, app)
	if perr.Code == protocol.CodeOriginDenied && strings.Contains(perr.Message, "native_receivers") {
		// The relay named the setting already: say only who can change it.
		hint = "ask the relay's operator for that, or sign in from the app's web page"
	}
	return string(perr.Code), line + "; " + hint
}

// receiveHint says what to do about a relay's refusal.
func receiveHint(code protocol.Code, relay, app string) string {
	switch code {
	case protocol.CodeOriginDenied:
		return fmt.Sprintf(`app %q takes no terminal or native receivers: the relay's operator must set "native_receivers": true for it, or use the app from its web page`, app)
	case protocol.CodeNotFound:
		return fmt.Sprintf("check --app: the relay at %s has no app %q", relay, app)
	case protocol.CodeBadRequest:
		return "check --app and --ttl"
	case protocol.CodeRateLimited:
		return "too many new codes from this network: wait a minute, then try again"
	case protocol.CodeUnavailable:
		return "the relay is at capacity or shutting down: try again in a minute"
	case protocol.CodeConflict:
		return "run the command again"
	}
	return "run the command again; if this repeats, the relay and this command disagree on the protocol"
}

// terminalQR draws a QR code with half-block characters, two modules per
// character cell. The drawn parts are the light modules, quiet zone
// included, which suits the usual light-on-dark terminal; phone scanners
// also read the inverted code a dark-on-light terminal shows.
func terminalQR(link string) (string, error) {
	qr, err := qrcode.New(link, qrcode.Low)
	if err != nil {
		return "", fmt.Errorf("failed to encode the link: %w", err)
	}
	return qr.ToSmallString(false), nil
}

func secondsUntil(t time.Time) int {
	return max(0, int(time.Until(t).Round(time.Second)/time.Second))
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
