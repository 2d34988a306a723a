package livepatch

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"
)

// ELF extensions for livepatch modules, from include/uapi/linux/elf.h.
// debug/elf has no names for them.
const (
	// SHF_RELA_LIVEPATCH marks a klp relocation section.
	SHF_RELA_LIVEPATCH elf.SectionFlag = 0x00100000
	// SHN_LIVEPATCH is the st_shndx of a klp symbol, resolved by the
	// livepatch core instead of the module loader. debug/elf prints it as
	// SHN_LOOS.
	SHN_LIVEPATCH elf.SectionIndex = 0xff20
)

// Name prefixes of klp relocation sections and klp symbols.
const (
	RelocSectionPrefix = ".klp.rela."
	SymbolPrefix       = ".klp.sym."
	// ArchSectionPrefix names .klp.arch.* sections, applied on x86 before
	// 5.8 and ignored since commit 1d05334d2899 ("livepatch: Remove
	// .klp.arch").
	ArchSectionPrefix = ".klp.arch."
)

// ModuleNameLen is MODULE_NAME_LEN on 64-bit kernels, including the NUL: an
// object name of 56 bytes or more can never match a module, and
// klp_init_object rejects it with -EINVAL.
const ModuleNameLen = 56

// KsymNameLen returns KSYM_NAME_LEN, including the NUL, for a kernel: 512
// from 6.1 (raised for Rust), 128 before. An unknown version gets 512.
func KsymNameLen(v KernelVersion) int {
	if v.Known() && !v.AtLeast(6, 1) {
		return 128
	}
	return 512
}

// RelocSectionObject parses a klp relocation section name the way
// klp_write_section_relocs does, with sscanf(".klp.rela.%55[^.]").
//
// The kernel reads at most 55 bytes of the object name and ignores the
// rest, so a longer name parses but comes back truncated, and truncated is
// set: such a section can never match an object. The part after the object
// name is not parsed; the kernel takes the target section from sh_info.
func RelocSectionObject(name string) (obj string, truncated bool, err error) {
	rest, ok := strings.CutPrefix(name, RelocSectionPrefix)
	if !ok {
		return "", false, fmt.Errorf("section %s has an incorrectly formatted name: missing prefix %q", name, RelocSectionPrefix)
	}

	n := scanSet(rest, ModuleNameLen-1, '.')
	if n == 0 {
		return "", false, fmt.Errorf("section %s has an incorrectly formatted name: empty object name", name)
	}
	obj = rest[:n]
	truncated = n < len(rest) && rest[n] != '.'
	return obj, truncated, nil
}

// SymbolName is a parsed ".klp.sym.<objname>.<symbol>,<sympos>" name.
type SymbolName struct {
	Object string
	Symbol string
	Sympos uint64
}

// ParseSymbolName parses a klp symbol name the way klp_resolve_symbols does,
// with sscanf(".klp.sym.%55[^.].%511[^,],%lu"), where 511 is
// KsymNameLen(kernel)-1 (127 before 6.1).
//
// The object name ends at the first '.', and everything up to the first ','
// is the symbol name, so symbol names may contain dots (foo.isra.0) but never
// a comma. sscanf ignores anything after the number.
func ParseSymbolName(name string, kernel KernelVersion) (SymbolName, error) {
	var parsed SymbolName
	fail := func(reason string) (SymbolName, error) {
		return SymbolName{}, fmt.Errorf("symbol %s has an incorrectly formatted name: %s", name, reason)
	}

	rest, ok := strings.CutPrefix(name, SymbolPrefix)
	if !ok {
		return fail(fmt.Sprintf("missing prefix %q", SymbolPrefix))
	}

	n := scanSet(rest, ModuleNameLen-1, '.')
	if n == 0 {
		return fail("empty object name")
	}
	if n == len(rest) || rest[n] != '.' {
		return fail(fmt.Sprintf("object name longer than %d bytes or not followed by '.'", ModuleNameLen-1))
	}
	parsed.Object = rest[:n]
	rest = rest[n+1:]

	width := KsymNameLen(kernel) - 1
	n = scanSet(rest, width, ',')
	if n == 0 {
		return fail("empty symbol name")
	}
	if n == len(rest) || rest[n] != ',' {
		return fail(fmt.Sprintf("symbol name longer than %d bytes or missing ',<sympos>'", width))
	}
	parsed.Symbol = rest[:n]
	rest = rest[n+1:]

	sympos, ok := scanUnsigned(rest)
	if !ok {
		return fail(fmt.Sprintf("sympos %q is not a decimal number", rest))
	}
	parsed.Sympos = sympos
	return parsed, nil
}

// scanSet returns how many leading bytes of s a sscanf %<width>[^stop]
// conversion consumes. The kernel's vsscanf also stops at the end of the
// string.
func scanSet(s string, width int, stop byte) int {
	n := 0
	for n < len(s) && n < width && s[n] != stop {
		n++
	}
	return n
}

// scanUnsigned parses the leading decimal number of s as the kernel's %lu
// does: leading white space is skipped, a sign is not accepted, and trailing
// bytes are ignored.
//
// NOTE: the kernel's simple_strtoull wraps on overflow; this saturates at the
// maximum uint64, which only matters for sympos values no producer writes.
func scanUnsigned(s string) (uint64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}

	var v uint64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			return ^uint64(0), true
		}
		v = v*10 + d
	}
	return v, true
}

// SysfsSympos returns the position the kernel shows in a sysfs function
// directory name "<func>,<sympos>": 0 is shown as 1.
func SysfsSympos(sympos uint64) uint64 {
	if sympos == 0 {
		return 1
	}
	return sympos
}

// FuncName joins an object, a function and its sympos as
// "object:function,sympos", the form kpatch and sysfs use. Parts that are
// absent are left out together with their separator.
func FuncName(object, function string, sympos uint64, hasSympos bool) string {
	if function == "" {
		return object
	}

	// One allocation: reports call this for every patched function.
	var b strings.Builder
	b.Grow(len(object) + 1 + len(function) + 21)
	if object != "" {
		b.WriteString(object)
		b.WriteByte(':')
	}
	b.WriteString(function)
	if hasSympos {
		var digits [20]byte
		b.WriteByte(',')
		b.Write(strconv.AppendUint(digits[:0], sympos, 10))
	}
	return b.String()
}
