package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/scanin/scanin/internal/words"
	"github.com/scanin/scanin/mobile"
	"github.com/scanin/scanin/protocol"
)

// Exit codes of `scanin send`, one per way it can end.
const (
	sendOK          = 0
	sendFailed      = 1
	sendUsage       = 2
	sendBadLink     = 3
	sendDeclined    = 4
	sendExpired     = 5
	sendAlreadyUsed = 6
	sendNotFound    = 7
	sendRejected    = 8
	sendRateLimited = 9
	sendTooLarge    = 10
	sendNetwork     = 11
	sendUnavailable = 12
	sendBadRequest  = 13
	sendConflict    = 14
	sendNoAnswer    = 15
	sendInterrupted = 130
)

// sendExit is one row of the exit code table: the SDK code it stands for
// (empty for the CLI's own), and what it means.
type sendExit struct {
	exit    int
	code    string
	meaning string
}

// sendExits is the table --help prints and the outcome mapping uses.
func sendExits() []sendExit {
	return []sendExit{
		{sendOK, "", "signed in, or waiting for the browser (to check the number, or to reconnect)"},
		{sendFailed, mobile.CodeUnexpected, "the relay answered something the protocol does not define, or an I/O error"},
		{sendUsage, "", "bad flags"},
		{sendBadLink, "", "the link is not a valid scanin link"},
		{sendDeclined, mobile.CodeDenied, "you answered no: sign-in declined"},
		{sendExpired, mobile.CodeExpired, "the session expired"},
		{sendAlreadyUsed, mobile.CodeAlreadyUsed, "the session was already used or denied"},
		{sendNotFound, mobile.CodeNotFound, "the relay knows no such session"},
		{sendRejected, mobile.CodeRejected, "the browser could not open the message (wrong key, or this clock is off)"},
		{sendRateLimited, mobile.CodeRateLimited, "rate limited by the relay: try again later"},
		{sendTooLarge, mobile.CodeTooLarge, "the payload is too large"},
		{sendNetwork, mobile.CodeNetworkError, "the relay could not be reached (retrying is safe)"},
		{sendUnavailable, mobile.CodeUnavailable, "the relay is at capacity or shutting down"},
		{sendBadRequest, mobile.CodeBadRequest, "the relay refused the request as malformed"},
		{sendConflict, mobile.CodeConflict, "another delivery to this session is in flight"},
		{sendNoAnswer, "", "no answer to the question: stdin closed (use --yes)"},
		{sendInterrupted, mobile.CodeCancelled, "interrupted"},
	}
}

// sendExitFor maps an SDK code to its exit code.
func sendExitFor(code string) int {
	if strings.HasPrefix(code, "link_") {
		return sendBadLink
	}
	for _, e := range sendExits() {
		if e.code == code && code != "" {
			return e.exit
		}
	}
	return sendFailed
}

// sendUsageHead is the text of `scanin send --help` above the flag list.
const sendUsageHead = `Usage: scanin send --link URI (--data STRING | --data-file FILE) [--kind token|data] [--yes]
       scanin send --kind assertion --device DIR --user ID --link URI [--yes]

Act as the phone: read the session a scanned link names, show what a phone
shows (app, page origin, browser, IP addresses, same network or not, time
left), ask "Sign in? [y/N]", then seal the payload to the browser's key and
deliver it through the relay. Answering no denies the session.`

// sendUsageTail is the text of `scanin send --help` below the flag list:
// the exit codes.
func sendUsageTail() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range sendExits() {
		fmt.Fprintf(&b, "  %3d  %s\n", e.exit, e.meaning)
	}
	return b.String()
}

