package elfscan_test

import (
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
)

// realModule is what the C source of one fixture under
// testdata/modules/src declares. The same source is built for every kernel
// or architecture of its group, so one entry covers all of its files.
type realModule struct {
	name      string
	livepatch bool
	replace   livepatch.Replace
	objects   []livepatch.Object
	states    []livepatch.State
}

// Replace modes of the fixtures. Every fixture stores replace in the bool of
// struct klp_patch, so the width is 1 even when the value comes from an int
// module parameter.
var (
	replaceOff = livepatch.Replace{Known: true, Value: 0, Width: 1, Source: livepatch.ReplaceFromData}
	replaceOn  = livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromData}
)

func replaceParam(value uint32) livepatch.Replace {
	return livepatch.Replace{Known: true, Value: value, Width: 1, Source: livepatch.ReplaceFromModuleParam}
}

func vmlinux(funcs ...livepatch.Func) livepatch.Object {
	return livepatch.Object{Name: "vmlinux", Funcs: funcs}
}

func fn(oldName, newFunc string, sympos uint64) livepatch.Func {
	return livepatch.Func{OldName: oldName, Sympos: sympos, NewFunc: livepatch.Symbol{Name: newFunc}}
}

// kbuildModules are the sources in testdata/modules/src/klpc_*, built with
// Kbuild into testdata/modules/6.1 and testdata/modules/6.12.
var kbuildModules = []realModule{
	{
		name:      "klpc_ambiguous",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("type_show", "klpc_ambiguous_type_show", 0)),
		},
	},
	{
		name:      "klpc_cumulative",
		livepatch: true,
		replace:   replaceOn,
		objects: []livepatch.Object{
			vmlinux(
				fn("uptime_proc_show", "klpc_cumulative_uptime_show", 0),
				fn("cmdline_proc_show", "klpc_cumulative_cmdline_show", 0),
			),
		},
	},
	{
		name:      "klpc_fg",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(
				fn("meminfo_proc_show", "klpc_fg_meminfo_show", 0),
				fn("loadavg_proc_show", "klpc_fg_loadavg_show", 0),
			),
		},
	},
	{
		name:      "klpc_g",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("loadavg_proc_show", "klpc_g_loadavg_show", 0)),
		},
	},
	{
		name:      "klpc_missing",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("klpc_no_such_function", "klpc_missing_replacement", 0)),
		},
	},
	{
		name:      "klpc_modobj",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			{
				Name: "klpc_target",
				Funcs: []livepatch.Func{
					fn("klpc_target_get", "klpc_modobj_get", 0),
					fn("klpc_target_check", "klpc_modobj_check", 0),
					fn("klpc_target_reset", "klpc_modobj_reset", 2),
					fn("klpc_target_untraced", "klpc_modobj_untraced", 0),
				},
			},
		},
	},
	{
		name:      "klpc_multi",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(
				fn("cmdline_proc_show", "klpc_multi_cmdline_show", 0),
				fn("version_proc_show", "klpc_multi_version_show", 0),
			),
			{
				Name: "ext4",
				Funcs: []livepatch.Func{
					fn("ext4_statfs", "klpc_multi_ext4_statfs", 0),
					fn("ext4_es_is_delayed", "klpc_multi_ext4_es_is_delayed", 2),
				},
				Callbacks: livepatch.Callbacks{
					PrePatch:    "klpc_multi_ext4_pre_patch",
					PostUnpatch: "klpc_multi_ext4_post_unpatch",
				},
			},
		},
	},
	{
		// The klp structures are complete, but MODULE_INFO(livepatch)
		// is missing.
		name:      "klpc_nomodinfo",
		livepatch: false,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("version_proc_show", "klpc_nomodinfo_version_show", 0)),
		},
	},
	{
		name:      "klpc_overlap_a",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("cmdline_proc_show", "klpc_a_cmdline_show", 0)),
		},
	},
	{
		name:      "klpc_overlap_b",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("cmdline_proc_show", "klpc_b_cmdline_show", 0)),
		},
	},
	{
		name:      "klpc_param",
		livepatch: true,
		replace:   replaceParam(0),
		objects: []livepatch.Object{
			vmlinux(fn("uptime_proc_show", "klpc_param_uptime_show", 0)),
		},
	},
	{
		// The parameter defaults to 1 while the klp_patch byte is 0.
		name:      "klpc_param_on",
		livepatch: true,
		replace:   replaceParam(1),
		objects: []livepatch.Object{
			vmlinux(fn("uptime_proc_show", "klpc_param_on_uptime_show", 0)),
		},
	},
	{
		name:      "klpc_states",
		livepatch: true,
		replace:   replaceOn,
		objects: []livepatch.Object{
			vmlinux(fn("cmdline_proc_show", "klpc_states_cmdline_show", 0)),
		},
		states: []livepatch.State{{ID: 7, Version: 2}, {ID: 0x1234, Version: 1}},
	},
	{
		name:      "klpc_states_down",
		livepatch: true,
		replace:   replaceOn,
		objects: []livepatch.Object{
			vmlinux(fn("cmdline_proc_show", "klpc_states_down_cmdline_show", 0)),
		},
		states: []livepatch.State{{ID: 7, Version: 1}},
	},
	{
		name:      "klpc_sympos_dup",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("type_show", "klpc_sympos_dup_type_show", 2)),
		},
	},
}

