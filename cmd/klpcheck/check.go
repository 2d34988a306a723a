package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/live"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
	"github.com/klpcheck/klpcheck/report"
)

// checkOptions are the parsed flags and arguments of one check run. A
// setting left empty or nil was not given on the command line, so the plan
// file or the default decides it.
type checkOptions struct {
	semantics conflict.Semantics
	planPath  string
	liveDir   string
	kernel    *livepatch.KernelVersion
	// symposMatch is the value of --sympos-match, Unknown when the flag is absent.
	symposMatch conflict.Tristate
	failOn      *conflict.Severity
	format      report.Format
	outputs     []outputTarget
	paths       []string
	// targets are the --target paths, in order.
	targets []string

	baselinePath      string
	writeBaselinePath string
}

// checkSettings are the settings of a run after the command line, the plan
// file and the defaults were combined.
type checkSettings struct {
	semantics conflict.Semantics
	failOn    conflict.Severity
	kernel    livepatch.KernelVersion
	// symposMatch is whether the target has commit 139560e8b973, as the
	// command line or the plan states it; Unknown leaves it to the
	// release table of package conflict.
	symposMatch conflict.Tristate
	// kernelFrom names where kernel came from, for notes: "--kernel",
	// "the plan file" or "the live snapshot". It is empty when the target
	// kernel is unknown.
	kernelFrom string
	liveDir    string
	// liveFromPlan is set when liveDir is the plan's live key.
	liveFromPlan bool
	// notes are facts about the settings that the report shows next to the
	// simulation notes.
	notes []string
}

// checkInputs are the plan entries that could be read, with the files that
// were skipped or failed, in input order.
type checkInputs struct {
	patches []conflict.Patch
	skipped []report.Skip
	errors  []report.InputError
	notes   []string
	// status is exitInputError when a file could not be analysed.
	status int
}

func runCheck(args []string, std streams) int {
	opts, status, ok := parseCheckArgs(args, std)
	if !ok {
		return status
	}

	var planFile *plan.File
	if opts.planPath != "" {
		f, err := plan.Load(opts.planPath)
		if err != nil {
			return configError(std, opts.format, err)
		}
		planFile = f
	}
	if len(opts.paths) == 0 && (planFile == nil || len(planFile.Patches) == 0) {
		msg := "missing PATH: give at least one module file or directory, or a --plan that lists patches"
		if planFile != nil {
			msg = fmt.Sprintf("missing PATH: plan %s lists no patches, so give at least one module file or directory", opts.planPath)
		}
		return usageError(std, "klpcheck check", msg)
	}

	settings, err := resolveCheckSettings(opts, planFile)
	if err != nil {
		return configError(std, opts.format, err)
	}
	gate, err := loadGate(opts, planFile)
	if err != nil {
		return configError(std, opts.format, err)
	}

	var liveState *conflict.LiveState
	var liveFilter, liveRelease string
	if settings.liveDir != "" {
		state, err := live.Read(settings.liveDir)
		if err != nil {
			if settings.liveFromPlan {
				err = planError(planFile, "live", err)
			}
			return configError(std, opts.format, err)
		}
		liveState = convertLiveState(state)
		liveFilter, liveRelease = state.FilterFunctions, state.KernelRelease
		settings.applyLiveRelease(state)
		for _, note := range liveNotes(state) {
			settings.notes = append(settings.notes, fmt.Sprintf("live snapshot %s: %s", settings.liveDir, note))
		}
	}

	tgt := loadCheckTarget(planFile, opts.targets, liveFilter)
	if err := settings.applyTargetRelease(tgt, releaseClaims(opts, planFile, settings.liveDir, liveRelease)); err != nil {
		return configError(std, opts.format, err)
	}

	in := readCheckInputs(planFile, settings.semantics, opts.paths)
	for _, e := range in.errors {
		fmt.Fprintf(std.stderr, "klpcheck check: %s: %s\n", report.DisplayString(e.File), report.DisplayString(e.Reason))
	}

	result := conflict.Check(conflict.Plan{
		Semantics: settings.semantics,
		Kernel:    conflict.KernelInfo{Version: settings.kernel, SymposMatch: settings.symposMatch, Target: tgt.target, TargetExpect: tgt.expect},
		Live:      liveState,
		Patches:   in.patches,
	})
	// Notes about the inputs come before those of the simulation.
	result.Notes = append(append(append(settings.notes, tgt.notes...), in.notes...), result.Notes...)
	tgt.addModuleErrors()
	for _, e := range tgt.errors {
		fmt.Fprintf(std.stderr, "klpcheck check: %s: %s\n", report.DisplayString(e.File), report.DisplayString(e.Reason))
	}
	gateStatus := gate.apply(&result, std)

	c := report.Check{
		Result:     result,
		Skipped:    in.skipped,
		Errors:     append(in.errors, tgt.errors...),
		Target:     tgt.info,
		Kernel:     settings.kernel.Release,
		KernelFrom: settings.kernelFrom,
		Rules:      conflict.Rules(),
		Version:    buildVersion(),
		PlanPath:   opts.planPath,
		LivePath:   settings.liveDir,
	}
	render := func(w io.Writer, f report.Format) error {
		return report.WriteCheck(w, f, c)
	}
	status = worseExit(gateStatus, worseExit(worseExit(in.status, tgt.status), findingsStatus(result.Findings, settings.failOn)))
	return worseExit(status, writeReports("klpcheck check", std, opts.format, opts.outputs, render))
}