// runSend is `scanin send`.
func runSend(ctx context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("scanin send", flag.ContinueOnError)
	link := fs.String("link", "", "the scanned `URI` (what the QR code holds)")
	data := fs.String("data", "", "the payload to deliver")
	dataFile := fs.String("data-file", "", "read the payload from `FILE`, byte for byte ('-' reads stdin, drops one trailing newline, and needs --yes)")
	kind := fs.String("kind", "token", "what the payload is: token, data or assertion")
	yes := fs.Bool("yes", false, "approve without asking")
	hostname, _ := os.Hostname()
	deviceName := fs.String("device-name", hostname, "the device name the browser is told")
	deviceType := fs.String("device-type", "cli", "the device type the browser is told")
	deviceDir := fs.String("device", "", "with --kind assertion: sign with the device in `DIR` (made by 'scanin device new')")
	user := fs.String("user", "", "with --kind assertion: the user `ID` at the app that the assertion signs in")
	if exit, done := parseFlags(fs, args, stdio, sendUsageHead, sendUsageTail()); done {
		return exit
	}
	set := map[string]bool{} // flags given, even as "" (an empty payload is a payload)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *link == "":
		return usageError(fs, "--link is required")
	case *kind == "assertion" && (*deviceDir == "" || *user == "" || set["data"] || set["data-file"]):
		return usageError(fs, "--kind assertion takes --device DIR and --user ID, and no --data or --data-file: the assertion is signed here")
	case *kind != "assertion" && (*deviceDir != "" || *user != ""):
		return usageError(fs, "--device and --user are for --kind assertion")
	case *kind != "assertion" && set["data"] == set["data-file"]:
		return usageError(fs, "give exactly one of --data and --data-file")
	case *dataFile == "-" && !*yes:
		return usageError(fs, "--data-file - reads stdin, so it needs --yes")
	}
	switch *kind {
	case "token", "data", "assertion":
	default:
		return usageError(fs, "--kind must be token, data or assertion")
	}
	payload := *data
	if set["data-file"] {
		b, err := readPayload(*dataFile, stdio.in)
		if err != nil {
			fmt.Fprintf(stdio.err, "scanin send: %v; give --data-file a file you can read, or - for stdin\n", err)
			return sendFailed
		}
		payload = string(b)
	}

	device, err := loadSendDevice(*kind, *deviceDir)
	if err != nil {
		fmt.Fprintf(stdio.err, "scanin send: %v\n", err)
		return sendFailed
	}

	client := mobile.ClientForAnyApp()
	defer client.Close()
	stop := context.AfterFunc(ctx, client.Close) // Ctrl-C ends requests in flight
	defer stop()

	session, err := client.Inspect(*link)
	if err != nil {
		code := mobile.ErrorCode(err)
		fmt.Fprintf(stdio.err, "scanin send: %s\n", describeInspectFailure(*link, err))
		return sendExitFor(code)
	}
	showSession(stdio.out, session)
	if device != nil && !session.AcceptsAssertion() {
		fmt.Fprintln(stdio.err, "scanin send: "+noOriginMessage)
		return sendBadRequest
	}

	if !*yes {
		fmt.Fprint(stdio.out, words.CLIQuestion)
		answer, err := ask(ctx, stdio.in)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stdio.err, "\nscanin send: interrupted")
			return sendInterrupted
		case err != nil:
			fmt.Fprintln(stdio.err, "\nscanin send: no answer on stdin, nothing sent (use --yes to skip the question)")
			return sendNoAnswer
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			o := session.Deny()
			if o.Code != mobile.CodeDenied {
				fmt.Fprintf(stdio.err, "scanin send: failed to deny: %s\n", describeFailure(o.Code, o.Message, o.RetryAfterSeconds))
				return sendExitFor(o.Code)
			}
			fmt.Fprintln(stdio.out, words.CLIDeclined)
			return sendDeclined
		}
	}

	o := device.approveOr(session, *kind, payload, *user, *deviceName, *deviceType, set)
	switch o.Code {
	case mobile.CodeDelivered:
		fmt.Fprintln(stdio.out, words.Fill(words.CLISignedIn, "", o.CheckCode))
		return sendOK
	case mobile.CodePending:
		// No ack within the relay's wait: a browser in verify mode waits
		// for its user to compare the number, or the browser is offline.
		fmt.Fprintln(stdio.out, words.Fill(words.CLIWaiting, "", o.CheckCode))
		return sendOK
	}
	fmt.Fprintf(stdio.err, "scanin send: %s\n", describeFailure(o.Code, o.Message, o.RetryAfterSeconds))
	return sendExitFor(o.Code)
}

// readPayload reads --data-file. A file is read verbatim: a trailing
// newline is part of the payload. Stdin ("-") drops exactly one trailing
// newline ("\n" or "\r\n"), the one echo, a here-string or a person typing
// adds: `echo "$TOKEN" | scanin send --data-file - --yes` sends $TOKEN.
func readPayload(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("failed to read the payload from stdin: %w", err)
		}
		if b, ok := bytes.CutSuffix(b, []byte("\n")); ok {
			b, _ = bytes.CutSuffix(b, []byte("\r"))
			return b, nil
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("failed to read the payload: %w", err)
	}
	return b, nil
}

// showSession prints what a phone's confirmation screen shows.
func showSession(w io.Writer, s *mobile.Session) {
	origin := s.Origin()
	if origin == "" {
		origin = "(none: a terminal or native app)"
	}
	network := "same network as this computer"
	if !s.SameNetwork() {
		network = "NOT your network: continue only if you started this login yourself"
	}
	fmt.Fprintf(w, "Sign in to %s (%s)\n", s.AppName(), s.AppID())
	fmt.Fprintf(w, "  Page:        %s\n", origin)
	fmt.Fprintf(w, "  Browser:     %s\n", s.Browser())
	fmt.Fprintf(w, "  Browser IP:  %s\n", s.RequesterIP())
	fmt.Fprintf(w, "  Your IP:     %s\n", s.SenderIP())
	fmt.Fprintf(w, "  Network:     %s\n", network)
	fmt.Fprintf(w, "  Time left:   %d s\n", s.SecondsLeft())
	if s.State() == string(protocol.StateScanned) {
		fmt.Fprintln(w, "  Note:        this code was read before, maybe by someone else")
	}
}

