// Package elftest writes synthetic ELF64 kernel modules for klpcheck's
// tests. It lays out livepatch modules as Kbuild (for hand-written C),
// kpatch-build and klp-build produce them, for every architecture klpcheck
// reads, and it writes malformed files that no compiler produces.
//
// # High level
//
// HandWritten, KpatchBuild and KlpBuild turn a short Patch description into
// a complete module:
//
//	raw, err := elftest.KlpBuild(elftest.Patch{
//		Arch: "arm64",
//		Name: "livepatch_fix",
//		Objects: []elftest.Object{{
//			Funcs: []elftest.Func{{OldName: "cmdline_proc_show", NewFunc: "livepatch_cmdline_proc_show"}},
//		}},
//		Replace: elftest.ReplaceSpec{Value: 1},
//	}).Bytes()
//
// The builders return the *File before encoding, so a test can still edit
// a section, symbol or relocation before calling Bytes. They panic on a
// Patch they cannot represent, which is a bug in the calling test.
//
// kpatch-build and klp-build modules keep the replace flag in code, not in
// data, so their init function is real machine code for the target
// architecture: it calls an allocator, keeps the klp_patch pointer in a
// callee-saved register and stores the replace value at offset 24
// (ReplaceSpec chooses the width, or no store, or two conflicting stores).
// testdata/initcode.txtar lists that code for every architecture.
//
// # Low level
//
// File, Section, Symbol and Reloc describe an ELF64 relocatable file
// directly. Bytes adds the null section, .rela sections, .symtab, .strtab
// and .shstrtab, and puts local symbols first. A Mutate callback receives
// the encoded file and its Layout and may overwrite any header, symbol or
// relocation field, which is how tests build files with broken offsets,
// indexes or sizes. ELFCLASS32 output is a bare ELF header, enough for a
// reader to reject the class.
package elftest
