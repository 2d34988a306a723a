package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
	"github.com/klpcheck/klpcheck/report"
	"github.com/klpcheck/klpcheck/target"
)

// addTargetFlags adds --target to the flags of check.
func addTargetFlags(fs *flag.FlagSet, opts *checkOptions) {
	fs.Func("target", "target kernel input `PATH`: a vmlinux, System.map, /proc/kallsyms dump, module file,\nmodules directory, Module.symvers or available_filter_functions, told apart by\ncontent. The flag may be repeated, and adds to the plan's targets", func(path string) error {
		if path == "" {
			return errors.New("empty path")
		}
		opts.targets = append(opts.targets, path)
		return nil
	})
}

// checkTarget is the target kernel of a check run, read from the plan's
// targets and the --target flags.
type checkTarget struct {
	// target is nil when no target input was given, which turns the target
	// rules off.
	target *target.Target
	expect []conflict.TargetExpectation
	info   *report.TargetInfo
	// errors are the inputs that could not be read; status is then
	// exitInputError.
	errors []report.InputError
	status int
	// notes are facts about the inputs for the report.
	notes []string
}

// loadCheckTarget reads the plan's targets (planFile may be nil), then
// each --target path, into one target. An input that cannot be read is
// recorded as an error, and the others are still used.
//
// liveFilter is the live snapshot's copy of available_filter_functions,
// empty when there is none. It is read as the host's ftrace call sites,
// but only when some target input was given, because alone it would turn
// on every target rule with little to check.
func loadCheckTarget(planFile *plan.File, flagPaths []string, liveFilter string) checkTarget {
	var ct checkTarget
	var paths []string
	if planFile != nil {
		for _, entry := range planFile.Targets {
			paths = append(paths, entry.Path)
			if entry.Expect != "" {
				ct.expect = append(ct.expect, conflict.TargetExpectation{
					Path:   entry.Path,
					Expect: entry.Expect,
					Where:  planFile.Position(entry.Lines["expect"]),
				})
			}
		}
	}
	paths = append(paths, flagPaths...)
	if len(paths) == 0 {
		return ct
	}
	if liveFilter != "" {
		paths = append(paths, liveFilter)
	}

	t, errs := target.Load(paths)
	for _, err := range errs {
		ct.addError(err)
	}
	ct.target = t
	ct.info = &report.TargetInfo{Release: t.Release, ReleaseFrom: t.ReleaseFrom}
	for _, in := range t.Inputs {
		ct.info.Inputs = append(ct.info.Inputs, report.TargetInput{Path: in.Path, Kind: string(in.Kind)})
		for _, note := range in.Notes {
			ct.notes = append(ct.notes, fmt.Sprintf("target %s: %s", in.Path, note))
		}
	}
	return ct
}

// addError records a target input that could not be read.
func (ct *checkTarget) addError(err error) {
	ct.errors = append(ct.errors, targetInputError(err))
	ct.status = exitInputError
}

// addModuleErrors records the target modules that the rules asked for and
// that could not be read. The target reads a module file of a modules
// directory only when a patch refers to the module, so these errors are
// known only after the check.
func (ct *checkTarget) addModuleErrors() {
	if ct.target == nil {
		return
	}
	err := ct.target.ModuleErrors()
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			ct.addError(e)
		}
		return
	}
	ct.addError(err)
}

// targetInputError turns an error of package target into a report entry:
// the file, and the line of a text input or the section and offset of an
// ELF input where they are known.
func targetInputError(err error) report.InputError {
	out := report.InputError{Reason: err.Error()}

	var targetErr *target.Error
	if errors.As(err, &targetErr) {
		out.File, out.Reason = targetErr.Path, targetErr.Err.Error()
		if targetErr.Line > 0 {
			out.Reason = fmt.Sprintf("line %d: %v", targetErr.Line, targetErr.Err)
		}
	}
	var scanErr *elfscan.Error
	if errors.As(err, &scanErr) {
		if out.File == "" {
			out.File = scanErr.Path
		}
		out.Section, out.Offset, out.HasOffset = scanErr.Section, scanErr.Offset, scanErr.HasOffset
	}
	if out.File == "" {
		out.File = "target"
	}
	return out
}

// applyTargetRelease takes the target kernel release from the target
// inputs when neither --kernel, the plan nor the live snapshot gave one.
// When both are known and differ, a note records the difference, because
// the files then describe another kernel than the one the plan names.
func (s *checkSettings) applyTargetRelease(t *target.Target) {
	if t == nil || t.Release == "" {
		return
	}
	from := "the target inputs"
	if t.ReleaseFrom != "" {
		from = "target input " + t.ReleaseFrom
	}
	if s.kernelFrom == "" {
		s.kernel, s.kernelFrom = livepatch.ParseVermagic(t.Release), from
		return
	}
	if s.kernel.Release != t.Release {
		s.notes = append(s.notes, fmt.Sprintf("the target kernel %s from %s differs from the release %s of %s: the simulation uses %s, and the target rules check against the files",
			s.kernel.Release, s.kernelFrom, t.Release, from, s.kernel.Release))
	}
}
