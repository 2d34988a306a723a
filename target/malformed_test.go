package target_test

import (
	"debug/elf"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

const unrecognised = "unrecognised content: the first line is neither a System.map or /proc/kallsyms line (ADDRESS TYPE NAME), a Module.symvers line (CRC, symbol, module and export type separated by tabs) nor an available_filter_functions line (NAME or NAME [MODULE])"

// TestMalformedText checks the error of each broken text input. The
// message after "PATH:" is compared exactly.
func TestMalformedText(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"map field count", "ffffffff81000000 T startup_64\nffffffff81000010 T\n",
			":2: found 2 fields, want ADDRESS TYPE NAME and an optional [MODULE]"},
		{"map address", "ffffffff81000000 T a\nzzzz T b\n",
			`:2: invalid address "zzzz", want up to 16 hexadecimal digits`},
		{"map long address", "ffffffff81000000 T a\n1ffffffff81000000 T b\n",
			`:2: invalid address "1ffffffff81000000", want up to 16 hexadecimal digits`},
		{"map type", "ffffffff81000000 T a\nffffffff81000010 TT b\n",
			`:2: invalid symbol type "TT", want one letter as nm prints it`},
		{"map module tag", "ffffffff81000000 T a\nffffffff81000010 t b\text4\n",
			`:2: invalid module tag "ext4", want [MODULE]`},
		{"map five fields", "ffffffff81000000 T a\nffffffff81000010 t b [ext4] x\n",
			":2: found 5 fields, want ADDRESS TYPE NAME and an optional [MODULE]"},
		{"symvers CRC", "0x1234567890\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n",
			`:1: invalid CRC "0x1234567890", want 0x and up to 8 hexadecimal digits`},
		{"symvers export type", "0x12345678\tfoo\tvmlinux\tEXPORT_FOO\t\n",
			`:1: invalid export type "EXPORT_FOO", want EXPORT_SYMBOL or EXPORT_SYMBOL_GPL`},
		{"symvers field count", "0x12345678\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x12345678\tbar\tvmlinux\n",
			":2: found 3 tab-separated fields, want CRC, symbol, module, export type and an optional namespace"},
		{"symvers empty module", "0x12345678\tfoo\t\tEXPORT_SYMBOL\t\n",
			":1: empty module field"},
		{"filter field count", "foo\nbar baz qux\n",
			`:2: unrecognised content: "bar baz qux" is not a function name, optionally followed by [MODULE], as available_filter_functions lists them`},
		{"filter module tag", "foo\nbar ext4\n",
			`:2: unrecognised content: "bar ext4" is not a function name, optionally followed by [MODULE], as available_filter_functions lists them`},
		{"filter word list", "apple\nbanana\nit's\n",
			`:3: unrecognised content: "it's" is not a function name, optionally followed by [MODULE], as available_filter_functions lists them`},
		{"filter path", "foo\nkernel/fs/ext4/ext4.ko\n",
			`:2: unrecognised content: "kernel/fs/ext4/ext4.ko" is not a function name, optionally followed by [MODULE], as available_filter_functions lists them`},
		{"modules.order", "kernel/arch/x86/events/amd/power.ko\nkernel/arch/x86/events/intel/intel-uncore.ko\n",
			`:1: unrecognised content: "kernel/arch/x86/events/amd/power.ko" is a module path, as modules.order and modules.builtin list them; give the modules directory that holds the file, such as /lib/modules/<release>`},
		{"Debian placeholder System.map", "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
			":1: this is the placeholder System.map of Debian's linux-image package, which has no symbols; the real one is in the linux-image-<release>-dbg package, as /usr/lib/debug/boot/System.map-<release>"},
		{"filter long line", "foo\n" + strings.Repeat("x", 70000) + "\n",
			":2: line is 70000 bytes long, longer than any symbol line can be (65536 bytes)"},
		{"unrecognised", "# comment\nhello world, this is text\n",
			":2: " + unrecognised},
		{"empty", "\n\n",
			": read: the file has no content lines"},
		{"binary", "\x01\x02\x00\x03",
			": read: binary data (a NUL byte at offset 2) that is neither ELF nor text"},
		{"vmlinuz", strings.Repeat("\x00", 0x202) + "HdrS",
			": read: this is a compressed kernel image (vmlinuz), which has no symbol table; give the vmlinux from the kernel's debug package (for Debian, linux-image-<release>-dbg) or System.map"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "input", []byte(tt.text))
			if got := loadError(t, path); got != path+tt.want {
				t.Errorf("error\n\t%s\nwant\n\t%s", got, path+tt.want)
			}
		})
	}
}

