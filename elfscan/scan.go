// Package elfscan reads Linux livepatch kernel modules (.ko files) into the
// livepatch model.
//
// It understands the three layouts in use: a static struct klp_patch in
// data (hand-written modules, the kernel samples and selftests), the
// .kpatch.funcs table of kpatch-build, and the klp_object_ext arrays of the
// kernel's klp-build (6.19+). It also reads the klp relocation sections and
// symbols, .modinfo, undefined symbols and __versions, and recovers the
// replace flag from data, from a module parameter, or from the init code
// that kpatch-build and klp-build compile it into.
//
// Reading is deterministic and independent of the host: sections and
// symbols are walked in index order, so the first error is always the same.
//
// # Security
//
// Modules are untrusted input. Every offset, size and count is checked
// against the file before use, allocation is bounded by the input size,
// and panics inside debug/elf are turned into errors. Compressed modules
// are decompressed up to MaxDecompressedSize.
package elfscan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/ulikunitz/xz"
)

// MaxDecompressedSize bounds the decompressed size of a .ko.xz, .ko.zst or
// .ko.gz module, in bytes. The largest modules of a distro kernel are tens
// of MiB, so a larger result is treated as corrupt or hostile input.
const MaxDecompressedSize = 1 << 30

// moduleSuffixes are the file names Discover collects from directories.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// Open reads the livepatch module at path. Compressed modules (.ko.xz,
// .ko.zst, .ko.gz) are recognised by their magic bytes, not their names.
// Every error is an *Error naming path; a module without any livepatch
// marker gives one wrapping ErrNotLivepatch.
func Open(path string) (*livepatch.Module, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Err: fmt.Errorf("open: %w", unwrapPathError(err))}
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Path: path, Err: fmt.Errorf("stat: %w", unwrapPathError(err))}
	}
	if st.IsDir() {
		return nil, &Error{Path: path, Err: errors.New("is a directory")}
	}

	r, size, release, err := decompress(f, st.Size())
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	defer release()
	return Parse(r, size, path)
}

// unwrapPathError drops the path that *fs.PathError repeats, since Error
// already names the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decompress returns a reader over the module's ELF bytes and a function
// that releases what the reader holds. A plain ELF file is read in place,
// in blocks on demand. A compressed one is decompressed into memory up to
// inMemoryLimit bytes, and the rest into an unlinked temporary file, so
// that a file that expands without end costs at most MaxDecompressedSize
// bytes of disk before it is rejected, not memory.
func decompress(f *os.File, size int64) (io.ReaderAt, int64, func(), error) {
	plain := newBlockReader(f, size)
	nothing := func() {}
	var magic [6]byte
	n, err := plain.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		return nil, 0, nil, fmt.Errorf("read magic: %w", err)
	}
	head := magic[:n]

	var (
		dec    io.Reader
		format string
	)
	switch {
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		format = "xz"
		// The xz decoder reads its input a byte at a time, which
		// without a buffer is one pread per byte.
		xr, err := xz.NewReader(bufio.NewReader(io.NewSectionReader(f, 0, size)))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("decompress xz: %w", err)
		}
		dec = xr
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		format = "zstd"
		zr, err := zstd.NewReader(io.NewSectionReader(f, 0, size), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxDecompressedSize))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("decompress zstd: %w", err)
		}
		defer zr.Close()
		dec = zr
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		format = "gzip"
		gr, err := gzip.NewReader(io.NewSectionReader(f, 0, size))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("decompress gzip: %w", err)
		}
		dec = gr
	default:
		return plain, size, nothing, nil
	}

	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(dec, inMemoryLimit+1)); err != nil {
		return nil, 0, nil, fmt.Errorf("decompress %s: %w", format, err)
	}
	if buf.Len() <= inMemoryLimit {
		return memFile(buf.Bytes()), int64(buf.Len()), nothing, nil
	}

	tmp, err := os.CreateTemp("", "klpcheck-*.ko")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("decompress %s: create temporary file for output over %d bytes: %w", format, inMemoryLimit, err)
	}
	// The file stays readable through tmp after its name is gone, so
	// nothing is left behind once klpcheck exits, even when it is killed
	// after this point.
	os.Remove(tmp.Name())
	release := func() { tmp.Close() }

	// buf holds inMemoryLimit+1 bytes, so the total stops one byte past
	// the limit.
	written, err := io.Copy(tmp, io.MultiReader(&buf, io.LimitReader(dec, MaxDecompressedSize-inMemoryLimit)))
	if err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("decompress %s: %w", format, err)
	}
	if written > MaxDecompressedSize {
		release()
		return nil, 0, nil, fmt.Errorf("decompress %s: output exceeds %d bytes", format, MaxDecompressedSize)
	}
	return newBlockReader(tmp, written), written, release, nil
}

