package main

import (
	"path/filepath"
	"testing"
)

// oracleScenarios returns the scenarios of the oracle suite. Fixtures are
// the committed 6.1 modules under dir; mutated copies go to tmp. What each
// fixture declares is listed in testdata/modules/README.md.
func oracleScenarios(t *testing.T, dir, tmp string) []oracleScenario {
	fx := func(name string) string { return filepath.Join(dir, name+".ko") }
	mutate := func(sub, name string, change mutation) string {
		return mutatedModule(t, fx(name), filepath.Join(tmp, sub), change)
	}

	return []oracleScenario{
		{name: "overlap-non-replace", steps: []oracleStep{
			{fixture: fx("klpc_overlap_a"), accepted: true, probe: "klpc_overlap_a"},
			{fixture: fx("klpc_overlap_b"), accepted: true, probe: "klpc_overlap_b"},
		}},
		{name: "replace-disables-and-reverts", steps: []oracleStep{
			{fixture: fx("klpc_fg"), accepted: true},
			{fixture: fx("klpc_g"), accepted: true},
			{fixture: fx("klpc_cumulative"), accepted: true, probe: "klpc_cumulative"},
		}},
		{name: "name-still-loaded-after-replace", steps: []oracleStep{
			{fixture: fx("klpc_overlap_a"), accepted: true},
			{fixture: fx("klpc_cumulative"), accepted: true},
			// The module loader refuses the name without a kernel message.
			{fixture: fx("klpc_overlap_a"), errno: "EEXIST"},
		}},
		{name: "state-upgrade", steps: []oracleStep{
			{fixture: fx("klpc_states_down"), accepted: true},
			{fixture: fx("klpc_states"), accepted: true},
		}},
		{name: "state-downgrade", steps: []oracleStep{
			{fixture: fx("klpc_states"), accepted: true},
			{fixture: fx("klpc_states_down"), errno: "EINVAL", refusal: []string{
				"livepatch: Livepatch patch (klpc_states_down) is not compatible with the already installed livepatches.",
			}},
		}},
		{name: "duplicate-func", steps: []oracleStep{
			{fixture: mutate("dupfunc", "klpc_fg", copyOldName(0, 0, 1)), errno: "EEXIST", refusal: []string{
				"sysfs: cannot create duplicate filename '/kernel/livepatch/klpc_fg/vmlinux/meminfo_proc_show,1'",
			}},
		}},
		{name: "duplicate-object", steps: []oracleStep{
			{fixture: mutate("dupobj", "klpc_multi", nullObjectName(1)), errno: "EEXIST", refusal: []string{
				"sysfs: cannot create duplicate filename '/kernel/livepatch/klpc_multi/vmlinux'",
			}},
		}},
		{name: "sympos-0-ambiguous", steps: []oracleStep{
			{fixture: fx("klpc_ambiguous"), errno: "EINVAL", refusal: []string{
				"livepatch: unresolvable ambiguity for symbol 'type_show' in object '(null)'",
			}},
		}},
		{name: "sympos-1", steps: []oracleStep{
			{fixture: mutate("sympos1", "klpc_ambiguous", setSympos(0, 0, 1)), accepted: true},
		}},
		{name: "sympos-2", steps: []oracleStep{
			{fixture: mutate("sympos2", "klpc_ambiguous", setSympos(0, 0, 2)), accepted: true},
		}},
		{name: "sympos-out-of-range", steps: []oracleStep{
			{fixture: mutate("sympos99", "klpc_ambiguous", setSympos(0, 0, 99)), errno: "EINVAL", refusal: []string{
				"livepatch: symbol position 99 for symbol 'type_show' in object 'vmlinux' not found",
			}},
		}},
		{name: "sympos-0-and-1-replace", steps: []oracleStep{
			{fixture: fx("klpc_overlap_a"), accepted: true},
			{fixture: mutate("sympos01", "klpc_cumulative", setSympos(0, 1, 1)), accepted: true},
		}},
		{name: "missing-livepatch-modinfo", steps: []oracleStep{
			{fixture: fx("klpc_nomodinfo"), errno: "EINVAL", refusal: []string{
				"livepatch: module klpc_nomodinfo is not marked as a livepatch module",
			}},
		}},
		{name: "missing-function", steps: []oracleStep{
			{fixture: fx("klpc_missing"), errno: "EINVAL", refusal: []string{
				"livepatch: symbol 'klpc_no_such_function' not found in symbol table",
			}},
		}},
		{name: "module-object-before-target", steps: []oracleStep{
			{fixture: fx("klpc_multi"), accepted: true, probe: "klpc_multi"},
			// klp_module_coming applies the patch to ext4 as it loads. The
			// second ext4_es_is_delayed has no ftrace call site, so the
			// kernel refuses ext4 itself.
			{target: "ext4", errno: "EINVAL", refusal: []string{
				"livepatch: applying patch 'klpc_multi' to loading module 'ext4'",
				"livepatch: failed to find location for function 'ext4_es_is_delayed'",
				"livepatch: failed to apply patch 'klpc_multi' to module 'ext4' (-22)",
				"livepatch: patch 'klpc_multi' failed for module 'ext4', refusing to load module 'ext4'",
			}},
		}},
		{name: "module-object-after-target", steps: []oracleStep{
			{target: "ext4", accepted: true},
			{fixture: fx("klpc_multi"), errno: "EINVAL", refusal: []string{
				"livepatch: enabling patch 'klpc_multi'",
				"livepatch: failed to find location for function 'ext4_es_is_delayed'",
				"livepatch: failed to patch object 'ext4'",
				"livepatch: failed to enable patch 'klpc_multi'",
				"livepatch: 'klpc_multi': unpatching complete",
			}},
		}},
	}
}
