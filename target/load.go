package target

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/klpcheck/klpcheck/elfscan"
)

// maxTextSize bounds the size of a text input in bytes. A /proc/kallsyms
// dump of a distribution kernel with a few hundred modules loaded is
// about 20 MiB, so a larger file is not one of the text inputs.
const maxTextSize = 256 << 20

// maxLineLen bounds one line of a text input. Symbol names are at most
// KSYM_NAME_LEN (512 since 6.1) bytes, so a longer line is corrupt.
const maxLineLen = 64 << 10

// Load reads every path into one Target. Each path is recognised by its
// content, as the package documentation describes. A path that fails to
// load adds an error and the others are still read; the Target holds
// what was read.
func Load(paths []string) (*Target, []error) {
	t := &Target{}
	var errs []error
	for _, p := range paths {
		errs = append(errs, t.loadPath(p)...)
	}
	return t, errs
}

// LoadPath reads one more input into t. It returns the errors of the
// input, joined: a package directory can add several inputs, and one
// failing input does not stop the others.
func (t *Target) LoadPath(path string) error {
	return errors.Join(t.loadPath(path)...)
}

// contents is what one input gives, collected before any of it is merged
// into the Target, so that an input that fails halfway adds nothing.
type contents struct {
	input Input

	// vmlinux holds vmlinux's symbols when the input gives them.
	vmlinux *Object

	// modules are module objects with their symbols (a .ko file, or the
	// modules of a /proc/kallsyms dump).
	modules []*Object
	// modulePaths maps module names to files read on first use.
	modulePaths map[string]string
	// allModules is set when the input lists every module of the target.
	allModules bool
	builtin    []string
	// loaded lists the modules a /proc/kallsyms dump names, non-nil only
	// for such a dump.
	loaded []string

	exports []Export
	// exportsVmlinux and exportsModules say which exports the input
	// lists completely.
	exportsVmlinux bool
	exportsModules bool

	filter     []filterEntry
	filterRead bool

	release  string
	vermagic string

	// extra lists further files to load, found inside a package
	// directory.
	extra []string
}

// filterEntry is one line of available_filter_functions.
type filterEntry struct{ object, name string }

// loadPath reads path and merges it into t.
func (t *Target) loadPath(path string) []error {
	st, err := os.Stat(path)
	if err != nil {
		return []error{&Error{Path: path, Err: unwrapPathError(err)}}
	}

	var c *contents
	if st.IsDir() {
		c, err = readModulesDir(path)
	} else {
		c, err = readFile(path)
	}
	if err != nil {
		return []error{withPath(path, err)}
	}
	c.input.Path = path

	if err := t.merge(c); err != nil {
		// A rejected package directory's own vmlinux and System.map come
		// from the same build, so they are left out too.
		return []error{withPath(path, err)}
	}
	var errs []error
	for _, p := range c.extra {
		errs = append(errs, t.loadPath(p)...)
	}
	return errs
}

// LoadKallsymsExcerpt reads path as lines that a caller selected from a
// /proc/kallsyms dump, such as the lines naming some symbols, and merges
// their vmlinux symbols as a kallsyms dump's. The lines of modules are
// left out, and so is the list of loaded modules, because an excerpt
// shows neither all of a module's symbols nor every loaded module.
func (t *Target) LoadKallsymsExcerpt(path string) error {
	text, err := readTextFile(path)
	if err != nil {
		return withPath(path, err)
	}
	lines, err := parseMapLines(text)
	if err != nil {
		return withPath(path, err)
	}

	vmlinux := lines[:0]
	allZero := true
	for _, l := range lines {
		if l.module == "" {
			vmlinux = append(vmlinux, l)
			allZero = allZero && l.addr == 0
		}
	}
	c := kallsymsContents(vmlinux, allZero && len(vmlinux) > 0, false)
	c.input.Path = path
	return withPath(path, t.merge(c))
}

// readTextFile reads a whole text input, decompressing it as readFile
// does.
func readTextFile(path string) (string, error) {
	r, size, closeFile, err := elfscan.OpenDecompressed(path)
	if err != nil {
		return "", unwrapPathError(err)
	}
	defer closeFile()

	if size > maxTextSize {
		return "", fmt.Errorf("read: at %d bytes too large for a text input (at most %d bytes)", size, maxTextSize)
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return "", fmt.Errorf("read: %w", err)
	}
	return string(data), nil
}

// readFile opens a file, decompressing it when it starts with the xz,
// zstd or gzip magic, and reads it by its content: ELF or text.
func readFile(path string) (*contents, error) {
	r, size, closeFile, err := elfscan.OpenDecompressed(path)
	if err != nil {
		return nil, err
	}
	defer closeFile()

	var head [0x206]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}

	switch {
	case n >= 4 && string(head[:4]) == elf.ELFMAG:
		return readELF(r, size, path)
	case n >= 0x206 && string(head[0x202:0x206]) == "HdrS":
		// The x86 boot protocol puts "HdrS" at offset 0x202 of a
		// bzImage (Documentation/arch/x86/boot.rst).
		return nil, errors.New("read: this is a compressed kernel image (vmlinuz), which has no symbol table; give the vmlinux from the kernel's debug package (for Debian, linux-image-<release>-dbg) or System.map")
	}
	return readText(r, size)
}

// readELF reads a vmlinux (ET_EXEC or ET_DYN) or a module (ET_REL).
func readELF(r io.ReaderAt, size int64, path string) (*contents, error) {
	f, err := elfscan.NewELFFile(r, size)
	if err != nil {
		return nil, err
	}
	ef := &elfFile{r: r, size: size, f: f, bo: f.ByteOrder}

	switch f.Type {
	case elf.ET_EXEC, elf.ET_DYN:
		return readVmlinux(ef)
	case elf.ET_REL:
		o, err := readModule(ef, path)
		if err != nil {
			return nil, err
		}
		c := &contents{input: Input{Kind: KindModule, Symbols: len(o.Symbols)}, modules: []*Object{o}}
		c.exports = o.Exports
		c.vermagic = o.Vermagic
		c.release = releaseOfVermagic(o.Vermagic)
		return c, nil
	}
	return nil, fmt.Errorf("read ELF header: ELF type %v is neither a kernel image (ET_EXEC, ET_DYN) nor a module (ET_REL)", f.Type)
}

// readText reads a text input of at most maxTextSize bytes and parses it
// by the format of its first line.
func readText(r io.ReaderAt, size int64) (*contents, error) {
	if size > maxTextSize {
		return nil, fmt.Errorf("read: not an ELF file, and at %d bytes too large for a text input (at most %d bytes)", size, maxTextSize)
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}
	if i := bytes.IndexByte(data[:min(len(data), 4096)], 0); i >= 0 {
		return nil, fmt.Errorf("read: binary data (a NUL byte at offset %d) that is neither ELF nor text", i)
	}
	text := string(data)

	kind, line, number := detectText(text)
	switch kind {
	case KindModuleSymvers:
		return parseSymvers(text)
	case KindSystemMap:
		return parseSymbolMap(text)
	case KindFilterFunctions:
		return parseFilterFunctions(text)
	}
	if number == 0 {
		return nil, errors.New("read: the file has no content lines")
	}
	return nil, unrecognisedText(line, number)
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
