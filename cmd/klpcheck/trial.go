package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/plan"
	"github.com/klpcheck/klpcheck/target"
	"github.com/klpcheck/klpcheck/trial"
)

// trialOptions are the parsed flags and arguments of one trial run.
type trialOptions struct {
	// check holds the flags trial shares with check: --plan and the paths.
	check       checkOptions
	image       string
	modulesDir  string
	format      string
	loadTargets string
	probes      []string
	targets     []string
	machine     trial.Machine
}

func runTrial(args []string, std streams) int {
	opts, status, ok := parseTrialArgs(args, std)
	if !ok {
		return status
	}

	var planFile *plan.File
	if opts.check.planPath != "" {
		f, err := plan.Load(opts.check.planPath)
		if err != nil {
			return trialConfigError(std, err)
		}
		planFile = f
	}
	if err := checkTrialPlan(planFile, opts.check); err != nil {
		return trialConfigError(std, err)
	}
	settings, err := resolveCheckSettings(opts.check, planFile)
	if err != nil {
		return trialConfigError(std, err)
	}

	in := readCheckInputs(planFile, conflict.Mainline, opts.check.paths)
	for _, e := range in.errors {
		fmt.Fprintf(std.stderr, "klpcheck trial: %s: %s\n", e.File, e.Reason)
	}
	if in.status != exitClean {
		return in.status
	}
	if len(in.patches) == 0 {
		return usageError(std, "klpcheck trial", "no livepatch module to load: every input was skipped")
	}
	var notes []string
	for _, s := range in.skipped {
		notes = append(notes, fmt.Sprintf("%s is not loaded: %s", s.Path, s.Reason))
	}
	notes = append(append(notes, settings.notes...), in.notes...)

	seq, entries := trialSequence(in.patches, opts.loadTargets, opts.probes)
	machine := opts.machine
	machine.Kernel, machine.Modules = opts.image, opts.modulesDir
	machine.SymbolNames = vmlinuxSymbolNames(in.patches)
	outcome, err := machine.Run(context.Background(), []trial.Sequence{seq})
	if err != nil {
		fmt.Fprintf(std.stderr, "klpcheck trial: %v\n", err)
		return exitInputError
	}

	dir, err := os.MkdirTemp("", "klpcheck-trial-")
	if err != nil {
		fmt.Fprintf(std.stderr, "klpcheck trial: create a temporary directory: %v\n", err)
		return exitInputError
	}
	defer os.RemoveAll(dir)
	kallsyms, err := writeGuestKallsyms(dir, outcome.Kallsyms)
	if err != nil {
		fmt.Fprintf(std.stderr, "klpcheck trial: %v\n", err)
		return exitInputError
	}
	tgt, expect, targetNotes := loadTrialTargets(opts, planFile, kallsyms)
	notes = append(notes, targetNotes...)
	if settings.kernelFrom != "" && settings.kernel.Release != outcome.Release {
		notes = append(notes, fmt.Sprintf("the target kernel %s from %s differs from the release %s that booted: the prediction uses %s", settings.kernel.Release, settings.kernelFrom, outcome.Release, outcome.Release))
	}
	result := trialPrediction(in.patches, outcome.Release, outcome.Sequences[0], entries, conflict.KernelInfo{Target: tgt, TargetExpect: expect})

	r := trial.Report{
		Image:      opts.image,
		Release:    outcome.Release,
		Boot:       outcome.Boot,
		Total:      outcome.Total,
		Comparison: trial.Compare(outcome.Sequences[0], entries, result),
		Notes:      append(notes, result.Notes...),
	}
	write := trial.WriteText
	if opts.format == "json" {
		write = trial.WriteJSON
	}
	if err := write(std.stdout, r); err != nil {
		fmt.Fprintf(std.stderr, "klpcheck trial: write to standard output: %v\n", err)
		return exitUsage
	}
	if !r.Agrees {
		return exitFindings
	}
	return exitClean
}

// loadTrialTargets reads the target inputs of the prediction the way check
// reads them: the plan's targets, then the guest's module directory, the
// lines of the guest's /proc/kallsyms that name the plan's vmlinux
// functions, and each --target. An input that cannot be read becomes a
// note, and the prediction goes on without it.
func loadTrialTargets(opts trialOptions, planFile *plan.File, kallsyms string) (*target.Target, []conflict.TargetExpectation, []string) {
	paths := []targetPath{{path: opts.modulesDir}, {path: kallsyms, kallsymsExcerpt: true}}
	for _, path := range opts.targets {
		paths = append(paths, targetPath{path: path})
	}
	ct := loadTargetPaths(planFile, paths)
	notes := ct.notes
	for _, e := range ct.errors {
		notes = append(notes, fmt.Sprintf("target input %s not used by the prediction: %s", e.File, e.Reason))
	}
	for _, err := range ct.conflicts {
		notes = append(notes, fmt.Sprintf("target input not used by the prediction: %v", err))
	}
	return ct.target, ct.expect, notes
}

// trialConfigError prints an invalid plan file, one line per problem, and
// returns exitUsage.
func trialConfigError(std streams, err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(std.stderr, "klpcheck trial: %s\n", line)
	}
	return exitUsage
}

