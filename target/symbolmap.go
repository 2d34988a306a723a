package target

import (
	"fmt"
	"slices"
	"strings"
)

// mapLine is one parsed line of System.map or /proc/kallsyms.
type mapLine struct {
	addr   uint64
	typ    byte
	name   string
	module string
}

// parseSymbolMap reads System.map or a /proc/kallsyms dump. Both have
// "ADDRESS TYPE NAME" lines; /proc/kallsyms adds a tab and "[MODULE]" to
// the symbols of loaded modules, and prints every address as zero to a
// reader without CAP_SYSLOG. A file with either sign is taken as a
// kallsyms dump, any other as System.map.
func parseSymbolMap(text string) (*contents, error) {
	lines, err := parseMapLines(text)
	if err != nil {
		return nil, err
	}

	allZero, tagged := len(lines) > 0, false
	for _, l := range lines {
		if l.addr != 0 {
			allZero = false
		}
		if l.module != "" {
			tagged = true
		}
	}
	if tagged || allZero {
		return kallsymsContents(lines, allZero, true), nil
	}
	return systemMapContents(lines), nil
}

// parseMapLines parses every non-empty line as ADDRESS TYPE NAME with an
// optional [MODULE].
func parseMapLines(text string) ([]mapLine, error) {
	lines := make([]mapLine, 0, strings.Count(text, "\n")+1)
	err := forEachLine(text, func(n int, line string) error {
		var f [4]string
		count := splitFields(line, " \t", f[:])
		if count == 0 {
			return nil
		}
		if count < 3 || count > 4 {
			return lineError(n, "found %d fields, want ADDRESS TYPE NAME and an optional [MODULE]", count)
		}

		addr, ok := parseHex(f[0])
		if !ok {
			return lineError(n, "invalid address %q, want up to 16 hexadecimal digits", f[0])
		}
		if len(f[1]) != 1 || !isTypeLetter(f[1][0]) {
			return lineError(n, "invalid symbol type %q, want one letter as nm prints it", f[1])
		}
		if !isSymbolName(f[2]) {
			// GNU as names numbered local labels .L<n>\002<m>, and the
			// arm64 hypervisor prefix keeps them visible in System.map
			// (Debian 6.1 arm64 has 66). kallsyms drops them by prefix, so
			// the line is skipped instead of refused.
			if ignoredName(f[2]) {
				return nil
			}
			return lineError(n, "invalid symbol name %q", f[2])
		}

		l := mapLine{addr: addr, typ: f[1][0], name: f[2]}
		if count == 4 {
			if !isModuleTag(f[3]) {
				return lineError(n, "invalid module tag %q, want [MODULE]", f[3])
			}
			l.module = f[3][1 : len(f[3])-1]
		}
		lines = append(lines, l)
		return nil
	})
	return lines, err
}

// isTypeLetter reports whether c is an nm symbol type: a letter, or ? for
// a symbol kallsyms cannot classify.
func isTypeLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '?'
}

// isFuncType reports whether an nm type letter marks code: t and T, and
// W or w for a weak symbol that is not an object (a weak function).
func isFuncType(c byte) bool {
	return c == 't' || c == 'T' || c == 'W' || c == 'w'
}

// systemMapContents turns System.map lines into vmlinux's kallsyms list:
// it drops what scripts/kallsyms drops from its nm input and sorts the
// rest in kallsyms order, which nm -n order almost always is already.
func systemMapContents(lines []mapLine) *contents {
	symbols := make([]Symbol, 0, len(lines))
	entries := make([]orderEntry, 0, len(lines))
	for _, l := range lines {
		if ignoredType(l.typ) || ignoredName(l.name) {
			continue
		}
		entries = append(entries, orderEntry{addr: l.addr, pos: int32(len(symbols)), weak: l.typ == 'W' || l.typ == 'w'})
		symbols = append(symbols, Symbol{Name: l.name, Addr: l.addr, Func: isFuncType(l.typ)})
	}

	o := &Object{Name: "vmlinux", Kind: KindSystemMap, Symbols: kallsymsOrder(symbols, entries)}
	return &contents{
		input:   Input{Kind: KindSystemMap, Symbols: len(o.Symbols)},
		vmlinux: o,
	}
}

// pseudoModule reports whether a /proc/kallsyms tag names something that
// is not a module: BPF programs ([bpf]), ftrace trampolines
// ([__builtin__ftrace]) and kprobe instruction pages
// ([__builtin__kprobes]).
func pseudoModule(tag string) bool {
	return tag == "bpf" || strings.HasPrefix(tag, "__builtin__")
}

// kallsymsContents turns /proc/kallsyms lines into vmlinux's and each
// loaded module's symbols, kept in file order: the kernel prints vmlinux's
// table in kallsyms order and each module's symbols in the order it counts
// them, so the file order is the counting order even when every address
// is zero. wholeDump is set for a whole dump, which lists every loaded
// module, and clear for lines selected from one, which give no load state.
func kallsymsContents(lines []mapLine, hidden, wholeDump bool) *contents {
	c := &contents{input: Input{Kind: KindKallsyms}, loaded: []string{}}
	vmlinux := &Object{Name: "vmlinux", Kind: KindKallsyms, AddrsHidden: hidden}
	byName := map[string]*Object{}
	var pseudo []string

	for _, l := range lines {
		s := Symbol{Name: l.name, Addr: l.addr, Func: isFuncType(l.typ)}
		if l.module == "" {
			vmlinux.Symbols = append(vmlinux.Symbols, s)
			continue
		}
		if pseudoModule(l.module) {
			if !slices.Contains(pseudo, l.module) {
				pseudo = append(pseudo, l.module)
			}
			continue
		}
		o := byName[l.module]
		if o == nil {
			o = &Object{Name: l.module, Kind: KindKallsyms, AddrsHidden: hidden}
			byName[l.module] = o
			c.modules = append(c.modules, o)
			c.loaded = append(c.loaded, l.module)
		}
		o.Symbols = append(o.Symbols, s)
	}

	for _, o := range append([]*Object{vmlinux}, c.modules...) {
		c.input.Symbols += len(o.Symbols)
	}
	if len(vmlinux.Symbols) > 0 {
		c.vmlinux = vmlinux
	}

	if hidden {
		c.input.Notes = append(c.input.Notes, "every address is zero, as the kernel prints them to a reader without CAP_SYSLOG (kernel.kptr_restrict): symbol names and their order are used, addresses are not; read /proc/kallsyms as root to keep them")
	}
	if wholeDump {
		c.input.Notes = append(c.input.Notes, fmt.Sprintf("lists %d loaded modules; a module that was not loaded when the file was read is not in it", len(c.modules)))
	} else {
		c.loaded = nil
	}
	if len(pseudo) > 0 {
		c.input.Notes = append(c.input.Notes, fmt.Sprintf("symbols tagged %s are not module symbols and were skipped", "["+strings.Join(pseudo, "], [")+"]"))
	}
	return c
}