// inMemoryLimit is how much decompressed data decompress keeps in memory,
// in bytes. Kernel modules without debug information are far smaller.
const inMemoryLimit = 64 << 20

// Parse reads a livepatch module of size bytes from r. name is used as the
// module path in errors and in the result.
func Parse(r io.ReaderAt, size int64, name string) (*livepatch.Module, error) {
	m, err := parse(r, size, name)
	if err != nil {
		return nil, toError(name, err)
	}
	return m, nil
}

// parse runs the reading steps in order. Each step wraps its errors with
// what it was doing.
func parse(r io.ReaderAt, size int64, name string) (*livepatch.Module, error) {
	mf, err := newModuleFile(r, size)
	if err != nil {
		return nil, err
	}

	m := &livepatch.Module{Path: name, Arch: mf.arch}

	if err := readModInfo(mf, m); err != nil {
		return nil, fmt.Errorf("read .modinfo: %w", err)
	}

	// Most modules of a kernel tree are not livepatches, so they are
	// rejected on the raw symbol table before the decoding below.
	if !m.Livepatch && !hasSectionMarker(mf) {
		if found, err := hasSymbolMarker(mf); err == nil && !found {
			return nil, ErrNotLivepatch
		}
	}

	if err := mf.loadSymbols(); err != nil {
		return nil, err
	}

	if !hasLivepatchMarker(mf, m) {
		return nil, ErrNotLivepatch
	}
	if mf.symtabIdx < 0 {
		return nil, errors.New("read symbols: no .symtab; a livepatch module needs its full symbol table because klp relocations refer to it by index")
	}

	if err := readModuleName(mf, m, name); err != nil {
		return nil, fmt.Errorf("read module name: %w", err)
	}

	if err := readKlpSections(mf, m); err != nil {
		return nil, fmt.Errorf("read klp relocations: %w", err)
	}

	readUndefined(mf, m)

	if err := readVersions(mf, m); err != nil {
		return nil, fmt.Errorf("read __versions: %w", err)
	}

	if err := readBuildID(mf, m); err != nil {
		return nil, fmt.Errorf("read build ID: %w", err)
	}

	if err := readPatch(mf, m); err != nil {
		return nil, err
	}

	demangleNames(m)
	return m, nil
}

// Discover expands command-line paths into module files, as Walk does,
// and fails on the first path or entry that cannot be read.
func Discover(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		found, problems := Walk(p)
		if len(problems) > 0 {
			return nil, problems[0]
		}
		files = append(files, found...)
	}
	return files, nil
}

// Walk expands one command-line path into module files. A file is taken
// as given. A directory, or a symbolic link to one, is walked for .ko,
// .ko.xz, .ko.zst and .ko.gz files, returned in lexical path order, as
// kpatch load --all would load them. A symbolic link inside it counts as
// the file it points to. Links to directories are not followed, so that a
// link loop cannot make the walk endless.
//
// An entry that cannot be read, such as a subdirectory without permission
// or a dangling module link, is returned as a problem, and the walk goes on
// with the rest. A path that does not exist is the only problem.
func Walk(path string) (files []string, problems []*Error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, []*Error{{Path: path, Err: unwrapPathError(err)}}
	}
	if !st.IsDir() {
		return []string{path}, nil
	}

	// WalkDir does not follow a link given as its root, so a trailing
	// separator is added to make the lookup resolve it.
	root := path
	if lst, err := os.Lstat(path); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		root = path + string(filepath.Separator)
	}

	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, &Error{Path: p, Err: unwrapPathError(err)})
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if !isModuleName(d.Name()) {
			return nil
		}
		switch {
		case d.Type().IsRegular():
			files = append(files, p)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Stat(p)
			switch {
			case err != nil:
				problems = append(problems, &Error{Path: p, Err: fmt.Errorf("follow symbolic link: %w", unwrapPathError(err))})
			case target.Mode().IsRegular():
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		problems = append(problems, &Error{Path: path, Err: unwrapPathError(err)})
	}
	sort.Strings(files)
	return files, problems
}

func isModuleName(name string) bool {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
