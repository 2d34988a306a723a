package conflict

import (
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/target"
)

// Plan is a deployment to simulate: the modules to load in order, the
// replace semantics, the target kernel and, optionally, the patches already
// active on the host.
type Plan struct {
	// Semantics selects the replace model. The empty value means Mainline.
	Semantics Semantics
	Kernel    KernelInfo
	// Live is the host state the plan starts from, or nil for a host with
	// no livepatch loaded.
	Live *LiveState
	// Patches are the plan entries in load order. An entry with LiveName
	// set describes a patch that is already active rather than a load.
	Patches []Patch
}

// Patch is one plan entry.
type Patch struct {
	Module *livepatch.Module
	// Mode is the replace mode, resolved by the caller: a command-line flag
	// wins over the plan file, which wins over the value read from the
	// module. Mode.Source records which one it was. ModeKnown is false when
	// no source gave a value, and Check then reports replace-unknown and
	// simulates the patch as a replace patch.
	Mode      Mode
	ModeKnown bool
	// LiveName marks the entry as the file of a patch already active on the
	// host under that name in /sys/kernel/livepatch. Check does not load
	// such an entry. It reads from the file what sysfs does not show: the
	// klp_state entries, old_sympos as stored (sysfs shows 0 as 1), and the
	// replace mode on kernels before 6.11.
	LiveName string
	// Expect is the srcversion or GNU build ID in hex that the plan states
	// for the module file, empty when it states none. ExpectWhere is the
	// place in the plan that states it, such as "plan.yaml:7", and
	// ExpectFile and ExpectLine the same place for the finding's location.
	Expect      string
	ExpectWhere string
	ExpectFile  string
	ExpectLine  int
	// RemoveFirst names modules that the deployment removes with rmmod
	// right before this load, such as patch modules that an earlier replace
	// patch disabled. Removing a module frees its name for a later insmod.
	RemoveFirst []string
}

// Tristate is a yes-or-no value that may be unknown.
type Tristate int

const (
	Unknown Tristate = iota
	Yes
	No
)

// String returns "unknown", "yes" or "no".
func (t Tristate) String() string {
	switch t {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return "unknown"
}

// KernelInfo describes the kernel the plan is deployed on.
type KernelInfo struct {
	// Version is the target release, with Version.Release holding the full
	// string as uname -r prints it, for example 6.1.0-57-amd64. The zero
	// value means the target is unknown.
	Version livepatch.KernelVersion
	// SymposMatch is whether the target has commit 139560e8b973
	// ("livepatch: Match old_sympos 0 and 1 in klp_find_func()"). With
	// Unknown, Check looks the release up with SymposMatch. Yes or No, set by
	// the user, takes precedence over that table.
	SymposMatch Tristate

	// Target holds what the target inputs tell about the kernel: vmlinux
	// and module symbols, ftrace call sites, exports and the release. The
	// target rules (KLP06xx) check the plan's modules against it. With nil
	// they check nothing and add no notes.
	Target *target.Target
	// TargetExpect lists the srcversion or build ID the plan expects of
	// target files, which target-srcversion-mismatch compares.
	TargetExpect []TargetExpectation
}

// TargetExpectation is a target file with the identity the plan expects
// of it.
type TargetExpectation struct {
	// Path is the target input as Load read it.
	Path string
	// Expect is a srcversion (23 hex digits, as modinfo prints it) or a GNU
	// build ID in hex, compared without regard to case.
	Expect string
	// Where is the place in the plan that states it, such as
	// "plan.yaml:7", for messages. File and Line are the same place, where
	// a finding points.
	Where string
	File  string
	Line  int
}

// LiveState is a snapshot of the livepatch state of a running host, as
// package live reads it from /sys/kernel/livepatch, /sys/module and
// /proc/modules.
type LiveState struct {
	// Patches are the directories of /sys/kernel/livepatch in stack order,
	// oldest first. The last one wins for a function that several patch.
	Patches []LivePatch
	// Order is the source of that order.
	Order OrderSource
	// Modules lists every loaded module. A module with the livepatch taint
	// that has no entry in Patches is a patch that was disabled or replaced
	// and not removed yet.
	Modules []LoadedModule
}

// OrderSource names the evidence behind the order of LiveState.Patches.
type OrderSource string

const (
	// OrderStackOrder is the stack_order attribute of each patch (6.14+),
	// the kernel's own position in its patch list.
	OrderStackOrder OrderSource = "stack_order"
	// OrderProcModules is the reverse of /proc/modules, which lists the
	// newest module first. It equals the enable order only because
	// klp_enable_patch runs from the module's init function.
	OrderProcModules OrderSource = "proc-modules"
)

// LivePatch is one directory of /sys/kernel/livepatch.
type LivePatch struct {
	// Name is the directory name, which is the module name.
	Name       string
	Enabled    bool
	Transition bool
	// Replace is the replace attribute (6.11+); Unknown on older kernels.
	// ReplaceValue is its number: 0 or 1 in mainline, the tag under the
	// replace-tag proposal, which reuses the field.
	Replace      Tristate
	ReplaceValue uint32
	// ReplaceSet is the replace_set attribute of the replace-set proposal,
	// used as the tag or set under those semantics. ReplaceSetKnown is
	// false when the attribute is absent.
	ReplaceSet      uint32
	ReplaceSetKnown bool
	// StackOrder is the stack_order attribute (6.14+), 0 when absent.
	StackOrder int
	Objects    []LiveObject
}

// LiveObject is one object directory of a live patch.
type LiveObject struct {
	// Name is "vmlinux" or a module name.
	Name  string
	Funcs []LiveFunc
}

// LiveFunc is one "<name>,<sympos>" directory of a live object. Sympos is
// as sysfs shows it: a stored 0 appears as 1.
type LiveFunc struct {
	Name   string
	Sympos uint64
}

// LoadedModule is one loaded module.
type LoadedModule struct {
	Name string
	// Livepatch is set when the module carries the livepatch taint (K).
	Livepatch bool
	// Refcount is the reference count that /proc/modules shows, and
	// RefcountKnown is false when it shows none. An enabled patch holds a
	// reference to its own module, and so does a patch whose transition
	// was forced, for good (klp_free_patch_finish skips module_put).
	Refcount      int
	RefcountKnown bool
}

// ModeFromModule returns the replace mode recorded in the module file, for
// callers that resolve a patch's mode. The second result is false when the
// file does not record it. For a bool replace field Value is 0 or 1; the tag and
// replace-set semantics read the same value as the tag or set.
func ModeFromModule(m *livepatch.Module) (Mode, bool) {
	if m == nil || !m.Replace.Known {
		return Mode{}, false
	}
	return Mode{
		Replace: m.Replace.Value != 0,
		Value:   m.Replace.Value,
		Source:  string(m.Replace.Source),
	}, true
}

// assumedMode is the mode simulated for a patch whose mode is unknown:
// replace, as kpatch-build and klp-build build by default. Under the tag
// semantics a bool replace stored as 1 reads as tag 1; under replace-set
// klp-build's default set is 0.
func assumedMode(sem Semantics) Mode {
	switch sem {
	case ReplaceSet:
		return Mode{Replace: true, Value: 0, Source: "assumed"}
	default:
		return Mode{Replace: true, Value: 1, Source: "assumed"}
	}
}
