package elfscan

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// OpenDecompressed opens the file at path for random access. A file that
// starts with the xz, zstd or gzip magic is decompressed into memory, up to
// MaxDecompressedSize bytes. Any other file is read in place. It returns
// the reader, the size of the decompressed contents and a function that
// closes the file. Errors do not repeat path.
//
// Package target uses it to read .ko.xz, .ko.zst and .ko.gz target modules
// the same way Open reads livepatch modules.
func OpenDecompressed(path string) (r io.ReaderAt, size int64, closeFile func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("open: %w", unwrapPathError(err))
	}

	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("stat: %w", unwrapPathError(err))
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, nil, errors.New("is a directory")
	}

	r, size, release, err := decompress(f, st.Size())
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	closeAll := func() error {
		release()
		return f.Close()
	}
	return r, size, closeAll, nil
}

// NewELFFile parses the ELF header and section headers of a 64-bit ELF
// file of any type (ET_REL, ET_EXEC or ET_DYN) and any machine. Like the
// module reader it checks that the section header table, the section name
// table and every section's data lie inside size bytes, and it turns a
// panic inside debug/elf into an error.
func NewELFFile(r io.ReaderAt, size int64) (f *elf.File, err error) {
	defer recoverTo(&err, "read ELF header")

	var ident [elf.EI_NIDENT]byte
	n, _ := r.ReadAt(ident[:], 0)
	if n < 4 || string(ident[:4]) != elf.ELFMAG {
		return nil, fmt.Errorf("read ELF header: not an ELF file (starts with %q)", ident[:min(n, 4)])
	}
	if elf.Class(ident[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return nil, fmt.Errorf("read ELF header: %v file, but only 64-bit kernels are supported", elf.Class(ident[elf.EI_CLASS]))
	}
	if size < elf64HeaderSize {
		return nil, fmt.Errorf("read ELF header: file is %d bytes, too short for an ELF64 header (%d bytes)", size, elf64HeaderSize)
	}
	if err := checkHeaderTables(r, size, ident); err != nil {
		return nil, err
	}

	f, err = elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("read ELF header: %w", err)
	}

	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Offset > uint64(size) || s.FileSize > uint64(size)-s.Offset {
			return nil, errIn(s.Name, "section data [%#x, +%#x) extends past end of file (%d bytes)", s.Offset, s.FileSize, size)
		}
	}
	return f, nil
}
