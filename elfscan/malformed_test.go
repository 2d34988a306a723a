package elfscan_test

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/livepatch"
)

// wantError is the expected *elfscan.Error of a malformed module.
type wantError struct {
	// message is an exact substring of the error message, naming the
	// section or offset of the failure.
	message   string
	section   string
	offset    uint64
	hasOffset bool
	// sentinel is ErrUnsupported or ErrNotLivepatch when the error must
	// wrap it, and nil when it must wrap neither.
	sentinel error
}

// malformedCase is one broken module. build returns the file and the
// error it must give.
type malformedCase struct {
	name string
	// anyArch marks a case whose bytes do not depend on the architecture,
	// which runs once instead of once per architecture.
	anyArch bool
	build   func(t *testing.T, arch elftest.Arch) ([]byte, wantError)
}

// checkError asserts that err is an *elfscan.Error for syntheticPath that
// matches want.
func checkError(t *testing.T, err error, path string, want wantError) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want.message)
	}
	var e *elfscan.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *elfscan.Error: %v", err, err)
	}
	if !strings.Contains(err.Error(), want.message) {
		t.Errorf("error message\n\t%s\ndoes not contain\n\t%s", err, want.message)
	}
	if e.Path != path {
		t.Errorf("Error.Path = %q, want %q", e.Path, path)
	}
	if e.Section != want.section {
		t.Errorf("Error.Section = %q, want %q", e.Section, want.section)
	}
	if e.HasOffset != want.hasOffset || e.Offset != want.offset {
		t.Errorf("Error offset = %#x (HasOffset %v), want %#x (HasOffset %v)", e.Offset, e.HasOffset, want.offset, want.hasOffset)
	}
	for _, sentinel := range []error{elfscan.ErrUnsupported, elfscan.ErrNotLivepatch} {
		if got, wantIs := errors.Is(err, sentinel), sentinel == want.sentinel; got != wantIs {
			t.Errorf("errors.Is(err, %q) = %v, want %v", sentinel, got, wantIs)
		}
	}
}

// inSection returns an expected error in a section, with no offset.
func inSection(section, message string) wantError {
	return wantError{message: message, section: section}
}

// at returns an expected error at an offset of a section.
func at(section string, offset uint64, message string) wantError {
	return wantError{message: message, section: section, offset: offset, hasOffset: true}
}

// noPlace returns an expected error about the whole file.
func noPlace(message string, sentinel error) wantError {
	return wantError{message: message, sentinel: sentinel}
}

// kpatchPlain builds the one-function kpatch-build module that most
// malformed cases start from.
func kpatchPlain(arch elftest.Arch) *elftest.File {
	p := plainPatch(arch.Name)
	p.Replace = elftest.ReplaceSpec{Value: 1}
	return elftest.KpatchBuild(p)
}

func klpBuildPlain(arch elftest.Arch) *elftest.File {
	p := plainPatch(arch.Name)
	p.Replace = elftest.ReplaceSpec{Value: 1}
	return elftest.KlpBuild(p)
}

func handWrittenPlain(arch elftest.Arch) *elftest.File {
	return elftest.HandWritten(plainPatch(arch.Name))
}

// encode builds f, failing the test on a writer error.
func encode(t *testing.T, arch elftest.Arch, f *elftest.File) synthetic {
	t.Helper()
	return buildSynthetic(t, arch, f)
}

// relaEntry returns the index of the entry at offset off in the RELA
// section that applies to target.
func relaEntry(t *testing.T, f *elftest.File, target string, off uint64) int {
	t.Helper()
	for i, r := range f.Section(target).Relocs {
		if r.Offset == off {
			return i
		}
	}
	t.Fatalf("section %s has no relocation at %#x", target, off)
	return -1
}

// mutateRela overwrites a field of the relocation at off of target after
// layout.
func mutateRela(t *testing.T, f *elftest.File, target string, off uint64, field elftest.RelaField, value uint64) {
	t.Helper()
	entry := relaEntry(t, f, target, off)
	f.Mutate = func(raw []byte, l *elftest.Layout) {
		l.SetRela(raw, l.SectionIndex(".rela"+target), entry, field, value)
	}
}

