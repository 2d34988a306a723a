package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
	"github.com/klpcheck/klpcheck/trial"
)

// Where a trial loads the target modules that the plan's patches name as
// objects, relative to the plan's own loads.
const (
	targetsBefore = "before"
	targetsAfter  = "after"
	targetsNone   = "none"
)

// checkTrialPlan rejects the plan settings that a freshly booted kernel
// cannot reproduce: a live snapshot, entries that stand for patches
// already active on a host, and the proposed replace semantics, which no
// released kernel implements.
func checkTrialPlan(f *plan.File, opts checkOptions) error {
	if opts.semantics != "" && opts.semantics != conflict.Mainline {
		return fmt.Errorf("--semantics %s: a trial runs a real kernel, which implements mainline semantics only", opts.semantics)
	}
	if f == nil {
		return nil
	}
	if f.Semantics != "" && f.Semantics != string(conflict.Mainline) {
		return planError(f, "semantics", fmt.Errorf("semantics %s: a trial runs a real kernel, which implements mainline semantics only", f.Semantics))
	}
	if f.Live != "" {
		return planError(f, "live", fmt.Errorf("a trial boots a fresh kernel and cannot start from the live snapshot %s: list the live patches as ordinary entries, in the order they were loaded", f.Live))
	}
	for i, p := range f.Patches {
		if p.LiveName != "" {
			return fmt.Errorf("%s: patches[%d] has live_name %s: a trial boots a fresh kernel, so list the patch as an ordinary entry instead", f.Position(p.Line), i, p.LiveName)
		}
	}
	return nil
}

// trialSequence turns the patches that check read into the steps of a
// trial: one insmod per patch, in plan order, and one target step per
// module that a patch names as an object, before or after the patches or
// not at all. entries gives each step's plan entry for trial.Compare.
func trialSequence(patches []conflict.Patch, loadTargets string, probes []string) (seq trial.Sequence, entries []int) {
	var targets []string
	for _, p := range patches {
		for _, o := range p.Module.Objects {
			if o.Name != "vmlinux" && !o.LiteralVmlinux && !slices.Contains(targets, o.Name) {
				targets = append(targets, o.Name)
			}
		}
	}
	slices.Sort(targets)

	seq = trial.Sequence{Name: "plan", Probes: probes}
	addTargets := func() {
		for _, name := range targets {
			seq.Actions = append(seq.Actions, trial.Action{Kind: trial.ActionTarget, Module: name})
			entries = append(entries, 0)
		}
	}
	if loadTargets == targetsBefore {
		addTargets()
	}
	for i, p := range patches {
		seq.Actions = append(seq.Actions, trial.Action{Kind: trial.ActionInsmod, Path: p.Module.Path, Module: p.Module.Name})
		entries = append(entries, i+1)
	}
	if loadTargets == targetsAfter {
		addTargets()
	}
	return seq, entries
}

// trialPrediction runs check's simulation for the patches of a trial, on
// the release the guest booted. Modules that the guest loaded before the
// first patch, such as target modules, are passed as loaded modules of the
// host, as check's live state would list them. kernel holds the target
// inputs; its Version is set here.
func trialPrediction(patches []conflict.Patch, release string, out trial.SequenceOutcome, entries []int, kernel conflict.KernelInfo) conflict.Result {
	var live *conflict.LiveState
	for i, step := range out.Steps {
		if i < len(entries) && entries[i] > 0 {
			break
		}
		live = &conflict.LiveState{}
		for _, m := range step.State.Modules {
			live.Modules = append(live.Modules, conflict.LoadedModule{Name: m.Name})
		}
	}

	kernel.Version = livepatch.ParseVermagic(release)
	return conflict.Check(conflict.Plan{
		Semantics: conflict.Mainline,
		Kernel:    kernel,
		Live:      live,
		Patches:   patches,
	})
}

// vmlinuxSymbolNames returns the vmlinux names the target rules look up:
// the old_name of each function of a vmlinux object, the name of each klp
// symbol of vmlinux, and klp_enable_patch, whose presence shows that the
// kernel has livepatch support. The guest reports their /proc/kallsyms
// lines, so that the prediction counts sympos on the kernel that booted.
//
// NOTE: the target treats these lines as all of vmlinux's symbols. A rule
// that looks up another name would find it missing, so a name that a new
// target rule needs must be added here.
func vmlinuxSymbolNames(patches []conflict.Patch) []string {
	names := []string{"klp_enable_patch"}
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, p := range patches {
		for _, o := range p.Module.Objects {
			if o.Name != "vmlinux" {
				continue
			}
			for _, f := range o.Funcs {
				add(f.OldName)
			}
		}
		for _, s := range p.Module.KlpSymbols {
			if s.Object == "vmlinux" {
				add(s.Symbol)
			}
		}
	}
	slices.Sort(names)
	return names
}

// writeGuestKallsyms writes the guest's /proc/kallsyms lines to a file in
// dir, as a target input, and returns its path.
func writeGuestKallsyms(dir string, lines []string) (string, error) {
	path := filepath.Join(dir, "guest-kallsyms")
	data := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		return "", fmt.Errorf("write the guest's kallsyms: %w", err)
	}
	return path, nil
}
