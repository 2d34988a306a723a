package target_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

// TestVmlinuxPrecedence loads System.map after a vmlinux: the vmlinux
// keeps giving vmlinux's symbols whatever the order.
func TestVmlinuxPrecedence(t *testing.T) {
	for _, order := range [][2]string{{"vmlinux", "map"}, {"map", "vmlinux"}} {
		t.Run(order[0]+" first", func(t *testing.T) {
			paths := map[string]string{"vmlinux": buildVmlinux(t, testVmlinux()), "map": "testdata/system.map"}
			tg, errs := target.Load([]string{paths[order[0]], paths[order[1]]})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if tg.Vmlinux.Kind != target.KindVmlinux {
				t.Errorf("Vmlinux.Kind = %s, want vmlinux", tg.Vmlinux.Kind)
			}

			var notes []string
			for _, in := range tg.Inputs {
				if in.Kind == target.KindSystemMap {
					notes = in.Notes
				}
			}
			want := []string{"its vmlinux symbols are not used, because " + paths["vmlinux"] + " gives them with as much or more detail"}
			if order[0] == "map" {
				want = []string{"its vmlinux symbols are replaced by those of " + paths["vmlinux"]}
			}
			if diff := cmp.Diff(want, notes); diff != "" {
				t.Errorf("System.map notes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReleaseMismatch(t *testing.T) {
	v := testVmlinux()
	v.Banner = elftest.LinuxBanner("6.1.0-58-amd64")
	vmlinux := buildVmlinux(t, v)
	module := "../testdata/modules/6.1/klpc_fg.ko"

	tg, errs := target.Load([]string{vmlinux, module})
	if len(errs) != 1 {
		t.Fatalf("got errors %v, want 1", errs)
	}
	want := module + ": release 6.1.0-57-amd64 differs from release 6.1.0-58-amd64 of target input " + vmlinux + "; all target inputs must come from one kernel build"
	if got := errs[0].Error(); got != want {
		t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
	}
	var releaseErr *target.ReleaseError
	if !errors.As(errs[0], &releaseErr) {
		t.Fatalf("error %T is not a *target.ReleaseError", errs[0])
	}
	wantErr := target.ReleaseError{Release: "6.1.0-57-amd64", Other: "6.1.0-58-amd64", OtherFrom: vmlinux}
	if diff := cmp.Diff(wantErr, *releaseErr); diff != "" {
		t.Errorf("ReleaseError mismatch (-want +got):\n%s", diff)
	}

	// The rejected module is neither listed nor merged.
	if len(tg.Inputs) != 1 || tg.Inputs[0].Path != vmlinux {
		t.Errorf("Inputs = %+v, want only %s", tg.Inputs, vmlinux)
	}
	if tg.Release != "6.1.0-58-amd64" || tg.Vermagic != "" {
		t.Errorf("Release = %q, Vermagic = %q; want the vmlinux's release and no vermagic", tg.Release, tg.Vermagic)
	}
	if found, _ := tg.HasModule("klpc_fg"); found {
		t.Errorf("the rejected module klpc_fg was merged")
	}
}

// TestExportCoverage checks when a missing export is known to be missing:
// only when the inputs list the exports of vmlinux and of the modules.
func TestExportCoverage(t *testing.T) {
	_, tree := modulesTree(t, true)
	_, treeWithout := modulesTree(t, false)
	vmlinux := buildVmlinux(t, testVmlinux())

	for _, tt := range []struct {
		name  string
		paths []string
		known bool
	}{
		{"vmlinux", []string{vmlinux}, false},
		{"modules.symbols", []string{tree}, false},
		{"vmlinux and modules.symbols", []string{vmlinux, tree}, true},
		{"vmlinux and a tree without modules.symbols", []string{vmlinux, treeWithout}, false},
		{"Module.symvers", []string{"testdata/Module.symvers"}, true},
		{"System.map", []string{"testdata/system.map"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg, errs := target.Load(tt.paths)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if _, found, known := tg.Export("no_such_export"); found || known != tt.known {
				t.Errorf("Export(no_such_export) = found %v, known %v, want false, %v", found, known, tt.known)
			}
		})
	}
}

// TestExportsGap checks the reason ExportsGap gives for each set of
// inputs that leaves exports unknown.
func TestExportsGap(t *testing.T) {
	_, tree := modulesTree(t, true)
	vmlinux := buildVmlinux(t, testVmlinux())
	module := "../testdata/modules/6.1/target/klpc_target.ko"

	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"System.map", []string{"testdata/system.map"},
			"no target input lists exports, which Module.symvers gives, or the vmlinux with a modules directory that has modules.symbols"},
		{"vmlinux", []string{vmlinux},
			"the target inputs list vmlinux's exports but not its modules', which Module.symvers or the modules.symbols of a modules directory gives"},
		{"modules.symbols", []string{tree},
			"the target inputs list the modules' exports but not vmlinux's, which Module.symvers or the vmlinux gives"},
		{"module file", []string{module},
			"module file " + module + " lists only its own exports, and the exports of vmlinux and the other modules come from Module.symvers, or from the vmlinux with a modules directory that has modules.symbols"},
		{"Module.symvers", []string{"testdata/Module.symvers"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg, errs := target.Load(tt.paths)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if got := tg.ExportsGap(); got != tt.want {
				t.Errorf("ExportsGap() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExportMerge checks that an export from Module.symvers replaces the
// same export from modules.symbols, which has no CRC or GPL flag.
func TestExportMerge(t *testing.T) {
	_, tree := modulesTree(t, true)
	symvers := writeFile(t, "Module.symvers", []byte("0x0000abcd\tklpc_fg_helper\tkernel/fs/klpc-fg\tEXPORT_SYMBOL_GPL\t\n0x00000001\tvfs_read\tvmlinux\tEXPORT_SYMBOL\t\n"))
	tg, errs := target.Load([]string{tree, symvers})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	e, found, known := tg.Export("klpc_fg_helper")
	want := target.Export{Name: "klpc_fg_helper", Owner: "klpc_fg", CRC: 0xabcd, CRCKnown: true, GPLOnly: true}
	if diff := cmp.Diff(want, e); diff != "" || !found || !known {
		t.Errorf("Export found=%v known=%v mismatch (-want +got):\n%s", found, known, diff)
	}
}

func TestLivepatchUnknown(t *testing.T) {
	tg := loadOne(t, "testdata/available_filter_functions")
	if yes, known := tg.Livepatch(); yes || known {
		t.Errorf("Livepatch() = %v, %v, want false, false", yes, known)
	}
	v := testVmlinux()
	v.Symbols = v.Symbols[:len(v.Symbols)-1] // drop klp_enable_patch
	tg = loadOne(t, buildVmlinux(t, v))
	if yes, known := tg.Livepatch(); yes || !known {
		t.Errorf("without klp_enable_patch, Livepatch() = %v, %v, want false, true", yes, known)
	}
}