// symbolIndex returns the .symtab index of the symbol called name.
func symbolIndex(t *testing.T, l *elftest.Layout, name string) int {
	for i, s := range l.Symbols {
		if s != nil && s.Name == name {
			return i
		}
	}
	t.Fatalf("no symbol %s", name)
	return 0
}

// TestMalformedVmlinux checks the error of each broken vmlinux. want
// receives the layout of the file so that it can name offsets.
func TestMalformedVmlinux(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   func(v *elftest.Vmlinux)
		mutate func(t *testing.T, raw []byte, l *elftest.Layout)
		want   func(l *elftest.Layout) string
	}{
		{
			name: "symtab entsize",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSection(raw, l.SymbolTable, elftest.ShEntsize, 16)
			},
			want: func(*elftest.Layout) string {
				return "read symbols: section .symtab: sh_entsize is 16, want 24 for Elf64_Sym"
			},
		},
		{
			name: "symbol name offset",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSymbol(raw, 2, elftest.StName, 0xffffff)
			},
			want: func(l *elftest.Layout) string {
				return fmt.Sprintf("read symbols: section .symtab+0x30: symbol 2: name offset 0xffffff is past the end of .strtab (%d bytes)", l.Sections[l.SymbolTable+1].Size)
			},
		},
		{
			name: "no symtab",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSection(raw, l.SymbolTable, elftest.ShType, uint64(elf.SHT_PROGBITS))
			},
			want: func(*elftest.Layout) string {
				return "read symbols: no .symtab; a stripped vmlinux has no symbols, give the vmlinux from the kernel's debug package (for Debian, linux-image-<release>-dbg) or System.map"
			},
		},
		{
			name: "mcount bounds reversed",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSymbol(raw, symbolIndex(t, l, "__stop_mcount_loc"), elftest.StValue, initDataAddr-8)
			},
			want: func(*elftest.Layout) string {
				return fmt.Sprintf("read ftrace call sites: __start_mcount_loc %#x and __stop_mcount_loc %#x do not bound a table of 8-byte entries", uint64(initDataAddr), uint64(initDataAddr-8))
			},
		},
		{
			name: "mcount past section",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSymbol(raw, symbolIndex(t, l, "__stop_mcount_loc"), elftest.StValue, initDataAddr+1<<20)
			},
			want: func(*elftest.Layout) string {
				return "read ftrace call sites: section .init.data+0x0: 1048576 bytes requested past the end of the section (56 bytes)"
			},
		},
		{
			name: "CRC outside its section",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetSymbol(raw, symbolIndex(t, l, "__crc_printk_like"), elftest.StValue, textAddr)
			},
			want: func(*elftest.Layout) string {
				return fmt.Sprintf("read exports: __crc_printk_like: value %#x lies before its section __kcrctab at %#x", uint64(textAddr), uint64(textAddr+0x5000))
			},
		},
		{
			name: "banner",
			edit: func(v *elftest.Vmlinux) { v.Banner = "Hello" },
			want: func(*elftest.Layout) string {
				return `read linux_banner: "Hello" does not start with "Linux version "`
			},
		},
		{
			name: "core file",
			mutate: func(t *testing.T, raw []byte, l *elftest.Layout) {
				l.SetHeader(raw, elftest.EType, uint64(elf.ET_CORE))
			},
			want: func(*elftest.Layout) string {
				return "read ELF header: ELF type ET_CORE is neither a kernel image (ET_EXEC, ET_DYN) nor a module (ET_REL)"
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := testVmlinux()
			if tt.edit != nil {
				tt.edit(v)
			}
			var layout *elftest.Layout
			v.Mutate = func(raw []byte, l *elftest.Layout) {
				layout = l
				if tt.mutate != nil {
					tt.mutate(t, raw, l)
				}
			}
			path := buildVmlinux(t, v)
			want := path + ": " + tt.want(layout)
			if got := loadError(t, path); got != want {
				t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
			}
		})
	}
}

func TestTruncatedVmlinux(t *testing.T) {
	raw, err := testVmlinux().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "vmlinux", raw[:len(raw)-100])
	got := loadError(t, path)
	if !strings.HasPrefix(got, path+": read ELF header: section header table [") || !strings.HasSuffix(got, fmt.Sprintf("extends past end of file (%d bytes)", len(raw)-100)) {
		t.Errorf("error = %s", got)
	}
}

