package elftest

import (
	"cmp"
	"debug/elf"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Sizes and offsets of kernel structures on 64-bit targets.
const (
	defaultFuncStride   = 152
	defaultObjectStride = 168
	// klpPatchSize is the size of the static patch symbol and of the
	// allocation in generated init code. It is an estimate for a 6.x
	// kernel, and klpcheck does not read it.
	klpPatchSize = 200
	// thisModuleSize and the init and exit pointer offsets are fixture
	// choices, not a real struct module layout. Only the name at offset
	// 24 is stable across kernels.
	thisModuleSize       = 0x400
	thisModuleNameOffset = 24
	thisModuleInitOffset = 0x138
	thisModuleExitOffset = 0x3c8
	moduleNameLen        = 56
	// gfpKernelZero is GFP_KERNEL | __GFP_ZERO, the flags of kzalloc.
	gfpKernelZero = 0xdc0
	// kmallocCacheOffset picks the kmalloc_caches entry that a
	// cache-first allocator receives.
	kmallocCacheOffset = 0x48
	enomem             = -12
)

// compilerLayout is how gcc lays out the static data of a hand-written
// module on one architecture.
type compilerLayout struct {
	// stringSection holds string literals, each aligned to the number at
	// the end of its name.
	stringSection string
	// arrayAlign is the alignment of static arrays of structures, and of
	// .data and .bss.
	arrayAlign uint64
}

// compilerLayoutFor returns the layout that gcc 12 (Debian's cross
// compilers, -O2 -fno-pic) gives a sample with static klp_func-like
// arrays.
//
// NOTE: no LoongArch compiler was available to check. LoongArch is assumed
// to align strings to 8 bytes like RISC-V, since both inherit the rule
// from the MIPS port of gcc.
func compilerLayoutFor(arch Arch) compilerLayout {
	switch arch.Machine {
	case elf.EM_X86_64:
		return compilerLayout{".rodata.str1.1", 32}
	case elf.EM_PPC64:
		return compilerLayout{".rodata.str1.8", 16}
	case elf.EM_S390:
		return compilerLayout{".rodata.str1.2", 8}
	}
	return compilerLayout{".rodata.str1.8", 8}
}

// module is the state shared by the three builders while they fill one
// File.
type module struct {
	p        Patch
	arch     Arch
	enc      encoder
	compiler compilerLayout
	f        *File

	// functionSections puts every function in its own .text.<name>
	// section, as kpatch-build and klp-build do because they compile with
	// -ffunction-sections. Otherwise all functions share .text.
	functionSections bool
	functions        map[string]*Symbol
	// functionBind is the binding of replacement and callback functions.
	functionBind elf.SymBind

	strings   map[*Section]map[string]uint64
	nextLocal int

	// Indexes into f, so that modules with tens of thousands of functions
	// build in linear time.
	sectionsByName map[string]*Section
	symbolsByName  map[string]*Symbol
	sectionSymbols map[*Section]*Symbol

	helperName string
	// helperKlpCalls are the call relocations of the helper function that
	// KlpRelocs with no Section turn into klp relocations.
	helperKlpCalls []Reloc
	helperSection  *Section
}

func newModule(p Patch) *module {
	if p.Arch == "" {
		p.Arch = "x86_64"
	}
	arch, err := LookupArch(p.Arch)
	if err != nil {
		panic("elftest: " + err.Error())
	}
	if p.Replace.Width == 0 {
		p.Replace.Width = 1
	}
	if p.Replace.Width != 1 && p.Replace.Width != 4 {
		panic(fmt.Sprintf("elftest: replace width %d is not 1 or 4", p.Replace.Width))
	}
	if p.Replace.Width == 1 && p.Replace.Value > 0xff {
		panic(fmt.Sprintf("elftest: replace value %d does not fit in one byte", p.Replace.Value))
	}

	return &module{
		p:            p,
		arch:         arch,
		enc:          encoderFor(arch),
		compiler:     compilerLayoutFor(arch),
		f:            arch.NewFile(),
		functions:    map[string]*Symbol{},
		functionBind: elf.STB_LOCAL,
		strings:      map[*Section]map[string]uint64{},
		helperName:   "livepatch_extern_calls",

		sectionsByName: map[string]*Section{},
		symbolsByName:  map[string]*Symbol{},
		sectionSymbols: map[*Section]*Symbol{},
	}
}

func (m *module) lookupSection(name string) *Section { return m.sectionsByName[name] }

func (m *module) addSection(s *Section) *Section {
	if _, ok := m.sectionsByName[s.Name]; !ok {
		m.sectionsByName[s.Name] = s
	}
	return m.f.AddSection(s)
}

func (m *module) lookupSymbol(name string) *Symbol { return m.symbolsByName[name] }

func (m *module) addSymbol(s *Symbol) *Symbol {
	if _, ok := m.symbolsByName[s.Name]; !ok && s.Name != "" {
		m.symbolsByName[s.Name] = s
	}
	return m.f.AddSymbol(s)
}

// undefined returns the symbol called name, adding a global undefined one
// when the module has none.
func (m *module) undefined(name string) *Symbol {
	if s := m.lookupSymbol(name); s != nil {
		return s
	}
	return m.addSymbol(&Symbol{Name: name, Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE})
}

// sectionSymbol returns the STT_SECTION symbol of sec, adding it on first
// use.
func (m *module) sectionSymbol(sec *Section) *Symbol {
	if s, ok := m.sectionSymbols[sec]; ok {
		return s
	}
	s := m.addSymbol(&Symbol{Bind: elf.STB_LOCAL, Type: elf.STT_SECTION, Section: sec})
	m.sectionSymbols[sec] = s
	return s
}

// section returns the section called name, creating it with the
// attributes of a real module's section of that name.
func (m *module) section(name string) *Section {
	if s := m.lookupSection(name); s != nil {
		return s
	}
	s := &Section{Name: name, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 8}
	switch {
	case name == ".text" || strings.HasPrefix(name, ".text.") ||
		name == ".init.text" || name == ".exit.text":
		s.Flags = elf.SHF_ALLOC | elf.SHF_EXECINSTR
		s.Addralign = 16
	case strings.HasPrefix(name, ".rodata.str1.") || name == ".rodata.klp.str1.1":
		// The suffix of a mergeable string section is the alignment of
		// each string in it.
		s.Flags = elf.SHF_ALLOC | elf.SHF_MERGE | elf.SHF_STRINGS
		s.Entsize = 1
		s.Addralign, _ = strconv.ParseUint(name[strings.LastIndexByte(name, '.')+1:], 10, 64)
	case name == ".modinfo":
		s.Addralign = 1
	case name == ".data":
		s.Flags = elf.SHF_ALLOC | elf.SHF_WRITE
		s.Addralign = m.compiler.arrayAlign
	case name == ".gnu.linkonce.this_module":
		s.Flags = elf.SHF_ALLOC | elf.SHF_WRITE
		s.Addralign = 64 // struct module is ____cacheline_aligned
	case name == ".bss":
		s.Type = elf.SHT_NOBITS
		s.Flags = elf.SHF_ALLOC | elf.SHF_WRITE
		s.Addralign = m.compiler.arrayAlign
	}
	return m.addSection(s)
}

// reserve appends size zero bytes to sec at the given alignment and
// returns their offset.
func reserve(sec *Section, size, align uint64) uint64 {
	if sec.Type == elf.SHT_NOBITS {
		off := alignUp(sec.Size, align)
		sec.Size = off + size
		return off
	}
	off := alignUp(uint64(len(sec.Data)), align)
	sec.Data = append(sec.Data, make([]byte, off+size-uint64(len(sec.Data)))...)
	return off
}

// str returns the offset of s in a string section, adding it once at the
// section's alignment.
func (m *module) str(sec *Section, s string) uint64 {
	seen := m.strings[sec]
	if seen == nil {
		seen = map[string]uint64{}
		m.strings[sec] = seen
	}
	if off, ok := seen[s]; ok {
		return off
	}
	off := reserve(sec, uint64(len(s)+1), sec.Addralign)
	copy(sec.Data[off:], s)
	seen[s] = off
	return off
}

// pointer adds an absolute 64-bit relocation at off in sec.
func (m *module) pointer(sec *Section, off uint64, sym *Symbol, addend int64) {
	sec.Relocs = append(sec.Relocs, Reloc{Offset: off, Type: m.arch.Abs64, Symbol: sym, Addend: addend})
}

// pointerTo adds a pointer to off2 in sec2, relocated against the section
// symbol of sec2 as gas does for local data.
func (m *module) pointerTo(sec *Section, off uint64, sec2 *Section, off2 uint64) {
	m.pointer(sec, off, m.sectionSymbol(sec2), int64(off2))
}

func (m *module) put64(sec *Section, off, v uint64) {
	m.arch.ByteOrder.PutUint64(sec.Data[off:], v)
}

func (m *module) put32(sec *Section, off uint64, v uint32) {
	m.arch.ByteOrder.PutUint32(sec.Data[off:], v)
}

// object defines a local STT_OBJECT symbol.
func (m *module) object(name string, sec *Section, off, size uint64) *Symbol {
	return m.addSymbol(&Symbol{Name: name, Section: sec, Value: off, Size: size, Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT})
}

// textSection returns the section a function called name goes into.
func (m *module) textSection(name string) *Section {
	if m.functionSections {
		return m.section(".text." + name)
	}
	return m.section(".text")
}

// place appends the code of a to sec at 16-byte alignment, padded with
// nops, and defines a function symbol for it.
func (m *module) place(sec *Section, a *asm, name string, bind elf.SymBind) *Symbol {
	a.finish()
	for len(sec.Data)%16 != 0 {
		sec.Data = append(sec.Data, m.enc.nop()...)
	}
	base := uint64(len(sec.Data))
	sec.Data = append(sec.Data, a.code...)

	for _, r := range a.relocs {
		r.Offset += base
		sec.Relocs = append(sec.Relocs, r)
	}
	for _, l := range a.locals {
		l.Section = sec
		l.Value += base
		m.addSymbol(l)
	}
	return m.addSymbol(&Symbol{
		Name: name, Section: sec, Value: base, Size: uint64(len(a.code)),
		Bind: bind, Type: elf.STT_FUNC,
	})
}

func (m *module) newAsm() *asm { return newAsm(m.enc, m.arch.ByteOrder, &m.nextLocal) }

// function returns the symbol of a replacement or callback function,
// defining it on first use with a body that returns 0.
func (m *module) function(name string) *Symbol {
	if s, ok := m.functions[name]; ok {
		return s
	}
	a := m.newAsm()
	m.enc.movImm(a, regRet, 0)
	m.enc.ret(a)
	s := m.place(m.textSection(name), a, name, m.functionBind)
	m.functions[name] = s
	return s
}

// objectName returns the name an object is written with: Name, or for
// vmlinux the producer's spelling (empty means NULL).
func objectName(o Object, vmlinux string) string {
	if o.Name == "" {
		return vmlinux
	}
	return o.Name
}

// initAndExit defines the module's init and exit functions: the local
// names the producer's source uses, and the init_module and cleanup_module
// aliases that module_init and module_exit create.
func (m *module) initAndExit(a *asm, initName, exitName string) {
	init := m.place(m.section(".init.text"), a, initName, elf.STB_LOCAL)
	m.addSymbol(&Symbol{Name: "init_module", Section: init.Section, Value: init.Value, Size: init.Size, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})

	e := m.newAsm()
	m.enc.ret(e)
	exit := m.place(m.section(".exit.text"), e, exitName, elf.STB_LOCAL)
	m.addSymbol(&Symbol{Name: "cleanup_module", Section: exit.Section, Value: exit.Value, Size: exit.Size, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
}

// finish adds the parts every producer's module has and orders the
// sections.
func (m *module) finish(defaults []string, klpSymbol func(name string) *Symbol, tombstones bool) *File {
	m.helper()
	m.thisModule()
	m.modInfo(defaults)
	m.kernelParam()
	m.versions()
	m.klpRelocs(klpSymbol, tombstones)
	m.sortSections()
	return m.f
}

// sectionRank orders sections roughly as the module link (ld -r with
// scripts/module.lds.S) lays them out: code, read-only data, producer
// metadata, module info, writable data, then klp relocation sections.
func sectionRank(name string) int {
	switch {
	case name == ".text" || strings.HasPrefix(name, ".text."):
		return 0
	case name == ".init.text":
		return 1
	case name == ".exit.text":
		return 2
	case strings.HasPrefix(name, ".rodata"):
		return 3
	case strings.HasPrefix(name, ".kpatch.") || strings.Contains(name, "klp_objects") || strings.Contains(name, "klp_funcs"):
		return 4
	case name == ".modinfo":
		return 5
	case name == "__param":
		return 6
	case name == "__versions":
		return 7
	case name == ".data":
		return 8
	case name == ".gnu.linkonce.this_module":
		return 9
	case name == ".bss":
		return 10
	case strings.HasPrefix(name, ".klp.rela."):
		return 11
	}
	return 4
}

func (m *module) sortSections() {
	slices.SortStableFunc(m.f.Sections, func(a, b *Section) int {
		return cmp.Compare(sectionRank(a.Name), sectionRank(b.Name))
	})
}
