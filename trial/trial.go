package trial

import (
	"fmt"
	"regexp"
	"time"
)

// ActionKind is what one step of a sequence does in the guest.
type ActionKind string

const (
	// ActionInsmod loads a livepatch module file from the host with
	// busybox insmod.
	ActionInsmod ActionKind = "insmod"
	// ActionTarget loads a module of the target kernel by name, after the
	// modules it depends on that are not loaded yet.
	ActionTarget ActionKind = "target"
	// ActionDisable writes 0 to /sys/kernel/livepatch/<module>/enabled.
	ActionDisable ActionKind = "disable"
	// ActionRmmod removes a module with busybox rmmod.
	ActionRmmod ActionKind = "rmmod"
)

// Action is one step of a sequence.
type Action struct {
	Kind ActionKind
	// Path is the module file on the host, for ActionInsmod.
	Path string
	// Module is the module name: the name of the target module for
	// ActionTarget, of the patch or module for ActionDisable and
	// ActionRmmod, and for ActionInsmod the name the module file declares,
	// which the report shows.
	Module string
}

// Sequence is a list of actions run in order on one kernel. Sequences of
// one boot run one after the other, and the guest returns to the state of
// a fresh boot between them: it disables every livepatch, newest first,
// and removes every module that the sequence loaded.
type Sequence struct {
	Name    string
	Actions []Action
	// Probes are files the guest reads after each step, such as
	// /proc/cmdline, whose contents show which patch's code runs for a
	// function that produces them.
	Probes []string
}

// Outcome is what the guest reported for one boot.
type Outcome struct {
	// Release is the kernel release as uname -r prints it in the guest.
	Release   string
	Sequences []SequenceOutcome
	// Kallsyms are the lines of the guest's /proc/kallsyms, read at boot,
	// whose name is one of Machine.SymbolNames or starts with one followed
	// by a character other than a letter, digit or underscore.
	Kallsyms []string
	// Boot is the wall time from starting qemu to the guest's first
	// report, and Total the wall time of the whole run.
	Boot, Total time.Duration
}

// SequenceOutcome is what the guest reported for one sequence.
type SequenceOutcome struct {
	Name  string
	Steps []StepOutcome
	// ResetError is set when the guest could not return to a fresh state
	// after the sequence, so the sequences after it did not run.
	ResetError string
}

// StepOutcome is the kernel's result for one action.
type StepOutcome struct {
	Action Action
	// Accepted is set when the action's command exited with status 0.
	Accepted bool
	// ExitStatus is the command's exit status, or -1 when the guest did
	// not report one.
	ExitStatus int
	// Errno is the error number of a failed insmod, rmmod or sysfs write,
	// 0 when the output does not show it, and ErrnoName its symbolic name,
	// such as EEXIST.
	Errno     int
	ErrnoName string
	// Output are the lines the command printed, such as busybox's
	// "insmod: can't insert 'x.ko': File exists".
	Output []string
	// Messages are the kernel log lines of the step, without timestamps.
	// A line that repeats an earlier line of the same failed step is
	// dropped, because busybox insmod retries a failed finit_module with
	// init_module and the kernel logs the refusal twice.
	Messages []string
	// Loaded lists the modules of the target kernel that a target step
	// loaded first because the module depends on them.
	Loaded []string
	// TransitionTimeout is set when a livepatch was still in transition,
	// or a disabled patch still listed in sysfs, when the guest stopped
	// waiting.
	TransitionTimeout bool
	// State is the livepatch state after the step.
	State State
	// Probes are the probe files as read after the step.
	Probes []Probe
}

// State is the livepatch state of the guest kernel at one point.
type State struct {
	// Patches are the directories of /sys/kernel/livepatch, by name.
	Patches []Patch
	// Modules are the loaded modules, newest first as /proc/modules lists
	// them.
	Modules []LoadedModule
}

// Patch is one directory of /sys/kernel/livepatch.
type Patch struct {
	Name       string
	Enabled    bool
	Transition bool
	Objects    []Object
}

// Object is one object directory of a patch.
type Object struct {
	Name string
	// Patched is the object's patched attribute: whether the object (vmlinux
	// or a loaded module) has the patch's functions applied.
	Patched bool
	Funcs   []Func
}

// Func is one "<name>,<sympos>" directory of an object. The kernel writes
// a stored old_sympos of 0 as 1.
type Func struct {
	Name   string
	Sympos uint64
}

// LoadedModule is one line of /proc/modules.
type LoadedModule struct {
	Name string
	// Taints are the taint flags in parentheses, such as OEK, and empty
	// when the module has none.
	Taints string
}

// Probe is the content of one probe file after a step.
type Probe struct {
	Path  string
	Lines []string
	// Error is what cat printed when the file could not be read.
	Error string
}

// probePath is the form of a probe path: absolute, made of characters that
// need no quoting in the guest's shell.
var probePath = regexp.MustCompile(`^/[A-Za-z0-9_./,:+@-]+$`)

// moduleName is the form of a module name that the guest script accepts.
var moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,55}$`)

// validate checks the actions and probes of the sequences.
func validateSequences(seqs []Sequence) error {
	if len(seqs) == 0 {
		return fmt.Errorf("no sequence to run")
	}
	for i, seq := range seqs {
		where := fmt.Sprintf("sequence %d (%s)", i+1, seq.Name)
		for _, p := range seq.Probes {
			if !probePath.MatchString(p) {
				return fmt.Errorf("%s: invalid probe path %q: want an absolute path of letters, digits and ./,:+@_-", where, p)
			}
		}
		for j, a := range seq.Actions {
			switch a.Kind {
			case ActionInsmod:
				if a.Path == "" {
					return fmt.Errorf("%s: step %d: insmod without a module path", where, j+1)
				}
				if a.Module != "" && !moduleName.MatchString(a.Module) {
					return fmt.Errorf("%s: step %d: invalid module name %q", where, j+1, a.Module)
				}
			case ActionTarget, ActionDisable, ActionRmmod:
				if !moduleName.MatchString(a.Module) {
					return fmt.Errorf("%s: step %d: invalid module name %q for %s: want 1 to 55 letters, digits, _ or -", where, j+1, a.Module, a.Kind)
				}
			default:
				return fmt.Errorf("%s: step %d: unknown action %q", where, j+1, a.Kind)
			}
		}
	}
	return nil
}
