package trial

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/livepatch"
)

// Comparison sets the kernel's answer for each step of one sequence beside
// check's prediction for it.
type Comparison struct {
	Sequence string
	Steps    []StepComparison
	// Final is the livepatch state after the last step.
	Final State
	// Effective is the function map the kernel ended with, and Predicted
	// the one check predicted, both sorted by object, function and sympos.
	Effective []EffectiveFunc
	Predicted []EffectiveFunc
	// EffectiveDifferences lists how the two maps differ, one line per
	// function.
	EffectiveDifferences []string
	// Agrees is set when every predicted step and the effective map agree.
	Agrees bool
}

// StepComparison is one step with the kernel's result and check's
// prediction.
type StepComparison struct {
	// Index is the step's position in the sequence, from 1.
	Index  int
	Action Action
	Kernel KernelResult
	// Predicted is nil for a step check makes no prediction for: loading a
	// target module, disabling a patch or removing a module.
	Predicted *PredictedResult
	// Agrees is nil when there is no prediction.
	Agrees      *bool
	Differences []string
}

// KernelResult is what the kernel did in one step, with the changes to
// the patch list derived from sysfs before and after it.
type KernelResult struct {
	Accepted bool
	// Errno is the errno name of a refusal, such as EINVAL, or "" when
	// the step was accepted or the errno is unknown.
	Errno      string
	ExitStatus int
	Output     []string
	Messages   []string
	// Loaded lists the dependencies a target step loaded first.
	Loaded            []string
	TransitionTimeout bool
	// Patched are the functions of the patch this step enabled; Disabled
	// the patches that were enabled before the step and are not after it;
	// Reverted the functions that ran a patch's code before the step and
	// run none after it, with the module whose code ran before.
	Patched  []FuncRef
	Reverted []FuncRef
	Disabled []string
	Probes   []Probe
}

// PredictedResult is check's simulation of one step.
type PredictedResult struct {
	Accepted bool
	Errno    string
	// RefusedBy names the rule whose refusal the kernel meets first.
	RefusedBy string
	Patched   []FuncRef
	Reverted  []FuncRef
	Disabled  []string
}

// FuncRef is a function of an object, with the sympos as sysfs shows it
// (a stored 0 as 1) and, where it matters, the module it belongs to.
type FuncRef struct {
	Object   string
	Function string
	Sympos   uint64
	Module   string
}

func (f FuncRef) String() string {
	s := fmt.Sprintf("%s:%s,%d", f.Object, f.Function, f.Sympos)
	if f.Module != "" {
		s += " (" + f.Module + ")"
	}
	return s
}

// EffectiveFunc is one function of the final map: the module whose code
// runs for it.
type EffectiveFunc struct {
	Object   string
	Function string
	Sympos   uint64
	Module   string
	// Applied is false in the kernel's map when the object is a module
	// that is not loaded, so the patch waits for it. Predicted entries
	// leave it false.
	Applied bool
}

// Compare sets the outcome of seq beside check's result for the same plan.
// entries gives, for each action of the sequence, the 1-based index of the
// plan entry it loads (conflict.Step.Index), or 0 for an action that is not
// a plan entry.
func Compare(seq SequenceOutcome, entries []int, result conflict.Result) Comparison {
	c := Comparison{Sequence: seq.Name, Agrees: true}
	predicted := map[int]conflict.Step{}
	for _, s := range result.Steps {
		if !s.Live {
			predicted[s.Index] = s
		}
	}

	var (
		before State
		order  []string
	)
	for i, step := range seq.Steps {
		order = enableOrder(order, step.State)
		sc := StepComparison{Index: i + 1, Action: step.Action, Kernel: kernelResult(step, before, order)}
		if i < len(entries) && entries[i] > 0 {
			if p, ok := predicted[entries[i]]; ok {
				pr := predictedResult(p)
				sc.Predicted = &pr
				sc.Differences = stepDifferences(sc.Kernel, pr)
				agrees := len(sc.Differences) == 0
				sc.Agrees = &agrees
				c.Agrees = c.Agrees && agrees
			}
		}
		c.Steps = append(c.Steps, sc)
		before = step.State
	}

	c.Final = before
	c.Effective = effectiveMap(before, order)
	for _, e := range result.Effective {
		c.Predicted = append(c.Predicted, EffectiveFunc{Object: e.Object, Function: e.Function, Sympos: livepatch.SysfsSympos(e.Sympos), Module: e.Module})
	}
	sortEffective(c.Predicted)
	c.EffectiveDifferences = effectiveDifferences(c.Effective, c.Predicted)
	c.Agrees = c.Agrees && len(c.EffectiveDifferences) == 0
	return c
}

