package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/report"
)

// inspectOptions are the parsed flags and arguments of one inspect run.
type inspectOptions struct {
	format  report.Format
	outputs []outputTarget
	paths   []string
}

func runInspect(args []string, std streams) int {
	opts, status, ok := parseInspectArgs(args, std)
	if !ok {
		return status
	}

	in, status := inspectPaths(opts.paths)

	// The report lists failed files too, but it may go to a file or to a
	// pipe, so each failure is also printed on stderr.
	for _, entry := range in.Modules {
		if entry.Error != nil {
			fmt.Fprintf(std.stderr, "klpcheck inspect: %s: %s\n",
				report.DisplayString(entry.Error.File), report.DisplayString(entry.Error.Reason))
		}
	}

	render := func(w io.Writer, f report.Format) error {
		return writeBuffered(w, func(w io.Writer) error { return report.WriteInspection(w, f, in) })
	}
	return worseExit(status, writeReports("klpcheck inspect", std, opts.format, opts.outputs, render))
}

func parseInspectArgs(args []string, std streams) (inspectOptions, int, bool) {
	opts := inspectOptions{format: report.FormatText}
	formats := report.InspectFormats()

	fs := newFlagSet("inspect")
	fs.Var(formatValue{format: &opts.format, allowed: formats}, "format",
		"report format on standard output, `"+strings.Join(formatNames(formats), "|")+"`")
	fs.Var(outputsValue{targets: &opts.outputs, allowed: formats}, "output",
		"also write the report to a file, as `FORMAT=PATH` (for example json=report.json).\nThe file is replaced, and the flag may be repeated")
	usage := func(w io.Writer) { printInspectUsage(w, fs) }

	paths, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return opts, status, false
	}
	if len(paths) == 0 {
		return opts, usageError(std, "klpcheck inspect", "missing PATH: give at least one module file or directory"), false
	}
	opts.paths = paths
	return opts, exitClean, true
}

func printInspectUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: klpcheck inspect [--format text|json] [--output FORMAT=PATH]... PATH...

Inspect prints what each livepatch module declares: its name, kernel release,
modinfo, producer and replace mode, the patched objects and functions,
callbacks, states, klp relocation sections and klp symbols.

A PATH is a module file or a directory. Directories are searched for .ko,
.ko.xz, .ko.zst and .ko.gz files, which are read in name order. Files that
are not livepatch modules are listed as skipped.

Flags:
`)
	printFlags(w, fs)
	fmt.Fprint(w, `
Exit status: 0 when every file was read or skipped, 2 for a usage error or a
report that could not be written, 3 when a file could not be read.
`)
}

// inspectPaths reads every module found under paths, in parallel, and
// returns them in path order with the exit status: exitInputError if any
// path or file could not be read.
//
// Each command-line path is expanded on its own, so that a missing path is
// reported as a failed entry while the others are still read.
func inspectPaths(paths []string) (report.Inspection, int) {
	var in report.Inspection
	status := exitClean
	next, expanded := openModuleFiles(nil, paths)

	for i, path := range paths {
		for _, err := range expanded[i].errs {
			e := inputError(path, err)
			in.Modules = append(in.Modules, report.InspectedModule{Path: e.File, Error: e})
			status = exitInputError
		}

		for range expanded[i].files {
			r := next()
			entry := inspectedModule(r.Path, r.Module, r.Err)
			if entry.Error != nil {
				status = exitInputError
			}
			in.Modules = append(in.Modules, entry)
		}
	}
	return in, status
}

// inspectedModule turns the result of elfscan.Open into a report entry. A
// file that is not a livepatch module is skipped rather than failed.
func inspectedModule(path string, m *livepatch.Module, err error) report.InspectedModule {
	switch {
	case err == nil:
		return report.InspectedModule{Path: path, Module: m}
	case errors.Is(err, elfscan.ErrNotLivepatch):
		return report.InspectedModule{Path: path, Skipped: errorReason(err)}
	}
	return report.InspectedModule{Path: path, Error: inputError(path, err)}
}

// inputError converts an error from elfscan into the report's form, keeping
// the section and offset of an *elfscan.Error.
func inputError(path string, err error) *report.InputError {
	out := &report.InputError{File: path, Reason: errorReason(err)}

	var scanErr *elfscan.Error
	if errors.As(err, &scanErr) {
		if scanErr.Path != "" {
			out.File = scanErr.Path
		}
		out.Section = scanErr.Section
		out.Offset = scanErr.Offset
		out.HasOffset = scanErr.HasOffset
	}
	return out
}

// errorReason returns the message of err without the file path that an
// *elfscan.Error puts in front, because the report prints the path itself.
func errorReason(err error) string {
	var scanErr *elfscan.Error
	if errors.As(err, &scanErr) && scanErr.Err != nil {
		return scanErr.Err.Error()
	}
	return err.Error()
}