// mutateSection overwrites a field of the header of section name after
// layout.
func mutateSection(f *elftest.File, name string, field elftest.SectionField, value uint64) {
	f.Mutate = func(raw []byte, l *elftest.Layout) {
		l.SetSection(raw, l.SectionIndex(name), field, value)
	}
}

// sectionData returns the contents of section name as written.
func (s synthetic) sectionData(t *testing.T, name string) []byte {
	t.Helper()
	i := s.sectionIndex(t, name)
	sl := s.layout.Sections[i]
	return s.raw[sl.Offset : sl.Offset+sl.Size]
}

var malformedCases = []malformedCase{
	{
		name: "not ELF", anyArch: true,
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			return []byte("#!/bin/sh\necho not a module\n"), noPlace(`read ELF header: not an ELF file (starts with "#!/b")`, nil)
		},
	},
	{
		name: "empty file", anyArch: true,
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			return nil, noPlace(`read ELF header: not an ELF file (starts with "")`, nil)
		},
	},
	{
		name: "truncated ELF header",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			s := encode(t, arch, kpatchPlain(arch))
			return s.raw[:40], noPlace("read ELF header: file is 40 bytes, too short for an ELF64 header (64 bytes)", nil)
		},
	},
	{
		name: "truncated section headers",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			s := encode(t, arch, kpatchPlain(arch))
			size := len(s.raw) - 10
			return s.raw[:size], noPlace(fmt.Sprintf("read ELF header: section header table [%#x, +%#x) extends past end of file (%d bytes)",
				s.layout.SectionHeaderOffset, 64*len(s.layout.Sections), size), nil)
		},
	},
	{
		name: "section name table past end of file",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			var index, size int
			var tableSize uint64
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				index, size = l.SectionIndex(".shstrtab"), len(raw)
				tableSize = l.Sections[index].Size
				l.SetSection(raw, index, elftest.ShOffset, uint64(len(raw)))
			}
			s := encode(t, arch, f)
			return s.raw, noPlace(fmt.Sprintf("read ELF header: section name table (section %d) [%#x, +%#x) extends past end of file (%d bytes)", index, size, tableSize, size), nil)
		},
	},
	{
		name: "32-bit", anyArch: true,
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := &elftest.File{Class: elf.ELFCLASS32, Machine: elf.EM_386}
			raw, err := f.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			return raw, noPlace("unsupported module: ELFCLASS32 file; only 64-bit modules are supported", elfscan.ErrUnsupported)
		},
	},
	{
		name: "executable",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			f.Type = elf.ET_EXEC
			return encode(t, arch, f).raw, noPlace("unsupported module: ELF type ET_EXEC; a kernel module is ET_REL", elfscan.ErrUnsupported)
		},
	},
	{
		name: "unknown machine",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			f.Mutate = func(raw []byte, l *elftest.Layout) { l.SetHeader(raw, elftest.EMachine, uint64(elf.EM_MIPS)) }
			return encode(t, arch, f).raw, noPlace("unsupported module: machine EM_MIPS", elfscan.ErrUnsupported)
		},
	},
	{
		name: "ppc64 ELFv1 flags", anyArch: true,
		build: func(t *testing.T, _ elftest.Arch) ([]byte, wantError) {
			arch, err := elftest.LookupArch("ppc64")
			if err != nil {
				t.Fatal(err)
			}
			f := kpatchPlain(arch)
			f.Flags = 1
			return encode(t, arch, f).raw, noPlace("unsupported module: ppc64 ELFv1 module (function descriptors in .opd); only ELFv2 is supported", elfscan.ErrUnsupported)
		},
	},
	{
		// e_flags 0 leaves the ABI unspecified, so only the .opd
		// section shows that the module is ELFv1.
		name: "ppc64 ELFv1 opd section", anyArch: true,
		build: func(t *testing.T, _ elftest.Arch) ([]byte, wantError) {
			arch, err := elftest.LookupArch("ppc64")
			if err != nil {
				t.Fatal(err)
			}
			f := kpatchPlain(arch)
			f.Flags = 0
			f.AddSection(&elftest.Section{Name: ".opd", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 24), Addralign: 8})
			return encode(t, arch, f).raw, noPlace("unsupported module: ppc64 ELFv1 module (function descriptors in .opd); only ELFv2 is supported", elfscan.ErrUnsupported)
		},
	},
	{
		name: "section offset past end of file",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			var size int
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				size = len(raw)
				l.SetSection(raw, l.SectionIndex(".kpatch.funcs"), elftest.ShOffset, uint64(len(raw))+0x100)
			}
			s := encode(t, arch, f)
			return s.raw, inSection(".kpatch.funcs", fmt.Sprintf("section .kpatch.funcs: section data [%#x, +0x38) extends past end of file (%d bytes)", size+0x100, size))
		},
	},
	{
		name: "section size past end of file",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			var off uint64
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				i := l.SectionIndex(".kpatch.strings")
				off = l.Sections[i].Offset
				l.SetSection(raw, i, elftest.ShSize, uint64(len(raw)))
			}
			s := encode(t, arch, f)
			return s.raw, inSection(".kpatch.strings", fmt.Sprintf("section .kpatch.strings: section data [%#x, +%#x) extends past end of file (%d bytes)", off, len(s.raw), len(s.raw)))
		},
	},
	{
		name: "absurd symbol table size",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			var off uint64
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				off = l.Sections[l.SymbolTable].Offset
				l.SetSection(raw, l.SymbolTable, elftest.ShSize, 1<<62)
			}
			s := encode(t, arch, f)
			return s.raw, inSection(".symtab", fmt.Sprintf("section .symtab: section data [%#x, +0x4000000000000000) extends past end of file (%d bytes)", off, len(s.raw)))
		},
	},
	{
		// The all-zero klp_func array of an object without functions
		// is in .bss, which is read as zeros of its size.
		name: "NOBITS larger than the file",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.Objects = append(p.Objects, elftest.Object{Name: "ext4"})
			f := elftest.HandWritten(p)
			mutateSection(f, ".bss", elftest.ShSize, 1<<40)
			s := encode(t, arch, f)
			return s.raw, inSection(".bss", fmt.Sprintf("section .bss: NOBITS size 0x10000000000 is larger than the file (%d bytes)", len(s.raw)))
		},
	},
	{
		name: "rela entry size",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			mutateSection(f, ".rela.kpatch.funcs", elftest.ShEntsize, 16)
			return encode(t, arch, f).raw, inSection(".rela.kpatch.funcs", "section .rela.kpatch.funcs: sh_entsize is 16, want 24 for Elf64_Rela")
		},
	},
	{
		name: "rela size not a multiple of 24",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				i := l.SectionIndex(".rela.kpatch.funcs")
				l.SetSection(raw, i, elftest.ShSize, l.Sections[i].Size-8)
			}
			return encode(t, arch, f).raw, inSection(".rela.kpatch.funcs", "section .rela.kpatch.funcs: size 64 is not a multiple of 24")
		},
	},
	{
		name: "relocation symbol index 0",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			mutateRela(t, f, ".kpatch.funcs", 0, elftest.RSym, 0)
			return encode(t, arch, f).raw, at(".kpatch.funcs", 0, "section .kpatch.funcs+0x0: relocation uses symbol index 0")
		},
	},
	{
		name: "relocation symbol index out of range",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			mutateRela(t, f, ".kpatch.funcs", 0, elftest.RSym, 0xffffff)
			s := encode(t, arch, f)
			symbols := len(s.layout.Symbols)
			return s.raw, at(".kpatch.funcs", 0, fmt.Sprintf("section .kpatch.funcs+0x0: symbol index 16777215 out of range (%d symbols)", symbols))
		},
	},
	{
		name: "pointer relocation type",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			mutateRela(t, f, ".kpatch.funcs", 0, elftest.RType, uint64(arch.Call))
			return encode(t, arch, f).raw, at(".kpatch.funcs", 0, fmt.Sprintf("section .kpatch.funcs+0x0: pointer relocation has type %d, want the 64-bit absolute type %d", arch.Call, arch.Abs64))
		},
	},
	{
		name: "pointer without relocation",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			funcs := f.Section(".kpatch.funcs")
			dropReloc(t, funcs, 40)
			arch.ByteOrder.PutUint64(funcs.Data[40:], 0xffffffff81234567)
			return encode(t, arch, f).raw, at(".kpatch.funcs", 40, "read .kpatch.funcs entry 0: section .kpatch.funcs+0x28: pointer field holds 0xffffffff81234567 with no relocation")
		},
	},
	{
		name: "string offset past end of section",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			mutateRela(t, f, ".kpatch.funcs", 40, elftest.RAddend, 0x10000)
			s := encode(t, arch, f)
			size := len(s.sectionData(t, ".kpatch.strings"))
			return s.raw, at(".kpatch.strings", 0x10000, fmt.Sprintf("read .kpatch.funcs entry 0: read name: section .kpatch.strings+0x10000: string offset past end of section (%d bytes)", size))
		},
	},
	{
		name: "string without NUL",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			strs := f.Section(".kpatch.strings")
			strs.Data[len(strs.Data)-1] = 'X'
			last := uint64(bytes.LastIndexByte(strs.Data, 0) + 1)
			if got := string(strs.Data[last:]); got != "vmlinuxX" {
				t.Fatalf("last string of .kpatch.strings is %q, want the objname vmlinux", got)
			}
			return encode(t, arch, f).raw, at(".kpatch.strings", last, fmt.Sprintf("read .kpatch.funcs entry 0: read objname: section .kpatch.strings+%#x: string has no NUL terminator", last))
		},
	},
	{
		name: "kpatch objname NULL",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			dropReloc(t, f.Section(".kpatch.funcs"), 48)
			return encode(t, arch, f).raw, at(".kpatch.funcs", 48, "read .kpatch.funcs entry 0: section .kpatch.funcs+0x30: objname is NULL")
		},
	},
	{
		name: "kpatch funcs size not a multiple of 56",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			funcs := f.Section(".kpatch.funcs")
			funcs.Data = append(funcs.Data, make([]byte, 8)...)
			return encode(t, arch, f).raw, inSection(".kpatch.funcs", "read .kpatch.funcs: section .kpatch.funcs: size 64 is not a multiple of 56")
		},
	},
	{
		name: "hand-written funcs into text",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := handWrittenPlain(arch)
			data := f.Section(".data")
			field := f.Symbol("objs").Value + 8
			data.Relocs[relaEntry(t, f, ".data", field)].Symbol = f.SectionSymbol(f.Section(".text"))
			data.Relocs[relaEntry(t, f, ".data", field)].Addend = 0
			return encode(t, arch, f).raw, at(".data", field, fmt.Sprintf("read klp_object 0: section .data+%#x: funcs points to livepatch_cmdline_proc_show, not into module data", field))
		},
	},
	{
		name: "klp-build funcs into text",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := klpBuildPlain(arch)
			objects := f.Section(".init.klp_objects")
			objects.Relocs[relaEntry(t, f, ".init.klp_objects", 8)].Symbol = f.Symbol("livepatch_cmdline_proc_show")
			objects.Relocs[relaEntry(t, f, ".init.klp_objects", 8)].Addend = 0
			return encode(t, arch, f).raw, at(".init.klp_objects", 8, "read .init.klp_objects entry 0: section .init.klp_objects+0x8: funcs points to livepatch_cmdline_proc_show, not into module data")
		},
	},
	{
		// The funcs symbol ends before the terminator.
		name: "klp_func array without terminator",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := handWrittenPlain(arch)
			funcs := f.Symbol("funcs")
			funcs.Size = 152
			return encode(t, arch, f).raw, at(".data", funcs.Value, fmt.Sprintf("read klp_object 0: read klp_func array: section .data+%#x: klp_func array of 152 bytes: no stride between 96 and 152 bytes ends in a zero terminator", funcs.Value))
		},
	},
	{
		// Halving the stride to 80 bytes would read the second half of the
		// entry as a terminator, but no klp_func is that small.
		name: "klp_func array of one 160-byte entry without terminator",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.FuncStride = 160
			f := elftest.HandWritten(p)
			funcs := f.Symbol("funcs")
			funcs.Size = 160
			return encode(t, arch, f).raw, at(".data", funcs.Value, fmt.Sprintf("read klp_object 0: read klp_func array: section .data+%#x: klp_func array of 160 bytes: no stride between 96 and 160 bytes ends in a zero terminator", funcs.Value))
		},
	},
	{
		name: "klp_func array of two without terminator",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.FuncStride = 160
			p.Objects[0].Funcs = append(p.Objects[0].Funcs, elftest.Func{OldName: "type_show", NewFunc: "livepatch_type_show"})
			f := elftest.HandWritten(p)
			funcs := f.Symbol("funcs")
			funcs.Size = 2 * 160
			return encode(t, arch, f).raw, at(".data", funcs.Value, fmt.Sprintf("read klp_object 0: read klp_func array: section .data+%#x: klp_func array of 320 bytes: no stride between 96 and 320 bytes ends in a zero terminator", funcs.Value))
		},
	},
	{
		// The terminator entry has a non-zero old_sympos.
		name: "klp_func terminator not zero",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := handWrittenPlain(arch)
			funcs := f.Symbol("funcs")
			arch.ByteOrder.PutUint64(f.Section(".data").Data[funcs.Value+152+16:], 7)
			return encode(t, arch, f).raw, at(".data", funcs.Value, fmt.Sprintf("read klp_object 0: read klp_func array: section .data+%#x: klp_func array of 304 bytes: no stride between 96 and 304 bytes ends in a zero terminator", funcs.Value))
		},
	},
	{
		name: "klp_object_ext nr_funcs past end of section",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := klpBuildPlain(arch)
			arch.ByteOrder.PutUint32(f.Section(".init.klp_objects").Data[56:], 2)
			return encode(t, arch, f).raw, at(".init.klp_objects", 56, "read .init.klp_objects entry 0: section .init.klp_objects+0x38: nr_funcs 2 at .init.klp_funcs+0x0 runs past the end of the section (24 bytes)")
		},
	},
	{
		name: "klp_object_ext absurd nr_funcs",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := klpBuildPlain(arch)
			arch.ByteOrder.PutUint32(f.Section(".init.klp_objects").Data[56:], 0xffffffff)
			return encode(t, arch, f).raw, at(".init.klp_objects", 56, "read .init.klp_objects entry 0: section .init.klp_objects+0x38: nr_funcs 4294967295 at .init.klp_funcs+0x0 runs past the end of the section (24 bytes)")
		},
	},
	{
		name: "klp_objects size not a multiple of 64",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := klpBuildPlain(arch)
			objects := f.Section(".init.klp_objects")
			objects.Data = append(objects.Data, make([]byte, 8)...)
			return encode(t, arch, f).raw, inSection(".init.klp_objects", "read .init.klp_objects: section .init.klp_objects: size 72 is not a multiple of 64")
		},
	},
	{
		name: "absurd section count",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			f.Mutate = func(raw []byte, l *elftest.Layout) { l.SetHeader(raw, elftest.EShnum, 0xffff) }
			s := encode(t, arch, f)
			return s.raw, noPlace(fmt.Sprintf("read ELF header: section header table [%#x, +0x3fffc0) extends past end of file (%d bytes)", s.layout.SectionHeaderOffset, len(s.raw)), nil)
		},
	},
	{
		name: "absurd section header offset",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := kpatchPlain(arch)
			f.Mutate = func(raw []byte, l *elftest.Layout) { l.SetHeader(raw, elftest.EShoff, 1<<62) }
			s := encode(t, arch, f)
			return s.raw, noPlace(fmt.Sprintf("read ELF header: section header table [0x4000000000000000, +%#x) extends past end of file (%d bytes)", 64*len(s.layout.Sections), len(s.raw)), nil)
		},
	},
	{
		// The objs symbol claims an array far larger than .data. Its
		// extent is cut at the section end, and no stride ends in a
		// terminator there.
		name: "absurd array symbol size",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := handWrittenPlain(arch)
			objs := f.Symbol("objs")
			objs.Size = 1 << 62
			s := encode(t, arch, f)
			span := uint64(len(s.sectionData(t, ".data"))) - objs.Value
			return s.raw, at(".data", objs.Value, fmt.Sprintf("read klp_object array: section .data+%#x: klp_object array of %d bytes: no stride between 120 and %d bytes ends in a zero terminator", objs.Value, span, span))
		},
	},
	{
		name: "versions size not a multiple of 64",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.Versions = []elftest.SymbolVersion{{Name: "klp_enable_patch", CRC: 1}}
			f := elftest.HandWritten(p)
			versions := f.Section("__versions")
			versions.Data = versions.Data[:60]
			return encode(t, arch, f).raw, inSection("__versions", "read __versions: section __versions: size 60 is not a multiple of 64")
		},
	},
	{
		name: "versions name without NUL",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.Versions = []elftest.SymbolVersion{{Name: "klp_enable_patch", CRC: 1}, {Name: strings.Repeat("x", 55), CRC: 2}}
			f := elftest.HandWritten(p)
			f.Section("__versions").Data[127] = 'x'
			return encode(t, arch, f).raw, at("__versions", 64, "read __versions: section __versions+0x40: symbol name has no NUL terminator")
		},
	},
	{
		name: "param size not a multiple of 40",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			p := plainPatch(arch.Name)
			p.KernelParam = true
			f := elftest.HandWritten(p)
			param := f.Section("__param")
			param.Data = append(param.Data, make([]byte, 8)...)
			return encode(t, arch, f).raw, inSection("__param", "read replace module parameter: section __param: size 48 is not a multiple of 40")
		},
	},
	{
		// livepatch=Y makes it a livepatch, but without .symtab its klp
		// relocations could not refer to symbols.
		name: "no symbol table",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			f := handWrittenPlain(arch)
			f.Mutate = func(raw []byte, l *elftest.Layout) {
				l.SetSection(raw, l.SymbolTable, elftest.ShType, uint64(elf.SHT_PROGBITS))
			}
			return encode(t, arch, f).raw, noPlace("read symbols: no .symtab; a livepatch module needs its full symbol table because klp relocations refer to it by index", nil)
		},
	},
	{
		name: "not a livepatch",
		build: func(t *testing.T, arch elftest.Arch) ([]byte, wantError) {
			return plainModule(t, arch), noPlace(syntheticPath+": not a livepatch module", elfscan.ErrNotLivepatch)
		},
	},
}

