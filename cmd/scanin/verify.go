package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/verify"
)

// Exit codes of `scanin verify`.
const (
	verifyAllOK    = 0
	verifyRefused  = 1
	verifyUsage    = 2
	maxVerifyInput = assertion.MaxSize + 1 // the longest line read whole
)

// verifyUsageHead is the text of `scanin verify --help` above the flags.
const verifyUsageHead = `Usage: scanin verify --devices FILE --origin ORIGIN --app APP [--sid SID] < assertions

Act as a site's backend in server-side mode (docs/server-side.md): read
assertions from stdin, one per line, and verify each, in order, against
the registered devices in FILE (a JSON array of registration objects, as
'scanin device new' writes them, each optionally with "revoked": true),
the site's ORIGIN and APP, and SID when given. One replay store serves
them all, so the same assertion twice is refused the second time.

For each line it prints one JSON line:
  {"ok":true,"device":"<device id>","sub":"<user>","jti":"<jti>"}
  {"ok":false,"error":"<code>","message":"<why>"}
The codes are malformed, bad_alg, bad_typ, unknown_device, revoked,
bad_signature, bad_issuer, bad_audience, bad_app, bad_sid, expired,
not_yet_valid, too_long and replayed.`

const verifyUsageTail = `Exit codes:
    0  every assertion was accepted
    1  one or more were refused (or there were none, or stdin failed)
    2  bad flags, or a devices file that cannot be read
`

// verifyLine is one line of `scanin verify`'s output.
type verifyLine struct {
	OK      bool   `json:"ok"`
	Device  string `json:"device,omitempty"`
	Sub     string `json:"sub,omitempty"`
	JTI     string `json:"jti,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// runVerify is `scanin verify`.
func runVerify(ctx context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("scanin verify", flag.ContinueOnError)
	devicesFile := fs.String("devices", "", "the registered devices: a JSON array of registration objects in `FILE`")
	origin := fs.String("origin", "", "the site's `ORIGIN`, which each aud must equal (https://shop.example)")
	app := fs.String("app", "", "the site's `APP` id, which each app claim must equal")
	sid := fs.String("sid", "", "the session id `SID` the page reported: each sid claim must equal it (default: not checked)")
	if exit, done := parseFlags(fs, args, stdio, verifyUsageHead, verifyUsageTail); done {
		return exit
	}
	switch {
	case *devicesFile == "":
		return usageError(fs, "--devices is required")
	case *origin == "":
		return usageError(fs, "--origin is required")
	case *app == "":
		return usageError(fs, "--app is required")
	}
	if *sid != "" {
		if err := protocol.CheckSessionID(*sid); err != nil {
			return usageError(fs, "--sid: "+err.Error())
		}
	}
	v, err := verify.New(verify.Config{Origin: *origin, App: *app})
	if err != nil {
		return usageError(fs, err.Error())
	}
	regs, revoked, err := readDevices(*devicesFile)
	if err != nil {
		return usageError(fs, err.Error())
	}
	for i, reg := range regs {
		d, err := verify.NewDevice(reg, "", v.Now())
		if err == nil {
			err = v.Devices().Register(ctx, d)
		}
		if err == nil && revoked[i] {
			err = v.Devices().Revoke(ctx, reg.DeviceID)
		}
		if err != nil {
			return usageError(fs, err.Error())
		}
	}

	out := json.NewEncoder(stdio.out)
	out.SetEscapeHTML(false)
	in := bufio.NewReaderSize(stdio.in, 4096)
	seen, refused := 0, 0
	for {
		line, err := readLine(in, maxVerifyInput)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(stdio.err, "scanin verify: failed to read stdin: %v\n", err)
			return verifyRefused
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		seen++
		res, err := v.Verify(ctx, line, verify.Options{SessionID: *sid})
		var l verifyLine
		var refusal *verify.Error
		switch {
		case err == nil:
			l = verifyLine{OK: true, Device: res.Device.ID, Sub: res.Claims.Subject, JTI: res.Claims.ID}
		case errors.As(err, &refusal):
			l = verifyLine{Error: string(refusal.Code), Message: refusal.Message}
			refused++
		default:
			l = verifyLine{Error: "internal", Message: err.Error()}
			refused++
		}
		if err := out.Encode(l); err != nil {
			fmt.Fprintf(stdio.err, "scanin verify: failed to write: %v\n", err)
			return verifyRefused
		}
	}
	if seen == 0 {
		fmt.Fprintln(stdio.err, "scanin verify: no assertion on stdin (one per line)")
		return verifyRefused
	}
	if refused > 0 {
		fmt.Fprintf(stdio.err, "scanin verify: %d of %d assertions refused\n", refused, seen)
		return verifyRefused
	}
	return verifyAllOK
}

// readLine reads one line, without its end; a line longer than max is
// read whole but cut to max (it cannot be an assertion anyway).
func readLine(r *bufio.Reader, max int) (string, error) {
	var b strings.Builder
	for {
		chunk, err := r.ReadSlice('\n')
		if b.Len() < max {
			b.Write(chunk[:min(len(chunk), max-b.Len())])
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if b.Len() == 0 {
				return "", io.EOF
			}
			return b.String(), nil
		case nil:
			return strings.TrimSuffix(b.String(), "\n"), nil
		default:
			return "", err
		}
	}
}
