package elftest_test

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/klpcheck/klpcheck/internal/elftest"
)

func ExampleKlpBuild() {
	raw, err := elftest.KlpBuild(elftest.Patch{
		Arch: "x86_64",
		Name: "livepatch_fix",
		Objects: []elftest.Object{{
			Funcs: []elftest.Func{{OldName: "cmdline_proc_show", NewFunc: "cmdline_proc_show"}},
		}},
		Replace: elftest.ReplaceSpec{Value: 1},
	}).Bytes()
	if err != nil {
		panic(err)
	}

	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	for _, s := range f.Sections[1:] {
		fmt.Println(s.Name)
	}
	// Output:
	// .text.cmdline_proc_show
	// .init.text
	// .rela.init.text
	// .exit.text
	// .rodata.klp.str1.1
	// .init.klp_objects
	// .rela.init.klp_objects
	// .init.klp_funcs
	// .rela.init.klp_funcs
	// .modinfo
	// .gnu.linkonce.this_module
	// .rela.gnu.linkonce.this_module
	// .symtab
	// .strtab
	// .shstrtab
}

// A Mutate callback breaks a file after layout: here the .klp.rela section
// loses SHF_ALLOC, which makes the module loader drop it.
func ExampleFile_mutate() {
	f := elftest.HandWritten(elftest.Patch{
		Objects:   []elftest.Object{{Funcs: []elftest.Func{{OldName: "f", NewFunc: "new_f"}}}},
		KlpRelocs: []elftest.KlpReloc{{Symbol: ".klp.sym.vmlinux.helper,0"}},
	})
	f.Mutate = func(raw []byte, l *elftest.Layout) {
		i := l.SectionIndex(".klp.rela.vmlinux..text")
		l.SetSection(raw, i, elftest.ShFlags, uint64(elftest.SHF_RELA_LIVEPATCH|elf.SHF_INFO_LINK))
	}
	raw, err := f.Bytes()
	if err != nil {
		panic(err)
	}

	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%#x\n", uint64(ef.Section(".klp.rela.vmlinux..text").Flags))
	// Output:
	// 0x100040
}