// crossModules are the sources in testdata/modules/src/cross, built with
// cross compilers into testdata/modules/cross/<arch>.
var crossModules = []realModule{
	{
		name:      "klpc_cross_modobj",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("version_proc_show", "klpc_cross_modobj_version_show", 0)),
			{
				Name: "ext4",
				Funcs: []livepatch.Func{
					fn("ext4_statfs", "klpc_cross_modobj_ext4_statfs", 0),
					fn("ext4_es_is_delayed", "klpc_cross_modobj_ext4_es_is_delayed", 2),
				},
				Callbacks: livepatch.Callbacks{
					PrePatch:    "klpc_cross_modobj_pre_patch",
					PostPatch:   "klpc_cross_modobj_post_patch",
					PreUnpatch:  "klpc_cross_modobj_pre_unpatch",
					PostUnpatch: "klpc_cross_modobj_post_unpatch",
				},
			},
		},
	},
	{
		name:      "klpc_cross_plain",
		livepatch: true,
		replace:   replaceOff,
		objects: []livepatch.Object{
			vmlinux(fn("cmdline_proc_show", "klpc_cross_plain_cmdline_show", 0)),
		},
	},
	{
		name:      "klpc_cross_states",
		livepatch: true,
		replace:   replaceOn,
		objects: []livepatch.Object{
			vmlinux(
				fn("uptime_proc_show", "klpc_cross_states_uptime_show", 0),
				fn("cmdline_proc_show", "klpc_cross_states_cmdline_show", 0),
			),
		},
		states: []livepatch.State{{ID: 7, Version: 2}, {ID: 0x1234, Version: 1}},
	},
}

// realBuild is one directory of built fixtures and what its build fixes:
// the target architecture and the kernel release in vermagic.
type realBuild struct {
	dir       string
	pattern   string
	arch      string
	machine   elf.Machine
	byteOrder string
	kernel    livepatch.KernelVersion
	modules   []realModule
}

var realBuilds = []realBuild{
	{
		dir: "6.1", pattern: "*.ko",
		arch: "x86_64", machine: elf.EM_X86_64, byteOrder: "LittleEndian",
		kernel:  livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-amd64"},
		modules: kbuildModules,
	},
	{
		dir: "6.12", pattern: "*.ko",
		arch: "x86_64", machine: elf.EM_X86_64, byteOrder: "LittleEndian",
		kernel:  livepatch.KernelVersion{Major: 6, Minor: 12, Patch: 118, Release: "6.12.118+deb12-amd64"},
		modules: kbuildModules,
	},
	{
		dir: "cross/arm64", pattern: "*.o",
		arch: "arm64", machine: elf.EM_AARCH64, byteOrder: "LittleEndian",
		kernel:  livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-arm64"},
		modules: crossModules,
	},
	{
		dir: "cross/ppc64le", pattern: "*.o",
		arch: "ppc64le", machine: elf.EM_PPC64, byteOrder: "LittleEndian",
		kernel:  livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-powerpc64le"},
		modules: crossModules,
	},
	{
		dir: "cross/s390x", pattern: "*.o",
		arch: "s390x", machine: elf.EM_S390, byteOrder: "BigEndian",
		kernel:  livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-s390x"},
		modules: crossModules,
	},
}

