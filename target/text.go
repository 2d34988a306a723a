package target

import (
	"fmt"
	"strings"
)

// forEachLine calls fn with each line of text, without its line ending,
// and its 1-based number. It stops at the first error, and rejects a line
// longer than maxLineLen.
func forEachLine(text string, fn func(n int, line string) error) error {
	for n := 1; len(text) > 0; n++ {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if len(line) > maxLineLen {
			return lineError(n, "line is %d bytes long, longer than any symbol line can be (%d bytes)", len(line), maxLineLen)
		}
		if err := fn(n, strings.TrimSuffix(line, "\r")); err != nil {
			return err
		}
	}
	return nil
}

// splitFields splits line at runs of the separators in sep into out and
// returns the number of fields. Fields past len(out) are counted but not
// stored. It does not allocate.
func splitFields(line, sep string, out []string) int {
	n := 0
	for {
		line = strings.TrimLeft(line, sep)
		if line == "" {
			return n
		}
		end := strings.IndexAny(line, sep)
		if end < 0 {
			end = len(line)
		}
		if n < len(out) {
			out[n] = line[:end]
		}
		n++
		line = line[end:]
	}
}

// splitTabs splits line at each tab into out, keeping empty fields, and
// returns the number of fields. Fields past len(out) are counted but not
// stored.
func splitTabs(line string, out []string) int {
	n := strings.Count(line, "\t") + 1
	for i := 0; i < len(out) && i < n; i++ {
		field, rest, _ := strings.Cut(line, "\t")
		out[i], line = field, rest
	}
	return n
}

// detectText names the format of a text input from its first line that
// is neither empty nor a # comment, and returns that line and its number.
// The kind is empty when the line matches no format, and the number is 0
// when the text has no such line. KindSystemMap stands for both
// System.map and /proc/kallsyms, which parseSymbolMap tells apart.
func detectText(text string) (kind Kind, line string, number int) {
	_ = forEachLine(text, func(n int, l string) error {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			return nil
		}
		line, number = l, n
		kind = detectLine(l)
		return errStop
	})
	return kind, line, number
}

// errStop ends a forEachLine loop early without an error.
var errStop = fmt.Errorf("stop")

// detectLine names the format of one line, or returns "".
func detectLine(line string) Kind {
	var tabs [6]string
	if n := splitTabs(line, tabs[:]); (n == 4 || n == 5) && strings.HasPrefix(tabs[0], "0x") {
		return KindModuleSymvers
	}

	var f [5]string
	if n := splitFields(line, " \t", f[:]); (n == 3 || n == 4) && isHex(f[0]) && len(f[1]) == 1 {
		return KindSystemMap
	}
	if _, _, ok := parseFilterLine(line); ok {
		return KindFilterFunctions
	}
	return ""
}

// debianPlaceholder is the text of the System.map that Debian's
// linux-image-<release> package installs in /boot (checked in
// linux-image-6.1.0-57-amd64 6.1.192-3): one line with a dummy address,
// type B and this sentence in place of a symbol name.
const debianPlaceholder = "The real System.map is in the linux-image-"

// unrecognisedText returns the error for a text input whose first content
// line, line number n, matches no format. A Debian placeholder System.map
// and a list of module paths, such as modules.order, get their own
// message, because each is a file users give by mistake.
func unrecognisedText(line string, n int) error {
	switch {
	case strings.Contains(line, debianPlaceholder):
		return lineError(n, "this is the placeholder System.map of Debian's linux-image package, which has no symbols; the real one is in the linux-image-<release>-dbg package, as /usr/lib/debug/boot/System.map-<release>")
	case isModulePathLine(line):
		return lineError(n, "unrecognised content: %q is a module path, as modules.order and modules.builtin list them; give the modules directory that holds the file, such as /lib/modules/<release>", truncate(line, 80))
	}
	return lineError(n, "unrecognised content: the first line is neither a System.map or /proc/kallsyms line (ADDRESS TYPE NAME), a Module.symvers line (CRC, symbol, module and export type separated by tabs) nor an available_filter_functions line (NAME or NAME [MODULE])")
}

// isModulePathLine reports whether line is one path of a module file,
// such as kernel/arch/x86/events/amd/power.ko.
func isModulePathLine(line string) bool {
	line = strings.TrimSpace(line)
	if !strings.Contains(line, "/") || strings.ContainsAny(line, " \t") {
		return false
	}
	for _, suffix := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(line, suffix) {
			return true
		}
	}
	return false
}

// isHex reports whether s is 1 to 16 hexadecimal digits.
func isHex(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseHex parses 1 to 16 hexadecimal digits.
func parseHex(s string) (uint64, bool) {
	if !isHex(s) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// isSymbolName reports whether s can be a kernel symbol name: no spaces,
// brackets or control characters.
func isSymbolName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '[' || c == ']' || c == 0x7f {
			return false
		}
	}
	return true
}

// isModuleTag reports whether s is "[NAME]".
func isModuleTag(s string) bool {
	return len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' && isSymbolName(s[1:len(s)-1])
}

// isFunctionName reports whether s is a C identifier, optionally followed
// by the suffixes compilers append to the names of function copies, each
// a dot and one or more letters, digits or underscores: .isra.0,
// .constprop.0, .part.0, .cold, .llvm.<hash>.
func isFunctionName(s string) bool {
	ident, suffixes, dotted := strings.Cut(s, ".")
	if ident == "" || isDigit(ident[0]) || !isIdentifierPart(ident) {
		return false
	}
	if !dotted {
		return true
	}
	for _, part := range strings.Split(suffixes, ".") {
		if !isIdentifierPart(part) {
			return false
		}
	}
	return true
}

// isIdentifierPart reports whether s is one or more letters, digits and
// underscores.
func isIdentifierPart(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '_' && !isDigit(c) && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isModuleName reports whether s can be a module name: letters, digits,
// underscores and dashes.
func isModuleName(s string) bool {
	return isIdentifierPart(strings.ReplaceAll(s, "-", "_"))
}

// moduleName turns a module file or path name into the name the kernel
// uses: the base name without .ko and a compression suffix, with dashes
// turned into underscores as kbuild's modname does.
func moduleName(file string) string {
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	for _, suffix := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if strings.HasSuffix(file, suffix) {
			file = strings.TrimSuffix(file, suffix)
			break
		}
	}
	return strings.ReplaceAll(file, "-", "_")
}

// plural returns "1 word" or "N words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
