package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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
		{sendOK, "", "delivered, or pending: the relay holds it until the browser reconnects"},
		{sendFailed, mobile.CodeUnexpected, "the relay answered something the protocol does not define, or an I/O error"},
		{sendUsage, "", "bad flags"},
		{sendBadLink, "", "the link is not a valid scanin link"},
		{sendDeclined, mobile.CodeDenied, "you answered no: the session was denied"},
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
const sendUsageHead = `Usage: scanin send --link URI (--data STRING | --data-file FILE) [--kind token|data|assertion] [--yes]

Act as the phone: read the session a scanned link names, show what a phone
shows (app, page origin, browser, IP addresses, same network or not, time
left), ask "Log in? [y/N]", then seal the payload to the browser's key and
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
	dataFile := fs.String("data-file", "", "read the payload from `FILE`, byte for byte ('-' reads stdin and needs --yes)")
	kind := fs.String("kind", "token", "what the payload is: token, data or assertion")
	yes := fs.Bool("yes", false, "approve without asking")
	hostname, _ := os.Hostname()
	deviceName := fs.String("device-name", hostname, "the device name the browser is told")
	deviceType := fs.String("device-type", "cli", "the device type the browser is told")
	if exit, done := parseFlags(fs, args, stdio, sendUsageHead, sendUsageTail()); done {
		return exit
	}
	set := map[string]bool{} // flags given, even as "" (an empty payload is a payload)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *link == "":
		return usageError(fs, "--link is required")
	case set["data"] == set["data-file"]:
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
			fmt.Fprintf(stdio.err, "scanin send: %v\n", err)
			return sendFailed
		}
		payload = string(b)
	}

	client := mobile.ClientForAnyApp()
	defer client.Close()
	stop := context.AfterFunc(ctx, client.Close) // Ctrl-C ends requests in flight
	defer stop()

	session, err := client.Inspect(*link)
	if err != nil {
		code := mobile.ErrorCode(err)
		fmt.Fprintf(stdio.err, "scanin send: %s\n", describeFailure(code, err.Error(), mobile.ErrorRetryAfterSeconds(err)))
		return sendExitFor(code)
	}
	showSession(stdio.out, session)

	if !*yes {
		fmt.Fprint(stdio.out, "Log in? [y/N] ")
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
			fmt.Fprintln(stdio.out, "Denied: the browser was told no.")
			return sendDeclined
		}
	}

	o := session.Approve(*kind, payload, *deviceName, *deviceType)
	switch o.Code {
	case mobile.CodeDelivered:
		fmt.Fprintf(stdio.out, "Delivered: the browser has it (check code %s).\n", o.CheckCode)
		return sendOK
	case mobile.CodePending:
		fmt.Fprintf(stdio.out, "Pending: the relay holds it until the browser reconnects (check code %s).\n", o.CheckCode)
		return sendOK
	}
	fmt.Fprintf(stdio.err, "scanin send: %s\n", describeFailure(o.Code, o.Message, o.RetryAfterSeconds))
	return sendExitFor(o.Code)
}

// readPayload reads --data-file verbatim: a trailing newline is part of
// the payload.
func readPayload(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("failed to read the payload from stdin: %w", err)
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

// describeFailure is the one-line message for an SDK code.
func describeFailure(code, detail string, retryAfter int) string {
	var msg string
	switch code {
	case mobile.CodeExpired:
		msg = "the session expired: scan a fresh code"
	case mobile.CodeAlreadyUsed:
		msg = "the session was already used or denied"
	case mobile.CodeNotFound:
		msg = "the relay knows no such session"
	case mobile.CodeRejected:
		msg = "the browser could not open the message (a wrong key, or this computer's clock is off)"
	case mobile.CodeRateLimited:
		msg = fmt.Sprintf("rate limited by the relay: try again in %d s", retryAfter)
	case mobile.CodeTooLarge:
		msg = "the payload is too large"
	case mobile.CodeNetworkError:
		msg = "the relay could not be reached (retrying is safe)"
	case mobile.CodeUnavailable:
		msg = "the relay is at capacity or shutting down: try again later"
	case mobile.CodeBadRequest:
		msg = "the request was refused as malformed"
	case mobile.CodeConflict:
		msg = fmt.Sprintf("another delivery to this session is in flight: try again in %d s", retryAfter)
	case mobile.CodeCancelled:
		msg = "interrupted"
	default:
		if strings.HasPrefix(code, "link_") {
			msg = "not a valid scanin link"
		} else {
			msg = "unexpected answer"
		}
	}
	return msg + " (" + detail + ")"
}