// parseCheckArgs parses the command line of check.
func parseCheckArgs(args []string, std streams) (checkOptions, int, bool) {
	opts := checkOptions{format: report.FormatText}
	formats := report.CheckFormats()

	fs := newFlagSet("check")
	fs.Func("semantics", "replace `SEMANTICS` to simulate: mainline, tag or replace-set.\nOverrides the plan's semantics; the default is mainline", func(name string) error {
		s, err := conflict.ParseSemantics(name)
		opts.semantics = s
		return err
	})
	fs.Func("plan", "plan `FILE` (YAML) that lists the modules to load and the settings of the check", func(path string) error {
		if path == "" {
			return errors.New("empty file name")
		}
		opts.planPath = path
		return nil
	})
	fs.Func("live", "live snapshot `DIR` written by 'klpcheck snapshot', the host state to start from.\nOverrides the plan's live", func(dir string) error {
		if dir == "" {
			return errors.New("empty directory name")
		}
		opts.liveDir = dir
		return nil
	})
	fs.Func("kernel", "target kernel `RELEASE` as uname -r prints it, for example 6.1.0-57-amd64.\nOverrides the plan's kernel and the live snapshot's release", func(release string) error {
		v, err := parseKernelRelease(release)
		opts.kernel = &v
		return err
	})
	fs.Func("sympos-match", "`ANSWER` yes or no: whether the target kernel has commit 139560e8b973, which matches\nold_sympos 0 and 1 (sympos-zero-one). Overrides the plan's sympos_match and the release table", func(answer string) error {
		switch answer {
		case "yes":
			opts.symposMatch = conflict.Yes
		case "no":
			opts.symposMatch = conflict.No
		default:
			return fmt.Errorf("invalid value %q: expected yes or no", answer)
		}
		return nil
	})
	fs.Var(formatValue{format: &opts.format, allowed: formats}, "format",
		"report format on standard output, `"+strings.Join(formatNames(formats), "|")+"`")
	fs.Var(outputsValue{targets: &opts.outputs, allowed: formats}, "output",
		"also write the report to a file, as `FORMAT=PATH` (for example sarif=klpcheck.sarif).\nThe file is replaced, and the flag may be repeated")
	fs.Func("fail-on", "lowest finding `SEVERITY` that makes check exit 1: error, warning, note or none.\nOverrides the plan's fail_on; the default is error", func(name string) error {
		s, err := conflict.ParseSeverity(name)
		opts.failOn = &s
		return err
	})
	addGateFlags(fs, &opts)
	addTargetFlags(fs, &opts)
	usage := func(w io.Writer) { printCheckUsage(w, fs) }

	paths, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return opts, status, false
	}
	opts.paths = paths
	return opts, exitClean, true
}

func printCheckUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: klpcheck check [--semantics mainline|tag|replace-set] [--plan FILE]
                      [--live DIR] [--kernel RELEASE] [--format text|json|sarif|github]
                      [--output FORMAT=PATH]... [--fail-on error|warning|note|none]
                      [--baseline FILE | --write-baseline FILE] [--target PATH]...
                      [PATH...]

Check simulates loading livepatch modules in order, optionally on top of the
patches already active on a host, and reports what the kernel would refuse,
which fixes get shadowed or reverted, and which module's code runs for each
patched function at the end.

The modules of the plan file are loaded first, in plan order, then each PATH.
A PATH is a module file or a directory. Directories are searched for .ko,
.ko.xz, .ko.zst and .ko.gz files, which are loaded in name order. Files that
are not livepatch modules are listed as skipped.

A setting given as a flag overrides the plan file, which overrides what the
module files record. The replace mode of a plan entry comes from its replace
key under mainline, its tag key under tag and its set key under replace-set.
A module whose replace mode neither the plan nor the file gives is reported
and simulated as a replace patch.

Findings that a suppression of the plan file or an entry of the --baseline
file accepts are still reported, marked as suppressed, but do not count
towards --fail-on. Suppressions without a reason or of unknown rules, and
suppressions and baseline entries that matched nothing, are findings of the
rules KLP0701 to KLP0703. docs/ci.md describes both.

With --target or the plan's targets, check also verifies each module against
the files of the target kernel: every patched function and klp symbol must
resolve as the kernel counts old_sympos, have an ftrace call site, and every
undefined symbol must be exported with the CRC the module expects. What the
inputs cannot tell is listed as "not checked" notes. docs/targets.md
describes the inputs and the rules KLP0601 to KLP0614.

Flags:
`)
	printFlags(w, fs)
	fmt.Fprint(w, `
