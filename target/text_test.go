package target_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/target"
)

// sym is a symbol of a text input, which gives no size, section or file.
func sym(name string, addr uint64, fn bool) target.Symbol {
	return target.Symbol{Name: name, Addr: addr, Func: fn}
}

func TestSystemMap(t *testing.T) {
	const path = "testdata/system.map"
	tg := loadOne(t, path)

	// The absolute kexec_control_code_size, the __kstrtab_ label and the
	// arm64 hypervisor's local label with a \002 byte in its name are
	// dropped as kallsyms drops them. At 0 __per_cpu_start, a name a
	// linker script provides, comes after fixed_percpu_data. At
	// 0xffffffff81000000 the name with fewer leading underscores comes
	// first, then name order. At 0xffffffff81001040 the weak symbol comes
	// after the other.
	want := &target.Object{
		Name: "vmlinux",
		Path: path,
		Kind: target.KindSystemMap,
		Symbols: []target.Symbol{
			sym("fixed_percpu_data", 0, false),
			sym("__per_cpu_start", 0, false),
			sym("cpu_debug_store", 0x1000, false),
			sym("startup_64", 0xffffffff81000000, true),
			sym("_stext", 0xffffffff81000000, true),
			sym("_text", 0xffffffff81000000, true),
			sym("show", 0xffffffff81001000, true),
			sym("arch_hook_impl", 0xffffffff81001040, true),
			sym("arch_hook", 0xffffffff81001040, true),
			sym("show", 0xffffffff81002000, true),
			sym("cmdline_proc_show", 0xffffffff81003000, true),
			sym("helper.llvm.4242", 0xffffffff81003100, true),
			sym("klp_enable_patch", 0xffffffff81003200, true),
			sym("linux_banner", 0xffffffff82000000, false),
			sym("__ksymtab_cmdline_proc_show", 0xffffffff82000100, false),
			sym("zero_page", 0xffffffff82000300, false),
		},
	}
	if diff := cmp.Diff(want, tg.Vmlinux, objectOptions); diff != "" {
		t.Errorf("vmlinux object mismatch (-want +got):\n%s", diff)
	}
	wantInputs := []target.Input{{Path: path, Kind: target.KindSystemMap, Symbols: 16}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}

	if yes, known := tg.Livepatch(); !yes || !known {
		t.Errorf("Livepatch() = %v, %v, want true, true", yes, known)
	}
	if yes, known := tg.Vmlinux.Ftraceable(tg.Vmlinux.Matches("show")[0]); yes || known {
		t.Errorf("Ftraceable(show) = %v, %v, want false, false: System.map has no ftrace records", yes, known)
	}
	if found, known := tg.HasModule("ext4"); found || known {
		t.Errorf("HasModule(ext4) = %v, %v, want false, false", found, known)
	}
}

// kallsymsModule is the ext4 object of testdata/kallsyms, with addresses
// multiplied by scale (0 for the dump with hidden addresses).
func kallsymsObjects(path string, hidden bool) (vmlinux, ext4, jbd2 *target.Object) {
	addr := func(a uint64) uint64 {
		if hidden {
			return 0
		}
		return a
	}
	vmlinux = &target.Object{
		Name: "vmlinux", Path: path, Kind: target.KindKallsyms, AddrsHidden: hidden,
		Symbols: []target.Symbol{
			sym("fixed_percpu_data", 0, false),
			sym("startup_64", addr(0xffffffff81000000), true),
			sym("_stext", addr(0xffffffff81000000), true),
			sym("_text", addr(0xffffffff81000000), true),
			sym("show", addr(0xffffffff81001000), true),
			sym("show", addr(0xffffffff81002000), true),
			sym("cmdline_proc_show", addr(0xffffffff81003000), true),
			sym("klp_enable_patch", addr(0xffffffff81003200), true),
			sym("linux_banner", addr(0xffffffff82000000), false),
		},
	}
	// A module's symbols stay in file order, which is the order the
	// kernel counts them in, even where addresses go down.
	ext4 = &target.Object{
		Name: "ext4", Path: path, Kind: target.KindKallsyms, AddrsHidden: hidden,
		Symbols: []target.Symbol{
			sym("ext4_show", addr(0xffffffffc0a01000), true),
			sym("show", addr(0xffffffffc0a01100), true),
			sym("ext4_file_open", addr(0xffffffffc0a02000), true),
			sym("show", addr(0xffffffffc0a00100), true),
		},
	}
	jbd2 = &target.Object{
		Name: "jbd2", Path: path, Kind: target.KindKallsyms, AddrsHidden: hidden,
		Symbols: []target.Symbol{sym("jbd2_journal_start", addr(0xffffffffc0d00000), true)},
	}
	return vmlinux, ext4, jbd2
}

