package target

import "strings"

// invalidFtraceAddress is the name prefix that available_filter_functions
// shows, since 6.0, for a call site ftrace disabled because it lies
// outside any kallsyms symbol (a discarded weak function).
const invalidFtraceAddress = "__ftrace_invalid_address___"

// parseFilterFunctions reads available_filter_functions from tracefs:
// one traceable function a line, as "NAME" for vmlinux or "NAME [MODULE]".
func parseFilterFunctions(text string) (*contents, error) {
	c := &contents{input: Input{Kind: KindFilterFunctions}, filterRead: true}
	skipped := 0

	err := forEachLine(text, func(n int, line string) error {
		var f [2]string
		count := splitFields(line, " \t", f[:])
		switch {
		case count == 0:
			return nil
		case count > 2:
			return lineError(n, "found %d fields, want NAME and an optional [MODULE]", count)
		case !isSymbolName(f[0]):
			return lineError(n, "invalid function name %q", f[0])
		case count == 2 && !isModuleTag(f[1]):
			return lineError(n, "invalid module tag %q, want [MODULE]", f[1])
		}

		if strings.HasPrefix(f[0], invalidFtraceAddress) {
			skipped++
			return nil
		}
		object := "vmlinux"
		if count == 2 {
			object = f[1][1 : len(f[1])-1]
		}
		c.filter = append(c.filter, filterEntry{object: object, name: f[0]})
		return nil
	})
	if err != nil {
		return nil, err
	}

	c.input.Symbols = len(c.filter)
	if skipped > 0 {
		c.input.Notes = append(c.input.Notes, "skipped "+plural(skipped, "line")+" naming "+invalidFtraceAddress+"<offset>, call sites ftrace disabled")
	}
	return c, nil
}