Exit status: 0 when no finding reached --fail-on, 1 when one did, 2 for a usage
error, an invalid plan file, live snapshot or baseline, target inputs whose
kernel release differs from each other or from --kernel, the plan or the
snapshot, or a report or baseline that could not be written, 3 when a module
file or target input could not be read; the other inputs are still used. The
highest applicable status wins, and the status does not depend on --format.
`)
}

// configError prints an invalid plan file or live snapshot on stderr, one
// line per problem, and returns exitUsage. plan.Load joins every problem
// of a file into one error, one line each.
func configError(std streams, format report.Format, err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(std.stderr, "klpcheck check: %s\n", line)
	}

	// In a GitHub Actions job, an annotation puts the error on the plan
	// line. A failed write shows in the job log through stderr anyway.
	if format == report.FormatGitHub {
		for _, e := range flattenErrors(err) {
			var planErr *plan.Error
			if errors.As(e, &planErr) {
				_ = report.WriteGitHubConfigError(std.stdout, planErr.File, planErr.Line, planErr.Msg)
				continue
			}
			_ = report.WriteGitHubConfigError(std.stdout, "", 0, e.Error())
		}
	}
	return exitUsage
}

// flattenErrors returns the errors that errors.Join combined into err, or
// err alone.
func flattenErrors(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flattenErrors(e)...)
	}
	return out
}

// parseKernelRelease parses a release as uname -r prints it. A release that
// does not start with a version number is rejected, because the rules that
// depend on the kernel version could not use it.
func parseKernelRelease(release string) (livepatch.KernelVersion, error) {
	v := livepatch.ParseVermagic(release)
	startsWithDigit := release != "" && release[0] >= '0' && release[0] <= '9'
	if !startsWithDigit || strings.ContainsFunc(release, unicode.IsSpace) || !v.Known() {
		return livepatch.KernelVersion{}, fmt.Errorf("invalid kernel release %q: want a release as uname -r prints it, for example 6.1.0-57-amd64", release)
	}
	return v, nil
}

// resolveCheckSettings combines the command line, the plan file (nil when
// none was given) and the defaults: a flag overrides the plan, and the plan
// overrides the default.
func resolveCheckSettings(opts checkOptions, planFile *plan.File) (checkSettings, error) {
	settings := checkSettings{semantics: conflict.Mainline, failOn: conflict.SeverityError}
	var errs []error

	if planFile != nil {
		if planFile.Semantics != "" {
			s, err := conflict.ParseSemantics(planFile.Semantics)
			if err != nil {
				errs = append(errs, planError(planFile, "semantics", err))
			}
			settings.semantics = s
		}
		if planFile.FailOn != "" {
			s, err := conflict.ParseSeverity(planFile.FailOn)
			if err != nil {
				errs = append(errs, planError(planFile, "fail_on", err))
			}
			settings.failOn = s
		}
		if planFile.Kernel != "" {
			v, err := parseKernelRelease(planFile.Kernel)
			if err != nil {
				errs = append(errs, planError(planFile, "kernel", err))
			}
			settings.kernel, settings.kernelFrom = v, "the plan file"
		}
		settings.liveDir, settings.liveFromPlan = planFile.Live, planFile.Live != ""
		if planFile.SymposMatch != nil {
			settings.symposMatch = conflict.No
			if *planFile.SymposMatch {
				settings.symposMatch = conflict.Yes
			}
		}
	}

	if opts.semantics != "" {
		settings.semantics = opts.semantics
	}
	if opts.failOn != nil {
		settings.failOn = *opts.failOn
	}
	if opts.kernel != nil {
		settings.kernel, settings.kernelFrom = *opts.kernel, "--kernel"
	}
	if opts.liveDir != "" {
		settings.liveDir, settings.liveFromPlan = opts.liveDir, false
	}
	if opts.symposMatch != conflict.Unknown {
		settings.symposMatch = opts.symposMatch
	}
	return settings, errors.Join(errs...)
}

// planError places err on the line of a top-level key of the plan file.
func planError(f *plan.File, key string, err error) error {
	return fmt.Errorf("%s: %w", f.Position(f.Lines[key]), err)
}

// applyLiveRelease takes the target kernel from the live snapshot when
// neither --kernel nor the plan gave one, because the module loader
// compares vermagic with the release of the running kernel, which is the
// one the snapshot was taken on. When both are known and differ, a note
// records the difference.
func (s *checkSettings) applyLiveRelease(state *live.State) {
	if state.KernelRelease == "" {
		return
	}
	if s.kernelFrom == "" {
		s.kernel, s.kernelFrom = livepatch.ParseVermagic(state.KernelRelease), "the live snapshot"
		return
	}
	if s.kernel.Release != state.KernelRelease {
		s.notes = append(s.notes, fmt.Sprintf("the target kernel %s from %s differs from the release %s of the live snapshot %s: the simulation uses %s",
			s.kernel.Release, s.kernelFrom, state.KernelRelease, s.liveDir, s.kernel.Release))
	}
}

// liveNotes returns the notes of a live snapshot for the report. The note
// that the patch order comes from proc/modules is left out: with two or
// more live patches the simulation notes the same with the assumption it
// makes, and with fewer the order does not matter.
//
// NOTE: the note is matched by the start of its text in live/sysfs.go, so
// rewording it there brings the duplicate back.
func liveNotes(state *live.State) []string {
	if state.OrderSource != live.OrderProcModules {
		return state.Notes
	}
	return slices.DeleteFunc(slices.Clone(state.Notes), func(note string) bool {
		return strings.HasPrefix(note, "patch order taken from ")
	})
}

// findingsStatus returns exitFindings when a finding that is not suppressed
// has at least the severity failOn. With failOn none no finding fails the
// check.
func findingsStatus(findings []conflict.Finding, failOn conflict.Severity) int {
	if failOn == conflict.SeverityNone {
		return exitClean
	}
	for _, f := range findings {
		if f.Severity >= failOn && f.Suppressed == nil {
			return exitFindings
		}
	}
	return exitClean
}

// readCheckInputs reads the modules of the plan entries, then those found
// under paths, and turns each into a conflict.Patch with its replace mode
// resolved for semantics. Files that are not livepatch modules are
// skipped, and files that cannot be read are recorded as errors while the
// others are still read.
func readCheckInputs(planFile *plan.File, semantics conflict.Semantics, paths []string) checkInputs {
	var in checkInputs
	next, expanded := openModuleFiles(planFile, paths)

	if planFile != nil {
		for i, entry := range planFile.Patches {
			failed := len(in.errors)
			m, ok := in.readModule(next())
			if !ok {
				// Name the plan entry, where a wrong path is fixed.
				if len(in.errors) > failed {
					e := &in.errors[len(in.errors)-1]
					e.Reason = fmt.Sprintf("%s: patches[%d]: %s", planFile.Position(entry.Line), i, e.Reason)
				}
				continue
			}
			mode, known, note := planEntryMode(planFile, i, entry, semantics, m)
			if note != "" {
				in.notes = append(in.notes, note)
			}
			patch := conflict.Patch{Module: m, Mode: mode, ModeKnown: known, LiveName: entry.LiveName, Expect: entry.Expect}
			if entry.Expect != "" {
				patch.ExpectWhere = planFile.Position(entry.Lines["expect"])
				patch.ExpectFile, patch.ExpectLine = planFile.Name, entry.Lines["expect"]
			}
			in.patches = append(in.patches, patch)
		}
	}

	for i, path := range paths {
		for _, err := range expanded[i].errs {
			in.errors = append(in.errors, *inputError(path, err))
			in.status = exitInputError
		}

		for range expanded[i].files {
			m, ok := in.readModule(next())
			if !ok {
				continue
			}
			mode, known := conflict.ModeFromModule(m)
			in.patches = append(in.patches, conflict.Patch{Module: m, Mode: mode, ModeKnown: known})
		}
	}
	return in
}

// expandedPath is the module files found under one command-line path, and
// the entries under it that could not be read.
type expandedPath struct {
	files []string
	errs  []error
}

// openModuleFiles lists the module files of the plan entries and of each
// path, and reads them all with elfscan.OpenAll, which uses up to
// GOMAXPROCS goroutines. next returns the results one by one in that
// order: the plan entries first, then the files of each path.
func openModuleFiles(planFile *plan.File, paths []string) (next func() elfscan.Result, expanded []expandedPath) {
	var files []string
	if planFile != nil {
		for _, entry := range planFile.Patches {
			files = append(files, entry.Path)
		}
	}

	expanded = make([]expandedPath, len(paths))
	for i, path := range paths {
		found, problems := elfscan.Walk(path)
		expanded[i] = expandedPath{files: found}
		for _, p := range problems {
			expanded[i].errs = append(expanded[i].errs, p)
		}
		if len(found) == 0 && len(problems) == 0 {
			expanded[i].errs = []error{errors.New("no .ko, .ko.xz, .ko.zst or .ko.gz files found")}
		}
		files = append(files, found...)
	}

	results := elfscan.OpenAll(files, 0)
	next = func() elfscan.Result {
		r := results[0]
		results = results[1:]
		return r
	}
	return next, expanded
}

// readModule records the result of reading one module file. It returns
// false, after recording the file as skipped or failed, when there is no
// module to check.
func (in *checkInputs) readModule(r elfscan.Result) (*livepatch.Module, bool) {
	path := r.Path
	entry := inspectedModule(path, r.Module, r.Err)
	switch {
	case entry.Error != nil:
		in.errors = append(in.errors, *entry.Error)
		in.status = exitInputError
		return nil, false
	case entry.Skipped != "":
		in.skipped = append(in.skipped, report.Skip{Path: path, Reason: entry.Skipped})
		return nil, false
	}
	return entry.Module, true
}

// planEntryMode resolves the replace mode of plan entry i (counted from 0,
// as plan messages count them). The plan key that matches the semantics
// wins: replace under mainline, tag under tag, set under replace-set.
// Without it the mode recorded in the module file is used. A note is
// returned when the entry gives only keys of other semantics, so that the
// fallback to the file is visible.
func planEntryMode(f *plan.File, i int, entry plan.Patch, semantics conflict.Semantics, m *livepatch.Module) (mode conflict.Mode, known bool, note string) {
	switch {
	case semantics == conflict.Mainline && entry.Replace != nil:
		mode = conflict.Mode{Replace: *entry.Replace, Source: "plan"}
		if *entry.Replace {
			mode.Value = 1
		}
		return mode, true, ""
	case semantics == conflict.Tag && entry.Tag != nil:
		return conflict.Mode{Replace: *entry.Tag != 0, Value: *entry.Tag, Source: "plan"}, true, ""
	case semantics == conflict.ReplaceSet && entry.Set != nil:
		return conflict.Mode{Replace: *entry.Set != 0, Value: *entry.Set, Source: "plan"}, true, ""
	}

	mode, known = conflict.ModeFromModule(m)
	var otherKeys []string
	if entry.Replace != nil {
		otherKeys = append(otherKeys, "replace")
	}
	if entry.Tag != nil {
		otherKeys = append(otherKeys, "tag")
	}
	if entry.Set != nil {
		otherKeys = append(otherKeys, "set")
	}
	if len(otherKeys) > 0 {
		note = fmt.Sprintf("%s: patches[%d] gives %s, which %s semantics do not use: the replace mode of %s is read from the module file",
			f.Position(entry.Line), i, strings.Join(otherKeys, " and "), semantics, m.Name)
	}
	return mode, known, note
}

// convertLiveState turns a snapshot read by package live into the live
// state of a conflict.Plan.
func convertLiveState(state *live.State) *conflict.LiveState {
	out := &conflict.LiveState{Order: conflict.OrderSource(state.OrderSource)}

	for _, p := range state.Patches {
		lp := conflict.LivePatch{
			Name:       p.Name,
			Enabled:    p.Enabled,
			Transition: p.Transition,
			Replace:    tristate(p.Replace),
		}
		if p.ReplaceValue != nil {
			lp.ReplaceValue = *p.ReplaceValue
		}
		if p.ReplaceSet != nil {
			lp.ReplaceSet, lp.ReplaceSetKnown = *p.ReplaceSet, true
		}
		// live.Patch.StackOrder is a position derived from proc/modules
		// when the kernel has no stack_order attribute (before 6.14), and
		// conflict.LivePatch.StackOrder holds only the attribute.
		if state.OrderSource == live.OrderStackOrder {
			lp.StackOrder = p.StackOrder
		}
		for _, o := range p.Objects {
			obj := conflict.LiveObject{Name: o.Name}
			for _, fn := range o.Funcs {
				obj.Funcs = append(obj.Funcs, conflict.LiveFunc{Name: fn.Name, Sympos: fn.Sympos})
			}
			lp.Objects = append(lp.Objects, obj)
		}
		out.Patches = append(out.Patches, lp)
	}

	for _, m := range state.Modules {
		out.Modules = append(out.Modules, conflict.LoadedModule{Name: m.Name, Livepatch: m.Livepatch(), Refcount: m.Refcount, RefcountKnown: m.RefcountKnown})
	}
	return out
}

func tristate(b *bool) conflict.Tristate {
	switch {
	case b == nil:
		return conflict.Unknown
	case *b:
		return conflict.Yes
	}
	return conflict.No
}
