package main

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
)

// The oracle needs a few modules that the committed fixtures do not
// contain: a function listed twice, an object listed twice, other
// old_sympos values. The helpers below derive them from committed 6.1
// fixtures by changing single fields of the file, at offsets that
// elfscan reports, so the result is still a module that the kernel
// loads. They assume the x86_64 layout of the hand-written fixtures:
// struct klp_func starts with old_name (offset 0), new_func (8) and
// old_sympos (16); struct klp_object starts with name (offset 0); the
// pointers are R_X86_64_64 relocations in .rela.data.

// mutation changes the bytes of a module file in place. m is what
// elfscan read from the file and f its ELF headers.
type mutation func(m *livepatch.Module, f *elf.File, data []byte) error

// mutatedModule copies the fixture at src into dir under the same file
// name, applies change to its bytes and returns the new path.
func mutatedModule(t *testing.T, src, dir string, change mutation) string {
	t.Helper()
	m, err := elfscan.Open(src)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytesReaderAt(data))
	if err != nil {
		t.Fatalf("parse %s: %v", src, err)
	}
	if err := change(m, f, data); err != nil {
		t.Fatalf("mutate %s: %v", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, fmt.Errorf("offset %d past end", off)
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, fmt.Errorf("short read at %d", off)
	}
	return n, nil
}

// setSympos stores value as the old_sympos of function fn of object obj.
func setSympos(obj, fn int, value uint64) mutation {
	return func(m *livepatch.Module, f *elf.File, data []byte) error {
		loc := m.Objects[obj].Funcs[fn].Location
		sec := f.Section(loc.Section)
		if sec == nil {
			return fmt.Errorf("no section %s", loc.Section)
		}
		binary.LittleEndian.PutUint64(data[sec.Offset+loc.Offset+16:], value)
		return nil
	}
}

// copyOldName points the old_name of function to at the string of
// function from, both in object obj, so the object lists one name twice.
func copyOldName(obj, from, to int) mutation {
	return func(m *livepatch.Module, f *elf.File, data []byte) error {
		funcs := m.Objects[obj].Funcs
		src, err := relocAt(f, funcs[from].Location)
		if err != nil {
			return err
		}
		dst, err := relocAt(f, funcs[to].Location)
		if err != nil {
			return err
		}
		copy(data[dst:dst+24], data[src:src+24])
		// Keep the entry's own r_offset.
		binary.LittleEndian.PutUint64(data[dst:], funcs[to].Location.Offset)
		return nil
	}
}

// nullObjectName turns the relocation that sets the name of object obj
// into R_X86_64_NONE, so that the name stays NULL and the object is a
// second vmlinux object.
func nullObjectName(obj int) mutation {
	return func(m *livepatch.Module, f *elf.File, data []byte) error {
		at, err := relocAt(f, m.Objects[obj].Location)
		if err != nil {
			return err
		}
		info := binary.LittleEndian.Uint64(data[at+8:])
		binary.LittleEndian.PutUint64(data[at+8:], info&^0xffffffff|uint64(elf.R_X86_64_NONE))
		return nil
	}
}

// relocAt returns the file offset of the Elf64_Rela entry that applies to
// offset loc.Offset of section loc.Section.
func relocAt(f *elf.File, loc livepatch.Location) (uint64, error) {
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA || int(s.Info) >= len(f.Sections) || f.Sections[s.Info].Name != loc.Section {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return 0, err
		}
		for off := 0; off+24 <= len(data); off += 24 {
			if binary.LittleEndian.Uint64(data[off:]) == loc.Offset {
				return s.Offset + uint64(off), nil
			}
		}
	}
	return 0, fmt.Errorf("no relocation at %s+%#x", loc.Section, loc.Offset)
}
