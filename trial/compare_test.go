package trial

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
)

func patchOf(name string, funcs ...string) Patch {
	p := Patch{Name: name, Enabled: true, Objects: []Object{{Name: "vmlinux", Patched: true}}}
	for _, f := range funcs {
		p.Objects[0].Funcs = append(p.Objects[0].Funcs, Func{Name: f, Sympos: 1})
	}
	return p
}

func TestCompareReplace(t *testing.T) {
	fg := patchOf("fg", "meminfo_proc_show", "loadavg_proc_show")
	g := patchOf("g", "loadavg_proc_show")
	cum := patchOf("cum", "uptime_proc_show")
	seq := SequenceOutcome{Name: "replace", Steps: []StepOutcome{
		{Action: Action{Kind: ActionInsmod, Module: "fg"}, Accepted: true, State: State{Patches: []Patch{fg}}},
		{Action: Action{Kind: ActionInsmod, Module: "g"}, Accepted: true, State: State{Patches: []Patch{fg, g}}},
		{Action: Action{Kind: ActionInsmod, Module: "cum"}, Accepted: true, State: State{Patches: []Patch{cum}}},
	}}
	vm := func(fn string) conflict.FuncRef { return conflict.FuncRef{Object: "vmlinux", Function: fn} }
	result := conflict.Result{
		Steps: []conflict.Step{
			{Index: 1, Module: "fg", Patched: []conflict.FuncRef{vm("meminfo_proc_show"), vm("loadavg_proc_show")}},
			{Index: 2, Module: "g", Patched: []conflict.FuncRef{vm("loadavg_proc_show")}},
			{Index: 3, Module: "cum", Patched: []conflict.FuncRef{vm("uptime_proc_show")},
				Reverted: []conflict.FuncRef{
					{Object: "vmlinux", Function: "meminfo_proc_show", Module: "fg"},
					{Object: "vmlinux", Function: "loadavg_proc_show", Module: "g"},
				},
				Disabled: []string{"g", "fg"}},
		},
		Effective: []conflict.EffectiveFunc{{Object: "vmlinux", Function: "uptime_proc_show", Sympos: 1, Module: "cum"}},
	}

	c := Compare(seq, []int{1, 2, 3}, result)
	for _, s := range c.Steps {
		if s.Agrees == nil || !*s.Agrees {
			t.Errorf("step %d: differences %q, want agreement", s.Index, s.Differences)
		}
	}
	wantReverted := []FuncRef{
		{Object: "vmlinux", Function: "loadavg_proc_show", Sympos: 1, Module: "g"},
		{Object: "vmlinux", Function: "meminfo_proc_show", Sympos: 1, Module: "fg"},
	}
	if diff := cmp.Diff(wantReverted, c.Steps[2].Kernel.Reverted); diff != "" {
		t.Errorf("kernel reverted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"fg", "g"}, c.Steps[2].Kernel.Disabled); diff != "" {
		t.Errorf("kernel disabled (-want +got):\n%s", diff)
	}
	if !c.Agrees {
		t.Errorf("effective differences %q, want agreement", c.EffectiveDifferences)
	}
}

func TestCompareRefusalErrno(t *testing.T) {
	seq := SequenceOutcome{Steps: []StepOutcome{
		{Action: Action{Kind: ActionInsmod, Module: "a"}, ExitStatus: 17, Errno: 17, ErrnoName: "EEXIST"},
	}}
	result := conflict.Result{Steps: []conflict.Step{{Index: 1, Module: "a", Refused: true, Errno: "EINVAL", RefusedBy: "duplicate-func"}}}

	c := Compare(seq, []int{1}, result)
	want := []string{"the kernel refused the load with EEXIST, check predicted EINVAL (duplicate-func)"}
	if diff := cmp.Diff(want, c.Steps[0].Differences); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if c.Agrees {
		t.Error("Agrees is set, want unset")
	}
}

func TestCompareNoPrediction(t *testing.T) {
	seq := SequenceOutcome{Steps: []StepOutcome{
		{Action: Action{Kind: ActionTarget, Module: "ext4"}, Accepted: true},
	}}
	c := Compare(seq, []int{0}, conflict.Result{})
	if c.Steps[0].Predicted != nil || c.Steps[0].Agrees != nil {
		t.Errorf("target step has a prediction: %+v", c.Steps[0])
	}
	if !c.Agrees {
		t.Error("Agrees is unset for a sequence without predictions")
	}
}
