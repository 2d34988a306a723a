package conflict

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchPlan returns a plan of n modules with 50 functions each, shaped
// like the benchmark corpus of bench/gen. The modules come in streams of 5
// to 30. Most streams are cumulative replace patches, each repeating the
// previous functions with up to two swapped, and the others are
// independent non-replace fixes. The functions come from a pool of 5,000
// with a Zipf distribution, so some are patched by many modules.
func benchPlan(n int) Plan {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 4, 4999)
	pick := func(seen map[string]bool) string {
		for {
			name := fmt.Sprintf("net_rcv_%d", zipf.Uint64())
			if !seen[name] {
				seen[name] = true
				return name
			}
		}
	}
	newSet := func() []string {
		seen := map[string]bool{}
		names := make([]string, 50)
		for i := range names {
			names[i] = pick(seen)
		}
		return names
	}

	var plan Plan
	var names []string
	left, isReplace := 0, false
	for i := range n {
		if left == 0 {
			left, isReplace = 5+rng.IntN(26), rng.IntN(10) < 8
			names = newSet()
		}
		left--
		if isReplace {
			names = slices.Clone(names)
			seen := map[string]bool{}
			for _, name := range names {
				seen[name] = true
			}
			for range rng.IntN(3) {
				names[rng.IntN(len(names))] = pick(seen)
			}
		} else {
			names = newSet()
		}

		m := module(fmt.Sprintf("lp%05d", i), vmlinux(names...))
		if isReplace {
			plan.Patches = append(plan.Patches, replace(m))
		} else {
			plan.Patches = append(plan.Patches, nonReplace(m))
		}
	}
	return plan
}

// BenchmarkCheck simulates a 1,000-module plan per iteration.
func BenchmarkCheck(b *testing.B) {
	plan := benchPlan(1000)
	b.ReportAllocs()
	var findings int
	for b.Loop() {
		findings = len(Check(plan).Findings)
	}
	b.ReportMetric(float64(findings), "findings")
}
