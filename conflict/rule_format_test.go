package conflict

import (
	"debug/elf"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klpcheck/klpcheck/livepatch"
)

// loadOne checks a plan that loads m alone as a non-replace patch.
func loadOne(m *livepatch.Module) Result {
	return Check(Plan{Patches: []Patch{nonReplace(m)}})
}

func TestMetadataInvalid(t *testing.T) {
	tests := []struct {
		name    string
		module  func() *livepatch.Module
		kernel  livepatch.KernelVersion
		want    want
		refused bool
	}{
		{
			name: "no livepatch modinfo",
			module: func() *livepatch.Module {
				m := module("klpc_m", vmlinux("f"))
				m.Livepatch = false
				return m
			},
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m"},
			refused: true,
		},
		{
			name: "objs NULL",
			module: func() *livepatch.Module {
				m := module("klpc_m")
				m.ObjsNull = true
				return m
			},
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m"},
			refused: true,
		},
		{
			name: "funcs NULL",
			module: func() *livepatch.Module {
				return module("klpc_m", livepatch.Object{Name: "ext4", FuncsNull: true})
			},
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "ext4"},
			refused: true,
		},
		{
			name: "old_name NULL",
			module: func() *livepatch.Module {
				return module("klpc_m", obj("vmlinux", livepatch.Func{OldNameNull: true, NewFunc: livepatch.Symbol{Name: "x", Size: 1}}))
			},
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux"},
			refused: true,
		},
		{
			name: "new_func NULL",
			module: func() *livepatch.Module {
				return module("klpc_m", obj("vmlinux", livepatch.Func{OldName: "f", NewFuncNull: true}))
			},
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux", Function: "f"},
			refused: true,
		},
		{
			name: "old_name too long before 6.1",
			module: func() *livepatch.Module {
				return module("klpc_m", vmlinux(strings.Repeat("f", 128)))
			},
			kernel:  release(5, 15, 0, "5.15.0"),
			want:    want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux", Function: strings.Repeat("f", 128)},
			refused: true,
		},
		{
			name: "literal vmlinux",
			module: func() *livepatch.Module {
				o := vmlinux("f")
				o.LiteralVmlinux = true
				return module("klpc_m", o)
			},
			want: want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Check(Plan{Kernel: KernelInfo{Version: tt.kernel}, Patches: []Patch{nonReplace(tt.module())}})
			checkFindings(t, res, tt.want)
			if tt.refused {
				checkRefused(t, res, 1, "EINVAL", "metadata-invalid")
			} else {
				checkLoaded(t, res, 1)
			}
		})
	}
}

func TestMetadataLongNameFitsSince61(t *testing.T) {
	m := module("klpc_m", vmlinux(strings.Repeat("f", 128)))
	res := Check(Plan{Kernel: KernelInfo{Version: release(6, 1, 0, "6.1.0")}, Patches: []Patch{nonReplace(m)}})
	checkFindings(t, res)
}

func TestMetadataEmptyObjectsLegal(t *testing.T) {
	res := loadOne(module("klpc_m", livepatch.Object{Name: "vmlinux"}))
	checkFindings(t, res)
}

