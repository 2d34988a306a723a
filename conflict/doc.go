// Package conflict simulates a livepatch deployment plan and reports what
// goes wrong: loads the kernel refuses, fixes that get shadowed or
// reverted, and patches that end up half applied.
//
// Check takes a Plan (the modules to load in order, each with its replace
// mode, the target kernel and optionally the patches already active on the
// host) and walks it the way the kernel would: the simulated patch list
// starts from the live state, each load either fails with the error insmod
// would return or changes the list, and the function map at the end
// shows which module's code runs for each patched function.
//
// Three replace semantics are supported: Mainline (bool replace, kernels
// 5.1 and later), and the two proposals discussed on the live-patching
// list in 2026, Tag (a u32 replace tag, 0 meaning no replace) and
// ReplaceSet (every patch replaces its own set).
//
// Every check is a Rule value with a stable ID and its documentation
// (Rules, LookupRule). Rules report through the simulation and never print;
// Check returns the findings sorted once, with plan-wide notes for what
// could not be checked and why. The package reads no files and keeps no
// global state besides the rule registry.
package conflict