func parseTrialArgs(args []string, std streams) (trialOptions, int, bool) {
	opts := trialOptions{format: "text", loadTargets: targetsBefore}

	fs := newFlagSet("trial")
	fs.StringVar(&opts.image, "kernel", "", "kernel `IMAGE` to boot, such as boot/vmlinuz-6.1.0-57-amd64 from the linux-image package")
	fs.StringVar(&opts.modulesDir, "modules", "", "module `DIR` of that kernel, such as lib/modules/6.1.0-57-amd64 from the same package")
	fs.Func("plan", "plan `FILE` (YAML) that lists the modules to load, as for check", func(path string) error {
		if path == "" {
			return errors.New("empty file name")
		}
		opts.check.planPath = path
		return nil
	})
	fs.Func("format", "report `FORMAT` on standard output, text|json", func(name string) error {
		if name != "text" && name != "json" {
			return fmt.Errorf("unknown format %q: want text or json", name)
		}
		opts.format = name
		return nil
	})
	fs.DurationVar(&opts.machine.Timeout, "timeout", trial.DefaultTimeout, "limit on the whole trial, from starting qemu, as a `DURATION` such as 90s")
	fs.DurationVar(&opts.machine.BootTimeout, "boot-timeout", trial.DefaultBootTimeout, "limit on the time until the guest's first report, as a `DURATION`")
	fs.DurationVar(&opts.machine.TransitionTimeout, "transition-timeout", trial.DefaultTransitionTimeout, "limit on each step's wait for livepatch transitions to end, as a `DURATION`")
	fs.Func("load-targets", "`WHEN` to load the target modules that patches name as objects: before or after the plan's modules, or none", func(s string) error {
		if s != targetsBefore && s != targetsAfter && s != targetsNone {
			return fmt.Errorf("invalid value %q: want before, after or none", s)
		}
		opts.loadTargets = s
		return nil
	})
	fs.Func("probe", "guest `FILE` to read after each step, such as /proc/cmdline; may be repeated", func(path string) error {
		opts.probes = append(opts.probes, path)
		return nil
	})
	fs.Func("target", "extra target `INPUT` for the prediction, as for check (vmlinux, System.map, ...); may be repeated", func(path string) error {
		if path == "" {
			return errors.New("empty file name")
		}
		opts.targets = append(opts.targets, path)
		return nil
	})
	fs.StringVar(&opts.machine.QEMU, "qemu", trial.DefaultQEMU, "qemu system emulator `PROGRAM`")
	fs.StringVar(&opts.machine.Busybox, "busybox", "busybox", "statically linked busybox `PROGRAM` for the guest")
	fs.StringVar(&opts.machine.Accel, "accel", "tcg", "qemu `ACCELERATOR`: tcg (software, works everywhere) or kvm")
	fs.StringVar(&opts.machine.Memory, "memory", trial.DefaultMemory, "guest memory `SIZE`, as qemu's -m takes it")
	usage := func(w io.Writer) { printTrialUsage(w, fs) }

	paths, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return opts, status, false
	}
	opts.check.paths = paths

	switch {
	case opts.image == "":
		return opts, usageError(std, "klpcheck trial", "missing --kernel: give the kernel image to boot"), false
	case opts.modulesDir == "":
		return opts, usageError(std, "klpcheck trial", "missing --modules: give the module directory of that kernel"), false
	case opts.check.planPath == "" && len(paths) == 0:
		return opts, usageError(std, "klpcheck trial", "missing PATH: give at least one module file or directory, or a --plan"), false
	case opts.machine.Timeout <= 0 || opts.machine.BootTimeout <= 0 || opts.machine.TransitionTimeout <= 0:
		return opts, usageError(std, "klpcheck trial", "timeouts must be positive durations"), false
	}
	return opts, exitClean, true
}

func printTrialUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: klpcheck trial --kernel IMAGE --modules DIR [--plan FILE] [--format text|json]
                      [--timeout DURATION] [--load-targets before|after|none]
                      [--probe FILE]... [--target INPUT]... [PATH...]

Trial boots the target kernel in qemu, with no network device and a small
initramfs of busybox and the modules, loads the plan's livepatch modules in
order with insmod, waits for each transition to end, and reports per step
what the kernel did: accepted or refused with which errno, the kernel
messages, and which patches the step disabled and which functions it
reverted. Beside each step it shows check's prediction for the same plan
and whether the two agree. At the end it shows /sys/kernel/livepatch and
the effective function map as the kernel has it and as check predicted it.

A trial exercises one boot of one machine, while check reasons over the
plan without running it; trial complements check rather than replacing it.
It needs qemu-system-x86_64 and a statically linked busybox (Debian's
qemu-system-x86 and busybox-static packages), and takes 6 to 16 seconds of
wall time under software emulation on a 2-core host. Modules that patches name as objects
are loaded from --modules with their dependencies.

Flags:
`)
	printFlags(w, fs)
	fmt.Fprint(w, `
Exit status: 0 when the kernel agreed with every prediction, 1 when it did
not, 2 for a usage error or an invalid plan, 3 when a module could not be
read or the trial could not run (qemu missing, the kernel did not boot, or
the guest hung).
`)
}