func TestKallsyms(t *testing.T) {
	for _, tt := range []struct {
		path   string
		hidden bool
		notes  []string
	}{
		{"testdata/kallsyms", false, []string{
			"lists 2 loaded modules; a module that was not loaded when the file was read is not in it",
			"symbols tagged [bpf], [__builtin__ftrace] are not module symbols and were skipped",
		}},
		{"testdata/kallsyms-hidden", true, []string{
			"every address is zero, as the kernel prints them to a reader without CAP_SYSLOG (kernel.kptr_restrict): symbol names and their order are used, addresses are not; read /proc/kallsyms as root to keep them",
			"lists 2 loaded modules; a module that was not loaded when the file was read is not in it",
			"symbols tagged [bpf], [__builtin__ftrace] are not module symbols and were skipped",
		}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			tg := loadOne(t, tt.path)
			vmlinux, ext4, jbd2 := kallsymsObjects(tt.path, tt.hidden)

			if diff := cmp.Diff(vmlinux, tg.Vmlinux, objectOptions); diff != "" {
				t.Errorf("vmlinux mismatch (-want +got):\n%s", diff)
			}
			for _, want := range []*target.Object{ext4, jbd2} {
				got, err := tg.Module(want.Name)
				if err != nil {
					t.Fatalf("Module(%s): %v", want.Name, err)
				}
				if diff := cmp.Diff(want, got, objectOptions); diff != "" {
					t.Errorf("module %s mismatch (-want +got):\n%s", want.Name, diff)
				}
			}
			if got := tg.ModuleNames(); !cmp.Equal(got, []string{"ext4", "jbd2"}) {
				t.Errorf("ModuleNames() = %v, want [ext4 jbd2]", got)
			}

			wantInputs := []target.Input{{Path: tt.path, Kind: target.KindKallsyms, Symbols: 14, Notes: tt.notes}}
			if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
				t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
			}

			// A dump names the loaded modules only, so a module it does
			// not list may still be installed.
			for _, tc := range []struct {
				name                    string
				found, known, loaded, k bool
			}{
				{"ext4", true, true, true, true},
				{"xfs", false, false, false, true},
			} {
				found, known := tg.HasModule(tc.name)
				loaded, k := tg.Loaded(tc.name)
				if found != tc.found || known != tc.known || loaded != tc.loaded || k != tc.k {
					t.Errorf("%s: HasModule = %v, %v; Loaded = %v, %v; want %v, %v; %v, %v",
						tc.name, found, known, loaded, k, tc.found, tc.known, tc.loaded, tc.k)
				}
			}
		})
	}
}