// plainModule returns an ordinary module: one function, .modinfo and a
// call of printk, with no livepatch marker.
func plainModule(t *testing.T, arch elftest.Arch) []byte {
	t.Helper()
	f := arch.NewFile()
	text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 16), Addralign: 16})
	f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: []byte("license=GPL\x00name=plain\x00vermagic=" + vermagic61 + "\x00"), Addralign: 1})
	f.AddSymbol(&elftest.Symbol{Name: "init_module", Section: text, Size: 16, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	text.Relocs = []elftest.Reloc{{Offset: 4, Type: arch.Call, Symbol: f.Undefined("printk"), Addend: -4}}
	raw, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseMalformed checks that each broken module gives an *Error that
// names the place of the damage, and never a panic.
func TestParseMalformed(t *testing.T) {
	arches := elftest.Arches()
	for _, c := range malformedCases {
		for _, arch := range arches {
			name := arch.Name + "/" + c.name
			if c.anyArch {
				name = c.name
			}
			t.Run(name, func(t *testing.T) {
				raw, want := c.build(t, arch)
				m, err := parseBytes(t, raw)
				if err == nil {
					t.Fatalf("Parse returned a module of %s with %d objects, want an error", m.Producer, len(m.Objects))
				}
				checkError(t, err, syntheticPath, want)
			})
			if c.anyArch {
				break
			}
		}
	}
}

// TestParseWithoutLivepatchModinfo reads modules of each producer whose
// .modinfo lacks livepatch=Y. The klp structures still make them
// livepatches to klpcheck, and Livepatch records the missing key.
func TestParseWithoutLivepatchModinfo(t *testing.T) {
	cases := []syntheticCase{
		{
			name: "kpatch-build", producer: livepatch.ProducerKpatchBuild,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.NoLivepatchInfo = true
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
		},
		{
			name: "klp-build", producer: livepatch.ProducerKlpBuild,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.NoLivepatchInfo = true
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnInitCode, detail: fixedDetail(initStoreDetail),
		},
		{
			name: "hand-written", producer: livepatch.ProducerHandWritten,
			patch: withPatch(samplePatch, func(p *elftest.Patch) {
				p.NoLivepatchInfo = true
				p.Replace = elftest.ReplaceSpec{Value: 1}
			}),
			replace: replaceOnData, detail: dataDetail(24),
		},
	}
	for _, arch := range elftest.Arches() {
		for _, c := range cases {
			t.Run(arch.Name+"/"+c.name, func(t *testing.T) {
				s, p := c.build(t, arch)
				got, err := s.parse(t)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got.Livepatch {
					t.Error("Livepatch = true for a module without livepatch modinfo")
				}
				want := c.want(t, s, p)
				if diff := cmp.Diff(want, got, moduleOptions); diff != "" {
					t.Errorf("Parse mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// compressor writes one compressed module format.
type compressor struct {
	suffix string
	// format is the name that decompression errors use.
	format   string
	compress func(t *testing.T, raw []byte) []byte
}

var compressors = []compressor{
	{".ko.xz", "xz", func(t *testing.T, raw []byte) []byte {
		var buf bytes.Buffer
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		writeAndClose(t, w, raw)
		return buf.Bytes()
	}},
	{".ko.gz", "gzip", func(t *testing.T, raw []byte) []byte {
		var buf bytes.Buffer
		writeAndClose(t, gzip.NewWriter(&buf), raw)
		return buf.Bytes()
	}},
	{".ko.zst", "zstd", func(t *testing.T, raw []byte) []byte {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		writeAndClose(t, w, raw)
		return buf.Bytes()
	}},
}

func writeAndClose(t *testing.T, w io.WriteCloser, data []byte) {
	t.Helper()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeTemp writes data to name in a new temporary directory and returns
// the path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// openNoPanic runs elfscan.Open and turns a panic into a test failure.
func openNoPanic(t *testing.T, path string) (m *livepatch.Module, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Open panicked: %v", r)
		}
	}()
	return elfscan.Open(path)
}

// TestOpenCompressed checks that a module compressed as xz, gzip and zstd
// reads exactly as the plain file, for each producer.
func TestOpenCompressed(t *testing.T) {
	arch, err := elftest.LookupArch("s390x")
	if err != nil {
		t.Fatal(err)
	}
	builds := []struct {
		name  string
		build func(arch elftest.Arch) *elftest.File
	}{
		{"kpatch-build", kpatchPlain},
		{"klp-build", klpBuildPlain},
		{"hand-written", handWrittenPlain},
	}
	for _, b := range builds {
		raw := encode(t, arch, b.build(arch)).raw
		plainPath := writeTemp(t, "livepatch-plain.ko", raw)
		want, err := openNoPanic(t, plainPath)
		if err != nil {
			t.Fatalf("%s: Open plain module: %v", b.name, err)
		}

		for _, c := range compressors {
			t.Run(b.name+"/"+c.format, func(t *testing.T) {
				path := writeTemp(t, "livepatch-plain"+c.suffix, c.compress(t, raw))
				got, err := openNoPanic(t, path)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got.Path != path {
					t.Errorf("Path = %q, want %q", got.Path, path)
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(livepatch.Module{}, "Path")); diff != "" {
					t.Errorf("compressed module reads differently from the plain one (-plain +%s):\n%s", c.format, diff)
				}
			})
		}
	}
}

// TestOpenCorruptCompressed opens truncated and damaged compressed
// modules. Each must give an *Error that names the compression format.
func TestOpenCorruptCompressed(t *testing.T) {
	arch, err := elftest.LookupArch("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	raw := encode(t, arch, kpatchPlain(arch)).raw

	for _, c := range compressors {
		packed := c.compress(t, raw)
		damaged := map[string][]byte{
			"truncated":   packed[:len(packed)/2],
			"magic only":  packed[:6],
			"bit flipped": flipByte(packed, len(packed)/2),
			"not ELF":     c.compress(t, []byte("plain text, not a module\n")),
		}
		for _, name := range []string{"truncated", "magic only", "bit flipped", "not ELF"} {
			t.Run(c.format+"/"+name, func(t *testing.T) {
				path := writeTemp(t, "livepatch-corrupt"+c.suffix, damaged[name])
				m, err := openNoPanic(t, path)
				if err == nil {
					t.Fatalf("Open returned a module of %s, want an error", m.Producer)
				}
				want := noPlace("decompress "+c.format+": ", nil)
				if name == "not ELF" {
					want = noPlace(`read ELF header: not an ELF file (starts with "plai")`, nil)
				}
				checkError(t, err, path, want)
			})
		}
	}
}

// flipByte returns a copy of data with the byte at i inverted.
func flipByte(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0xff
	return out
}

// TestParseBuildIDNoteMalformed reads a module whose build ID note runs
// past its section. The module loader does not parse the note, so the
// module is still read, with a note and no build ID.
func TestParseBuildIDNoteMalformed(t *testing.T) {
	for _, arch := range elftest.Arches() {
		t.Run(arch.Name, func(t *testing.T) {
			f := handWrittenPlain(arch)
			// A note header that claims a 4-byte name and a 20-byte ID, with
			// neither present. These bytes read 4 and 20 in either byte order.
			note := []byte{4, 0, 0, 4, 20, 0, 0, 20, 3, 0, 0, 3}
			f.AddSection(&elftest.Section{Name: ".note.gnu.build-id", Type: elf.SHT_NOTE, Flags: elf.SHF_ALLOC, Addralign: 4, Data: note})
			raw := encode(t, arch, f).raw

			m, err := elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), "synthetic.ko")

			if err != nil {
				t.Fatal(err)
			}
			if m.BuildID != "" {
				t.Errorf("BuildID = %q, want empty", m.BuildID)
			}
			want := "section .note.gnu.build-id+0x0: note of 67108868+335544340 bytes runs past the end of the section (12 bytes); the build ID is unknown"
			if !slices.Contains(m.Notes, want) {
				t.Errorf("notes %q do not contain %q", m.Notes, want)
			}
		})
	}
}

// TestParseEmptyKlpObjectsSection reads modules built for 6.19, whose
// linker script leaves an empty __klp_objects section in every module. It
// must not make a hand-written patch look like a klp-build one, nor an
// ordinary module look like a livepatch.
func TestParseEmptyKlpObjectsSection(t *testing.T) {
	for _, arch := range elftest.Arches() {
		t.Run(arch.Name+"/hand-written", func(t *testing.T) {
			f := handWrittenPlain(arch)
			f.AddSection(&elftest.Section{Name: "__klp_objects", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 8})
			raw := encode(t, arch, f).raw

			m, err := elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), "synthetic.ko")

			if err != nil {
				t.Fatal(err)
			}
			if m.Producer != livepatch.ProducerHandWritten || len(m.Objects) != 1 || !m.Replace.Known {
				t.Errorf("producer %s, %d objects, replace known %v; want hand-written, 1 object, known", m.Producer, len(m.Objects), m.Replace.Known)
			}
		})
		t.Run(arch.Name+"/not a livepatch", func(t *testing.T) {
			f := arch.NewFile()
			text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 16), Addralign: 16})
			f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: []byte("license=GPL\x00name=plain\x00vermagic=" + vermagic61 + "\x00"), Addralign: 1})
			f.AddSection(&elftest.Section{Name: "__klp_objects", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 8})
			f.AddSymbol(&elftest.Symbol{Name: "init_module", Section: text, Size: 16, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
			raw, err := f.Bytes()
			if err != nil {
				t.Fatal(err)
			}

			_, err = elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), "plain.ko")

			if !errors.Is(err, elfscan.ErrNotLivepatch) {
				t.Errorf("Parse error = %v, want ErrNotLivepatch", err)
			}
		})
	}
}

// TestParseImmediateFlag reads a klp_func whose byte at +24 is set, which
// is the bool immediate of 4.12 to 4.15 and internal state (zero in the
// file) in later kernels.
func TestParseImmediateFlag(t *testing.T) {
	arch, err := elftest.LookupArch("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	build := func(vermagic string) []byte {
		p := plainPatch(arch.Name)
		p.Vermagic = vermagic
		f := elftest.HandWritten(p)
		f.Section(".data").Data[f.Symbol("funcs").Value+24] = 1
		return encode(t, arch, f).raw
	}

	raw := build("4.14.0-3-amd64 SMP mod_unload modversions ")
	m, err := elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), "synthetic.ko")
	if err != nil {
		t.Fatalf("4.14: %v", err)
	}
	if len(m.Objects) != 1 || len(m.Objects[0].Funcs) != 1 {
		t.Errorf("4.14: %d objects, want 1 with 1 function", len(m.Objects))
	}

	raw = build(vermagic61)
	if _, err := elfscan.Parse(bytes.NewReader(raw), int64(len(raw)), "synthetic.ko"); err == nil {
		t.Error("6.1: Parse accepted a klp_func with a non-zero internal byte at +24")
	}
}
