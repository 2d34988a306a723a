package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/trial"
)

// oracleKernelEnv names the unpacked linux-image-6.1.0-57-amd64 package
// (version 6.1.192-3) that the oracle suite boots: the directory with
// boot/vmlinuz-6.1.0-57-amd64 and lib/modules/6.1.0-57-amd64.
// scripts/fetch-debian-kernel.sh downloads it and prints the directory.
const oracleKernelEnv = "KLPCHECK_ORACLE_KERNEL"

const oracleRelease = "6.1.0-57-amd64"

// oracleStep is one step of a scenario: a fixture to insmod, or a module
// of the Debian kernel to load, with what the kernel is expected to do.
type oracleStep struct {
	// fixture is a path under testdata/modules/6.1, or an absolute path
	// of a mutated copy.
	fixture string
	target  string

	accepted bool
	errno    string
	// refusal lists the kernel's own lines for a refusal: those that start
	// with "livepatch: " or "sysfs: ".
	refusal []string
	// probe is the expected content of /proc/cmdline after the step, or ""
	// to skip the comparison.
	probe string
}

type oracleScenario struct {
	name  string
	steps []oracleStep
	// disagreement, when set, documents a known difference between check
	// and the kernel in this scenario, which docs/trial.md describes. The
	// test then expects check to disagree, so that a fix is noticed.
	disagreement string
}

// TestTrialOracle boots Debian's 6.1 kernel once under qemu, runs every
// scenario as a sequence of that boot, and fails when check's prediction
// for a step, or for the final function map, differs from what the kernel
// did, or when the kernel no longer does what the scenario records.
func TestTrialOracle(t *testing.T) {
	kernelDir := os.Getenv(oracleKernelEnv)
	if kernelDir == "" {
		t.Skipf("oracle suite skipped: set %s to an unpacked linux-image-%s package (scripts/fetch-debian-kernel.sh prints one); it also needs qemu-system-x86_64 and a static busybox", oracleKernelEnv, oracleRelease)
	}
	if _, err := exec.LookPath(trial.DefaultQEMU); err != nil {
		t.Skipf("oracle suite skipped: %s is not on PATH (Debian package qemu-system-x86)", trial.DefaultQEMU)
	}
	image := filepath.Join(kernelDir, "boot", "vmlinuz-"+oracleRelease)
	modulesDir := filepath.Join(kernelDir, "lib", "modules", oracleRelease)
	if _, err := os.Stat(image); err != nil {
		t.Fatalf("%s=%s: %v", oracleKernelEnv, kernelDir, err)
	}

	fixtures, err := filepath.Abs(filepath.Join("..", "..", "testdata", "modules", "6.1"))
	if err != nil {
		t.Fatal(err)
	}
	scenarios := oracleScenarios(t, fixtures, t.TempDir())

	var (
		seqs       []trial.Sequence
		entries    [][]int
		allPatches []conflict.Patch
		inputs     []checkInputs
	)
	for _, sc := range scenarios {
		var paths []string
		for _, st := range sc.steps {
			if st.target == "" {
				paths = append(paths, st.fixture)
			}
		}
		// The plan entries come from check's own reading of module paths.
		in := readCheckInputs(nil, conflict.Mainline, paths)
		if in.status != exitClean || len(in.patches) != len(paths) {
			t.Fatalf("scenario %s: check could not read every module: %+v", sc.name, in.errors)
		}

		seq := trial.Sequence{Name: sc.name, Probes: []string{"/proc/cmdline"}}
		var ent []int
		for _, st := range sc.steps {
			if st.target != "" {
				seq.Actions = append(seq.Actions, trial.Action{Kind: trial.ActionTarget, Module: st.target})
				ent = append(ent, 0)
				continue
			}
			p := in.patches[len(ent)-countTargets(ent)]
			ent = append(ent, len(ent)-countTargets(ent)+1)
			seq.Actions = append(seq.Actions, trial.Action{Kind: trial.ActionInsmod, Path: p.Module.Path, Module: p.Module.Name})
		}
		seqs = append(seqs, seq)
		entries = append(entries, ent)
		inputs = append(inputs, in)
		allPatches = append(allPatches, in.patches...)
	}

	m := trial.Machine{
		Kernel:      image,
		Modules:     modulesDir,
		SymbolNames: vmlinuxSymbolNames(allPatches),
		Timeout:     8 * time.Minute,
		WorkDir:     t.TempDir(),
	}
	start := time.Now()
	out, err := m.Run(context.Background(), seqs)
	if err != nil {
		t.Fatalf("trial: %v", err)
	}
	t.Logf("one boot ran %d scenarios in %s (first report after %s)", len(seqs), time.Since(start).Round(time.Second), out.Boot.Round(time.Second))
	if out.Release != oracleRelease {
		t.Fatalf("guest release %s, want %s", out.Release, oracleRelease)
	}

	kallsyms, err := writeGuestKallsyms(t.TempDir(), out.Kallsyms)
	if err != nil {
		t.Fatal(err)
	}
	ct := loadTargetPaths(nil, []targetPath{{path: modulesDir}, {path: kallsyms, kallsymsExcerpt: true}})
	if len(ct.errors) > 0 {
		t.Fatalf("target inputs: %+v", ct.errors)
	}

	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			got := out.Sequences[i]
			result := trialPrediction(inputs[i].patches, out.Release, got, entries[i], conflict.KernelInfo{Target: ct.target})
			c := trial.Compare(got, entries[i], result)
			checkKernelBehaviour(t, sc, c)
			checkAgreement(t, sc, c)
		})
	}
}

