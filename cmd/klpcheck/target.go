package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"

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
	// conflicts are the inputs rejected because their release differs
	// from an input read before them. They are configuration errors,
	// not read errors, since the files themselves are fine.
	conflicts []error
	// notes are facts about the inputs for the report.
	notes []string
}

// targetPath is one target input to read, in the order given.
type targetPath struct {
	path string
	// kallsymsExcerpt is set for lines selected from a /proc/kallsyms
	// dump, which content alone cannot tell from System.map.
	kallsymsExcerpt bool
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
	var inputs []targetPath
	for _, path := range flagPaths {
		inputs = append(inputs, targetPath{path: path})
	}
	if (len(inputs) > 0 || (planFile != nil && len(planFile.Targets) > 0)) && liveFilter != "" {
		inputs = append(inputs, targetPath{path: liveFilter})
	}
	return loadTargetPaths(planFile, inputs)
}

// loadTargetPaths reads the plan's targets (planFile may be nil), then
// inputs, into one target. It returns a checkTarget without a target when
// there is no input at all.
func loadTargetPaths(planFile *plan.File, inputs []targetPath) checkTarget {
	var ct checkTarget
	var paths []targetPath
	if planFile != nil {
		for _, entry := range planFile.Targets {
			paths = append(paths, targetPath{path: entry.Path})
			if entry.Expect != "" {
				ct.expect = append(ct.expect, conflict.TargetExpectation{
					Path:   entry.Path,
					Expect: entry.Expect,
					Where:  planFile.Position(entry.Lines["expect"]),
					File:   planFile.Name,
					Line:   entry.Lines["expect"],
				})
			}
		}
	}
	paths = append(paths, inputs...)
	if len(paths) == 0 {
		return ct
	}

	t := &target.Target{}
	for _, p := range paths {
		var err error
		if p.kallsymsExcerpt {
			err = t.LoadKallsymsExcerpt(p.path)
		} else {
			err = t.LoadPath(p.path)
		}
		ct.addErrors(err)
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

// addErrors records the errors of one input, which a package directory
// may join: a release that differs as a conflict, any other as an input
// that could not be read.
func (ct *checkTarget) addErrors(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var releaseErr *target.ReleaseError
		if errors.As(e, &releaseErr) {
			ct.conflicts = append(ct.conflicts, e)
			continue
		}
		ct.addError(e)
	}
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
	ct.addErrors(ct.target.ModuleErrors())
}

// targetInputError turns an error of package target into a report entry:
// the file, and the line of a text input or the section and offset of an
// ELF input where they are known.
func targetInputError(err error) report.InputError {
	out := report.InputError{Reason: err.Error()}

	var targetErr *target.Error
	if errors.As(err, &targetErr) {
		out.File, out.Reason = targetErr.Path, targetErr.Err.Error()
		out.Line = targetErr.Line
		out.Section, out.Offset, out.HasOffset = targetErr.Section, targetErr.Offset, targetErr.HasOffset
		if targetErr.Line > 0 {
			out.Reason = fmt.Sprintf("line %d: %v", targetErr.Line, targetErr.Err)
		}
	}
	var scanErr *elfscan.Error
	if errors.As(err, &scanErr) {
		if out.File == "" {
			out.File = scanErr.Path
		}
		if out.Section == "" && !out.HasOffset {
			out.Section, out.Offset, out.HasOffset = scanErr.Section, scanErr.Offset, scanErr.HasOffset
		}
	}
	if out.File == "" {
		out.File = "target"
	}
	return out
}

// releaseClaim is a kernel release that a setting names, and where the
// setting comes from, for messages: "--kernel", "the plan's kernel
// (plan.yaml:3)" or "the live snapshot DIR".
type releaseClaim struct {
	release, from string
}

// releaseClaims returns the releases that --kernel, the plan's kernel key
// and the live snapshot name, leaving out those not given. liveRelease is
// the release the snapshot recorded, empty without one.
func releaseClaims(opts checkOptions, planFile *plan.File, liveDir, liveRelease string) []releaseClaim {
	var claims []releaseClaim
	if opts.kernel != nil {
		claims = append(claims, releaseClaim{opts.kernel.Release, "--kernel"})
	}
	if planFile != nil && planFile.Kernel != "" {
		claims = append(claims, releaseClaim{planFile.Kernel, "the plan's kernel (" + planFile.Position(planFile.Lines["kernel"]) + ")"})
	}
	if liveRelease != "" {
		claims = append(claims, releaseClaim{liveRelease, "the live snapshot " + liveDir})
	}
	return claims
}

// applyTargetRelease checks the release of the target inputs against the
// releases in claims, and takes it as the target kernel when neither
// --kernel, the plan nor the live snapshot gave one. It returns an error,
// one line per problem, when two target inputs name different releases or
// when a claim names another release than the inputs do. The rules would
// otherwise check the files of one kernel against the settings of another.
func (s *checkSettings) applyTargetRelease(ct checkTarget, claims []releaseClaim) error {
	errs := slices.Clone(ct.conflicts)
	t := ct.target
	if t == nil || t.Release == "" {
		return errors.Join(errs...)
	}

	from := "target input " + t.ReleaseFrom
	for _, c := range claims {
		if c.release != t.Release {
			errs = append(errs, fmt.Errorf("%s names kernel release %s, but %s is from release %s: give the target files of %s",
				c.from, c.release, from, t.Release, c.release))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	if s.kernelFrom == "" {
		s.kernel, s.kernelFrom = livepatch.ParseVermagic(t.Release), from
	}
	return nil
}
