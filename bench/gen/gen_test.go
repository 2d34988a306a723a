package main

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
)

// TestGenerate writes a small corpus and reads it back: vmlinux with
// exactly vmlinuxSymbols symbols, modules of 50 functions that elfscan
// reads, and plans that list them in order.
func TestGenerate(t *testing.T) {
	out := t.TempDir()
	if err := generate(out, []int{7, 150}, 1, 2); err != nil {
		t.Fatal(err)
	}

	f, err := elf.Open(filepath.Join(out, "vmlinux"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	if len(syms) != vmlinuxSymbols {
		t.Errorf("vmlinux has %d symbols, want %d", len(syms), vmlinuxSymbols)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("vmlinux type is %v, want ET_EXEC", f.Type)
	}

	for _, n := range []int{7, 150} {
		p, err := plan.Load(filepath.Join(out, corpusDir(n), "plan.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Patches) != n {
			t.Fatalf("plan of n%d lists %d patches, want %d", n, len(p.Patches), n)
		}
		entries, err := os.ReadDir(filepath.Join(out, corpusDir(n), "modules"))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != n {
			t.Errorf("n%d/modules has %d files, want %d", n, len(entries), n)
		}

		producers := map[livepatch.Producer]int{}
		for _, r := range elfscan.OpenAll(paths(p), 0) {
			if r.Err != nil {
				t.Errorf("read %s: %v", r.Path, r.Err)
				continue
			}
			producers[r.Module.Producer]++
			funcs := 0
			for _, o := range r.Module.Objects {
				funcs += len(o.Funcs)
			}
			if funcs != functionsPerModule {
				t.Errorf("%s patches %d functions, want %d", r.Path, funcs, functionsPerModule)
			}
			if !r.Module.Replace.Known {
				t.Errorf("%s: replace mode unknown: %s", r.Path, r.Module.Replace.Detail)
			}
		}
		if n == 150 && len(producers) != 3 {
			t.Errorf("n150 has modules of %d producers (%v), want all 3", len(producers), producers)
		}
	}
}

// TestModulesStable checks that the first modules do not depend on how
// many are generated, so that corpora of different sizes share them.
func TestModulesStable(t *testing.T) {
	_, ks, err := buildVmlinux(1, release)
	if err != nil {
		t.Fatal(err)
	}
	small, large := chooseModules(1, 20, ks), chooseModules(1, 40, ks)
	for i := range small {
		if small[i].fileName != large[i].fileName || len(small[i].patch.Objects) != len(large[i].patch.Objects) {
			t.Fatalf("module %d differs: %s and %s", i, small[i].fileName, large[i].fileName)
		}
		for j, o := range small[i].patch.Objects {
			if got, want := len(large[i].patch.Objects[j].Funcs), len(o.Funcs); got != want {
				t.Fatalf("module %d object %d: %d and %d functions", i, j, want, got)
			}
			for k, fn := range o.Funcs {
				if large[i].patch.Objects[j].Funcs[k] != fn {
					t.Fatalf("module %d object %d function %d differs: %+v and %+v", i, j, k, fn, large[i].patch.Objects[j].Funcs[k])
				}
			}
		}
	}
}

func paths(p *plan.File) []string {
	var out []string
	for _, e := range p.Patches {
		out = append(out, e.Path)
	}
	return out
}
