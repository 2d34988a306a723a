package target

import "strings"

// invalidFtraceAddress is the name prefix that available_filter_functions
// shows, since 6.0, for a call site ftrace disabled because it lies
// outside any kallsyms symbol (a discarded weak function).
const invalidFtraceAddress = "__ftrace_invalid_address___"

// parseFilterFunctions reads available_filter_functions from tracefs:
// one traceable function a line, as "NAME" for vmlinux or "NAME
// [MODULE]". Every line must have that form, so that a list of other
// words is not taken for the functions ftrace can trace.
func parseFilterFunctions(text string) (*contents, error) {
	c := &contents{input: Input{Kind: KindFilterFunctions}, filterRead: true}
	skipped := 0

	err := forEachLine(text, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		name, module, ok := parseFilterLine(line)
		if !ok {
			return lineError(n, "unrecognised content: %q is not a function name, optionally followed by [MODULE], as available_filter_functions lists them", truncate(line, 80))
		}

		if strings.HasPrefix(name, invalidFtraceAddress) {
			skipped++
			return nil
		}
		if module == "" {
			module = "vmlinux"
		}
		c.filter = append(c.filter, filterEntry{object: module, name: name})
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

// parseFilterLine splits one line of available_filter_functions into the
// function name and the module name, which is empty for vmlinux. ok is
// false unless the name is a function name (isFunctionName) and the
// optional second field is a module name in brackets.
func parseFilterLine(line string) (name, module string, ok bool) {
	var f [2]string
	switch splitFields(line, " \t", f[:]) {
	case 1:
		return f[0], "", isFunctionName(f[0])
	case 2:
		tag, found := strings.CutPrefix(f[1], "[")
		tag, closed := strings.CutSuffix(tag, "]")
		return f[0], tag, found && closed && isModuleName(tag) && isFunctionName(f[0])
	}
	return "", "", false
}