// ask reads one line from in, giving up when ctx ends.
func ask(ctx context.Context, in io.Reader) (string, error) {
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(in).ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil // a last line without a newline still counts
		}
		got <- line{s, err}
	}()
	select {
	case l := <-got:
		return l.s, l.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// describeFailure is the one-line message for an SDK code, without the
// "scanin send: " its caller puts first: what happened, the code and
// detail (the relay's or the SDK's message), and then what to do.
func describeFailure(code, detail string, retryAfter int) string {
	what, hint := failureText(code, retryAfter)
	if strings.HasPrefix(code, "link_") {
		if detail == "" {
			return what + "; " + hint
		}
		return what + ": " + detail + "; " + hint
	}
	if detail == "" {
		return what + " (" + code + "); " + hint
	}
	return what + " (" + code + ": " + detail + "); " + hint
}

// describeInspectFailure is the one-line message for a link the SDK could
// not inspect. It reports a plain http relay in the link as such, which
// the SDK's code (link_insecure_relay) does not tell from other schemes.
func describeInspectFailure(link string, err error) string {
	code := mobile.ErrorCode(err)
	detail := err.Error()
	var se *mobile.ScanError
	if errors.As(err, &se) {
		detail = se.Message
	}
	if code == mobile.CodeLinkInsecureRelay && linkRelayIsHTTP(link) {
		detail = "the link's relay is plain http on a non-loopback host"
	}
	return describeFailure(code, detail, mobile.ErrorRetryAfterSeconds(err))
}

// linkRelayIsHTTP reports whether the link's relay parameter is a plain
// http URL.
func linkRelayIsHTTP(link string) bool {
	_, fragment, _ := strings.Cut(link, "#")
	for _, pair := range strings.Split(fragment, "&") {
		if v, ok := strings.CutPrefix(pair, "r="); ok {
			relay, err := url.QueryUnescape(v)
			return err == nil && strings.HasPrefix(strings.ToLower(relay), "http://")
		}
	}
	return false
}

// failureText is what happened for an SDK code, and what to do about it.
// Neither names scanin: the line starts with "scanin send: " already.
func failureText(code string, retryAfter int) (what, hint string) {
	switch code {
	case mobile.CodeExpired:
		return "the session expired", "scan the fresh code the other screen shows"
	case mobile.CodeAlreadyUsed:
		return "the session was already used or denied", "scan the code the other screen shows now"
	case mobile.CodeNotFound:
		return "the relay knows no such session", "check that the link was copied whole, or scan a fresh code"
	case mobile.CodeRejected:
		return "the browser could not open the message (a wrong key, or this computer's clock is off)",
			"check this computer's clock, then scan the code the other screen shows now"
	case mobile.CodeRateLimited:
		return "rate limited by the relay", fmt.Sprintf("try again in %d s", max(retryAfter, 1))
	case mobile.CodeTooLarge:
		return "the payload is too large", "send a smaller payload"
	case mobile.CodeNetworkError:
		return "the relay could not be reached", "check that the link's relay is up and reachable from here, then try again (retrying is safe)"
	case mobile.CodeUnavailable:
		return "the relay is at capacity or shutting down", "try again in a minute"
	case mobile.CodeBadRequest:
		return "the request was refused as malformed", "send UTF-8 text with a --kind of token, data or assertion"
	case mobile.CodeConflict:
		return "another delivery to this session is in flight", fmt.Sprintf("try again in %d s", max(retryAfter, 1))
	case mobile.CodeOriginDenied:
		return "the relay refused the request's origin", "a proxy in front of the relay may add an Origin header: tell the relay's operator"
	case mobile.CodeCancelled:
		return "interrupted", "nothing more was sent; run the command again to retry"
	case mobile.CodeLinkInsecureRelay:
		return "not a valid link", "phones refuse such a relay, and so does this command: the relay needs https"
	case mobile.CodeLinkVersion:
		return "not a valid link", "the code is for another version of the protocol: update this command"
	case mobile.CodeLinkWrongApp:
		return "not a valid link", "scan a code made for this app"
	}
	if strings.HasPrefix(code, "link_") {
		return "not a valid link", "copy the whole link from the QR code"
	}
	return "the relay answered something the protocol does not define",
		"check that the link's relay URL points at a relay, not at another server or a proxy's error page"
}
