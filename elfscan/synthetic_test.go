package elfscan_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/livepatch"
)

// vermagic61 is the vermagic of Debian 12's 6.1 kernel. Synthetic modules
// claim it unless a case names another kernel.
const vermagic61 = "6.1.0-57-amd64 SMP preempt mod_unload modversions "

var kernel61 = livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-amd64"}

// syntheticPath is the name synthetic modules are parsed under.
const syntheticPath = "synthetic.ko"

// synthetic is a module written by elftest, with the layout the writer
// chose, so that expected symbol and section indexes and offsets can be
// looked up instead of guessed.
type synthetic struct {
	arch   elftest.Arch
	file   *elftest.File
	raw    []byte
	layout *elftest.Layout
}

// buildSynthetic encodes f and records its layout. A Mutate callback that
// f already has still runs, after the layout is recorded.
func buildSynthetic(t *testing.T, arch elftest.Arch, f *elftest.File) synthetic {
	t.Helper()
	s := synthetic{arch: arch, file: f}
	mutate := f.Mutate
	f.Mutate = func(raw []byte, l *elftest.Layout) {
		s.layout = l
		if mutate != nil {
			mutate(raw, l)
		}
	}
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("elftest Bytes: %v", err)
	}
	s.raw = raw
	return s
}

// parse runs elfscan.Parse on the module and turns a panic into a test
// failure, so that one broken case does not stop the others.
func (s synthetic) parse(t *testing.T) (m *livepatch.Module, err error) {
	t.Helper()
	return parseBytes(t, s.raw)
}

func parseBytes(t *testing.T, raw []byte) (m *livepatch.Module, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse panicked: %v", r)
		}
	}()
	m, err = elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), syntheticPath)
	if err == nil && m == nil {
		t.Fatal("Parse returned neither a module nor an error")
	}
	if err != nil && m != nil {
		t.Fatalf("Parse returned a module and the error %v", err)
	}
	return m, err
}

// symbol returns the model of the defined symbol called name.
func (s synthetic) symbol(t *testing.T, name string) livepatch.Symbol {
	t.Helper()
	sym := s.file.Symbol(name)
	if sym == nil || sym.Section == nil {
		t.Fatalf("synthetic module has no defined symbol %s", name)
	}
	return livepatch.Symbol{
		Name:    name,
		Section: sym.Section.Name,
		Size:    sym.Size,
		Value:   sym.Value,
		Index:   s.layout.SymbolIndex(sym),
	}
}

// definedSymbol returns the elftest symbol called name, which must be
// defined in a section.
func (s synthetic) definedSymbol(t *testing.T, name string) *elftest.Symbol {
	t.Helper()
	sym := s.file.Symbol(name)
	if sym == nil || sym.Section == nil {
		t.Fatalf("synthetic module has no defined symbol %s", name)
	}
	return sym
}

// sectionIndex returns the section header index of name.
func (s synthetic) sectionIndex(t *testing.T, name string) int {
	t.Helper()
	i := s.layout.SectionIndex(name)
	if i < 0 {
		t.Fatalf("synthetic module has no section %s", name)
	}
	return i
}

// klpTarget is a symbol that a sample klp relocation needs, with the
// parts the kernel parses out of its name.
type klpTarget struct {
	object, symbol string
	sympos         uint64
}

func (k klpTarget) name() string {
	return fmt.Sprintf(".klp.sym.%s.%s,%d", k.object, k.symbol, k.sympos)
}

// sampleKlpTargets are the klp relocations of the sample patches, in
// order: two calls of one vmlinux symbol, a symbol name with dots in it,
// and a module symbol.
var sampleKlpTargets = []klpTarget{
	{"vmlinux", "saved_command_line", 0},
	{"vmlinux", "saved_command_line", 0},
	{"vmlinux", "show_val_kb.isra.0", 2},
	{"ext4", "ext4_get_inode", 1},
}

