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
// is neither empty nor a # comment, and returns that line's number. The
// kind is empty when the line matches no format, and the line is 0 when
// the text has no such line. KindSystemMap stands for both System.map and
// /proc/kallsyms, which parseSymbolMap tells apart.
func detectText(text string) (kind Kind, line int) {
	_ = forEachLine(text, func(n int, l string) error {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			return nil
		}
		line = n
		kind = detectLine(l)
		return errStop
	})
	return kind, line
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
	switch n := splitFields(line, " \t", f[:]); {
	case (n == 3 || n == 4) && isHex(f[0]) && len(f[1]) == 1:
		return KindSystemMap
	case n == 1 && isSymbolName(f[0]):
		return KindFilterFunctions
	case n == 2 && isSymbolName(f[0]) && isModuleTag(f[1]):
		return KindFilterFunctions
	}
	return ""
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
