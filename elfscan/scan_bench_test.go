package elfscan_test

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/internal/elftest"
)

// benchPatch returns a 50-function x86_64 patch like those of the
// benchmark corpus (bench/gen): 45 vmlinux functions and 5 in a module
// object, three klp relocations, eight imports with __versions entries.
func benchPatch(name string, seed int) elftest.Patch {
	var vmlinux, ext4 []elftest.Func
	for i := range 45 {
		old := fmt.Sprintf("net_rcv_%d", seed*100+i)
		vmlinux = append(vmlinux, elftest.Func{OldName: old, NewFunc: old})
	}
	for i := range 5 {
		old := fmt.Sprintf("ext4_write_%d", seed*100+i)
		ext4 = append(ext4, elftest.Func{OldName: old, NewFunc: old})
	}

	p := elftest.Patch{
		Name:      name,
		Vermagic:  vermagic61,
		Objects:   []elftest.Object{{Funcs: vmlinux}, {Name: "ext4", Funcs: ext4}},
		Replace:   elftest.ReplaceSpec{Value: 1},
		Allocator: "kmalloc_trace",
		KlpRelocs: []elftest.KlpReloc{
			{Symbol: ".klp.sym.vmlinux.net_state,0"},
			{Symbol: ".klp.sym.vmlinux.net_lock,0"},
			{Object: "ext4", Symbol: ".klp.sym.ext4.ext4_lookup,0"},
		},
		Undefined: []string{"_printk", "mutex_lock", "mutex_unlock", "kfree", "schedule", "memcpy", "memset", "jiffies"},
	}
	for _, u := range append([]string{"klp_enable_patch", "kmalloc_trace"}, p.Undefined...) {
		p.Versions = append(p.Versions, elftest.SymbolVersion{Name: u, CRC: 0x1234})
	}
	return p
}

// benchModule encodes a benchmark patch with one producer.
func benchModule(tb testing.TB, producer string, seed int) []byte {
	tb.Helper()
	p := benchPatch(fmt.Sprintf("lp%05d_%s", seed, producer), seed)
	var f *elftest.File
	switch producer {
	case "kpatch":
		f = elftest.KpatchBuild(p)
	case "klpbuild":
		f = elftest.KlpBuild(p)
	default:
		p.Allocator, p.KlpRelocs = "", nil
		f = elftest.HandWritten(p)
	}
	raw, err := f.Bytes()
	if err != nil {
		tb.Fatalf("encode %s module: %v", producer, err)
	}
	return raw
}

// plainDriver encodes an ordinary kernel module with no livepatch marker:
// a .modinfo without livepatch=Y, 2,000 symbols and 4,000 relocations,
// about the size of a mid-sized driver.
func plainDriver(tb testing.TB) []byte {
	tb.Helper()
	f := &elftest.File{Machine: elf.EM_X86_64}
	text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 16})
	text.Data = make([]byte, 64<<10)
	f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 1,
		Data: []byte("license=GPL\x00description=plain driver\x00depends=\x00name=plain\x00vermagic=" + vermagic61 + "\x00")})

	var callees []*elftest.Symbol
	for i := range 500 {
		callees = append(callees, f.AddSymbol(&elftest.Symbol{Name: fmt.Sprintf("kernel_export_%d", i), Bind: elf.STB_GLOBAL}))
	}
	for i := range 1500 {
		f.AddSymbol(&elftest.Symbol{Name: fmt.Sprintf("plain_function_%d", i), Section: text, Value: uint64(i * 32), Size: 32, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	}
	for i := range 4000 {
		text.Relocs = append(text.Relocs, elftest.Reloc{Offset: uint64(i * 16), Type: uint32(elf.R_X86_64_PLT32), Symbol: callees[i%len(callees)], Addend: -4})
	}
	raw, err := f.Bytes()
	if err != nil {
		tb.Fatalf("encode plain module: %v", err)
	}
	return raw
}

func writeBenchFile(tb testing.TB, dir, name string, raw []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkOpen reads one module file per iteration, for each producer
// and for a module that is not a livepatch.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	files := map[string][]byte{
		"kpatch":      benchModule(b, "kpatch", 1),
		"klpbuild":    benchModule(b, "klpbuild", 1),
		"handwritten": benchModule(b, "handwritten", 1),
		"plain":       plainDriver(b),
	}
	for _, name := range []string{"kpatch", "klpbuild", "handwritten", "plain"} {
		path := writeBenchFile(b, dir, name+".ko", files[name])
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(files[name])))
			for b.Loop() {
				_, err := elfscan.Open(path)
				if name == "plain" {
					if err == nil {
						b.Fatal("plain module read as a livepatch")
					}
				} else if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenAll reads 300 module files of the three producers per
// iteration with GOMAXPROCS workers.
func BenchmarkOpenAll(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	var size int64
	producers := []string{"kpatch", "klpbuild", "handwritten"}
	for i := range 300 {
		raw := benchModule(b, producers[i%len(producers)], i)
		size += int64(len(raw))
		paths = append(paths, writeBenchFile(b, dir, fmt.Sprintf("lp%05d.ko", i), raw))
	}

	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		for _, r := range elfscan.OpenAll(paths, runtime.GOMAXPROCS(0)) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}