// samplePatch patches two vmlinux functions (sympos 0 and 2) and
// functions of the ext4 and xfs modules (sympos 1 and 0), with callbacks on
// two objects, klp relocations, an extra undefined symbol and __versions.
func samplePatch(arch string) elftest.Patch {
	p := elftest.Patch{
		Arch:     arch,
		Name:     "livepatch_sample",
		Vermagic: vermagic61,
		Objects: []elftest.Object{
			{
				Funcs: []elftest.Func{
					{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show"},
					{OldName: "type_show", NewFunc: "livepatch_type_show", Sympos: 2},
				},
				Callbacks: elftest.Callbacks{PrePatch: "pre_patch_vmlinux", PostUnpatch: "post_unpatch_vmlinux"},
			},
			{
				Name:      "ext4",
				Funcs:     []elftest.Func{{OldName: "ext4_statfs", NewFunc: "livepatch_ext4_statfs", Sympos: 1}},
				Callbacks: elftest.Callbacks{PostPatch: "post_patch_ext4", PreUnpatch: "pre_unpatch_ext4"},
			},
			{
				Name:  "xfs",
				Funcs: []elftest.Func{{OldName: "xfs_fs_statfs", NewFunc: "livepatch_xfs_fs_statfs"}},
			},
		},
		Undefined: []string{"printk"},
		Versions:  []elftest.SymbolVersion{{Name: "klp_enable_patch", CRC: 0x1234abcd}, {Name: "printk", CRC: 0xcafe0001}},
	}
	for _, k := range sampleKlpTargets {
		p.KlpRelocs = append(p.KlpRelocs, elftest.KlpReloc{Object: k.object, Symbol: k.name()})
	}
	return p
}

// plainPatch patches one vmlinux function and nothing else.
func plainPatch(arch string) elftest.Patch {
	return elftest.Patch{
		Arch:     arch,
		Name:     "livepatch_plain",
		Vermagic: vermagic61,
		Objects: []elftest.Object{{
			Funcs: []elftest.Func{{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show"}},
		}},
	}
}

// builderOf returns the elftest builder of a producer.
func builderOf(producer livepatch.Producer) func(elftest.Patch) *elftest.File {
	switch producer {
	case livepatch.ProducerKpatchBuild:
		return elftest.KpatchBuild
	case livepatch.ProducerKlpBuild:
		return elftest.KlpBuild
	}
	return elftest.HandWritten
}

// expectation derives the module that a synthetic module built from p
// declares. Layout-dependent numbers (symbol indexes, offsets, sizes) come
// from the built file. Everything else comes from p and the producer's
// documented layout.
type expectation struct {
	s        synthetic
	p        elftest.Patch
	producer livepatch.Producer
	kernel   livepatch.KernelVersion
}

func (e expectation) module(t *testing.T, replace livepatch.Replace) *livepatch.Module {
	t.Helper()
	m := &livepatch.Module{
		Path:      syntheticPath,
		Arch:      livepatch.Arch{Name: e.s.arch.Name, Machine: e.s.arch.Machine, ByteOrder: e.s.arch.ByteOrder},
		ModInfo:   e.modInfo(),
		Kernel:    e.kernel,
		Livepatch: !e.p.NoLivepatchInfo,
		Producer:  e.producer,
		Replace:   replace,
		Undefined: e.undefined(),
	}
	m.Name, m.NameSource = e.name()

	switch e.producer {
	case livepatch.ProducerHandWritten:
		m.Objects = e.handWrittenObjects(t)
		m.PatchLocation = livepatch.Location{Section: ".data", Offset: e.s.definedSymbol(t, "patch").Value}
		for _, st := range e.p.States {
			m.States = append(m.States, livepatch.State{ID: st.ID, Version: st.Version})
		}
	case livepatch.ProducerKpatchBuild:
		m.Objects = e.kpatchObjects(t)
	case livepatch.ProducerKlpBuild:
		m.Objects = e.klpBuildObjects(t)
	}

	m.KlpRelocSections = e.klpRelocSections(t)
	m.KlpSymbols = e.klpSymbols(t)
	for _, v := range e.p.Versions {
		m.Versions = append(m.Versions, livepatch.SymbolVersion{Name: v.Name, CRC: v.CRC})
	}
	return m
}

// modInfo lists the .modinfo strings the builders write, in their order.
func (e expectation) modInfo() livepatch.ModInfo {
	var kv []string
	if !e.p.NoLivepatchInfo {
		kv = append(kv, "livepatch=Y")
	}
	kv = append(kv, "license=GPL")
	if e.producer == livepatch.ProducerKlpBuild {
		kv = append(kv, "description=Livepatch module")
	}
	if e.p.KernelParam {
		kv = append(kv, "parmtype=replace:int")
	}
	kv = append(kv, "depends=")
	if e.p.Name != "" {
		kv = append(kv, "name="+e.p.Name)
	}
	if e.p.Vermagic != "" {
		kv = append(kv, "vermagic="+e.p.Vermagic)
	}

	var info livepatch.ModInfo
	for _, s := range kv {
		key, value, _ := strings.Cut(s, "=")
		info.Fields = append(info.Fields, livepatch.ModInfoField{Key: key, Value: value})
	}
	return info
}

func (e expectation) name() (string, string) {
	switch {
	case e.p.Name != "":
		return e.p.Name, "modinfo"
	case e.p.ThisModuleName != "":
		return e.p.ThisModuleName, "this_module"
	}
	return strings.TrimSuffix(syntheticPath, ".ko"), "file"
}

// undefined lists the undefined symbols in .symtab order: the init
// function's calls, then Patch.Undefined, then param_ops_int of the
// replace parameter.
func (e expectation) undefined() []livepatch.UndefinedSymbol {
	var names []string
	if e.producer == livepatch.ProducerHandWritten {
		if e.kernel.Known() && !e.kernel.AtLeast(5, 1) {
			names = append(names, "klp_register_patch")
		}
	} else {
		allocator := e.p.Allocator
		if allocator == "" {
			allocator = "__kmalloc"
		}
		switch allocator {
		case "kmalloc_trace", "__kmalloc_cache_noprof", "kmem_cache_alloc_trace":
			names = append(names, "kmalloc_caches")
		}
		names = append(names, allocator)
	}
	names = append(names, "klp_enable_patch")
	names = append(names, e.p.Undefined...)
	if e.p.KernelParam {
		names = append(names, "param_ops_int")
	}

	var out []livepatch.UndefinedSymbol
	for _, n := range names {
		out = append(out, livepatch.UndefinedSymbol{Name: n})
	}
	return out
}

// objectName is the name the kernel compares: "vmlinux" for the
// producer's spelling of vmlinux.
func objectName(o elftest.Object) string {
	if o.Name == "" {
		return "vmlinux"
	}
	return o.Name
}

func callbacksOf(c elftest.Callbacks) livepatch.Callbacks {
	return livepatch.Callbacks{PrePatch: c.PrePatch, PostPatch: c.PostPatch, PreUnpatch: c.PreUnpatch, PostUnpatch: c.PostUnpatch}
}

func (e expectation) function(t *testing.T, f elftest.Func, loc livepatch.Location) livepatch.Func {
	t.Helper()
	out := livepatch.Func{OldName: f.OldName, OldNameNull: f.OldName == "", Sympos: f.Sympos, Location: loc}
	if f.NewFunc == "" {
		out.NewFuncNull = true
	} else {
		out.NewFunc = e.s.symbol(t, f.NewFunc)
	}
	return out
}

// handWrittenObjects reads the static arrays as elftest.HandWritten lays
// them out: objects in the objs array, and the functions of object i in
// the array called funcs (i = 0) or funcs<i>.
func (e expectation) handWrittenObjects(t *testing.T) []livepatch.Object {
	t.Helper()
	funcStride, objectStride := uint64(152), uint64(168)
	if e.p.FuncStride != 0 {
		funcStride = uint64(e.p.FuncStride)
	}
	if e.p.ObjectStride != 0 {
		objectStride = uint64(e.p.ObjectStride)
	}
	// struct klp_object has had callbacks since 4.15.
	hasCallbacks := !e.kernel.Known() || e.kernel.AtLeast(4, 15)

	objs := e.s.definedSymbol(t, "objs")
	var out []livepatch.Object
	for i, o := range e.p.Objects {
		obj := livepatch.Object{
			Name:           objectName(o),
			LiteralVmlinux: o.Name == "vmlinux",
			Location:       livepatch.Location{Section: ".data", Offset: objs.Value + uint64(i)*objectStride},
		}
		if hasCallbacks {
			obj.Callbacks = callbacksOf(o.Callbacks)
		}

		arrayName := "funcs"
		if i > 0 {
			arrayName = fmt.Sprintf("funcs%d", i)
		}
		arr := e.s.definedSymbol(t, arrayName)
		for j, f := range o.Funcs {
			loc := livepatch.Location{Section: arr.Section.Name, Offset: arr.Value + uint64(j)*funcStride}
			obj.Funcs = append(obj.Funcs, e.function(t, f, loc))
		}
		out = append(out, obj)
	}
	return out
}

// kpatchObjects groups the .kpatch.funcs entries by objname, in order of
// first use. Every object of the sample patches has functions, so
// callbacks never add an object.
func (e expectation) kpatchObjects(t *testing.T) []livepatch.Object {
	t.Helper()
	var out []livepatch.Object
	index := map[string]int{}
	entry := uint64(0)
	for _, o := range e.p.Objects {
		name := objectName(o)
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, livepatch.Object{Name: name, Callbacks: callbacksOf(o.Callbacks)})
		}
		for _, f := range o.Funcs {
			loc := livepatch.Location{Section: ".kpatch.funcs", Offset: entry * 56}
			out[i].Funcs = append(out[i].Funcs, e.function(t, f, loc))
			entry++
		}
	}
	return out
}

// klpBuildObjects reads the 64-byte klp_object_ext entries and the
// 24-byte klp_func_ext entries they point to.
func (e expectation) klpBuildObjects(t *testing.T) []livepatch.Object {
	t.Helper()
	objects, funcs := ".init.klp_objects", ".init.klp_funcs"
	if e.p.LegacyKlpSections {
		objects, funcs = "__klp_objects", "__klp_funcs"
	}

	var out []livepatch.Object
	entry := uint64(0)
	for i, o := range e.p.Objects {
		obj := livepatch.Object{
			Name:           objectName(o),
			LiteralVmlinux: o.Name == "vmlinux",
			Callbacks:      callbacksOf(o.Callbacks),
			Location:       livepatch.Location{Section: objects, Offset: uint64(i) * 64},
		}
		for _, f := range o.Funcs {
			loc := livepatch.Location{Section: funcs, Offset: entry * 24}
			obj.Funcs = append(obj.Funcs, e.function(t, f, loc))
			entry++
		}
		out = append(out, obj)
	}
	return out
}

// helperSection is the section of the function whose calls the klp
// relocations of Patch.KlpRelocs patch.
func (e expectation) helperSection() string {
	if e.producer == livepatch.ProducerHandWritten {
		return ".text"
	}
	return ".text.livepatch_extern_calls"
}

// klpRelocSections groups Patch.KlpRelocs into .klp.rela.<object>.<target>
// sections, in section header order.
func (e expectation) klpRelocSections(t *testing.T) []livepatch.KlpRelocSection {
	t.Helper()
	target := e.helperSection()
	byName := map[string]*livepatch.KlpRelocSection{}
	var order []string
	for _, r := range e.p.KlpRelocs {
		obj := r.Object
		if obj == "" {
			obj = "vmlinux"
		}
		name := ".klp.rela." + obj + "." + target
		sec, ok := byName[name]
		if !ok {
			sec = &livepatch.KlpRelocSection{
				Name:        name,
				Index:       e.s.sectionIndex(t, name),
				Type:        elf.SHT_RELA,
				Flags:       livepatch.SHF_RELA_LIVEPATCH | elf.SHF_ALLOC | elf.SHF_INFO_LINK,
				Link:        uint32(e.s.layout.SymbolTable),
				SymtabIndex: e.s.layout.SymbolTable,
				TargetIndex: uint32(e.s.sectionIndex(t, target)),
				TargetName:  target,
				TargetAlloc: true,
				ObjName:     obj,
			}
			byName[name] = sec
			order = append(order, name)
		}

		// The call site's offset, type and addend are the encoder's
		// choice, so they come from the file. The symbol comes from the
		// patch.
		written := e.s.file.Section(name).Relocs
		if len(sec.Relocs) >= len(written) {
			t.Fatalf("section %s has %d relocations, want at least %d", name, len(written), len(sec.Relocs)+1)
		}
		w := written[len(sec.Relocs)]
		sec.Relocs = append(sec.Relocs, livepatch.KlpReloc{
			Offset:       w.Offset,
			Type:         w.Type,
			SymIndex:     uint32(e.s.layout.SymbolIndex(e.s.file.Symbol(r.Symbol))),
			SymName:      r.Symbol,
			SymLivepatch: true,
			Addend:       w.Addend,
		})
	}

	var out []livepatch.KlpRelocSection
	for _, name := range order {
		out = append(out, *byName[name])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// klpSymbols lists one SHN_LIVEPATCH symbol per distinct klp symbol name,
// with the binding and type its producer gives it, and for klp-build the
// .klp.tombstone.<symbol> that its post-link step leaves behind.
func (e expectation) klpSymbols(t *testing.T) []livepatch.KlpSymbol {
	t.Helper()
	bind, typ := elf.STB_GLOBAL, elf.STT_NOTYPE
	switch e.producer {
	case livepatch.ProducerKpatchBuild:
		bind, typ = elf.STB_LOCAL, elf.STT_FUNC
	case livepatch.ProducerKlpBuild:
		bind, typ = elf.STB_WEAK, elf.STT_FUNC
	}

	seen := map[string]bool{}
	var out []livepatch.KlpSymbol
	add := func(s livepatch.KlpSymbol) {
		if seen[s.Name] {
			return
		}
		seen[s.Name] = true
		sym := e.s.file.Symbol(s.Name)
		if sym == nil {
			t.Fatalf("synthetic module has no symbol %s", s.Name)
		}
		s.Index = e.s.layout.SymbolIndex(sym)
		out = append(out, s)
	}
	for _, k := range sampleKlpTargets {
		if !e.hasKlpReloc(k.name()) {
			continue
		}
		add(livepatch.KlpSymbol{
			Name: k.name(), Bind: bind, Type: typ,
			Object: k.object, Symbol: k.symbol, Sympos: k.sympos,
			Referenced: true,
		})
		if e.producer == livepatch.ProducerKlpBuild {
			stone := ".klp.tombstone." + k.symbol
			add(livepatch.KlpSymbol{
				Name: stone, Bind: elf.STB_WEAK, Type: elf.STT_NOTYPE,
				ParseErr: fmt.Sprintf("symbol %s has an incorrectly formatted name: missing prefix \".klp.sym.\"", stone),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func (e expectation) hasKlpReloc(name string) bool {
	for _, r := range e.p.KlpRelocs {
		if r.Symbol == name {
			return true
		}
	}
	return false
}

// moduleOptions compare everything but the notes, which explain how array
// strides were found, and the replace detail, which each case matches with
// a regular expression.
var moduleOptions = cmp.Options{
	cmpopts.IgnoreFields(livepatch.Module{}, "Notes"),
	cmpopts.IgnoreFields(livepatch.Replace{}, "Detail"),
	cmpopts.EquateEmpty(),
}

// Replace details. Init code details name the store instruction, whose
// text and offset belong to each architecture's disassembler, so only
// their shape is fixed here.
var (
	initStoreDetail = regexp.MustCompile(`^\S.* at \.init\.text\+0x[0-9a-f]+( with \S+ = 0x[0-9a-f]+)?$`)
	// elftest calls livepatch_want_replace right after the allocation.
	// Where the return register is also the first argument register (all
	// but x86_64), the klp_patch pointer is still in it at that call, and
	// the reader stops there, before it compares the two stores.
	conflictingDetail = regexp.MustCompile(`^(stores to replace disagree: \S.* at \.init\.text\+0x[0-9a-f]+( with \S+ = 0x[0-9a-f]+)?; \S.* at \.init\.text\+0x[0-9a-f]+( with \S+ = 0x[0-9a-f]+)?` +
		`|klp_patch is passed to livepatch_want_replace at \.init\.text\+0x[0-9a-f]+, which may set replace)$`)
	noStoreDetail = regexp.MustCompile(`^no store to replace at offset 0x18 of the klp_patch$`)
	// On arches whose first argument register also returns the pointer,
	// the call that chooses the path receives the patch first.
	onePathDetail = regexp.MustCompile(`^(replace is set on some paths to klp_enable_patch at \.init\.text\+0x[0-9a-f]+ but not on all, so it depends on the path taken: \S.* at \.init\.text\+0x[0-9a-f]+( with \S+ = 0x[0-9a-f]+)?` +
		`|klp_patch is passed to livepatch_want_replace at \.init\.text\+0x[0-9a-f]+, which may set replace)$`)
	afterEnableDetail   = regexp.MustCompile(`^replace is set after klp_enable_patch read it: \S.* at \.init\.text\+0x[0-9a-f]+( with \S+ = 0x[0-9a-f]+)?$`)
	replaceParamDetail  = regexp.MustCompile(`^` + regexp.QuoteMeta("default of module parameter replace (replace); insmod replace=N overrides it") + `$`)
	replaceOnInitCode   = livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromInitCode}
	replaceOffInitCode  = livepatch.Replace{Known: true, Value: 0, Width: 1, Source: livepatch.ReplaceFromInitCode}
	replaceUnknownValue = livepatch.Replace{Source: livepatch.ReplaceUnknown}
)

// dataDetail returns the detail of a replace byte read from the static
// klp_patch at offset field.
func dataDetail(field uint64) func(t *testing.T, s synthetic) *regexp.Regexp {
	return func(t *testing.T, s synthetic) *regexp.Regexp {
		patch := s.definedSymbol(t, "patch")
		return regexp.MustCompile(`^` + regexp.QuoteMeta(fmt.Sprintf("klp_patch.replace at .data+%#x", patch.Value+field)) + `$`)
	}
}

func fixedDetail(re *regexp.Regexp) func(*testing.T, synthetic) *regexp.Regexp {
	return func(*testing.T, synthetic) *regexp.Regexp { return re }
}

// syntheticCase is one module description, built and read for every
// architecture.
type syntheticCase struct {
	name     string
	producer livepatch.Producer
	patch    func(arch string) elftest.Patch
	// kernel is the version that vermagic gives. The zero value means
	// kernel61.
	kernel livepatch.KernelVersion
	// edit changes the built File before it is encoded.
	edit    func(t *testing.T, f *elftest.File, p elftest.Patch)
	replace livepatch.Replace
	detail  func(t *testing.T, s synthetic) *regexp.Regexp
	// adjust changes the derived expectation for what edit did.
	adjust func(t *testing.T, s synthetic, want *livepatch.Module)
}

// withPatch returns patch with change applied.
func withPatch(patch func(string) elftest.Patch, change func(p *elftest.Patch)) func(string) elftest.Patch {
	return func(arch string) elftest.Patch {
		p := patch(arch)
		change(&p)
		return p
	}
}

func withReplace(patch func(string) elftest.Patch, r elftest.ReplaceSpec) func(string) elftest.Patch {
	return withPatch(patch, func(p *elftest.Patch) { p.Replace = r })
}

// generatedCases are the kpatch-build and klp-build modules: the replace
// variants of the init code, for each producer and both klp-build section
// spellings.
func generatedCases() []syntheticCase {
	type layout struct {
		name     string
		producer livepatch.Producer
		patch    func(string) elftest.Patch
	}
	legacy := withPatch(samplePatch, func(p *elftest.Patch) { p.LegacyKlpSections = true })
	layouts := []layout{
		{"kpatch-build", livepatch.ProducerKpatchBuild, samplePatch},
		{"klp-build", livepatch.ProducerKlpBuild, samplePatch},
		{"klp-build legacy sections", livepatch.ProducerKlpBuild, legacy},
	}

	var cases []syntheticCase
	for _, l := range layouts {
		cases = append(cases,
			syntheticCase{
				name: l.name + " replace 1", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 1}),
				replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
			},
			syntheticCase{
				name: l.name + " replace 0", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 0}),
				replace: replaceOffInitCode, detail: fixedDetail(initStoreDetail),
			},
			syntheticCase{
				name: l.name + " replace_set 4-byte store", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 5, Width: 4}),
				replace: livepatch.Replace{Known: true, Value: 5, Width: 4, Source: livepatch.ReplaceFromInitCode},
				detail:  fixedDetail(initStoreDetail),
			},
			syntheticCase{
				name: l.name + " no replace store", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 1, Omit: true}),
				replace: replaceUnknownValue, detail: fixedDetail(noStoreDetail),
			},
			syntheticCase{
				name: l.name + " replace stored on one path", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 1, OnePath: true}),
				replace: replaceUnknownValue, detail: fixedDetail(onePathDetail),
			},
			syntheticCase{
				name: l.name + " replace stored after enable", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 1, AfterEnable: true}),
				replace: replaceUnknownValue, detail: fixedDetail(afterEnableDetail),
			},
			syntheticCase{
				name: l.name + " conflicting replace stores", producer: l.producer,
				patch:   withReplace(l.patch, elftest.ReplaceSpec{Value: 1, Conflicting: true}),
				replace: replaceUnknownValue, detail: fixedDetail(conflictingDetail),
			},
			syntheticCase{
				// 6.11 and later allocate with __kmalloc_cache_noprof,
				// which takes a kmalloc_caches entry first.
				name: l.name + " cache allocator", producer: l.producer,
				patch: withPatch(l.patch, func(p *elftest.Patch) {
					p.Allocator = "__kmalloc_cache_noprof"
					p.Vermagic = "6.12.118+deb12-amd64 SMP preempt mod_unload modversions "
					p.Replace = elftest.ReplaceSpec{Value: 1}
				}),
				kernel:  livepatch.KernelVersion{Major: 6, Minor: 12, Patch: 118, Release: "6.12.118+deb12-amd64"},
				replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
			},
		)
	}

	cases = append(cases,
		syntheticCase{
			// The string "vmlinux" is kpatch-build's spelling of vmlinux,
			// which its patch hook turns into a NULL name.
			name: "kpatch-build vmlinux string", producer: livepatch.ProducerKpatchBuild,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects[0].Name = "vmlinux"
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
		},
		syntheticCase{
			name: "klp-build literal vmlinux", producer: livepatch.ProducerKlpBuild,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects[0].Name = "vmlinux"
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
		},
		syntheticCase{
			// A named klp_object_ext whose funcs pointer has no
			// relocation, and nr_funcs 0.
			name: "klp-build NULL funcs", producer: livepatch.ProducerKlpBuild,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects = append(p.Objects, elftest.Object{Name: "ext4"})
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			edit: func(t *testing.T, f *elftest.File, p elftest.Patch) {
				dropReloc(t, f.Section(".init.klp_objects"), 64+8)
			},
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
			adjust: func(t *testing.T, s synthetic, want *livepatch.Module) {
				want.Objects[1].FuncsNull = true
			},
		},
		syntheticCase{
			name: "kpatch-build demangled replacement", producer: livepatch.ProducerKpatchBuild,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects[0].Funcs[0].NewFunc = "_ZN4klpc7cmdline4showEPv"
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
			adjust: func(t *testing.T, s synthetic, want *livepatch.Module) {
				want.Objects[0].Funcs[0].NewFunc.Demangled = "klpc::cmdline::show(void*)"
			},
		},
	)
	return cases
}