// declaration is the part of a livepatch.Module that the fixture's source
// and build fix. Locations, sizes and symbol indexes depend on the
// compiler and are left out.
type declaration struct {
	Path       string
	Name       string
	NameSource string
	Arch       string
	Machine    elf.Machine
	ByteOrder  string
	Kernel     livepatch.KernelVersion
	Livepatch  bool
	Producer   livepatch.Producer
	Replace    livepatch.Replace
	Objects    []livepatch.Object
	States     []livepatch.State
}

func declarationOf(m *livepatch.Module) declaration {
	return declaration{
		Path:       m.Path,
		Name:       m.Name,
		NameSource: m.NameSource,
		Arch:       m.Arch.Name,
		Machine:    m.Arch.Machine,
		ByteOrder:  fmt.Sprint(m.Arch.ByteOrder),
		Kernel:     m.Kernel,
		Livepatch:  m.Livepatch,
		Producer:   m.Producer,
		Replace:    m.Replace,
		Objects:    m.Objects,
		States:     m.States,
	}
}

var declarationOptions = cmp.Options{
	cmpopts.IgnoreFields(livepatch.Replace{}, "Detail"),
	cmpopts.IgnoreFields(livepatch.Object{}, "Location"),
	cmpopts.IgnoreFields(livepatch.Func{}, "Location"),
	cmpopts.IgnoreFields(livepatch.Symbol{}, "Section", "Size", "Value", "Index"),
	cmpopts.EquateEmpty(),
}

// TestOpenRealModules opens every module built by testdata/modules/build.sh
// and compares what elfscan reads with what the C source declares. A file
// without a table entry and a table entry without a file both fail, so the
// table and the built files cannot drift apart.
func TestOpenRealModules(t *testing.T) {
	for _, build := range realBuilds {
		dir := filepath.Join("..", "testdata", "modules", filepath.FromSlash(build.dir))
		paths, err := filepath.Glob(filepath.Join(dir, build.pattern))
		if err != nil {
			t.Fatalf("glob %s: %v", dir, err)
		}
		if len(paths) == 0 {
			t.Errorf("no %s files in %s; run testdata/modules/build.sh", build.pattern, dir)
			continue
		}

		byName := make(map[string]realModule, len(build.modules))
		for _, m := range build.modules {
			byName[m.name] = m
		}
		found := make(map[string]bool, len(paths))

		for _, path := range paths {
			name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			found[name] = true
			source, ok := byName[name]

			t.Run(build.dir+"/"+name, func(t *testing.T) {
				if !ok {
					t.Fatalf("%s has no entry in the fixture table of %s", path, build.dir)
				}

				got, err := elfscan.Open(path)
				if err != nil {
					// The *elfscan.Error already names the path.
					t.Fatalf("Open: %v", err)
				}
				if got == nil {
					t.Fatalf("Open(%s) returned a nil module and no error", path)
				}

				want := declaration{
					Path:       path,
					Name:       source.name,
					NameSource: "modinfo",
					Arch:       build.arch,
					Machine:    build.machine,
					ByteOrder:  build.byteOrder,
					Kernel:     build.kernel,
					Livepatch:  source.livepatch,
					Producer:   livepatch.ProducerHandWritten,
					Replace:    source.replace,
					Objects:    source.objects,
					States:     source.states,
				}
				if diff := cmp.Diff(want, declarationOf(got), declarationOptions); diff != "" {
					t.Errorf("Open(%s) mismatch (-want +got):\n%s", path, diff)
				}

				// The kernel looks up the size of every replacement
				// function in the patch module's kallsyms, so each
				// one must be a sized symbol in some section.
				for _, obj := range got.Objects {
					for _, f := range obj.Funcs {
						if f.NewFunc.Size == 0 {
							t.Errorf("%s/%s: replacement %s has size 0", obj.Name, f.OldName, f.NewFunc.Name)
						}
						if f.NewFunc.Section == "" {
							t.Errorf("%s/%s: replacement %s has no section", obj.Name, f.OldName, f.NewFunc.Name)
						}
					}
				}
			})
		}

		for _, m := range build.modules {
			if !found[m.name] {
				t.Errorf("%s lists %s, but %s has no such file; run testdata/modules/build.sh", build.dir, m.name, dir)
			}
		}
	}
}
