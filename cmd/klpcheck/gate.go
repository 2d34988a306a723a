package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/plan"
)

// gate is what decides, after the simulation, which findings fail a check
// run: the suppressions of the plan file, and the baseline to accept or to
// write.
type gate struct {
	suppressions []conflict.Suppression
	// baseline is the --baseline file, or nil.
	baseline *conflict.Baseline
	// writePath is the --write-baseline file, or "".
	writePath string
}

// addGateFlags registers --baseline and --write-baseline.
func addGateFlags(fs *flag.FlagSet, opts *checkOptions) {
	fs.Func("baseline", "baseline `FILE` written by --write-baseline: findings recorded in it are\nreported as suppressed and do not fail the check", func(path string) error {
		if path == "" {
			return errors.New("empty file name")
		}
		opts.baselinePath = path
		return nil
	})
	fs.Func("write-baseline", "write the findings of this run to the baseline `FILE`, replacing it, and\nreport them as suppressed by it", func(path string) error {
		if path == "" {
			return errors.New("empty file name")
		}
		opts.writeBaselinePath = path
		return nil
	})
}

// loadGate reads the baseline file and converts the suppressions of the
// plan file (nil when none was given).
func loadGate(opts checkOptions, planFile *plan.File) (gate, error) {
	g := gate{writePath: opts.writeBaselinePath}
	if opts.baselinePath != "" && opts.writeBaselinePath != "" {
		return g, errors.New("--baseline and --write-baseline cannot be combined: to refresh a baseline, run with --write-baseline alone")
	}

	if planFile != nil {
		for i, s := range planFile.Suppressions {
			g.suppressions = append(g.suppressions, conflict.Suppression{
				Rule:     s.Rule,
				Module:   s.Module,
				Object:   s.Object,
				Function: s.Function,
				Reason:   s.Reason,
				File:     planFile.Name,
				Index:    i,
				Line:     s.Line,
				KeyLines: s.Lines,
			})
		}
	}

	if opts.baselinePath != "" {
		data, err := os.ReadFile(opts.baselinePath)
		if err != nil {
			return g, fmt.Errorf("read baseline: %w", err)
		}
		b, err := conflict.DecodeBaseline(data, opts.baselinePath)
		if err != nil {
			return g, err
		}
		g.baseline = &b
	}
	return g, nil
}

// apply applies the suppressions, then writes the baseline or applies the
// one read. It returns exitUsage when the baseline file could not be
// written, after printing why, and exitClean otherwise.
func (g gate) apply(result *conflict.Result, std streams) int {
	conflict.ApplySuppressions(result, g.suppressions)

	if g.writePath != "" {
		b := conflict.NewBaseline(g.writePath, result.Findings)
		err := writeReportFile(g.writePath, func(w io.Writer) error { return b.Encode(w) })
		if err != nil {
			fmt.Fprintf(std.stderr, "klpcheck check: write baseline: %v\n", err)
			return exitUsage
		}
		conflict.ApplyBaseline(result, b)
		return exitClean
	}

	if g.baseline != nil {
		conflict.ApplyBaseline(result, *g.baseline)
	}
	return exitClean
}
