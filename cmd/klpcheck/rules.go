package main

import (
	"fmt"
	"io"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/report"
)

func runRules(args []string, std streams) int {
	fs := newFlagSet("rules")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: klpcheck rules

Rules lists every rule that klpcheck check applies, one line each: the ID, the
default severity, the name and the title. Run 'klpcheck explain ID' for the
documentation of one rule.
`)
	}
	rest, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return status
	}
	if len(rest) > 0 {
		return usageError(std, "klpcheck rules", "unexpected arguments: rules takes none")
	}

	if err := report.WriteRules(std.stdout, conflict.Rules()); err != nil {
		fmt.Fprintf(std.stderr, "klpcheck rules: write to standard output: %v\n", err)
		return exitUsage
	}
	return exitClean
}

func runExplain(args []string, std streams) int {
	fs := newFlagSet("explain")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: klpcheck explain ID|NAME

Explain prints the documentation of one rule: what it detects, the kernel
behaviour behind it and how to fix a finding. The rule is given by its ID
(KLP0201) or its name (func-overlap), in any case. Run 'klpcheck rules' for
the list.
`)
	}
	rest, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return status
	}
	switch {
	case len(rest) == 0:
		return usageError(std, "klpcheck explain", "missing rule: give one rule ID or name")
	case len(rest) > 1:
		return usageError(std, "klpcheck explain", "too many arguments: give one rule ID or name")
	}

	rule, found := conflict.LookupRule(rest[0])
	if !found {
		fmt.Fprintf(std.stderr, "klpcheck explain: unknown rule %q\nRun 'klpcheck rules' for the list of rules.\n", rest[0])
		return exitUsage
	}
	if err := report.WriteExplain(std.stdout, rule); err != nil {
		fmt.Fprintf(std.stderr, "klpcheck explain: write to standard output: %v\n", err)
		return exitUsage
	}
	return exitClean
}
