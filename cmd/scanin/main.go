// Command scanin is scanin's one binary: the relay, the terminal sender and
// receiver, and the demo.
//
//	scanin relay    run the relay (serves the widget too)
//	scanin send     act as the phone: deliver a payload to a scanned link
//	scanin receive  act as the browser: show a QR code, print what arrives
//	scanin demo     run the relay and a demo shop on loopback
//
// Each subcommand lives in its own file and has the signature of command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdio is what a subcommand reads and writes, so tests can run it in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command runs a subcommand with its arguments and returns the exit code.
// ctx is cancelled on SIGINT or SIGTERM.
type command func(ctx context.Context, args []string, io stdio) int

type subcommand struct {
	name, summary string
	run           command
}

func subcommands() []subcommand {
	return []subcommand{
		{"relay", "run the relay (serves the widget too)", runRelay},
		{"send", "act as the phone: deliver a payload to a scanned link", runSend},
		{"receive", "act as the browser: show a QR code, print what arrives", runReceive},
		{"demo", "run the relay and a demo shop on loopback", runDemo},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range subcommands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], io)
		}
	}
	fmt.Fprintf(io.err, "scanin: unknown command %q\n\n", args[0])
	usage(io.err)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: scanin <command> [flags]\n\nCommands:")
	for _, c := range subcommands() {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'scanin <command> --help' for a command's flags.")
}
