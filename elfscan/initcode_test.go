package elfscan

import (
	"debug/elf"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

func fromInitCode(value uint32, width int, detail string) livepatch.Replace {
	return livepatch.Replace{
		Known:  true,
		Value:  value,
		Width:  livepatch.ReplaceWidth(width),
		Source: livepatch.ReplaceFromInitCode,
		Detail: detail,
	}
}

func unknownFrom(detail string) livepatch.Replace {
	return livepatch.Replace{Source: livepatch.ReplaceUnknown, Detail: detail}
}

// initCodeSamples are the compiled init functions in testdata/initcode,
// built by its build.sh, with the replace value each must give. The x86-64
// modules come from Kbuild against Debian's 6.1 and 6.12 headers; the
// others are freestanding objects from the Debian cross compilers.
var initCodeSamples = []struct {
	file        string
	fieldOffset uint64
	want        livepatch.Replace
}{
	{"foreignptr-clang16-loongarch64.o", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x58 is not traced to a kmalloc call")},
	{"foreignptr-gcc12-arm64.o", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x5c is not traced to a kmalloc call")},
	{"foreignptr-gcc12-ppc64le.o", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x80 is not traced to a kmalloc call")},
	{"foreignptr-gcc12-riscv64.o", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x60 is not traced to a kmalloc call")},
	{"foreignptr-gcc12-s390x.o", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x66 is not traced to a kmalloc call")},
	{"foreignptr-linux6.1-x86_64.ko", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x48 is not traced to a kmalloc call")},
	{"foreignptr-linux6.12-x86_64.ko", 24, unknownFrom("pointer passed to klp_enable_patch at .init.text+0x5c is not traced to a kmalloc call")},
	{"klpbuild_noreplace-clang16-loongarch64.o", 24, fromInitCode(0, 1, "st.b $zero, $a0, 24 at .init.text+0x16c")},
	{"klpbuild_noreplace-gcc12-arm64.o", 24, fromInitCode(0, 1, "strb wzr, [x0,#24] at .init.text+0x178")},
	{"klpbuild_noreplace-gcc12-ppc64le.o", 24, fromInitCode(0, 1, "stb r9,24(r3) at .init.text+0x1c8 with r9 = 0x0")},
	{"klpbuild_noreplace-gcc12-riscv64.o", 24, fromInitCode(0, 1, "sb x0,24(x10) at .init.text+0x15e")},
	{"klpbuild_noreplace-gcc12-s390x.o", 24, fromInitCode(0, 1, "mvi 24(%r2),0 at .init.text+0x184")},
	{"klpbuild_noreplace-linux6.1-x86_64.ko", 24, fromInitCode(0, 1, "movb $0x0,0x18(%rdi) at .init.text+0x170")},
	{"klpbuild_noreplace-linux6.12-x86_64.ko", 24, fromInitCode(0, 1, "movb $0x0,0x18(%rdi) at .init.text+0x183")},
	{"klpbuild_replace-clang16-loongarch64.o", 24, fromInitCode(1, 1, "st.b $a1, $a0, 24 at .init.text+0x170 with $a1 = 0x1")},
	{"klpbuild_replace-gcc12-arm64.o", 24, fromInitCode(1, 1, "strb w2, [x0,#24] at .init.text+0x17c with w2 = 0x1")},
	{"klpbuild_replace-gcc12-ppc64le.o", 24, fromInitCode(1, 1, "stb r9,24(r3) at .init.text+0x1c8 with r9 = 0x1")},
	{"klpbuild_replace-gcc12-riscv64.o", 24, fromInitCode(1, 1, "sb x15,24(x10) at .init.text+0x160 with x15 = 0x1")},
	{"klpbuild_replace-gcc12-s390x.o", 24, fromInitCode(1, 1, "mvi 24(%r2),1 at .init.text+0x184")},
	{"klpbuild_replace-linux6.1-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x170")},
	{"klpbuild_replace-linux6.12-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x183")},
	{"kpatch_noreplace-clang16-loongarch64.o", 24, fromInitCode(0, 1, "st.b $zero, $a0, 24 at .init.text+0x264")},
	{"kpatch_noreplace-gcc12-arm64.o", 24, fromInitCode(0, 1, "strb wzr, [x0,#24] at .init.text+0x214")},
	{"kpatch_noreplace-gcc12-ppc64le.o", 24, fromInitCode(0, 1, "stb r9,24(r3) at .init.text+0x26c with r9 = 0x0")},
	{"kpatch_noreplace-gcc12-riscv64.o", 24, fromInitCode(0, 1, "sb x0,24(x10) at .init.text+0x1c2")},
	{"kpatch_noreplace-gcc12-s390x.o", 24, fromInitCode(0, 1, "mvi 24(%r2),0 at .init.text+0x294")},
	{"kpatch_noreplace-linux6.1-x86_64.ko", 24, fromInitCode(0, 1, "movb $0x0,0x18(%rdi) at .init.text+0x241")},
	{"kpatch_noreplace-linux6.12-x86_64.ko", 24, fromInitCode(0, 1, "movb $0x0,0x18(%rdi) at .init.text+0x233")},
	{"kpatch_freehelper-clang16-loongarch64.o", 24, fromInitCode(1, 1, "st.b $a1, $a0, 24 at .init.text+0x270 with $a1 = 0x1")},
	{"kpatch_freehelper-gcc12-arm64.o", 24, fromInitCode(1, 1, "strb w1, [x0,#24] at .init.text+0x210 with w1 = 0x1")},
	{"kpatch_freehelper-gcc12-ppc64le.o", 24, fromInitCode(1, 1, "stb r9,24(r3) at .init.text+0x264 with r9 = 0x1")},
	{"kpatch_freehelper-gcc12-riscv64.o", 24, fromInitCode(1, 1, "sb x15,24(x10) at .init.text+0x1c0 with x15 = 0x1")},
	{"kpatch_freehelper-gcc12-s390x.o", 24, fromInitCode(1, 1, "mvi 24(%r2),1 at .init.text+0x28c")},
	{"kpatch_freehelper-linux6.1-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x23c")},
	{"kpatch_freehelper-linux6.12-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x237")},
	{"kpatch_replace-clang16-loongarch64.o", 24, fromInitCode(1, 1, "st.b $a1, $a0, 24 at .init.text+0x268 with $a1 = 0x1")},
	{"kpatch_replace-gcc12-arm64.o", 24, fromInitCode(1, 1, "strb w1, [x0,#24] at .init.text+0x218 with w1 = 0x1")},
	{"kpatch_replace-gcc12-ppc64le.o", 24, fromInitCode(1, 1, "stb r9,24(r3) at .init.text+0x26c with r9 = 0x1")},
	{"kpatch_replace-gcc12-riscv64.o", 24, fromInitCode(1, 1, "sb x15,24(x10) at .init.text+0x1c4 with x15 = 0x1")},
	{"kpatch_replace-gcc12-s390x.o", 24, fromInitCode(1, 1, "mvi 24(%r2),1 at .init.text+0x294")},
	{"kpatch_replace-klp5.1-gcc12-x86_64.o", 16, fromInitCode(1, 1, "movb $0x1,0x10(%rdi) at .init.text+0x208")},
	{"kpatch_replace-linux6.1-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x241")},
	{"kpatch_replace-linux6.12-x86_64.ko", 24, fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x233")},
	{"nostore-clang16-loongarch64.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-gcc12-arm64.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-gcc12-ppc64le.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-gcc12-riscv64.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-gcc12-s390x.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-linux6.1-x86_64.ko", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"nostore-linux6.12-x86_64.ko", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	{"replaceset5-clang16-loongarch64.o", 24, fromInitCode(5, 4, "st.w $a0, $fp, 24 at .init.text+0xc4 with $a0 = 0x5")},
	{"replaceset5-gcc12-arm64.o", 24, fromInitCode(5, 4, "str w3, [x19,#24] at .init.text+0xf4 with w3 = 0x5")},
	{"replaceset5-gcc12-ppc64le.o", 24, fromInitCode(5, 4, "stw r8,24(r31) at .init.text+0x140 with r8 = 0x5")},
	{"replaceset5-gcc12-riscv64.o", 24, fromInitCode(5, 4, "sw x15,24(x8) at .init.text+0xe6 with x15 = 0x5")},
	{"replaceset5-gcc12-s390x.o", 24, fromInitCode(5, 4, "mvhi 24(%r11),5 at .init.text+0x124")},
	{"replaceset5-linux6.1-x86_64.ko", 24, fromInitCode(5, 4, "movl $0x5,0x18(%rbx) at .init.text+0xbf")},
	{"replaceset5-linux6.12-x86_64.ko", 24, fromInitCode(5, 4, "movl $0x5,0x18(%rbx) at .init.text+0xce")},
	{"twostores-clang16-loongarch64.o", 24, unknownFrom("replace is set to a value computed at run time: st.b $a0, $fp, 24 at .init.text+0x50")},
	{"twostores-gcc12-arm64.o", 24, unknownFrom("stores to replace disagree: strb w1, [x19,#24] at .init.text+0x58 with w1 = 0x1; strb wzr, [x19,#24] at .init.text+0x6c")},
	{"twostores-gcc12-ppc64le.o", 24, unknownFrom("replace is set to a value computed at run time: stb r9,24(r31) at .init.text+0x8c")},
	{"twostores-gcc12-riscv64.o", 24, unknownFrom("stores to replace disagree: sb x15,24(x8) at .init.text+0x54 with x15 = 0x1; sb x0,24(x8) at .init.text+0x72")},
	{"twostores-gcc12-s390x.o", 24, unknownFrom("stores to replace disagree: mvi 24(%r11),1 at .init.text+0x5c; mvi 24(%r11),0 at .init.text+0x70")},
	{"twostores-linux6.1-x86_64.ko", 24, unknownFrom("stores to replace disagree: movb $0x1,0x18(%rax) at .init.text+0x3c; movb $0x0,0x18(%rax) at .init.text+0x4e")},
	{"twostores-linux6.12-x86_64.ko", 24, unknownFrom("stores to replace disagree: movb $0x0,0x18(%rax) at .init.text+0x50; movb $0x1,0x18(%rax) at .init.text+0x69")},
}

func TestReplaceFromInitCodeSamples(t *testing.T) {
	files, err := filepath.Glob("../testdata/initcode/*.[ko]*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(initCodeSamples) {
		t.Errorf("testdata/initcode has %d samples, the table lists %d", len(files), len(initCodeSamples))
	}

	for _, tc := range initCodeSamples {
		t.Run(tc.file, func(t *testing.T) {
			fn := loadInitFunction(t, filepath.Join("../testdata/initcode", tc.file), "init_module")
			got := replaceFromInitCode(fn, tc.fieldOffset)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("replaceFromInitCode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplaceFromInitCodeWrongFieldOffset(t *testing.T) {
	tests := []struct {
		file        string
		fieldOffset uint64
		want        livepatch.Replace
	}{
		// A 5.5+ layout read as 5.1-5.4: the store at +0x18 is not replace,
		// and +0x10 (states) is never written.
		{"kpatch_replace-linux6.12-x86_64.ko", 16, unknownFrom("no store to replace at offset 0x10 of the klp_patch")},
		// A 5.1-5.4 layout read as 5.5+.
		{"kpatch_replace-klp5.1-gcc12-x86_64.o", 24, unknownFrom("no store to replace at offset 0x18 of the klp_patch")},
	}
	for _, tc := range tests {
		fn := loadInitFunction(t, filepath.Join("../testdata/initcode", tc.file), "init_module")
		got := replaceFromInitCode(fn, tc.fieldOffset)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s at offset %d: mismatch (-want +got):\n%s", tc.file, tc.fieldOffset, diff)
		}
	}
}

// x86Code assembles a test function from hand-encoded x86-64
// instructions. A call names its target through an R_X86_64_PLT32
// relocation on the rel32 field, as gcc emits it.
type x86Code struct {
	code   []byte
	relocs []codeReloc
}

func (c *x86Code) raw(b ...byte) *x86Code {
	c.code = append(c.code, b...)
	return c
}

func (c *x86Code) call(target string) *x86Code {
	c.relocs = append(c.relocs, codeReloc{
		offset: uint64(len(c.code) + 1), typ: uint32(elf.R_X86_64_PLT32), symbol: target, addend: -4,
	})
	return c.raw(0xe8, 0, 0, 0, 0)
}

func (c *x86Code) jmp(target string) *x86Code {
	c.relocs = append(c.relocs, codeReloc{
		offset: uint64(len(c.code) + 1), typ: uint32(elf.R_X86_64_PLT32), symbol: target, addend: -4,
	})
	return c.raw(0xe9, 0, 0, 0, 0)
}

func (c *x86Code) function() initFunction {
	return initFunction{
		arch:    livepatch.Arch{Name: "x86_64", Machine: elf.EM_X86_64, ByteOrder: binary.LittleEndian},
		section: ".init.text",
		code:    c.code,
		relocs:  c.relocs,
	}
}

// Encodings used by the synthetic tests.
var (
	x86MovRAXToRBX    = []byte{0x48, 0x89, 0xc3}                               // mov %rax,%rbx
	x86MovRAXToRDI    = []byte{0x48, 0x89, 0xc7}                               // mov %rax,%rdi
	x86MovRBXToRDI    = []byte{0x48, 0x89, 0xdf}                               // mov %rbx,%rdi
	x86SpillRAX       = []byte{0x48, 0x89, 0x44, 0x24, 0x08}                   // mov %rax,0x8(%rsp)
	x86ReloadRDI      = []byte{0x48, 0x8b, 0x7c, 0x24, 0x08}                   // mov 0x8(%rsp),%rdi
	x86StoreTrueRBX   = []byte{0xc6, 0x43, 0x18, 0x01}                         // movb $0x1,0x18(%rbx)
	x86StoreFalseRBX  = []byte{0xc6, 0x43, 0x18, 0x00}                         // movb $0x0,0x18(%rbx)
	x86StoreTrueRDI   = []byte{0xc6, 0x47, 0x18, 0x01}                         // movb $0x1,0x18(%rdi)
	x86StoreTwoRBX    = []byte{0xc6, 0x43, 0x18, 0x02}                         // movb $0x2,0x18(%rbx)
	x86StoreALRBX     = []byte{0x88, 0x43, 0x18}                               // mov %al,0x18(%rbx)
	x86StoreQuadRBX   = []byte{0x48, 0xc7, 0x43, 0x18, 0x01, 0x00, 0x00, 0x00} // movq $0x1,0x18(%rbx)
	x86LoadRDXFromRCX = []byte{0x48, 0x8b, 0x11}                               // mov (%rcx),%rdx
	x86StoreFalseRDX  = []byte{0xc6, 0x42, 0x18, 0x00}                         // movb $0x0,0x18(%rdx)
	x86TestRAX        = []byte{0x48, 0x85, 0xc0}                               // test %rax,%rax
	x86JmpIndirectRAX = []byte{0xff, 0xe0}                                     // jmp *%rax
	x86Ret            = []byte{0xc3}                                           // ret
	x86MovImmOneToEAX = []byte{0xb8, 0x01, 0x00, 0x00, 0x00}                   // mov $0x1,%eax
	x86StoreEAXRBX    = []byte{0x89, 0x43, 0x18}                               // mov %eax,0x18(%rbx)
)

func TestReplaceFromInitCodeX86(t *testing.T) {
	tests := []struct {
		name string
		code *x86Code
		want livepatch.Replace
	}{
		{
			name: "store through callee-saved register",
			code: new(x86Code).call("__kmalloc_cache_noprof").raw(x86MovRAXToRBX...).call("printk").
				raw(x86StoreTrueRBX...).raw(x86MovRBXToRDI...).call("klp_enable_patch").raw(x86Ret...),
			want: fromInitCode(1, 1, "movb $0x1,0x18(%rbx) at .init.text+0xd"),
		},
		{
			name: "spilled to the stack across a call",
			code: new(x86Code).call("kmalloc_trace").raw(x86SpillRAX...).call("printk").
				raw(x86ReloadRDI...).raw(x86StoreTrueRDI...).jmp("klp_enable_patch"),
			want: fromInitCode(1, 1, "movb $0x1,0x18(%rdi) at .init.text+0x14"),
		},
		{
			name: "register value stored",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86MovImmOneToEAX...).
				raw(x86StoreEAXRBX...).raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: fromInitCode(1, 4, "mov %eax,0x18(%rbx) at .init.text+0xd with %eax = 0x1"),
		},
		{
			name: "pointer lost at a call",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRDI...).call("printk").
				raw(x86StoreTrueRDI...).call("klp_enable_patch").raw(x86Ret...),
			want: unknownFrom("pointer passed to klp_enable_patch at .init.text+0x11 is not traced to a kmalloc call"),
		},
		{
			name: "value computed at run time",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).call("get_flag").
				raw(x86StoreALRBX...).raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("replace is set to a value computed at run time: mov %al,0x18(%rbx) at .init.text+0xd"),
		},
		{
			name: "byte that is not a bool",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86StoreTwoRBX...).
				raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("byte store of 0x2 is not a bool: movb $0x2,0x18(%rbx) at .init.text+0x8"),
		},
		{
			name: "wide store over the field",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86StoreQuadRBX...).
				raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("8-byte store at offset 0x18 of the klp_patch overlaps replace: movq $0x1,0x18(%rbx) at .init.text+0x8"),
		},
		{
			name: "patch handed to another function",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86MovRAXToRDI...).call("klp_prepare").
				raw(x86StoreTrueRBX...).raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("klp_patch is passed to klp_prepare at .init.text+0xb, which may set replace"),
		},
		{
			name: "store through an untraced pointer",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86StoreTrueRBX...).
				raw(x86LoadRDXFromRCX...).raw(x86StoreFalseRDX...).raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("a store through an untraced pointer may set replace differently: " +
				"movb $0x1,0x18(%rbx) at .init.text+0x8; movb $0x0,0x18(%rdx) at .init.text+0xf"),
		},
		{
			name: "static klp_patch",
			// mov $patch,%rdi (R_X86_64_32S); movb $0x1,0x18(%rdi)
			code: func() *x86Code {
				c := new(x86Code)
				c.relocs = append(c.relocs, codeReloc{offset: 3, typ: uint32(elf.R_X86_64_32S), section: ".data", addend: 0x40})
				return c.raw(0x48, 0xc7, 0xc7, 0, 0, 0, 0).raw(x86StoreTrueRDI...).jmp("klp_enable_patch")
			}(),
			want: unknownFrom("klp_enable_patch at .init.text+0xb gets the address of .data+0x40, not a kmalloc result"),
		},
		{
			name: "no klp_enable_patch",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86StoreTrueRBX...).raw(x86Ret...),
			want: unknownFrom("init function does not call klp_enable_patch"),
		},
		{
			name: "enable call behind an indirect jump",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86StoreTrueRBX...).
				raw(x86JmpIndirectRAX...).raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("call of klp_enable_patch at .init.text+0x11 is not on a path the analysis follows"),
		},
		{
			name: "paths that disagree",
			// test %rax,%rax; je over the true store to the false store.
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86TestRAX...).
				raw(0x74, 0x06).raw(x86StoreTrueRBX...).raw(0xeb, 0x04).raw(x86StoreFalseRBX...).
				raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: unknownFrom("stores to replace disagree: movb $0x1,0x18(%rbx) at .init.text+0xd; movb $0x0,0x18(%rbx) at .init.text+0x13"),
		},
		{
			name: "paths that agree",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(x86TestRAX...).
				raw(0x74, 0x06).raw(x86StoreTrueRBX...).raw(0xeb, 0x04).raw(x86StoreTrueRBX...).
				raw(x86MovRBXToRDI...).jmp("klp_enable_patch"),
			want: fromInitCode(1, 1, "movb $0x1,0x18(%rbx) at .init.text+0xd (and 1 more stores of the same value)"),
		},
		{
			name: "truncated call",
			code: new(x86Code).call("__kmalloc").raw(x86MovRAXToRBX...).raw(0xe8, 0x00),
			want: unknownFrom("init function does not call klp_enable_patch"),
		},
		{
			name: "empty",
			code: new(x86Code),
			want: unknownFrom("init function is empty"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := replaceFromInitCode(tc.code.function(), 24)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("replaceFromInitCode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplaceFromInitCodeUnsupportedArch(t *testing.T) {
	fn := initFunction{
		arch:    livepatch.Arch{Name: "mips64", Machine: elf.EM_MIPS, ByteOrder: binary.BigEndian},
		section: ".init.text",
		code:    []byte{0, 0, 0, 0},
	}
	want := unknownFrom("reading replace from init code is not supported on mips64")
	if diff := cmp.Diff(want, replaceFromInitCode(fn, 24)); diff != "" {
		t.Errorf("replaceFromInitCode mismatch (-want +got):\n%s", diff)
	}
}

func TestIsKmalloc(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"__kmalloc", true},
		{"__kmalloc_cache_noprof", true},
		{"kmalloc_trace", true},
		{"kmem_cache_alloc_trace", true},
		{"kzalloc.constprop.0", true},
		{"kmalloc_array.constprop.0.isra.0", true},
		{"kfree", false},
		{"vmalloc", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := isKmalloc(tc.name); got != tc.want {
			t.Errorf("isKmalloc(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