// countTargets counts the steps of entries that are not plan entries.
func countTargets(entries []int) int {
	n := 0
	for _, e := range entries {
		if e == 0 {
			n++
		}
	}
	return n
}

// checkKernelBehaviour compares what the kernel did with what the scenario
// records, so that the recorded refusal messages stay true.
func checkKernelBehaviour(t *testing.T, sc oracleScenario, c trial.Comparison) {
	t.Helper()
	if len(c.Steps) != len(sc.steps) {
		t.Fatalf("the guest reported %d steps, want %d", len(c.Steps), len(sc.steps))
	}
	for i, want := range sc.steps {
		k := c.Steps[i].Kernel
		if k.Accepted != want.accepted || k.Errno != want.errno {
			t.Errorf("step %d: kernel accepted=%v errno=%q, want accepted=%v errno=%q; kernel messages:\n  %s",
				i+1, k.Accepted, k.Errno, want.accepted, want.errno, strings.Join(k.Messages, "\n  "))
		}
		if !want.accepted {
			if diff := cmp.Diff(want.refusal, refusalLines(k.Messages)); diff != "" {
				t.Errorf("step %d: kernel refusal messages (-want +got):\n%s", i+1, diff)
			}
		}
		if want.probe != "" {
			var lines []string
			for _, p := range k.Probes {
				lines = append(lines, p.Lines...)
			}
			if got := strings.Join(lines, "\n"); got != want.probe {
				t.Errorf("step %d: /proc/cmdline is %q, want %q", i+1, got, want.probe)
			}
		}
	}
}

// refusalLines keeps the kernel lines that explain a refusal.
func refusalLines(messages []string) []string {
	var out []string
	for _, m := range messages {
		if strings.HasPrefix(m, "livepatch: ") || strings.HasPrefix(m, "sysfs: ") {
			out = append(out, m)
		}
	}
	return out
}

// checkAgreement fails for every step and function map entry where check
// and the kernel disagree, unless the scenario documents the disagreement.
func checkAgreement(t *testing.T, sc oracleScenario, c trial.Comparison) {
	t.Helper()
	var diffs []string
	for _, s := range c.Steps {
		for _, d := range s.Differences {
			diffs = append(diffs, fmt.Sprintf("step %d: %s", s.Index, d))
		}
	}
	diffs = append(diffs, c.EffectiveDifferences...)

	if sc.disagreement != "" {
		if len(diffs) == 0 {
			t.Errorf("check now agrees with the kernel; remove the documented disagreement (%s) here and in docs/trial.md", sc.disagreement)
		}
		t.Logf("known disagreement (%s): %s", sc.disagreement, strings.Join(diffs, "; "))
		return
	}
	for _, d := range diffs {
		t.Errorf("check disagrees with the kernel: %s", d)
	}
}