func TestDuplicateObject(t *testing.T) {
	res := loadOne(module("klpc_m", vmlinux("f"), vmlinux("g")))

	checkFindings(t, res, want{Rule: "duplicate-object", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux"})
	checkRefused(t, res, 1, "EEXIST", "duplicate-object")
}

func TestDuplicateFunc(t *testing.T) {
	t.Run("sympos 0 and 1", func(t *testing.T) {
		res := loadOne(module("klpc_m", obj("vmlinux", fnAt("f", 0), fnAt("f", 1))))

		checkFindings(t, res, want{Rule: "duplicate-func", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "vmlinux", Function: "f"})
		checkRefused(t, res, 1, "EEXIST", "duplicate-func")
	})
	t.Run("sympos 1 and 2", func(t *testing.T) {
		res := loadOne(module("klpc_m", obj("vmlinux", fnAt("f", 1), fnAt("f", 2))))
		checkFindings(t, res)
	})
	t.Run("same name in two objects", func(t *testing.T) {
		res := loadOne(module("klpc_m", vmlinux("f"), obj("ext4", fn("f"))))
		checkFindings(t, res)
	})
}

func TestObjectNameInvalid(t *testing.T) {
	t.Run("dash", func(t *testing.T) {
		res := loadOne(module("klpc_m", obj("snd-hda-intel", fn("azx_probe"))))

		checkFindings(t, res, want{Rule: "object-name-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "snd-hda-intel"})
		checkLoaded(t, res, 1)
	})
	t.Run("too long", func(t *testing.T) {
		name := strings.Repeat("m", livepatch.ModuleNameLen)
		res := loadOne(module("klpc_m", obj(name, fn("f"))))

		checkFindings(t, res, want{Rule: "object-name-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: name})
		checkRefused(t, res, 1, "EINVAL", "object-name-invalid")
	})
	t.Run("55 bytes", func(t *testing.T) {
		res := loadOne(module("klpc_m", obj(strings.Repeat("m", livepatch.ModuleNameLen-1), fn("f"))))
		checkFindings(t, res)
	})
}

// relocModule returns a module with one well-formed klp relocation section
// for object, patching .text.f through a klp symbol of symObject.
func relocModule(object, symObject string) *livepatch.Module {
	m := module("klpc_m", vmlinux("f"))
	symName := ".klp.sym." + symObject + ".helper,0"
	m.KlpSymbols = []livepatch.KlpSymbol{{Name: symName, Index: 5, Object: symObject, Symbol: "helper", Referenced: true}}
	m.KlpRelocSections = []livepatch.KlpRelocSection{{
		Name:        ".klp.rela." + object + "..text.f",
		Index:       9,
		Type:        elf.SHT_RELA,
		Flags:       elf.SHF_ALLOC | livepatch.SHF_RELA_LIVEPATCH,
		Link:        20,
		SymtabIndex: 20,
		TargetIndex: 3,
		TargetName:  ".text.f",
		TargetAlloc: true,
		ObjName:     object,
		Relocs:      []livepatch.KlpReloc{{Offset: 4, Type: 4, SymIndex: 5, SymName: symName, SymLivepatch: true}},
	}}
	return m
}

func TestKlpRelocInvalid(t *testing.T) {
	kernel := release(6, 6, 0, "6.6.0")
	tests := []struct {
		name     string
		modify   func(m *livepatch.Module)
		object   string
		severity Severity
		refused  bool
	}{
		{"not RELA", func(m *livepatch.Module) { m.KlpRelocSections[0].Type = elf.SHT_REL }, "vmlinux", SeverityError, false},
		{"no SHF_ALLOC", func(m *livepatch.Module) { m.KlpRelocSections[0].Flags = livepatch.SHF_RELA_LIVEPATCH }, "vmlinux", SeverityError, false},
		{"name does not parse", func(m *livepatch.Module) {
			m.KlpRelocSections[0].NameErr = "section .klp.rela. has an incorrectly formatted name: empty object name"
		}, "vmlinux", SeverityError, true},
		{"sh_link", func(m *livepatch.Module) { m.KlpRelocSections[0].Link = 2 }, "vmlinux", SeverityError, false},
		{"target out of range", func(m *livepatch.Module) {
			m.KlpRelocSections[0].TargetName, m.KlpRelocSections[0].TargetAlloc = "", false
		}, "vmlinux", SeverityError, false},
		{"target not alloc", func(m *livepatch.Module) { m.KlpRelocSections[0].TargetAlloc = false }, "vmlinux", SeverityError, false},
		{"symbol index 0", func(m *livepatch.Module) {
			m.KlpRelocSections[0].Relocs[0].SymIndex, m.KlpRelocSections[0].Relocs[0].SymName = 0, ""
		}, "vmlinux", SeverityError, true},
		{"symbol not SHN_LIVEPATCH", func(m *livepatch.Module) { m.KlpRelocSections[0].Relocs[0].SymLivepatch = false }, "vmlinux", SeverityError, true},
		{"klp symbol does not parse", func(m *livepatch.Module) {
			m.KlpSymbols[0].ParseErr = "symbol .klp.sym.vmlinux.helper has an incorrectly formatted name: missing ',<sympos>'"
		}, "vmlinux", SeverityError, true},
		{"klp arch section", func(m *livepatch.Module) {
			m.KlpArchSections = []string{".klp.arch.vmlinux..altinstructions"}
		}, "", SeverityNote, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := relocModule("vmlinux", "vmlinux")
			tt.modify(m)
			res := Check(Plan{Kernel: KernelInfo{Version: kernel}, Patches: []Patch{nonReplace(m)}})

			checkFindings(t, res, want{Rule: "klp-reloc-invalid", Severity: tt.severity, Step: 1, Module: "klpc_m", Object: tt.object})
			if tt.refused {
				checkRefused(t, res, 1, "EINVAL", "klp-reloc-invalid")
			} else {
				checkLoaded(t, res, 1)
			}
		})
	}
}

func TestKlpRelocWellFormed(t *testing.T) {
	res := Check(Plan{Kernel: KernelInfo{Version: release(6, 6, 0, "6.6.0")}, Patches: []Patch{nonReplace(relocModule("ext4", "ext4"))}})
	checkFindings(t, res)
}

func TestKlpRelocModuleSection(t *testing.T) {
	t.Run("vmlinux symbol on 5.8", func(t *testing.T) {
		m := relocModule("ext4", "vmlinux")
		res := Check(Plan{Kernel: KernelInfo{Version: release(5, 8, 0, "5.8.0")}, Patches: []Patch{nonReplace(m)}})

		checkFindings(t, res, want{Rule: "klp-reloc-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "ext4"})
		checkLoaded(t, res, 1)
	})
	t.Run("vmlinux symbol with the module loaded", func(t *testing.T) {
		m := relocModule("ext4", "vmlinux")
		live := &LiveState{Order: OrderStackOrder, Modules: []LoadedModule{{Name: "ext4"}}}

		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 1, 0, "6.1.0")}, Live: live, Patches: []Patch{nonReplace(m)}})

		checkFindings(t, res, want{Rule: "klp-reloc-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "ext4"})
		checkRefused(t, res, 1, "EINVAL", "klp-reloc-invalid")
		checkMessage(t, res.Findings[0], "module ext4 is loaded (live snapshot), so the load fails")
	})
	t.Run("vmlinux symbol with the module not loaded", func(t *testing.T) {
		m := relocModule("ext4", "vmlinux")
		live := &LiveState{Order: OrderStackOrder, Modules: []LoadedModule{{Name: "jbd2"}}}

		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 1, 0, "6.1.0")}, Live: live, Patches: []Patch{nonReplace(m)}})

		checkLoaded(t, res, 1)
		checkMessage(t, res.Findings[0], "module ext4 is not loaded (live snapshot): applying it fails when module ext4 loads")
	})
	t.Run("vmlinux symbol on 5.7", func(t *testing.T) {
		m := relocModule("ext4", "vmlinux")
		res := Check(Plan{Kernel: KernelInfo{Version: release(5, 7, 0, "5.7.0")}, Patches: []Patch{nonReplace(m)}})
		checkFindings(t, res)
	})
	t.Run("special section", func(t *testing.T) {
		m := relocModule("ext4", "ext4")
		m.KlpRelocSections[0].TargetName = "__jump_table"
		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 6, 0, "6.6.0")}, Patches: []Patch{nonReplace(m)}})

		checkFindings(t, res, want{Rule: "klp-reloc-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: "ext4"})
		checkLoaded(t, res, 1)
	})
	t.Run("special section of vmlinux", func(t *testing.T) {
		m := relocModule("vmlinux", "vmlinux")
		m.KlpRelocSections[0].TargetName = "__jump_table"
		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 6, 0, "6.6.0")}, Patches: []Patch{nonReplace(m)}})
		checkFindings(t, res)
	})
	t.Run("truncated object name", func(t *testing.T) {
		long := strings.Repeat("m", 60)
		m := relocModule(long[:55], long[:55])
		m.KlpRelocSections[0].Name = ".klp.rela." + long + "..text.f"
		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 6, 0, "6.6.0")}, Patches: []Patch{nonReplace(m)}})

		checkFindings(t, res, want{Rule: "klp-reloc-invalid", Severity: SeverityError, Step: 1, Module: "klpc_m", Object: long[:55]})
	})
}