// dropReloc removes the relocation at offset off of sec, which turns the
// pointer field there into NULL.
func dropReloc(t *testing.T, sec *elftest.Section, off uint64) {
	t.Helper()
	for i, r := range sec.Relocs {
		if r.Offset == off {
			sec.Relocs = append(sec.Relocs[:i:i], sec.Relocs[i+1:]...)
			return
		}
	}
	t.Fatalf("section %s has no relocation at %#x", sec.Name, off)
}

var replaceOnData = livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromData}
var replaceOffData = livepatch.Replace{Known: true, Value: 0, Width: 1, Source: livepatch.ReplaceFromData}

// handWrittenCases are static struct klp_patch modules.
func handWrittenCases() []syntheticCase {
	hw := livepatch.ProducerHandWritten
	return []syntheticCase{
		{
			name: "hand-written default strides", producer: hw,
			patch:   withReplace(samplePatch, elftest.ReplaceSpec{Value: 1}),
			replace: replaceOnData, detail: dataDetail(24),
		},
		{
			name: "hand-written strides 160 and 176", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.FuncStride, p.ObjectStride = 160, 176
			}),
			replace: replaceOffData, detail: dataDetail(24),
		},
		{
			name: "hand-written strides 200 and 216", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.FuncStride, p.ObjectStride = 200, 216
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnData, detail: dataDetail(24),
		},
		{
			// The replace-set proposal stores an unsigned int where
			// mainline has bool replace.
			name: "hand-written replace_set 5", producer: hw,
			patch:   withReplace(samplePatch, elftest.ReplaceSpec{Value: 5, Width: 4}),
			replace: livepatch.Replace{Known: true, Value: 5, Width: 4, Source: livepatch.ReplaceFromData},
			detail:  dataDetail(24),
		},
		{
			// Set 1 has the bytes of bool true on little-endian arches, so
			// only big-endian ones show the 4-byte field.
			name: "hand-written replace_set 1", producer: hw,
			patch:   withReplace(samplePatch, elftest.ReplaceSpec{Value: 1, Width: 4}),
			replace: replaceOnData, detail: dataDetail(24),
			adjust: func(t *testing.T, s synthetic, want *livepatch.Module) {
				if s.arch.ByteOrder == binary.BigEndian {
					want.Replace.Width = 4
				}
			},
		},
		{
			// 5.1 to 5.4 keep replace at +16, where 5.5 put states.
			name: "hand-written kernel 5.4", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.Vermagic = "5.4.0-216-generic SMP mod_unload modversions "
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			kernel:  livepatch.KernelVersion{Major: 5, Minor: 4, Patch: 0, Release: "5.4.0-216-generic"},
			replace: replaceOnData, detail: dataDetail(16),
		},
		{
			// Before 5.1 there is no replace field at all.
			name: "hand-written kernel 4.19", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.Vermagic = "4.19.0-27-amd64 SMP mod_unload modversions "
			}),
			kernel:  livepatch.KernelVersion{Major: 4, Minor: 19, Patch: 0, Release: "4.19.0-27-amd64"},
			replace: livepatch.Replace{Known: true, Source: livepatch.ReplaceFromData},
			detail:  fixedDetail(regexp.MustCompile(`^kernel 4\.19\.0-27-amd64 predates atomic replace \(5\.1\)$`)),
		},
		{
			// RHEL 8 backports atomic replace to 4.18 from 8.2 on, so
			// the version does not settle the mode.
			name: "hand-written kernel 4.18 el8", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.Vermagic = "4.18.0-513.5.1.el8_9.x86_64 SMP mod_unload modversions "
			}),
			kernel:  livepatch.KernelVersion{Major: 4, Minor: 18, Patch: 0, Release: "4.18.0-513.5.1.el8_9.x86_64"},
			replace: livepatch.Replace{Source: livepatch.ReplaceUnknown},
			detail:  fixedDetail(regexp.MustCompile(`^kernel 4\.18\.0-513\.5\.1\.el8_9\.x86_64 is RHEL 8, which backports atomic replace from 8\.2 on; the replace value of this layout is not read$`)),
		},
		{
			// Before 4.15 struct klp_object has no callbacks, so its
			// external part is name and funcs only.
			name: "hand-written kernel 4.12", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Vermagic = "4.12.14-122.37-default SMP mod_unload modversions "
				p.Objects = append(p.Objects, elftest.Object{Name: "ext4", Funcs: []elftest.Func{{OldName: "ext4_statfs", NewFunc: "livepatch_ext4_statfs", Sympos: 1}}})
			}),
			kernel:  livepatch.KernelVersion{Major: 4, Minor: 12, Patch: 14, Release: "4.12.14-122.37-default"},
			replace: livepatch.Replace{Known: true, Source: livepatch.ReplaceFromData},
			detail:  fixedDetail(regexp.MustCompile(`^kernel 4\.12\.14-122\.37-default predates atomic replace \(5\.1\)$`)),
		},
		{
			name: "hand-written states", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.States = []elftest.State{{ID: 7, Version: 2}, {ID: 0x1234, Version: 1}, {ID: 1 << 40, Version: 0xffffffff}}
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnData, detail: dataDetail(24),
		},
		{
			name: "hand-written replace parameter 1", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.KernelParam = true
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromModuleParam},
			detail:  fixedDetail(replaceParamDetail),
		},
		{
			name: "hand-written replace parameter 0", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.KernelParam = true
			}),
			replace: livepatch.Replace{Known: true, Value: 0, Width: 1, Source: livepatch.ReplaceFromModuleParam},
			detail:  fixedDetail(replaceParamDetail),
		},
		{
			name: "hand-written literal vmlinux", producer: hw,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.Objects[0].Name = "vmlinux"
			}),
			replace: replaceOffData, detail: dataDetail(24),
		},
		{
			// A named object whose funcs pointer has no relocation.
			name: "hand-written NULL funcs", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects = append(p.Objects, elftest.Object{Name: "ext4", Funcs: []elftest.Func{{OldName: "ext4_statfs", NewFunc: "livepatch_ext4_statfs"}}})
			}),
			edit: func(t *testing.T, f *elftest.File, p elftest.Patch) {
				objs := f.Symbol("objs")
				dropReloc(t, f.Section(".data"), objs.Value+168+8)
			},
			replace: replaceOffData, detail: dataDetail(24),
			adjust: func(t *testing.T, s synthetic, want *livepatch.Module) {
				want.Objects[1].FuncsNull = true
				want.Objects[1].Funcs = nil
			},
		},
		{
			// An object with no functions gets a klp_func array holding
			// only the zero terminator, which gcc places in .bss.
			name: "hand-written terminator-only funcs in bss", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Objects = append(p.Objects, elftest.Object{Name: "ext4", Callbacks: elftest.Callbacks{PrePatch: "pre_patch_ext4"}})
			}),
			replace: replaceOffData, detail: dataDetail(24),
			adjust: func(t *testing.T, s synthetic, want *livepatch.Module) {
				if got := s.definedSymbol(t, "funcs1").Section.Name; got != ".bss" {
					t.Fatalf("elftest put the terminator-only array in %s, want .bss", got)
				}
			},
		},
		{
			name: "hand-written name from this_module", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Name, p.ThisModuleName = "", "livepatch_from_struct"
			}),
			replace: replaceOffData, detail: dataDetail(24),
		},
		{
			name: "hand-written name from file", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.Name = ""
			}),
			replace: replaceOffData, detail: dataDetail(24),
		},
		{
			// MODULE_INFO(livepatch, "Y") is missing: the module is read
			// as usual, and Livepatch stays false.
			name: "hand-written without livepatch modinfo", producer: hw,
			patch: withPatch(plainPatch, func(p *elftest.Patch) {
				p.NoLivepatchInfo = true
			}),
			replace: replaceOffData, detail: dataDetail(24),
		},
	}
}

