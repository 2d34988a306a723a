package elftest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vermagic61 = "6.1.0-57-amd64 SMP preempt mod_unload modversions "

// samplePatch patches one vmlinux function with callbacks and two ext4
// functions, one of them by position.
func samplePatch(arch string) Patch {
	return Patch{
		Arch:     arch,
		Name:     "livepatch_sample",
		Vermagic: vermagic61,
		Objects: []Object{
			{
				Funcs:     []Func{{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show"}},
				Callbacks: Callbacks{PrePatch: "pre_patch_vmlinux", PostUnpatch: "post_unpatch_vmlinux"},
			},
			{Name: "ext4", Funcs: []Func{
				{OldName: "ext4_attr_store", NewFunc: "livepatch_ext4_attr_store", Sympos: 2},
				{OldName: "ext4_attr_show", NewFunc: "livepatch_ext4_attr_show"},
			}},
		},
		Replace:   ReplaceSpec{Value: 1},
		Undefined: []string{"printk"},
		KlpRelocs: []KlpReloc{{Object: "ext4", Symbol: ".klp.sym.ext4.ext4_get_inode,1"}},
		Versions:  []SymbolVersion{{Name: "klp_enable_patch", CRC: 0x1234abcd}},
	}
}

var builders = []struct {
	name  string
	build func(Patch) *File
}{
	{"hand-written", HandWritten},
	{"kpatch-build", KpatchBuild},
	{"klp-build", KlpBuild},
}

// built is a module and its parsed form.
type built struct {
	f      *File
	raw    []byte
	ef     *elf.File
	relocs map[string][]relocSummary
}

func build(t *testing.T, builder func(Patch) *File, p Patch) built {
	t.Helper()
	f := builder(p)
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	ef := checkRoundTrip(t, f, raw)
	return built{f: f, raw: raw, ef: ef, relocs: readRelocs(t, ef)}
}

func (b built) data(t *testing.T, name string) []byte {
	t.Helper()
	s := b.ef.Section(name)
	if s == nil {
		t.Fatalf("section %s is missing", name)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatalf("read section %s: %v", name, err)
	}
	return data
}

func (b built) symbol(t *testing.T, name string) elf.Symbol {
	t.Helper()
	syms, err := b.ef.Symbols()
	if err != nil {
		t.Fatalf("read symbols: %v", err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("symbol %s is missing", name)
	return elf.Symbol{}
}

// relocAt returns the relocation at off in the RELA section name.
func (b built) relocAt(t *testing.T, name string, off uint64) relocSummary {
	t.Helper()
	for _, r := range b.relocs[name] {
		if r.Offset == off {
			return r
		}
	}
	t.Errorf("%s has no relocation at %#x", name, off)
	return relocSummary{}
}

func (b built) noRelocAt(t *testing.T, name string, off uint64) {
	t.Helper()
	for _, r := range b.relocs[name] {
		if r.Offset == off {
			t.Errorf("%s has a relocation at %#x, want none: %+v", name, off, r)
		}
	}
}

// cString returns the NUL-terminated string at off.
func cString(data []byte, off int64) string {
	s := data[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

func modInfo(t *testing.T, b built) []string {
	t.Helper()
	data := strings.TrimSuffix(string(b.data(t, ".modinfo")), "\x00")
	return strings.Split(data, "\x00")
}

func TestBuildersRoundTripEveryArch(t *testing.T) {
	for _, arch := range Arches() {
		for _, bl := range builders {
			t.Run(bl.name+"/"+arch.Name, func(t *testing.T) {
				p := samplePatch(arch.Name)
				p.KernelParam = bl.name == "hand-written"
				b := build(t, bl.build, p)

				if b.ef.Machine != arch.Machine || b.ef.ByteOrder != arch.ByteOrder || b.ef.Type != elf.ET_REL {
					t.Errorf("header = %v %v %v, want %v %v ET_REL", b.ef.Machine, b.ef.ByteOrder, b.ef.Type, arch.Machine, arch.ByteOrder)
				}
				if got := b.ef.ByteOrder.Uint32(b.raw[48:]); got != arch.Flags {
					t.Errorf("e_flags = %#x, want %#x", got, arch.Flags)
				}

				this := b.symbol(t, "__this_module")
				if b.ef.Sections[this.Section].Name != ".gnu.linkonce.this_module" || this.Size != thisModuleSize {
					t.Errorf("__this_module is in %s with size %d, want .gnu.linkonce.this_module and %d", b.ef.Sections[this.Section].Name, this.Size, thisModuleSize)
				}
				if got := cString(b.data(t, ".gnu.linkonce.this_module"), int64(this.Value)+24); got != "livepatch_sample" {
					t.Errorf("__this_module.name = %q, want livepatch_sample", got)
				}
				if got := b.relocAt(t, ".rela.gnu.linkonce.this_module", thisModuleInitOffset); got.Symbol != "init_module" || got.Type != arch.Abs64 {
					t.Errorf("__this_module.init relocation = %+v, want %d against init_module", got, arch.Abs64)
				}

				sec := b.ef.Section(".klp.rela.ext4..text.livepatch_extern_calls")
				if bl.name == "hand-written" {
					sec = b.ef.Section(".klp.rela.ext4..text")
				}
				if sec == nil {
					t.Fatal("the klp relocation section is missing")
				}
				if sec.Flags != SHF_RELA_LIVEPATCH|elf.SHF_ALLOC|elf.SHF_INFO_LINK || sec.Type != elf.SHT_RELA || sec.Entsize != 24 {
					t.Errorf("%s: type %v flags %#x entsize %d", sec.Name, sec.Type, uint64(sec.Flags), sec.Entsize)
				}
				klp := b.relocs[sec.Name]
				if len(klp) != 1 || klp[0].Symbol != ".klp.sym.ext4.ext4_get_inode,1" || klp[0].Type != arch.Call {
					t.Errorf("%s relocations = %+v, want one call relocation against the klp symbol", sec.Name, klp)
				}
				if sym := b.symbol(t, ".klp.sym.ext4.ext4_get_inode,1"); sym.Section != SHN_LIVEPATCH {
					t.Errorf("klp symbol st_shndx = %#x, want SHN_LIVEPATCH", uint16(sym.Section))
				}

				var enable bool
				for _, r := range b.relocs[".rela.init.text"] {
					enable = enable || r.Symbol == "klp_enable_patch" && r.Type == arch.Call
				}
				if !enable {
					t.Errorf(".init.text does not call klp_enable_patch: %+v", b.relocs[".rela.init.text"])
				}
			})
		}
	}
}

func TestHandWrittenStaticStructures(t *testing.T) {
	p := samplePatch("x86_64")
	p.States = []State{{ID: 7, Version: 2}, {ID: 9, Version: 1}}
	b := build(t, HandWritten, p)
	data := b.data(t, ".data")
	le := b.ef.ByteOrder

	sizes := map[string]uint64{"funcs": 2 * 152, "funcs1": 3 * 152, "objs": 3 * 168, "states": 3 * 24, "patch": klpPatchSize}
	for name, size := range sizes {
		s := b.symbol(t, name)
		if s.Size != size || elf.ST_TYPE(s.Info) != elf.STT_OBJECT || elf.ST_BIND(s.Info) != elf.STB_LOCAL || b.ef.Sections[s.Section].Name != ".data" {
			t.Errorf("symbol %s: size %d info %#x section %d, want a local object of %d bytes in .data", name, s.Size, s.Info, s.Section, size)
		}
	}

	funcs, funcs1 := b.symbol(t, "funcs").Value, b.symbol(t, "funcs1").Value
	objs, states, patch := b.symbol(t, "objs").Value, b.symbol(t, "states").Value, b.symbol(t, "patch").Value
	strs := b.data(t, ".rodata.str1.1")
	str := func(r relocSummary) string {
		if r.Symbol != ".rodata.str1.1" {
			return "not a string: " + r.Symbol
		}
		return cString(strs, r.Addend)
	}
	textFunc := func(r relocSummary) string {
		if r.Symbol != ".text" {
			return "not .text: " + r.Symbol
		}
		syms, _ := b.ef.Symbols()
		for _, s := range syms {
			if elf.ST_TYPE(s.Info) == elf.STT_FUNC && b.ef.Sections[s.Section].Name == ".text" && int64(s.Value) == r.Addend {
				return s.Name
			}
		}
		return fmt.Sprintf("no function at .text+%#x", r.Addend)
	}

	// klp_func entries: section symbol relocations, sympos inline.
	type funcEntry struct {
		OldName, NewFunc string
		Sympos           uint64
	}
	var gotFuncs []funcEntry
	for _, e := range []uint64{funcs, funcs1, funcs1 + 152} {
		gotFuncs = append(gotFuncs, funcEntry{
			OldName: str(b.relocAt(t, ".rela.data", e)),
			NewFunc: textFunc(b.relocAt(t, ".rela.data", e+8)),
			Sympos:  le.Uint64(data[e+16:]),
		})
	}
	wantFuncs := []funcEntry{
		{"cmdline_proc_show", "livepatch_cmdline_proc_show", 0},
		{"ext4_attr_store", "livepatch_ext4_attr_store", 2},
		{"ext4_attr_show", "livepatch_ext4_attr_show", 0},
	}
	if diff := cmp.Diff(wantFuncs, gotFuncs); diff != "" {
		t.Errorf("klp_func entries (-want +got):\n%s", diff)
	}
	for _, terminator := range []uint64{funcs + 152, funcs1 + 2*152, objs + 2*168} {
		b.noRelocAt(t, ".rela.data", terminator)
		b.noRelocAt(t, ".rela.data", terminator+8)
	}

	// klp_object entries: NULL name for vmlinux, funcs via .data+offset.
	b.noRelocAt(t, ".rela.data", objs)
	if got := str(b.relocAt(t, ".rela.data", objs+168)); got != "ext4" {
		t.Errorf("objs[1].name = %q, want ext4", got)
	}
	for i, want := range []uint64{funcs, funcs1} {
		if got := b.relocAt(t, ".rela.data", objs+uint64(i)*168+8); got.Symbol != ".data" || uint64(got.Addend) != want {
			t.Errorf("objs[%d].funcs = %+v, want .data+%#x", i, got, want)
		}
	}
	if got := textFunc(b.relocAt(t, ".rela.data", objs+16)); got != "pre_patch_vmlinux" {
		t.Errorf("objs[0].callbacks.pre_patch = %s, want pre_patch_vmlinux", got)
	}
	if got := textFunc(b.relocAt(t, ".rela.data", objs+40)); got != "post_unpatch_vmlinux" {
		t.Errorf("objs[0].callbacks.post_unpatch = %s, want post_unpatch_vmlinux", got)
	}

	// klp_state entries and the terminator.
	for i, want := range []State{{7, 2}, {9, 1}, {0, 0}} {
		e := states + uint64(i)*24
		if got := (State{le.Uint64(data[e:]), le.Uint32(data[e+8:])}); got != want {
			t.Errorf("states[%d] = %+v, want %+v", i, got, want)
		}
	}

	// klp_patch: mod, objs, states, replace at 24.
	if got := b.relocAt(t, ".rela.data", patch); got.Symbol != "__this_module" || got.Addend != 0 {
		t.Errorf("patch.mod = %+v, want __this_module", got)
	}
	if got := b.relocAt(t, ".rela.data", patch+8); got.Symbol != ".data" || uint64(got.Addend) != objs {
		t.Errorf("patch.objs = %+v, want .data+%#x", got, objs)
	}
	if got := b.relocAt(t, ".rela.data", patch+16); got.Symbol != ".data" || uint64(got.Addend) != states {
		t.Errorf("patch.states = %+v, want .data+%#x", got, states)
	}
	if got := data[patch+24]; got != 1 {
		t.Errorf("patch.replace = %d, want 1", got)
	}

	// The init code passes &patch to klp_enable_patch.
	init := b.relocs[".rela.init.text"]
	want := []relocSummary{
		{Offset: 4, Type: uint32(elf.R_X86_64_32S), Symbol: ".data", Addend: int64(patch)},
		{Offset: 9, Type: uint32(elf.R_X86_64_PLT32), Symbol: "klp_enable_patch", Addend: -4},
	}
	if diff := cmp.Diff(want, init); diff != "" {
		t.Errorf(".rela.init.text (-want +got):\n%s", diff)
	}
}

func TestHandWrittenZeroFuncsInBss(t *testing.T) {
	p := Patch{Name: "callbacks_only", Objects: []Object{{Name: "xfs", Callbacks: Callbacks{PostPatch: "post_patch_xfs"}}}}
	b := build(t, HandWritten, p)

	funcs := b.symbol(t, "funcs")
	if got := b.ef.Sections[funcs.Section].Name; got != ".bss" || funcs.Size != 152 {
		t.Errorf("funcs is in %s with size %d, want .bss and 152", got, funcs.Size)
	}
	objs := b.symbol(t, "objs").Value
	if got := b.relocAt(t, ".rela.data", objs+8); got.Symbol != ".bss" || uint64(got.Addend) != funcs.Value {
		t.Errorf("objs[0].funcs = %+v, want .bss+%#x", got, funcs.Value)
	}
	if b.ef.Section(".bss").Type != elf.SHT_NOBITS {
		t.Error(".bss is not SHT_NOBITS")
	}
}

func TestHandWrittenStrides(t *testing.T) {
	p := samplePatch("arm64")
	p.FuncStride, p.ObjectStride = 64, 96
	b := build(t, HandWritten, p)

	funcs1, objs := b.symbol(t, "funcs1"), b.symbol(t, "objs")
	if funcs1.Size != 3*64 || objs.Size != 3*96 {
		t.Errorf("sizes = funcs1 %d objs %d, want 192 288", funcs1.Size, objs.Size)
	}
	if got := b.relocAt(t, ".rela.data", funcs1.Value+64); got.Symbol != ".rodata.str1.8" {
		t.Errorf("funcs1[1].old_name = %+v, want a string relocation one stride after funcs1[0]", got)
	}
	if got := b.relocAt(t, ".rela.data", objs.Value+96+8); got.Symbol != ".data" || uint64(got.Addend) != funcs1.Value {
		t.Errorf("objs[1].funcs = %+v, want .data+%#x", got, funcs1.Value)
	}
}

func TestHandWrittenKernelVersions(t *testing.T) {
	tests := []struct {
		vermagic     string
		replaceOff   uint64
		wantRegister bool
	}{
		{"6.19.0 SMP preempt mod_unload ", 24, false},
		{"5.5.0-1-amd64 SMP mod_unload ", 24, false},
		{"5.4.0-42-generic SMP mod_unload ", 16, false},
		{"5.1.0 SMP mod_unload ", 16, false},
		{"4.19.0-21-amd64 SMP mod_unload modversions ", 0, true},
		{"", 24, false},
	}
	for _, tt := range tests {
		t.Run(tt.vermagic, func(t *testing.T) {
			p := Patch{Vermagic: tt.vermagic, Objects: []Object{{Funcs: []Func{{OldName: "f", NewFunc: "new_f"}}}}}
			if !tt.wantRegister {
				p.Replace.Value = 1
			}
			b := build(t, HandWritten, p)
			patch := b.symbol(t, "patch").Value
			data := b.data(t, ".data")
			if !tt.wantRegister {
				for off := uint64(16); off < 32; off++ {
					want := byte(0)
					if off == tt.replaceOff {
						want = 1
					}
					if data[patch+off] != want {
						t.Errorf("patch byte %d = %d, want %d", off, data[patch+off], want)
					}
				}
			}

			var register bool
			for _, r := range b.relocs[".rela.init.text"] {
				register = register || r.Symbol == "klp_register_patch"
			}
			if register != tt.wantRegister {
				t.Errorf("init calls klp_register_patch = %v, want %v", register, tt.wantRegister)
			}
		})
	}
}

func TestHandWrittenReplaceWidth4(t *testing.T) {
	p := samplePatch("ppc64")
	p.Replace = ReplaceSpec{Value: 0x01020304, Width: 4}
	b := build(t, HandWritten, p)
	patch := b.symbol(t, "patch").Value
	if got := b.ef.ByteOrder.Uint32(b.data(t, ".data")[patch+24:]); got != 0x01020304 {
		t.Errorf("patch.replace_set = %#x, want 0x01020304", got)
	}
}

func TestHandWrittenLiteralVmlinux(t *testing.T) {
	p := Patch{Objects: []Object{{Name: "vmlinux", Funcs: []Func{{OldName: "f", NewFunc: "new_f"}}}}}
	b := build(t, HandWritten, p)
	objs := b.symbol(t, "objs").Value
	r := b.relocAt(t, ".rela.data", objs)
	if got := cString(b.data(t, ".rodata.str1.1"), r.Addend); r.Symbol != ".rodata.str1.1" || got != "vmlinux" {
		t.Errorf("objs[0].name = %+v %q, want the string vmlinux", r, got)
	}
}

func TestHandWrittenNullPointers(t *testing.T) {
	p := Patch{Objects: []Object{{Funcs: []Func{{Sympos: 3}, {OldName: "only_old"}}}}}
	b := build(t, HandWritten, p)
	funcs := b.symbol(t, "funcs").Value
	b.noRelocAt(t, ".rela.data", funcs)
	b.noRelocAt(t, ".rela.data", funcs+8)
	b.noRelocAt(t, ".rela.data", funcs+152+8)
	if got := b.ef.ByteOrder.Uint64(b.data(t, ".data")[funcs+16:]); got != 3 {
		t.Errorf("funcs[0].old_sympos = %d, want 3", got)
	}
}

func TestHandWrittenKernelParam(t *testing.T) {
	p := samplePatch("x86_64")
	p.KernelParam = true
	b := build(t, HandWritten, p)

	patch := b.symbol(t, "patch").Value
	if got := b.data(t, ".data")[patch+24]; got != 0 {
		t.Errorf("static patch.replace = %d, want 0 because init copies the parameter", got)
	}

	variable := b.symbol(t, "replace")
	if b.ef.Sections[variable.Section].Name != ".data" || variable.Size != 4 {
		t.Errorf("replace variable is in %s with size %d, want .data and 4", b.ef.Sections[variable.Section].Name, variable.Size)
	}
	if got := b.ef.ByteOrder.Uint32(b.data(t, ".data")[variable.Value:]); got != 1 {
		t.Errorf("replace default = %d, want 1", got)
	}

	param := b.symbol(t, "__param_replace")
	want := []relocSummary{
		{Offset: param.Value, Type: uint32(elf.R_X86_64_64), Symbol: ".rodata", Addend: int64(b.symbol(t, "__param_str_replace").Value)},
		{Offset: param.Value + 8, Type: uint32(elf.R_X86_64_64), Symbol: "__this_module"},
		{Offset: param.Value + 16, Type: uint32(elf.R_X86_64_64), Symbol: "param_ops_int"},
		{Offset: param.Value + 32, Type: uint32(elf.R_X86_64_64), Symbol: ".data", Addend: int64(variable.Value)},
	}
	if diff := cmp.Diff(want, b.relocs[".rela__param"]); diff != "" {
		t.Errorf(".rela__param (-want +got):\n%s", diff)
	}
	if got := cString(b.data(t, ".rodata"), int64(b.symbol(t, "__param_str_replace").Value)); got != "replace" {
		t.Errorf("__param_str_replace = %q", got)
	}
	if got := b.ef.ByteOrder.Uint16(b.data(t, "__param")[param.Value+24:]); got != 0o644 {
		t.Errorf("perm = %o, want 644", got)
	}
	if !strings.Contains(strings.Join(modInfo(t, b), "\n"), "parmtype=replace:int") {
		t.Error("modinfo lacks parmtype=replace:int")
	}

	// The init code reads the variable: .data+value-4 for the rip-relative
	// load, then stores its low byte at patch+24.
	if got := b.relocs[".rela.init.text"][0]; got.Symbol != ".data" || got.Addend != int64(variable.Value)-4 || got.Type != uint32(elf.R_X86_64_PC32) {
		t.Errorf("first init relocation = %+v, want the replace variable", got)
	}
}

func TestKernelParamDefaultZeroInBss(t *testing.T) {
	p := Patch{KernelParam: true, Objects: []Object{{Funcs: []Func{{OldName: "f", NewFunc: "new_f"}}}}}
	b := build(t, HandWritten, p)
	variable := b.symbol(t, "replace")
	if got := b.ef.Sections[variable.Section].Name; got != ".bss" {
		t.Errorf("replace variable with default 0 is in %s, want .bss", got)
	}
}

func TestKpatchBuildSections(t *testing.T) {
	p := samplePatch("s390x")
	b := build(t, KpatchBuild, p)
	o := b.ef.ByteOrder

	funcs := b.ef.Section(".kpatch.funcs")
	if funcs.Entsize != 56 || funcs.Size != 3*56 || funcs.Flags != elf.SHF_ALLOC {
		t.Errorf(".kpatch.funcs: entsize %d size %d flags %v, want 56, 168, SHF_ALLOC", funcs.Entsize, funcs.Size, funcs.Flags)
	}
	data := b.data(t, ".kpatch.funcs")
	strs := b.data(t, ".kpatch.strings")

	type entry struct {
		NewAddr, Name, ObjName string
		NewSize, Sympos        uint64
	}
	var got []entry
	for i := uint64(0); i < 3; i++ {
		e := i * 56
		newAddr := b.relocAt(t, ".rela.kpatch.funcs", e)
		name := b.relocAt(t, ".rela.kpatch.funcs", e+40)
		objname := b.relocAt(t, ".rela.kpatch.funcs", e+48)
		if name.Symbol != ".kpatch.strings" || objname.Symbol != ".kpatch.strings" || newAddr.Addend != 0 {
			t.Errorf("entry %d relocations: %+v %+v %+v", i, newAddr, name, objname)
		}
		got = append(got, entry{
			NewAddr: newAddr.Symbol, Name: cString(strs, name.Addend), ObjName: cString(strs, objname.Addend),
			NewSize: o.Uint64(data[e+8:]), Sympos: o.Uint64(data[e+32:]),
		})
		if old := o.Uint64(data[e+16:]); old != 0xffffffff81000000+i*0x1000 {
			t.Errorf("entry %d old_addr = %#x", i, old)
		}
	}
	size := b.symbol(t, "livepatch_cmdline_proc_show").Size
	want := []entry{
		{"livepatch_cmdline_proc_show", "cmdline_proc_show", "vmlinux", size, 0},
		{"livepatch_ext4_attr_store", "ext4_attr_store", "ext4", size, 2},
		{"livepatch_ext4_attr_show", "ext4_attr_show", "ext4", size, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf(".kpatch.funcs entries (-want +got):\n%s", diff)
	}

	for _, name := range []string{"livepatch_cmdline_proc_show", "livepatch_ext4_attr_store"} {
		s := b.symbol(t, name)
		if elf.ST_BIND(s.Info) != elf.STB_LOCAL || b.ef.Sections[s.Section].Name != ".text."+name || s.Size == 0 {
			t.Errorf("%s: bind %v section %s size %d, want a local function in .text.%s", name, elf.ST_BIND(s.Info), b.ef.Sections[s.Section].Name, s.Size, name)
		}
	}
	if s := b.symbol(t, "__kpatch_funcs_end"); s.Value != 3*56 {
		t.Errorf("__kpatch_funcs_end = %#x, want %#x", s.Value, 3*56)
	}
	if s := b.symbol(t, ".klp.sym.ext4.ext4_get_inode,1"); elf.ST_BIND(s.Info) != elf.STB_LOCAL || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
		t.Errorf("klp symbol info = %#x, want a local function", s.Info)
	}
}

func TestKpatchBuildCallbacks(t *testing.T) {
	b := build(t, KpatchBuild, samplePatch("x86_64"))
	strs := b.data(t, ".kpatch.strings")
	counts := map[string]int{"pre_patch": 1, "post_patch": 0, "pre_unpatch": 0, "post_unpatch": 1}
	for kind, n := range counts {
		name := ".kpatch.callbacks." + kind
		data := b.data(t, name)
		if len(data) != 16*n+8 || !bytes.Equal(data[16*n:], make([]byte, 8)) {
			t.Errorf("%s is %d bytes %x, want %d entries and an 8-byte zero", name, len(data), data, n)
		}
		if s := b.symbol(t, "__kpatch_callbacks_"+kind); s.Value != 0 || elf.ST_BIND(s.Info) != elf.STB_GLOBAL {
			t.Errorf("__kpatch_callbacks_%s = %#x bind %v", kind, s.Value, elf.ST_BIND(s.Info))
		}
		if s := b.symbol(t, "__kpatch_callbacks_"+kind+"_end"); s.Value != uint64(16*n) {
			t.Errorf("__kpatch_callbacks_%s_end = %#x, want %#x", kind, s.Value, 16*n)
		}
		if n == 1 {
			fn := b.relocAt(t, ".rela"+name, 0)
			obj := b.relocAt(t, ".rela"+name, 8)
			if fn.Symbol != kind+"_vmlinux" || cString(strs, obj.Addend) != "vmlinux" {
				t.Errorf("%s entry = %+v %+v, want %s_vmlinux and vmlinux", name, fn, obj, kind)
			}
		}
	}
}

func TestKlpBuildSections(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprint("legacy=", legacy), func(t *testing.T) {
			p := samplePatch("x86_64")
			p.LegacyKlpSections = legacy
			b := build(t, KlpBuild, p)
			objName, funcsName := ".init.klp_objects", ".init.klp_funcs"
			if legacy {
				objName, funcsName = "__klp_objects", "__klp_funcs"
			}
			o := b.ef.ByteOrder

			objects := b.ef.Section(objName)
			if objects == nil || objects.Size != 2*64 || objects.Entsize != 64 || objects.Flags != elf.SHF_ALLOC {
				t.Fatalf("%s header = %+v, want 128 bytes, entsize 64, SHF_ALLOC", objName, objects)
			}
			odata := b.data(t, objName)
			strs := b.data(t, ".rodata.klp.str1.1")
			if strs[0] != 0 {
				t.Error(".rodata.klp.str1.1 does not start with an empty string")
			}

			rela := ".rela" + objName
			b.noRelocAt(t, rela, 0)
			if r := b.relocAt(t, rela, 64); r.Symbol != ".rodata.klp.str1.1" || cString(strs, r.Addend) != "ext4" {
				t.Errorf("objects[1].name = %+v, want the string ext4", r)
			}
			for i, want := range []int64{0, 24} {
				r := b.relocAt(t, rela, uint64(i)*64+8)
				if r.Symbol != funcsName || r.Addend != want {
					t.Errorf("objects[%d].funcs = %+v, want %s+%d", i, r, funcsName, want)
				}
				if got := o.Uint32(odata[i*64+56:]); got != uint32(len(p.Objects[i].Funcs)) {
					t.Errorf("objects[%d].nr_funcs = %d, want %d", i, got, len(p.Objects[i].Funcs))
				}
			}
			if r := b.relocAt(t, rela, 16); r.Symbol != "pre_patch_vmlinux" {
				t.Errorf("objects[0].callbacks.pre_patch = %+v, want pre_patch_vmlinux", r)
			}
			if r := b.relocAt(t, rela, 40); r.Symbol != "post_unpatch_vmlinux" {
				t.Errorf("objects[0].callbacks.post_unpatch = %+v, want post_unpatch_vmlinux", r)
			}

			fdata := b.data(t, funcsName)
			if len(fdata) != 3*24 || b.ef.Section(funcsName).Entsize != 24 {
				t.Errorf("%s is %d bytes, want 72 with entsize 24", funcsName, len(fdata))
			}
			for i, fn := range []Func{p.Objects[0].Funcs[0], p.Objects[1].Funcs[0], p.Objects[1].Funcs[1]} {
				e := uint64(i) * 24
				name, newFunc := b.relocAt(t, ".rela"+funcsName, e), b.relocAt(t, ".rela"+funcsName, e+8)
				if cString(strs, name.Addend) != fn.OldName || newFunc.Symbol != fn.NewFunc || newFunc.Addend != 0 || o.Uint64(fdata[e+16:]) != fn.Sympos {
					t.Errorf("funcs[%d] = %+v %+v sympos %d, want %+v", i, name, newFunc, o.Uint64(fdata[e+16:]), fn)
				}
			}

			_, hasStart := func() (elf.Symbol, bool) {
				syms, _ := b.ef.Symbols()
				for _, s := range syms {
					if s.Name == "__start_klp_objects" {
						return s, true
					}
				}
				return elf.Symbol{}, false
			}()
			if hasStart != legacy {
				t.Errorf("__start_klp_objects present = %v, want %v", hasStart, legacy)
			}
			if legacy {
				if s := b.symbol(t, "__stop_klp_objects"); s.Value != 128 {
					t.Errorf("__stop_klp_objects = %#x, want 0x80", s.Value)
				}
			}
		})
	}
}

func TestKlpBuildTombstones(t *testing.T) {
	p := samplePatch("x86_64")
	p.KlpRelocs = append(p.KlpRelocs, KlpReloc{Symbol: ".klp.sym.vmlinux.saved_command_line,0", Section: ".text.livepatch_cmdline_proc_show", Offset: 1, Type: uint32(elf.R_X86_64_PC32), Addend: -4})
	b := build(t, KlpBuild, p)

	helper := b.relocs[".klp.rela.ext4..text.livepatch_extern_calls"][0]
	if got := b.relocAt(t, ".rela.text.livepatch_extern_calls", helper.Offset); got.Type != 0 || got.Symbol != ".klp.tombstone.ext4_get_inode" {
		t.Errorf("normal relocation at the klp call site = %+v, want R_X86_64_NONE against the tombstone", got)
	}
	if got := b.relocAt(t, ".rela.text.livepatch_cmdline_proc_show", 1); got.Type != 0 || got.Symbol != ".klp.tombstone.saved_command_line" {
		t.Errorf("normal relocation at the explicit klp site = %+v", got)
	}
	want := []relocSummary{{Offset: 1, Type: uint32(elf.R_X86_64_PC32), Symbol: ".klp.sym.vmlinux.saved_command_line,0", Addend: -4}}
	if diff := cmp.Diff(want, b.relocs[".klp.rela.vmlinux..text.livepatch_cmdline_proc_show"]); diff != "" {
		t.Errorf("explicit klp relocation (-want +got):\n%s", diff)
	}

	for _, name := range []string{".klp.tombstone.ext4_get_inode", ".klp.sym.ext4.ext4_get_inode,1"} {
		s := b.symbol(t, name)
		if s.Section != SHN_LIVEPATCH || elf.ST_BIND(s.Info) != elf.STB_WEAK {
			t.Errorf("%s: shndx %#x bind %v, want SHN_LIVEPATCH and STB_WEAK", name, uint16(s.Section), elf.ST_BIND(s.Info))
		}
	}
}

func TestModInfo(t *testing.T) {
	tests := []struct {
		name  string
		build func(Patch) *File
		patch Patch
		want  []string
	}{
		{"hand-written", HandWritten, Patch{Name: "lp", Vermagic: vermagic61},
			[]string{"livepatch=Y", "license=GPL", "depends=", "name=lp", "vermagic=" + vermagic61}},
		{"klp-build", KlpBuild, Patch{Name: "lp"},
			[]string{"livepatch=Y", "license=GPL", "description=Livepatch module", "depends=", "name=lp"}},
		{"overrides", KpatchBuild, Patch{Name: "lp", NoLivepatchInfo: true, ModInfo: []string{"license=Proprietary", "srcversion=ABC", "depends=ext4"}},
			[]string{"license=Proprietary", "srcversion=ABC", "depends=ext4", "name=lp"}},
		{"no name", HandWritten, Patch{ModInfo: []string{"livepatch=N"}},
			[]string{"license=GPL", "livepatch=N", "depends="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := build(t, tt.build, tt.patch)
			if diff := cmp.Diff(tt.want, modInfo(t, b)); diff != "" {
				t.Errorf(".modinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestThisModuleName(t *testing.T) {
	long := strings.Repeat("n", 70)
	tests := []struct {
		name, thisModule, want string
	}{
		{"lp", "", "lp"},
		{"", "from_this_module", "from_this_module"},
		{"lp", "other", "other"},
		{long, "", long[:55]},
	}
	for _, tt := range tests {
		b := build(t, KlpBuild, Patch{Name: tt.name, ThisModuleName: tt.thisModule})
		this := b.symbol(t, "__this_module").Value
		data := b.data(t, ".gnu.linkonce.this_module")
		if got := cString(data, int64(this)+24); got != tt.want {
			t.Errorf("Name %q ThisModuleName %q: __this_module.name = %q, want %q", tt.name, tt.thisModule, got, tt.want)
		}
	}
}

func TestVersions(t *testing.T) {
	p := samplePatch("ppc64")
	p.Versions = append(p.Versions, SymbolVersion{Name: "module_layout", CRC: 0xfeed})
	b := build(t, KpatchBuild, p)
	data := b.data(t, "__versions")
	if len(data) != 128 {
		t.Fatalf("__versions is %d bytes, want 128", len(data))
	}
	for i, v := range p.Versions {
		e := i * 64
		if crc := b.ef.ByteOrder.Uint64(data[e:]); crc != uint64(v.CRC) || cString(data, int64(e+8)) != v.Name {
			t.Errorf("entry %d = %#x %q, want %#x %q", i, crc, cString(data, int64(e+8)), v.CRC, v.Name)
		}
	}
}

func TestUndefinedCalls(t *testing.T) {
	p := Patch{Arch: "riscv64", Undefined: []string{"printk", "jiffies_to_msecs"}}
	b := build(t, HandWritten, p)
	var got []string
	for _, r := range b.relocs[".rela.text"] {
		if r.Type != uint32(elf.R_RISCV_CALL_PLT) {
			t.Errorf(".rela.text relocation %+v is not R_RISCV_CALL_PLT", r)
		}
		got = append(got, r.Symbol)
	}
	if diff := cmp.Diff(p.Undefined, got); diff != "" {
		t.Errorf("called symbols (-want +got):\n%s", diff)
	}
	for _, name := range p.Undefined {
		if s := b.symbol(t, name); s.Section != elf.SHN_UNDEF || elf.ST_BIND(s.Info) != elf.STB_GLOBAL {
			t.Errorf("%s is not a global undefined symbol", name)
		}
	}
}

func TestBuildersRejectInvalidPatches(t *testing.T) {
	tests := []struct {
		name  string
		build func(Patch) *File
		patch Patch
		want  string
	}{
		{"unknown arch", KlpBuild, Patch{Arch: "mips"}, `unknown architecture "mips"`},
		{"replace width", KpatchBuild, Patch{Replace: ReplaceSpec{Width: 2}}, "replace width 2 is not 1 or 4"},
		{"byte too large", KpatchBuild, Patch{Replace: ReplaceSpec{Value: 256}}, "replace value 256 does not fit in one byte"},
		{"func stride", HandWritten, Patch{FuncStride: 20}, "klp_func stride 20"},
		{"object stride", HandWritten, Patch{ObjectStride: 60}, "klp_object stride 60"},
		{"omit in data", HandWritten, Patch{Replace: ReplaceSpec{Omit: true}}, "apply to generated init code"},
		{"replace before 5.1", HandWritten, Patch{Vermagic: "4.19.0 SMP", Replace: ReplaceSpec{Value: 1}}, "has no klp_patch.replace"},
		{"states before 5.5", HandWritten, Patch{Vermagic: "5.4.0 SMP", States: []State{{1, 1}}}, "has no klp_patch.states"},
		{"missing klp target", KpatchBuild, Patch{KlpRelocs: []KlpReloc{{Symbol: ".klp.sym.vmlinux.x,0", Section: ".text.nothere"}}}, "target section .text.nothere is not in the module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, ok := r.(string); !ok || !strings.Contains(msg, tt.want) {
					t.Errorf("panic = %v, want a message containing %q", r, tt.want)
				}
			}()
			tt.build(tt.patch)
		})
	}
}

func TestBuildersLargeModule(t *testing.T) {
	var objects []Object
	for o := 0; o < 20; o++ {
		var funcs []Func
		for i := 0; i < 100; i++ {
			funcs = append(funcs, Func{OldName: fmt.Sprintf("func_%d_%d", o, i), NewFunc: fmt.Sprintf("livepatch_func_%d_%d", o, i), Sympos: uint64(i % 3)})
		}
		objects = append(objects, Object{Name: fmt.Sprintf("mod%d", o), Funcs: funcs})
	}
	for _, bl := range builders {
		t.Run(bl.name, func(t *testing.T) {
			b := build(t, bl.build, Patch{Name: "livepatch_large", Objects: objects})
			var newFuncs int
			syms, _ := b.ef.Symbols()
			for _, s := range syms {
				if strings.HasPrefix(s.Name, "livepatch_func_") {
					newFuncs++
				}
			}
			if newFuncs != 2000 {
				t.Errorf("%d replacement functions, want 2000", newFuncs)
			}
		})
	}
}

func TestHandWrittenStringSectionPerArch(t *testing.T) {
	want := map[string]struct {
		section    string
		arrayAlign uint64
	}{
		"x86_64":      {".rodata.str1.1", 32},
		"arm64":       {".rodata.str1.8", 8},
		"ppc64le":     {".rodata.str1.8", 16},
		"ppc64":       {".rodata.str1.8", 16},
		"s390x":       {".rodata.str1.2", 8},
		"loongarch64": {".rodata.str1.8", 8},
		"riscv64":     {".rodata.str1.8", 8},
	}
	for _, arch := range Arches() {
		t.Run(arch.Name, func(t *testing.T) {
			w := want[arch.Name]
			b := build(t, HandWritten, samplePatch(arch.Name))

			sec := b.ef.Section(w.section)
			if sec == nil {
				t.Fatalf("string section %s is missing", w.section)
			}
			align := sec.Addralign
			var gotStrings []string
			for _, r := range b.relocs[".rela.data"] {
				if r.Symbol != w.section {
					continue
				}
				if uint64(r.Addend)%align != 0 {
					t.Errorf("string at %s+%#x is not aligned to %d", w.section, r.Addend, align)
				}
				gotStrings = append(gotStrings, cString(b.data(t, w.section), r.Addend))
			}
			wantStrings := []string{"cmdline_proc_show", "ext4_attr_store", "ext4_attr_show", "ext4"}
			if diff := cmp.Diff(wantStrings, gotStrings); diff != "" {
				t.Errorf("strings (-want +got):\n%s", diff)
			}

			if got := b.ef.Section(".data").Addralign; got != w.arrayAlign {
				t.Errorf(".data alignment = %d, want %d", got, w.arrayAlign)
			}
			for _, name := range []string{"funcs", "funcs1", "objs", "patch"} {
				if v := b.symbol(t, name).Value; v%w.arrayAlign != 0 {
					t.Errorf("%s at %#x is not aligned to %d", name, v, w.arrayAlign)
				}
			}
		})
	}
}