func TestReplaceUnknownSimulatedAsReplace(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	u := module("klpc_u", vmlinux("f"))
	u.Replace = livepatch.Replace{Source: livepatch.ReplaceUnknown, Detail: "no store to klp_patch.replace found in patch_init"}

	res := Check(Plan{Patches: []Patch{nonReplace(a), {Module: u}}})

	checkFindings(t, res,
		want{Rule: "replace-unknown", Severity: SeverityWarning, Step: 2, Module: "klpc_u"},
		want{Rule: "replace-disables", Severity: SeverityWarning, Step: 2, Module: "klpc_u", Related: []string{"klpc_a"}},
	)
	if len(res.Findings) > 0 {
		checkMessage(t, res.Findings[0], "no store to klp_patch.replace found in patch_init", "simulated as replace")
	}
	if got := res.Steps[1].Mode; got != (Mode{Replace: true, Value: 1, Source: "assumed"}) {
		t.Errorf("step 2 mode = %+v, want the assumed replace mode", got)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "klpc_u was simulated as replace") {
		t.Errorf("notes = %q, want one note about klpc_u", res.Notes)
	}
}

func TestVermagicDiffers(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	a.Kernel = release(6, 1, 0, "6.1.0-57-amd64")
	b := module("klpc_b", vmlinux("g"))
	b.Kernel = release(6, 1, 0, "6.1.0-58-amd64")

	t.Run("within the plan", func(t *testing.T) {
		res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b)}})

		checkFindings(t, res, want{Rule: "vermagic-differs", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
		checkLoaded(t, res, 2)
	})
	t.Run("against the target", func(t *testing.T) {
		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 1, 0, "6.1.0-57-amd64")}, Patches: []Patch{nonReplace(a), nonReplace(b)}})

		checkFindings(t, res, want{Rule: "vermagic-differs", Severity: SeverityError, Step: 2, Module: "klpc_b"})
		checkRefused(t, res, 2, "ENOEXEC", "vermagic-differs")
	})
	t.Run("against the target with modversions", func(t *testing.T) {
		v := module("klpc_v", vmlinux("g"))
		v.Kernel = b.Kernel
		v.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 0x2a5e6c1f}}
		res := Check(Plan{Kernel: KernelInfo{Version: release(6, 1, 0, "6.1.0-57-amd64")}, Patches: []Patch{nonReplace(v)}})

		checkFindings(t, res, want{Rule: "vermagic-differs", Severity: SeverityError, Step: 1, Module: "klpc_v"})
		checkLoaded(t, res, 1)
		if got, want := res.Findings[0].Message, "klpc_v is built for 6.1.0-58-amd64, but the target kernel is 6.1.0-57-amd64: modversions make the loader skip the release, so the load depends on every CRC matching, and a load runs code built from another vmlinux"; got != want {
			t.Errorf("message:\n got %q\nwant %q", got, want)
		}
	})
	t.Run("same release", func(t *testing.T) {
		c := module("klpc_c", vmlinux("h"))
		c.Kernel = a.Kernel
		res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(c)}})
		checkFindings(t, res)
	})
}