// TestMalformedModule checks errors of broken __mcount_loc tables.
func TestMalformedModule(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(raw []byte, l *elftest.Layout)
		want   string
	}{
		{
			name: "relocation type",
			mutate: func(raw []byte, l *elftest.Layout) {
				l.SetRela(raw, l.SectionIndex(".rela__mcount_loc"), 1, elftest.RType, uint64(elf.R_X86_64_PC32))
			},
			want: "read __mcount_loc: section .rela__mcount_loc+0x18: relocation type 2, want the 64-bit absolute type 1",
		},
		{
			name: "symbol index",
			mutate: func(raw []byte, l *elftest.Layout) {
				l.SetRela(raw, l.SectionIndex(".rela__mcount_loc"), 0, elftest.RSym, 999)
			},
			want: "read __mcount_loc: section .rela__mcount_loc+0x0: symbol index 999 out of range (20 symbols)",
		},
		{
			name: "undefined symbol",
			mutate: func(raw []byte, l *elftest.Layout) {
				l.SetRela(raw, l.SectionIndex(".rela__mcount_loc"), 0, elftest.RSym, uint64(len(l.Symbols)-1))
			},
			want: `read __mcount_loc: section .rela__mcount_loc+0x0: call site refers to symbol "printk", which is not defined in a section`,
		},
		{
			name: "entry without relocation",
			mutate: func(raw []byte, l *elftest.Layout) {
				raw[l.Sections[l.SectionIndex("__mcount_loc")].Offset+24] = 0x40
			},
			want: "read __mcount_loc: section __mcount_loc+0x18: entry holds 0x40 with no relocation",
		},
		{
			name: "build ID note",
			mutate: func(raw []byte, l *elftest.Layout) {
				l.ByteOrder.PutUint32(raw[l.Sections[l.SectionIndex(".note.gnu.build-id")].Offset+4:], 0x1000)
			},
			want: "read build ID: section .note.gnu.build-id+0x0: note of 4+4096 bytes runs past the end of the section (20 bytes)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := syntheticModuleFile(t)
			f.Mutate = tt.mutate
			raw, err := f.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "synth.ko", raw)
			if got, want := loadError(t, path), path+": "+tt.want; got != want {
				t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
			}
		})
	}
}

func TestMissingPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	if got, want := loadError(t, path), path+": no such file or directory"; got != want {
		t.Errorf("error = %s, want %s", got, want)
	}
}

// TestLoadContinues checks that one bad input does not stop the others.
func TestLoadContinues(t *testing.T) {
	bad := writeFile(t, "bad", []byte("zzz zzz zzz zzz\n"))
	tg, errs := target.Load([]string{bad, "testdata/system.map", filepath.Join(t.TempDir(), "missing"), "testdata/Module.symvers"})
	if len(errs) != 2 {
		t.Fatalf("got %d errors %v, want 2", len(errs), errs)
	}
	if len(tg.Inputs) != 2 || tg.Vmlinux == nil {
		t.Errorf("Inputs = %+v, want System.map and Module.symvers loaded", tg.Inputs)
	}
}

// TestErrorPlace checks that an ELF error carries its section and offset
// as fields, and a text error its line.
func TestErrorPlace(t *testing.T) {
	f := syntheticModuleFile(t)
	f.Mutate = func(raw []byte, l *elftest.Layout) {
		l.SetRela(raw, l.SectionIndex(".rela__mcount_loc"), 1, elftest.RType, uint64(elf.R_X86_64_PC32))
	}
	raw, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ko := writeFile(t, "synth.ko", raw)
	text := writeFile(t, "map", []byte("ffffffff81000000 T a\nzzzz T b\n"))

	_, errs := target.Load([]string{ko, text})
	if len(errs) != 2 {
		t.Fatalf("got errors %v, want 2", errs)
	}
	var got []target.Error
	for _, err := range errs {
		var e *target.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not a *target.Error", err)
		}
		got = append(got, target.Error{Path: e.Path, Line: e.Line, Section: e.Section, Offset: e.Offset, HasOffset: e.HasOffset})
	}
	want := []target.Error{
		{Path: ko, Section: ".rela__mcount_loc", Offset: 0x18, HasOffset: true},
		{Path: text, Line: 2},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(target.Error{}, "Err")); diff != "" {
		t.Errorf("error places mismatch (-want +got):\n%s", diff)
	}
}
