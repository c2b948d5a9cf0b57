// Command scanin is scanin's one binary: the relay, the terminal sender and
// receiver, and the demo.
//
//	scanin relay    run the relay (serves the widget too)
//	scanin send     act as the phone: deliver a payload to a scanned link
//	scanin receive  act as the browser: show a QR code, print what arrives
//	scanin device   make a device key for server-side mode (assertions)
//	scanin verify   act as a site's backend: verify assertions read from stdin
//	scanin demo     run the relay and a demo shop on loopback
//	scanin version  print the version, VCS revision and Go version
//
// Each subcommand lives in its own file and has the signature of command,
// and parses its flags with parseFlags, so that every one of them treats
// --help, -h and a bad flag the same way.
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
		{"device", "make a device key for server-side mode (assertions)", runDevice},
		{"verify", "act as a site's backend: verify assertions read from stdin", runVerify},
		{"demo", "run the relay and a demo shop on loopback", runDemo},
		{"version", "print the version, VCS revision and Go version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

// run runs the subcommand args name. Bare `scanin` is a usage error: the
// usage goes to standard error and it ends with 2. `scanin help`, -h and
// --help print the usage on standard output and end with 0; `scanin help
// CMD` is `scanin CMD --help`. --version is `scanin version`.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		usage(io.err)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(io.out)
		return 0
	case "help":
		if len(args) == 1 {
			usage(io.out)
			return 0
		}
		args = []string{args[1], "--help"}
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
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

// parseFlags parses a subcommand's flags. Its --help text is head, the
// flag list (if the command has flags) and tail (which may be empty).
// --help or -h prints that text once, on standard output, and ends the
// command with 0. A bad flag or a stray argument prints what is wrong and
// then the text on standard error and ends the command with 2. done
// reports that the command should return exit now.
//
// Afterwards fs.Usage prints the text on standard error, for usageError.
func parseFlags(fs *flag.FlagSet, args []string, stdio stdio, head, tail string) (exit int, done bool) {
	printUsage := func(w io.Writer) {
		fmt.Fprintln(w, head)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nFlags:")
			out := fs.Output()
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(out)
		}
		if tail != "" {
			fmt.Fprint(w, "\n"+tail)
		}
	}
	fs.SetOutput(stdio.err) // where Parse says what is wrong with a flag
	// Parse calls Usage on -h and after a bad flag, and would print the
	// text to its one output; the text is printed below instead, once,
	// on the stream that fits.
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = func() { printUsage(stdio.err) }
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdio.out)
		return 0, true
	case err != nil:
		fs.Usage()
		return 2, true
	case fs.NArg() > 0:
		return usageError(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0))), true
	}
	return 0, false
}

// usageError reports a bad invocation that parseFlags let through, such
// as a missing flag: the command's name and msg, then its usage, on
// standard error. It returns the exit code for that, 2.
func usageError(fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), msg)
	fs.Usage()
	return 2
}