// enableOrder appends the patches of state that order does not list yet.
// A patch joins the kernel's patch list when it is enabled and stays in
// place until it is freed, so the first step that shows it gives its
// position. Patches that appear in the same step are taken by name.
func enableOrder(order []string, state State) []string {
	for _, p := range state.Patches {
		if !slices.Contains(order, p.Name) {
			order = append(order, p.Name)
		}
	}
	return order
}

// kernelResult derives the kernel's result for a step from its outcome and
// the state before it.
func kernelResult(step StepOutcome, before State, order []string) KernelResult {
	k := KernelResult{
		Accepted:          step.Accepted,
		Errno:             step.ErrnoName,
		ExitStatus:        step.ExitStatus,
		Output:            step.Output,
		Messages:          step.Messages,
		Loaded:            step.Loaded,
		TransitionTimeout: step.TransitionTimeout,
		Probes:            step.Probes,
	}

	if step.Accepted && step.Action.Kind == ActionInsmod {
		if p := step.State.patch(step.Action.Module); p != nil && before.patch(p.Name) == nil {
			for _, o := range p.Objects {
				for _, f := range o.Funcs {
					k.Patched = append(k.Patched, FuncRef{Object: o.Name, Function: f.Name, Sympos: f.Sympos})
				}
			}
		}
	}

	for _, p := range before.Patches {
		if !p.Enabled {
			continue
		}
		if now := step.State.patch(p.Name); now == nil || !now.Enabled {
			k.Disabled = append(k.Disabled, p.Name)
		}
	}

	after := effectiveMap(step.State, order)
	for _, e := range effectiveMap(before, order) {
		if !slices.ContainsFunc(after, func(a EffectiveFunc) bool { return sameFunc(a, e) }) {
			k.Reverted = append(k.Reverted, FuncRef{Object: e.Object, Function: e.Function, Sympos: e.Sympos, Module: e.Module})
		}
	}
	sortRefs(k.Patched)
	sortRefs(k.Reverted)
	slices.Sort(k.Disabled)
	return k
}

// effectiveMap returns, for each function of an enabled patch, the patch
// enabled last that has it, which is the one whose code runs: the kernel
// puts each new patch's function at the top of the function's stack.
func effectiveMap(state State, order []string) []EffectiveFunc {
	type key struct {
		object, function string
		sympos           uint64
	}
	top := map[key]EffectiveFunc{}
	for _, name := range order {
		p := state.patch(name)
		if p == nil || !p.Enabled {
			continue
		}
		for _, o := range p.Objects {
			for _, f := range o.Funcs {
				top[key{o.Name, f.Name, f.Sympos}] = EffectiveFunc{Object: o.Name, Function: f.Name, Sympos: f.Sympos, Module: p.Name, Applied: o.Patched}
			}
		}
	}
	out := make([]EffectiveFunc, 0, len(top))
	for _, e := range top {
		out = append(out, e)
	}
	sortEffective(out)
	return out
}

func sameFunc(a, b EffectiveFunc) bool {
	return a.Object == b.Object && a.Function == b.Function && a.Sympos == b.Sympos
}

func sortEffective(fs []EffectiveFunc) {
	slices.SortFunc(fs, func(a, b EffectiveFunc) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Function, b.Function), cmp.Compare(a.Sympos, b.Sympos))
	})
}

func sortRefs(fs []FuncRef) {
	slices.SortFunc(fs, func(a, b FuncRef) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Function, b.Function), cmp.Compare(a.Sympos, b.Sympos), cmp.Compare(a.Module, b.Module))
	})
}