func TestVermagicAgainstLiveFile(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
	file := module("klpc_live", vmlinux("f"))
	file.Kernel = release(6, 1, 0, "6.1.0-57-amd64")
	n := module("klpc_n", vmlinux("f"))
	n.Kernel = release(6, 1, 0, "6.1.0-58-amd64")

	res := Check(Plan{Live: live, Patches: []Patch{{Module: file, LiveName: "klpc_live"}, replace(n)}})

	checkFindings(t, res, want{Rule: "vermagic-differs", Severity: SeverityError, Step: 2, Module: "klpc_n", Related: []string{"klpc_live"}})
	checkRefused(t, res, 2, "ENOEXEC", "vermagic-differs")
}

func TestPatchSrcversionMismatch(t *testing.T) {
	const srcversion = "5A3C1B0E4F2D6A7B8C9D0E1"
	expecting := func(m *livepatch.Module, expect string) Patch {
		p := nonReplace(m)
		p.Expect, p.ExpectWhere = expect, "plan.yaml:4"
		return p
	}

	t.Run("srcversion matches ignoring case", func(t *testing.T) {
		m := withModinfo(module("klpc_a", vmlinux("f")), "srcversion", srcversion)
		res := Check(Plan{Patches: []Patch{expecting(m, strings.ToLower(srcversion))}})

		checkFindings(t, res)
	})
	t.Run("build ID differs", func(t *testing.T) {
		m := withModinfo(module("klpc_a", vmlinux("f")), "srcversion", srcversion)
		m.BuildID = "c6b0d8836944f01aeef86293fcf7de9f7b20a658"
		res := Check(Plan{Patches: []Patch{expecting(m, "d7350074b45f09d692aac78e2cf51beb2bb76c47")}})

		checkFindings(t, res, want{Rule: "patch-srcversion-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		checkLoaded(t, res, 1)
		wantMsg := "plan.yaml:4 expects build ID d7350074b45f09d692aac78e2cf51beb2bb76c47 of klpc_a.ko, but the file has srcversion 5A3C1B0E4F2D6A7B8C9D0E1 and build ID c6b0d8836944f01aeef86293fcf7de9f7b20a658: it is not the build the plan was reviewed with"
		if got := res.Findings[0].Message; got != wantMsg {
			t.Errorf("message:\n got %q\nwant %q", got, wantMsg)
		}
	})
	t.Run("file without either", func(t *testing.T) {
		res := Check(Plan{Patches: []Patch{expecting(module("klpc_a", vmlinux("f")), srcversion)}})

		checkFindings(t, res)
		wantNotes := []string{"patch-srcversion-mismatch not checked for klpc_a.ko: plan.yaml:4 gives expect, but the file has neither a srcversion nor a build ID"}
		if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
	t.Run("file of a live patch", func(t *testing.T) {
		live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
		file := module("klpc_live", vmlinux("f"))
		file.BuildID = "128c41034c56c67a2096a59599e338d3b7b4af1f"
		entry := Patch{Module: file, LiveName: "klpc_live", Expect: srcversion, ExpectWhere: "plan.yaml:4"}
		res := Check(Plan{Live: live, Patches: []Patch{entry}})

		checkFindings(t, res, want{Rule: "patch-srcversion-mismatch", Severity: SeverityError, Module: "klpc_live"})
	})
}
