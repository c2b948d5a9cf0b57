package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/mobile"
)

// The files of a device directory (`scanin device new --out DIR`).
const (
	deviceKeyFile  = "device.key"  // the private key, PKCS#8 PEM, mode 0600
	deviceJSONFile = "device.json" // the registration object
)

// deviceUsageHead is the text of `scanin device --help` above the flags.
const deviceUsageHead = `Usage: scanin device new --out DIR [--name NAME] [--type TYPE] [--id ID]

Make a device key for server-side mode (docs/server-side.md): an ECDSA
P-256 key pair, as a phone app makes once. Writes DIR/device.key (the
private key, PKCS#8 PEM, readable by you only) and DIR/device.json (the
registration object to give the site's backend, as "scanin verify
--devices" reads it). It never overwrites a key. Then sign a browser in
with "scanin send --kind assertion --device DIR --user ID --link URI".`

// runDevice is `scanin device`; its one subcommand is `new`.
func runDevice(ctx context.Context, args []string, stdio stdio) int {
	if len(args) > 0 && args[0] == "new" {
		return runDeviceNew(ctx, args[1:], stdio)
	}
	fs := flag.NewFlagSet("scanin device", flag.ContinueOnError)
	if exit, done := parseFlags(fs, args, stdio, deviceUsageHead, ""); done {
		return exit
	}
	return usageError(fs, "the command is 'scanin device new'")
}

// runDeviceNew is `scanin device new`.
func runDeviceNew(_ context.Context, args []string, stdio stdio) int {
	fs := flag.NewFlagSet("scanin device new", flag.ContinueOnError)
	hostname, _ := os.Hostname()
	out := fs.String("out", "", "the `DIR` to write device.key and device.json to (made if missing)")
	name := fs.String("name", hostname, "the device's `NAME` to show its user")
	deviceType := fs.String("type", "cli", "the device's `TYPE` (android, ios, cli, ...)")
	id := fs.String("id", "", "the device `ID`, 1 to 64 of A-Za-z0-9_- (default: 16 random bytes, base64url)")
	if exit, done := parseFlags(fs, args, stdio, deviceUsageHead, ""); done {
		return exit
	}
	if *out == "" {
		return usageError(fs, "--out is required")
	}
	if *id == "" {
		*id = assertion.NewDeviceID()
	} else if err := assertion.CheckDeviceID(*id); err != nil {
		return usageError(fs, "--id: "+err.Error())
	}
	keyPath, jsonPath := filepath.Join(*out, deviceKeyFile), filepath.Join(*out, deviceJSONFile)
	for _, p := range []string{keyPath, jsonPath} {
		switch _, err := os.Lstat(p); {
		case err == nil:
			fmt.Fprintf(stdio.err, "scanin device new: %s exists: a device key is made once; choose another --out to make another device\n", p)
			return 1
		case !errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(stdio.err, "scanin device new: %v\n", err)
			return 1
		}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fmt.Fprintf(stdio.err, "scanin device new: failed to make the directory: %v\n", err)
		return 1
	}
	signer, err := mobile.CreateFileSigner(keyPath)
	if err != nil {
		fmt.Fprintf(stdio.err, "scanin device new: %v\n", err)
		return 1
	}
	reg, err := mobile.NewRegistration(signer, *id, *name, *deviceType)
	if err == nil {
		err = writeNew(jsonPath, []byte(reg+"\n"), 0o644)
	}
	if err != nil {
		_ = os.Remove(keyPath) // no key without its registration
		fmt.Fprintf(stdio.err, "scanin device new: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdio.out, "Device %s (%s, %s)\n  key:          %s (keep it secret)\n  registration: %s (give it to the site's backend)\n",
		*id, *name, *deviceType, keyPath, jsonPath)
	return 0
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", path, err)
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("failed to write %s: %w", path, werr)
	}
	return nil
}

// cliDevice is a device directory, loaded for `scanin send --kind
// assertion`.
type cliDevice struct {
	signer *mobile.FileSigner
	reg    assertion.Registration
}

// loadDevice reads DIR/device.key and DIR/device.json and checks that they
// are one device's.
func loadDevice(dir string) (*cliDevice, error) {
	b, err := os.ReadFile(filepath.Join(dir, deviceJSONFile))
	if err != nil {
		return nil, fmt.Errorf("failed to read the device (make one with 'scanin device new --out DIR'): %w", err)
	}
	reg, pub, err := assertion.ParseRegistration(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, deviceJSONFile), err)
	}
	signer, err := mobile.LoadFileSigner(filepath.Join(dir, deviceKeyFile))
	if err != nil {
		return nil, err
	}
	point, err := signer.PublicKey()
	if err != nil {
		return nil, err
	}
	if own, err := ecdsa.ParseUncompressedPublicKey(pub.Curve, point); err != nil || !own.Equal(pub) {
		return nil, fmt.Errorf("%s and %s are not the same device's: the key differs", deviceKeyFile, deviceJSONFile)
	}
	return &cliDevice{signer: signer, reg: reg}, nil
}

// registrationFile is one entry of `scanin verify --devices FILE`: a
// registration object, maybe revoked.
type registrationFile struct {
	Revoked bool `json:"revoked"`
}

// readDevices reads a JSON array of registration objects, each with an
// optional "revoked": true.
func readDevices(path string) ([]assertion.Registration, []bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the devices: %w", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, fmt.Errorf("%s: want a JSON array of registration objects: %w", path, err)
	}
	regs := make([]assertion.Registration, 0, len(raw))
	revoked := make([]bool, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		reg, _, err := assertion.ParseRegistration(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: device %d: %w", path, i+1, err)
		}
		var extra registrationFile
		if err := json.Unmarshal(r, &extra); err != nil {
			return nil, nil, fmt.Errorf("%s: device %d: \"revoked\" must be true or false", path, i+1)
		}
		if seen[reg.DeviceID] {
			return nil, nil, fmt.Errorf("%s: device %q appears twice", path, reg.DeviceID)
		}
		seen[reg.DeviceID] = true
		regs = append(regs, reg)
		revoked = append(revoked, extra.Revoked)
	}
	return regs, revoked, nil
}

// noOriginMessage is what `scanin send --kind assertion` says to a code
// that a terminal or native receiver made.
const noOriginMessage = "this code has no page origin (it was made by a terminal or native receiver, such as 'scanin receive'): " +
	"an assertion is addressed to a website's origin, so it can only go to a browser's code; " +
	"server-side mode for terminal receivers is not supported yet. Nothing was sent."

// loadSendDevice loads --device for `scanin send --kind assertion`, and
// is nil for the other kinds.
func loadSendDevice(kind, dir string) (*cliDevice, error) {
	if kind != "assertion" {
		return nil, nil
	}
	return loadDevice(dir)
}

// approveOr approves the session: with an assertion signed by d for user,
// or, when d is nil, with the payload of kind. The browser is told the
// device name and type of the --device-name and --device-type flags
// (set holds the flags given); with d, those not given are the
// registration's.
func (d *cliDevice) approveOr(s *mobile.Session, kind, payload, user, name, deviceType string, set map[string]bool) *mobile.Outcome {
	if d == nil {
		return s.Approve(kind, payload, name, deviceType)
	}
	if !set["device-name"] {
		name = d.reg.Name
	}
	if !set["device-type"] {
		deviceType = d.reg.Type
	}
	return s.ApproveAssertion(d.signer, d.reg.DeviceID, user, name, deviceType)
}