// TestParseSynthetic builds every case for every architecture and compares
// the whole model, except notes, with what the case declares.
func TestParseSynthetic(t *testing.T) {
	cases := append(generatedCases(), handWrittenCases()...)
	for _, arch := range elftest.Arches() {
		for _, c := range cases {
			t.Run(arch.Name+"/"+c.name, func(t *testing.T) {
				s, p := c.build(t, arch)
				got, err := s.parse(t)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}

				want := c.want(t, s, p)
				if diff := cmp.Diff(want, got, moduleOptions); diff != "" {
					t.Errorf("Parse mismatch (-want +got):\n%s", diff)
				}
				if re := c.detail(t, s); !re.MatchString(got.Replace.Detail) {
					t.Errorf("Replace.Detail = %q, want a match for %s", got.Replace.Detail, re)
				}
			})
		}
	}
}

func (c syntheticCase) build(t *testing.T, arch elftest.Arch) (synthetic, elftest.Patch) {
	t.Helper()
	p := c.patch(arch.Name)
	f := builderOf(c.producer)(p)
	if c.edit != nil {
		c.edit(t, f, p)
	}
	return buildSynthetic(t, arch, f), p
}

func (c syntheticCase) want(t *testing.T, s synthetic, p elftest.Patch) *livepatch.Module {
	t.Helper()
	kernel := c.kernel
	if kernel == (livepatch.KernelVersion{}) {
		kernel = kernel61
	}
	want := expectation{s: s, p: p, producer: c.producer, kernel: kernel}.module(t, c.replace)
	if c.adjust != nil {
		c.adjust(t, s, want)
	}
	return want
}