func TestModuleSymvers(t *testing.T) {
	const path = "testdata/Module.symvers"
	tg := loadOne(t, path)

	for _, want := range []target.Export{
		{Name: "_printk", Owner: "vmlinux", CRC: 0x92997ed8, CRCKnown: true},
		{Name: "klp_enable_patch", Owner: "vmlinux", CRC: 0xdeadbeef, CRCKnown: true, GPLOnly: true},
		{Name: "jbd2_journal_start", Owner: "jbd2", CRC: 0xb4080944, CRCKnown: true},
		{Name: "cxl_bus_type", Owner: "cxl_core", CRC: 0x12345678, CRCKnown: true, GPLOnly: true, Namespace: "CXL"},
		{Name: "snd_hda_codec_new", Owner: "snd_hda_codec", CRC: 0xabcd, CRCKnown: true, GPLOnly: true},
	} {
		got, found, known := tg.Export(want.Name)
		if diff := cmp.Diff(want, got); diff != "" || !found || !known {
			t.Errorf("Export(%s) found=%v known=%v, mismatch (-want +got):\n%s", want.Name, found, known, diff)
		}
	}
	if _, found, known := tg.Export("not_exported"); found || !known {
		t.Errorf("Export(not_exported) = found %v, known %v, want false, true", found, known)
	}
	if yes, known := tg.Livepatch(); !yes || !known {
		t.Errorf("Livepatch() = %v, %v, want true, true", yes, known)
	}
	wantInputs := []target.Input{{Path: path, Kind: target.KindModuleSymvers, Symbols: 5}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
}

func TestModuleSymversVariants(t *testing.T) {
	for _, tt := range []struct {
		name  string
		text  string
		want  target.Export
		known bool
		notes []string
	}{
		{
			name:  "5.4 and 5.5 namespace order",
			text:  "0x00000001\tvfs_read\t\tvmlinux\tEXPORT_SYMBOL\n0x00000002\tcxl_bus_type\tCXL\tdrivers/cxl/cxl_core\tEXPORT_SYMBOL_GPL\n",
			want:  target.Export{Name: "cxl_bus_type", Owner: "cxl_core", CRC: 2, CRCKnown: true, GPLOnly: true, Namespace: "CXL"},
			known: true,
		},
		{
			name:  "before 5.4, no namespace field",
			text:  "0x00000001\tvfs_read\tvmlinux\tEXPORT_SYMBOL\n0x00000002\tcxl_bus_type\tdrivers/cxl/cxl_core\tEXPORT_SYMBOL_GPL\n",
			want:  target.Export{Name: "cxl_bus_type", Owner: "cxl_core", CRC: 2, CRCKnown: true, GPLOnly: true},
			known: true,
		},
		{
			name:  "without modversions",
			text:  "0x00000000\tvfs_read\tvmlinux\tEXPORT_SYMBOL\t\n0x00000000\tcxl_bus_type\tdrivers/cxl/cxl_core\tEXPORT_SYMBOL_GPL\tCXL\n",
			want:  target.Export{Name: "cxl_bus_type", Owner: "cxl_core", GPLOnly: true, Namespace: "CXL"},
			known: true,
			notes: []string{"every CRC is 0x00000000, which modpost writes for a kernel built without CONFIG_MODVERSIONS, so CRCs are unknown"},
		},
		{
			name:  "out-of-tree module build",
			text:  "0x00000002\tcxl_bus_type\t/home/u/cxl/cxl_core\tEXPORT_SYMBOL_GPL\tCXL\n",
			want:  target.Export{Name: "cxl_bus_type", Owner: "cxl_core", CRC: 2, CRCKnown: true, GPLOnly: true, Namespace: "CXL"},
			notes: []string{"lists no export of vmlinux, so it is not the kernel's own Module.symvers and an export it does not list may still exist"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := loadOne(t, writeFile(t, "symvers", []byte(tt.text)))
			got, found, known := tg.Export("cxl_bus_type")
			if diff := cmp.Diff(tt.want, got); diff != "" || !found || known != tt.known {
				t.Errorf("Export(cxl_bus_type) found=%v known=%v (want %v), mismatch (-want +got):\n%s", found, known, tt.known, diff)
			}
			if diff := cmp.Diff(tt.notes, tg.Inputs[0].Notes, objectOptions); diff != "" {
				t.Errorf("Notes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAvailableFilterFunctions(t *testing.T) {
	const path = "testdata/available_filter_functions"
	tg := loadOne(t, path)

	for _, tt := range []struct {
		object, name string
		want         bool
	}{
		{"vmlinux", "cmdline_proc_show", true},
		{"vmlinux", "show", true},
		{"vmlinux", "ext4_file_open", false},
		{"ext4", "ext4_file_open", true},
		{"jbd2", "jbd2_journal_start", true},
		{"vmlinux", "__ftrace_invalid_address___64", false},
		{"xfs", "xfs_file_open", false},
	} {
		found, known := tg.FilterFunction(tt.object, tt.name)
		if found != tt.want || !known {
			t.Errorf("FilterFunction(%s, %s) = %v, %v, want %v, true", tt.object, tt.name, found, known, tt.want)
		}
	}

	wantInputs := []target.Input{{
		Path: path, Kind: target.KindFilterFunctions, Symbols: 6,
		Notes: []string{"skipped 1 line naming __ftrace_invalid_address___<offset>, call sites ftrace disabled"},
	}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
}

// TestDetectByContent loads each fixture under a name that says nothing
// about its kind.
func TestDetectByContent(t *testing.T) {
	for fixture, want := range map[string]target.Kind{
		"testdata/system.map":                 target.KindSystemMap,
		"testdata/kallsyms":                   target.KindKallsyms,
		"testdata/kallsyms-hidden":            target.KindKallsyms,
		"testdata/Module.symvers":             target.KindModuleSymvers,
		"testdata/available_filter_functions": target.KindFilterFunctions,
		"../testdata/modules/6.1/klpc_fg.ko":  target.KindModule,
	} {
		raw, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		tg := loadOne(t, writeFile(t, "input", raw))
		if got := tg.Inputs[0].Kind; got != want {
			t.Errorf("%s: Kind = %s, want %s", fixture, got, want)
		}
	}
}

// TestFilterFunctionSuffixes reads the names of function copies that
// compilers make, which available_filter_functions lists with their
// suffixes.
func TestFilterFunctionSuffixes(t *testing.T) {
	text := "tsc_init.cold\nsched_slice.isra.0\next4_fill_super.constprop.0 [ext4]\n__x64_sys_read.part.0\nproc_show.llvm.8172635 [klpc-target]\n"
	tg := loadOne(t, writeFile(t, "input", []byte(text)))

	for _, tt := range []struct{ object, name string }{
		{"vmlinux", "tsc_init.cold"},
		{"vmlinux", "sched_slice.isra.0"},
		{"ext4", "ext4_fill_super.constprop.0"},
		{"vmlinux", "__x64_sys_read.part.0"},
		{"klpc-target", "proc_show.llvm.8172635"},
	} {
		if found, known := tg.FilterFunction(tt.object, tt.name); !found || !known {
			t.Errorf("FilterFunction(%s, %s) = %v, %v, want true, true", tt.object, tt.name, found, known)
		}
	}
	if got := tg.Inputs[0].Kind; got != target.KindFilterFunctions {
		t.Errorf("Kind = %s, want %s", got, target.KindFilterFunctions)
	}
}

// TestFilterFunctionInvalidNames rejects lines that are no function name,
// each in a file whose first line is one.
func TestFilterFunctionInvalidNames(t *testing.T) {
	for _, line := range []string{"2fast", "foo.", "foo..cold", ".cold", "foo-bar", "foo [ext4", "foo [ext 4]", "foo []"} {
		t.Run(line, func(t *testing.T) {
			path := writeFile(t, "input", []byte("cmdline_proc_show\n"+line+"\n"))
			want := path + `:2: unrecognised content: "` + line + `" is not a function name, optionally followed by [MODULE], as available_filter_functions lists them`
			if got := loadError(t, path); got != want {
				t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
			}
		})
	}
}

// TestKallsymsExcerpt reads lines selected from /proc/kallsyms: their
// vmlinux symbols count as a kallsyms dump's, and the module lines and
// the list of loaded modules are left out.
func TestKallsymsExcerpt(t *testing.T) {
	text := "ffffffff81039ea0 t type_show\nffffffff810d47e0 t type_show\nffffffffc0a01000 t type_show\t[ext4]\n"
	path := writeFile(t, "kallsyms-lines", []byte(text))

	tg := &target.Target{}
	if err := tg.LoadKallsymsExcerpt(path); err != nil {
		t.Fatal(err)
	}

	if tg.Vmlinux == nil || tg.Vmlinux.Kind != target.KindKallsyms {
		t.Fatalf("Vmlinux = %+v, want an object of kind %s", tg.Vmlinux, target.KindKallsyms)
	}
	if got := len(tg.Vmlinux.Matches("type_show")); got != 2 {
		t.Errorf("vmlinux has %d type_show, want 2", got)
	}
	if found, known := tg.HasModule("ext4"); found || known {
		t.Errorf("HasModule(ext4) = %v, %v, want false, false", found, known)
	}
	if _, known := tg.Loaded("ext4"); known {
		t.Errorf("Loaded(ext4) is known, want unknown")
	}
	wantInputs := []target.Input{{Path: path, Kind: target.KindKallsyms, Symbols: 2}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
}
