package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// streams are the standard streams of one run. Commands take them instead
// of using os.Stdout and os.Stderr, so that tests can run them in-process.
type streams struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one klpcheck subcommand. run receives the arguments after the
// command name and returns the exit status. It prints its own usage for -h.
type command struct {
	name    string
	summary string
	run     func(args []string, std streams) int
}

// commands returns the subcommands in the order the usage lists them.
// Adding a command takes one entry here.
func commands() []command {
	return []command{
		{"check", "simulate loading livepatch modules and report conflicts", runCheck},
		{"inspect", "print what each livepatch module declares", runInspect},
		{"rules", "list the rules that check applies", runRules},
		{"explain", "print the documentation of one rule", runExplain},
		{"snapshot", "copy the livepatch state of this host into a directory", runSnapshot},
		{"trial", "load a plan into the target kernel under qemu and compare with check", runTrial},
		{"help", "print help for klpcheck or one command", runHelp},
		{"version", "print the klpcheck version", runVersion},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run executes klpcheck with args (without the program name) and returns
// the exit status. It holds no state between calls.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	std := streams{stdin: stdin, stdout: stdout, stderr: stderr}

	if len(args) == 0 {
		printMainUsage(stderr)
		return exitUsage
	}

	switch args[0] {
	case "-h", "-help", "--help":
		printMainUsage(stdout)
		return exitClean
	case "-version", "--version":
		return runVersion(args[1:], std)
	}

	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "klpcheck: flag %s must follow a command\n\n", args[0])
		printMainUsage(stderr)
		return exitUsage
	}

	cmd, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "klpcheck: unknown command %q\nRun 'klpcheck help' for usage.\n", args[0])
		return exitUsage
	}
	return cmd.run(args[1:], std)
}

func printMainUsage(w io.Writer) {
	fmt.Fprint(w, `klpcheck checks Linux livepatch kernel modules before they are loaded.

Usage:
  klpcheck <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'klpcheck help <command>' for the flags of a command.

Exit status:
  0  clean
  1  findings at or above the --fail-on severity
  2  usage or configuration error, or a report could not be written
  3  an input could not be analysed
When several apply, the highest wins.
`)
}

func runHelp(args []string, std streams) int {
	fs := newFlagSet("help")
	usage := func(w io.Writer) {
		fmt.Fprint(w, "Usage: klpcheck help [command]\n\nHelp prints the usage of klpcheck, or of one command.\n")
	}
	rest, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return status
	}

	switch len(rest) {
	case 0:
		printMainUsage(std.stdout)
		return exitClean
	case 1:
		cmd, found := findCommand(rest[0])
		if !found {
			fmt.Fprintf(std.stderr, "klpcheck help: unknown command %q\nRun 'klpcheck help' for the list of commands.\n", rest[0])
			return exitUsage
		}
		return cmd.run([]string{"-h"}, std)
	}
	return usageError(std, "klpcheck help", "too many arguments: give at most one command")
}

func runVersion(args []string, std streams) int {
	fs := newFlagSet("version")
	usage := func(w io.Writer) {
		fmt.Fprint(w, "Usage: klpcheck version\n\nVersion prints the klpcheck version: the module version it was built from,\nor (devel) for a build from a source tree.\n")
	}
	rest, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return status
	}
	if len(rest) > 0 {
		return usageError(std, "klpcheck version", "unexpected arguments: version takes none")
	}

	if _, err := fmt.Fprintf(std.stdout, "klpcheck %s\n", buildVersion()); err != nil {
		fmt.Fprintf(std.stderr, "klpcheck version: write to standard output: %v\n", err)
		return exitUsage
	}
	return exitClean
}

// buildVersion returns the version of the main module recorded by the Go
// toolchain: a tag for "go install ...@v1.2.3", or "(devel)" for a build
// from a source tree and for tests.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}

// newFlagSet returns a flag set for a subcommand that neither prints nor
// exits on its own: parseArgs reports errors and usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("klpcheck "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses args into fs and returns the positional arguments.
// Flags may follow positional arguments ("inspect a.ko --format json"), and
// everything after "--" is positional. When ok is false the command must
// return status: exitClean after -h printed the usage to stdout, or
// exitUsage after a bad flag printed the error to stderr.
func parseArgs(fs *flag.FlagSet, args []string, usage func(io.Writer), std streams) (positional []string, status int, ok bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage(std.stdout)
			return nil, exitClean, false
		}
		if err != nil {
			return nil, usageError(std, fs.Name(), err.Error()), false
		}

		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), exitClean, true
		}
		if len(rest) == 0 {
			return positional, exitClean, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints "prefix: msg" to stderr, followed by the help command
// that shows the usage, and returns exitUsage. The whole usage would bury
// the one line that says what is wrong. prefix is "klpcheck COMMAND".
func usageError(std streams, prefix, msg string) int {
	fmt.Fprintf(std.stderr, "%s: %s\n", prefix, msg)
	if command, ok := strings.CutPrefix(prefix, "klpcheck "); ok {
		fmt.Fprintf(std.stderr, "Run 'klpcheck help %s' for usage.\n", command)
	} else {
		fmt.Fprintf(std.stderr, "Run 'klpcheck help' for usage.\n")
	}
	return exitUsage
}

// printFlags writes the flag descriptions of fs to w.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
