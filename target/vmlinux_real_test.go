package target_test

import (
	"debug/elf"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/target"
)

// arm64VmlinuxEnv names the variable that lists real arm64 vmlinux files
// for TestRealArm64Vmlinux, separated like PATH. The debug packages that
// hold them are hundreds of megabytes, so the test is opt-in:
//
//	dir=$(scripts/fetch-debian-arm64-dbg.sh)
//	KLPCHECK_ARM64_VMLINUX=$dir/usr/lib/debug/boot/vmlinux-6.1.0-57-arm64 \
//	  go test ./target/ -run RealArm64 -v
const arm64VmlinuxEnv = "KLPCHECK_ARM64_VMLINUX"

// realArm64Figures are what the reader must find in the Debian arm64
// vmlinux files it was checked on, keyed by release. A release not listed
// gets only the checks that hold for any arm64 vmlinux.
var realArm64Figures = map[string]arm64Figures{
	// linux-image-6.1.0-57-arm64-dbg 6.1.192-3: no CALL_OPS, so each
	// record is the first of the two NOPs at a function's entry. The
	// orphans include the replaced __weak free_initmem of init/main.c,
	// right after do_one_initcall.
	"6.1.0-57-arm64": {
		Symbols: 114_893, Exports: 10_973, Records: 44_279, Ftraceable: 43_997, Orphans: 296,
		EntryOffsets: map[uint64]int{0: 43_983},
	},
	// linux-image-6.12.118+deb12-cloud-arm64-dbg 6.12.118-1~deb12u1: with
	// CALL_OPS each record is 8 bytes before the entry, and the reader
	// moves it to the entry. 336 of the 44,363 entries get a relocation
	// addend of 0 and are skipped like padding, which leaves no orphans.
	"6.12.118+deb12-cloud-arm64": {
		Symbols: 115_561, Exports: 10_420, Records: 44_027, Ftraceable: 44_049, Orphans: 0,
		EntryOffsets: map[uint64]int{0: 44_027},
	},
}

// arm64Figures are counts over one vmlinux. Ftraceable counts the
// functions (STT_FUNC symbols with a size) that Ftraceable accepts.
// Orphans are records inside no function: the code of a __weak function
// that another definition replaced keeps its record but loses its symbol.
// EntryOffsets counts the other records by their offset from the start of
// their function.
type arm64Figures struct {
	Symbols      int
	Exports      int
	Records      int
	Ftraceable   int
	Orphans      int
	EntryOffsets map[uint64]int
}

func TestRealArm64Vmlinux(t *testing.T) {
	paths := filepath.SplitList(os.Getenv(arm64VmlinuxEnv))
	if len(paths) == 0 {
		t.Skip("set " + arm64VmlinuxEnv + " to the path of an arm64 vmlinux, from scripts/fetch-debian-arm64-dbg.sh")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			checkRealArm64Vmlinux(t, path)
		})
	}
}

func checkRealArm64Vmlinux(t *testing.T, path string) {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	machine, typ := f.Machine, f.Type
	f.Close()
	if machine != elf.EM_AARCH64 || typ != elf.ET_DYN {
		t.Fatalf("%s is %v %v, want an EM_AARCH64 ET_DYN vmlinux", path, machine, typ)
	}

	tg := loadOne(t, path)
	v := tg.Vmlinux
	if len(tg.Inputs[0].Notes) != 0 {
		t.Errorf("Notes = %q, want none", tg.Inputs[0].Notes)
	}
	if !v.FtraceKnown {
		t.Fatal("FtraceKnown = false, want the records from .rela.dyn")
	}

	got := countArm64Figures(v)
	t.Logf("release %s: %d symbols, %d exports, %d ftrace records, %d functions ftraceable, %d orphan records, record offsets from entry %v",
		tg.Release, got.Symbols, got.Exports, got.Records, got.Ftraceable, got.Orphans, got.EntryOffsets)

	want, ok := realArm64Figures[tg.Release]
	if !ok {
		t.Logf("release %s has no recorded figures; only the general checks ran", tg.Release)
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("figures of %s mismatch (-want +got):\n%s", tg.Release, diff)
	}
}

// countArm64Figures counts the figures of v.
func countArm64Figures(v *target.Object) arm64Figures {
	got := arm64Figures{Symbols: len(v.Symbols), Exports: len(v.Exports), Records: len(v.Ftrace), EntryOffsets: map[uint64]int{}}

	// v.Symbols is in address order, so funcs is too.
	var funcs []target.Symbol
	for _, s := range v.Symbols {
		if s.Func && s.Size > 0 {
			funcs = append(funcs, s)
			if yes, _ := v.Ftraceable(s); yes {
				got.Ftraceable++
			}
		}
	}

	for _, r := range v.Ftrace {
		i := sort.Search(len(funcs), func(i int) bool { return funcs[i].Addr > r }) - 1
		if i < 0 || r >= funcs[i].Addr+funcs[i].Size {
			got.Orphans++
			continue
		}
		got.EntryOffsets[r-funcs[i].Addr]++
	}
	return got
}

// BenchmarkLoadRealArm64Vmlinux loads the first file that
// KLPCHECK_ARM64_VMLINUX names.
func BenchmarkLoadRealArm64Vmlinux(b *testing.B) {
	paths := filepath.SplitList(os.Getenv(arm64VmlinuxEnv))
	if len(paths) == 0 {
		b.Skip("set " + arm64VmlinuxEnv + " to the path of an arm64 vmlinux, from scripts/fetch-debian-arm64-dbg.sh")
	}
	for b.Loop() {
		tg, errs := target.Load(paths[:1])
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if !tg.Vmlinux.FtraceKnown {
			b.Fatal("FtraceKnown = false")
		}
	}
}