// predictedResult converts check's step, with sympos as sysfs shows it so
// that it compares with the kernel's.
func predictedResult(s conflict.Step) PredictedResult {
	p := PredictedResult{Accepted: !s.Refused, Errno: s.Errno, RefusedBy: s.RefusedBy}
	for _, f := range s.Patched {
		p.Patched = append(p.Patched, FuncRef{Object: f.Object, Function: f.Function, Sympos: livepatch.SysfsSympos(f.Sympos)})
	}
	for _, f := range s.Reverted {
		p.Reverted = append(p.Reverted, FuncRef{Object: f.Object, Function: f.Function, Sympos: livepatch.SysfsSympos(f.Sympos), Module: f.Module})
	}
	p.Disabled = slices.Clone(s.Disabled)
	sortRefs(p.Patched)
	sortRefs(p.Reverted)
	slices.Sort(p.Disabled)
	return p
}

// stepDifferences lists how the kernel's result differs from the
// prediction.
func stepDifferences(k KernelResult, p PredictedResult) []string {
	switch {
	case k.Accepted && !p.Accepted:
		return []string{fmt.Sprintf("the kernel accepted the load, check predicted a refusal with %s (%s)", p.Errno, p.RefusedBy)}
	case !k.Accepted && p.Accepted:
		return []string{fmt.Sprintf("the kernel refused the load with %s, check predicted it accepted", errnoText(k.Errno))}
	case !k.Accepted:
		if k.Errno != p.Errno {
			return []string{fmt.Sprintf("the kernel refused the load with %s, check predicted %s (%s)", errnoText(k.Errno), p.Errno, p.RefusedBy)}
		}
		return nil
	}

	var diffs []string
	diffs = append(diffs, listDifferences("patched", refStrings(k.Patched), refStrings(p.Patched))...)
	diffs = append(diffs, listDifferences("reverted", refStrings(k.Reverted), refStrings(p.Reverted))...)
	diffs = append(diffs, listDifferences("disabled", k.Disabled, p.Disabled)...)
	if k.TransitionTimeout {
		diffs = append(diffs, "the transition did not end in time, so the kernel's state may still change")
	}
	return diffs
}

func errnoText(name string) string {
	if name == "" {
		return "an unknown errno"
	}
	return name
}

func refStrings(refs []FuncRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return out
}

// listDifferences reports the entries only the kernel or only check has.
func listDifferences(what string, kernel, predicted []string) []string {
	var diffs []string
	for _, k := range kernel {
		if !slices.Contains(predicted, k) {
			diffs = append(diffs, fmt.Sprintf("%s: the kernel has %s, check did not predict it", what, k))
		}
	}
	for _, p := range predicted {
		if !slices.Contains(kernel, p) {
			diffs = append(diffs, fmt.Sprintf("%s: check predicted %s, the kernel does not have it", what, p))
		}
	}
	return diffs
}

// effectiveDifferences lists the functions whose module differs between
// the kernel's map and the predicted one.
func effectiveDifferences(kernel, predicted []EffectiveFunc) []string {
	var diffs []string
	name := func(e EffectiveFunc) string { return fmt.Sprintf("%s:%s,%d", e.Object, e.Function, e.Sympos) }
	for _, k := range kernel {
		i := slices.IndexFunc(predicted, func(p EffectiveFunc) bool { return sameFunc(p, k) })
		switch {
		case i < 0:
			diffs = append(diffs, fmt.Sprintf("%s runs %s's code in the kernel, check predicted the original code", name(k), k.Module))
		case predicted[i].Module != k.Module:
			diffs = append(diffs, fmt.Sprintf("%s runs %s's code in the kernel, check predicted %s's", name(k), k.Module, predicted[i].Module))
		}
	}
	for _, p := range predicted {
		if !slices.ContainsFunc(kernel, func(k EffectiveFunc) bool { return sameFunc(k, p) }) {
			diffs = append(diffs, fmt.Sprintf("%s runs the original code in the kernel, check predicted %s's", name(p), p.Module))
		}
	}
	return diffs
}
