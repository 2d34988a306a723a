package elftest

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite testdata/initcode.txtar from the current output")

// initVariant is one init function shape to disassemble.
type initVariant struct {
	name  string
	build func(Patch) *File
	// initName is the local name of the init function.
	initName string
	change   func(p *Patch)
}

var initVariants = []initVariant{
	{"kpatch-byte", KpatchBuild, "patch_init", func(p *Patch) {}},
	{"klp-build-kmalloc_trace-u32", KlpBuild, "livepatch_mod_init", func(p *Patch) {
		p.Allocator = "kmalloc_trace"
		p.Replace = ReplaceSpec{Value: 0x12345678, Width: 4}
	}},
	{"kpatch-omit", KpatchBuild, "patch_init", func(p *Patch) { p.Replace.Omit = true }},
	{"kpatch-conflicting", KpatchBuild, "patch_init", func(p *Patch) { p.Replace.Conflicting = true }},
	{"hand-written", HandWritten, "livepatch_init", func(p *Patch) {}},
	{"hand-written-param", HandWritten, "livepatch_init", func(p *Patch) { p.KernelParam = true }},
	{"hand-written-4.19", HandWritten, "livepatch_init", func(p *Patch) {
		p.Vermagic = "4.19.0-21-amd64 SMP mod_unload "
		p.Replace = ReplaceSpec{}
	}},
}

// initListing builds the variant for arch and disassembles its init
// function.
func initListing(t *testing.T, arch Arch, v initVariant) []string {
	t.Helper()
	p := Patch{
		Arch:    arch.Name,
		Name:    "livepatch_test",
		Objects: []Object{{Funcs: []Func{{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show"}}}},
		Replace: ReplaceSpec{Value: 1},
	}
	v.change(&p)
	b := build(t, v.build, p)

	lines := disassemble(t, arch, b, v.initName)
	init, alias := b.symbol(t, v.initName), b.symbol(t, "init_module")
	if init.Value != alias.Value || init.Size != alias.Size || init.Section != alias.Section {
		t.Errorf("init_module does not alias %s", v.initName)
	}
	return lines
}

// TestInitCodeListings compares the disassembly of every init function
// shape on every architecture with testdata/initcode.txtar. The listings
// were checked against binutils objdump for x86-64, arm64, ppc64le, ppc64,
// s390x and riscv64; binutils on the development machine had no LoongArch
// support, so that listing rests on x/arch's loong64asm alone.
func TestInitCodeListings(t *testing.T) {
	archive := &txtar.Archive{Comment: []byte("Disassembly of generated init functions; regenerate with go test -run TestInitCodeListings -update.\n")}
	for _, arch := range Arches() {
		for _, v := range initVariants {
			listing := strings.Join(initListing(t, arch, v), "\n") + "\n"
			archive.Files = append(archive.Files, txtar.File{Name: arch.Name + "/" + v.name, Data: []byte(listing)})
		}
	}

	path := filepath.Join("testdata", "initcode.txtar")
	if *update {
		if err := os.WriteFile(path, txtar.Format(archive), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}

	golden, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	want := map[string]string{}
	for _, f := range golden.Files {
		want[f.Name] = string(f.Data)
	}
	got := map[string]string{}
	for _, f := range archive.Files {
		got[f.Name] = string(f.Data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("init code differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestInitCodeReplaceStoresX86AndArm64 spells out the instructions a
// reader must find: the allocator call, the pointer kept in a callee-saved
// register (rbx, x19), and the replace stores through it at offset 24.
func TestInitCodeReplaceStoresX86AndArm64(t *testing.T) {
	x86, arm64 := arches[0], arches[1]
	tests := []struct {
		arch    Arch
		variant string
		want    []string
		// stores is the number of stores at offset 24 of the klp_patch.
		stores int
	}{
		{x86, "kpatch-byte", []string{
			"callq 0x10  [R_X86_64_PLT32 __kmalloc-4]",
			"mov %rax,%rbx",
			"movb $0x1,0x18(%rbx)",
			"mov %rbx,%rdi",
			"callq 0x2e  [R_X86_64_PLT32 klp_enable_patch-4]",
		}, 1},
		{x86, "klp-build-kmalloc_trace-u32", []string{
			"mov (%rip),%rdi  [R_X86_64_PC32 kmalloc_caches+68]",
			"callq 0x17  [R_X86_64_PLT32 kmalloc_trace-4]",
			"mov %rax,%rbx",
			"movl $0x12345678,0x18(%rbx)",
			"mov %rbx,%rdi",
		}, 1},
		{x86, "kpatch-omit", []string{
			"mov %rax,%rbx",
			"mov %rbx,%rdi",
		}, 0},
		{x86, "kpatch-conflicting", []string{
			"mov %rax,%rbx",
			"callq 0x27  [R_X86_64_PLT32 livepatch_want_replace-4]",
			"movb $0x1,0x18(%rbx)",
			"movb $0x0,0x18(%rbx)",
			"mov %rbx,%rdi",
		}, 2},
		{arm64, "kpatch-byte", []string{
			"bl .+0x0  [R_AARCH64_CALL26 __kmalloc+0]",
			"mov x19, x0",
			"mov w1, #0x1",
			"strb w1, [x19,#24]",
			"mov x0, x19",
			"bl .+0x0  [R_AARCH64_CALL26 klp_enable_patch+0]",
		}, 1},
		{arm64, "klp-build-kmalloc_trace-u32", []string{
			"ldr x0, [x0]  [R_AARCH64_LDST64_ABS_LO12_NC kmalloc_caches+72]",
			"bl .+0x0  [R_AARCH64_CALL26 kmalloc_trace+0]",
			"mov x19, x0",
			"mov w1, #0x5678",
			"movk w1, #0x1234, lsl #16",
			"str w1, [x19,#24]",
		}, 1},
		{arm64, "kpatch-omit", []string{
			"mov x19, x0",
			"mov x0, x19",
		}, 0},
		{arm64, "kpatch-conflicting", []string{
			"mov x19, x0",
			"bl .+0x0  [R_AARCH64_CALL26 livepatch_want_replace+0]",
			"mov w1, #0x1",
			"strb w1, [x19,#24]",
			"mov w1, #0x0",
			"strb w1, [x19,#24]",
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.arch.Name+"/"+tt.variant, func(t *testing.T) {
			i := slices.IndexFunc(initVariants, func(v initVariant) bool { return v.name == tt.variant })
			lines := initListing(t, tt.arch, initVariants[i])

			// Keep only the instructions named in want, in listing order.
			var got []string
			for _, line := range lines {
				_, text, _ := strings.Cut(line, ": ")
				if slices.Contains(tt.want, text) {
					got = append(got, text)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("instructions out of order or missing (-want +got):\n%s\nlisting:\n%s", diff, strings.Join(lines, "\n"))
			}

			var stores int
			for _, line := range lines {
				if strings.Contains(line, "0x18(%rbx)") || strings.Contains(line, "[x19,#24]") {
					stores++
				}
			}
			if stores != tt.stores {
				t.Errorf("%d stores at offset 24, want %d", stores, tt.stores)
			}
		})
	}
}
