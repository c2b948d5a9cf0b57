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
	"errors"
	"flag"
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

// parseFlags parses a subcommand's flags with usage as the text above the
// flag list. --help prints the usage on standard output and ends the
// command with 0; a bad flag or a stray argument prints what is wrong and
// the usage on standard error and ends it with 2. done reports that the
// command should return exit now.
func parseFlags(fs *flag.FlagSet, args []string, io stdio, usage string) (exit int, done bool) {
	printUsage := func() {
		fmt.Fprintln(fs.Output(), usage+"\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.Usage = printUsage
	fs.SetOutput(io.err)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(io.out)
			printUsage()
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		printUsage()
		return 2, true
	}
	return 0, false
}
