package conflict

// Result is the outcome of simulating a plan: every finding, what each step
// did, and which module's code runs for each function at the end.
type Result struct {
	Semantics Semantics
	Findings  []Finding
	// Steps lists the live patches first (with Live set), then one step per
	// plan entry in load order.
	Steps []Step
	// Effective is the function map after the whole plan, sorted by object,
	// function and sympos.
	Effective []EffectiveFunc
	// Notes are plan-wide facts the report should show, such as an
	// assumption the simulation made.
	Notes []string
}

// Semantics selects the replace model the simulation follows.
type Semantics string

const (
	// Mainline is today's kernel: bool replace.
	Mainline Semantics = "mainline"
	// Tag is the April 2026 replace-tag proposal: u32, 0 means no replace,
	// and a patch replaces only active patches with the same tag.
	Tag Semantics = "tag"
	// ReplaceSet is the replace_set proposal: every patch replaces the
	// active patch of its own set, and sets may not share functions or
	// state ids.
	ReplaceSet Semantics = "replace-set"
)

// Step is the outcome of one load in the simulation.
type Step struct {
	// Index is the 1-based position of the entry in Plan.Patches, or 0 for
	// a patch that was active before the plan.
	Index  int
	Module string
	Path   string
	// Live is set for a patch that was already active on the host.
	Live bool
	// Mode is the replace mode the simulation used, and where it came from.
	Mode Mode
	// Refused is set when the kernel would fail the load; Errno is then the
	// error insmod returns (for example "EINVAL") and RefusedBy the rule
	// name behind it.
	Refused   bool
	Errno     string
	RefusedBy string
	// Patched are the functions this step patches; Reverted are functions
	// of earlier patches that return to the original code; Disabled names
	// the patches this step disables.
	Patched  []FuncRef
	Reverted []FuncRef
	Disabled []string
}

// Mode is a patch's replace mode under the chosen semantics.
type Mode struct {
	// Replace is the mainline flag; Value is the tag or replace set.
	Replace bool
	Value   uint32
	// Source is the origin of the mode: "flag", "plan", "data",
	// "init-code", "module-param", "live", or "assumed" when the module did
	// not say and the kpatch-build and klp-build default was taken. It is
	// empty for a live patch whose mode is unknown: sysfs before 6.11 has no
	// replace attribute, and the plan maps no file to it.
	Source string
}

// FuncRef names a function of an object, with the sympos as stored, and for
// a reverted function the module whose fix is lost.
type FuncRef struct {
	Object   string
	Function string
	Sympos   uint64
	Module   string
	// Previous is set for a function that a step patches: the patch whose
	// code ran for it before the step, empty when the original code ran.
	Previous string
}

// EffectiveFunc is one entry of the final function map: the module whose
// code runs for a function, as kpatch list shows it.
type EffectiveFunc struct {
	Object   string
	Function string
	// Sympos is shown as sysfs does, with 0 as 1.
	Sympos uint64
	Module string
	// Transition is set when Module is still in transition on the live host.
	Transition bool
}
