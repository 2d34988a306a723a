package plan

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Valid keys at each level, in the order the messages list them.
var (
	fileKeys        = []string{"semantics", "kernel", "sympos_match", "live", "targets", "fail_on", "patches", "suppressions"}
	targetKeys      = []string{"path", "expect"}
	patchKeys       = []string{"path", "replace", "tag", "set", "expect", "live_name"}
	suppressionKeys = []string{"rule", "module", "object", "function", "reason"}

	semanticsValues = []string{SemanticsMainline, SemanticsTag, SemanticsReplaceSet}
	failOnValues    = []string{FailOnError, FailOnWarning, FailOnNote, FailOnNone}
)

// yamlLineError matches the position prefix of yaml.v3 syntax errors.
var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decoder walks the yaml.Node tree of a plan and collects every problem.
type decoder struct {
	name string
	errs []*Error
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// decodeFile decodes the whole plan. It returns nil when the document could
// not be read as a mapping at all. Other problems only add to d.errs.
func (d *decoder) decodeFile(data []byte) *File {
	root := d.parseDocument(data)
	if root == nil {
		return nil
	}

	f := &File{
		Name:  d.name,
		Dir:   filepath.Dir(d.name),
		Lines: map[string]int{},
	}
	d.forEachKey(root, "", fileKeys, func(key string, line int, value *yaml.Node) {
		f.Lines[key] = line
		switch key {
		case "semantics":
			f.Semantics = d.enumValue(value, key, semanticsValues)
		case "kernel":
			f.Kernel, _ = d.stringValue(value, key)
		case "sympos_match":
			if b, ok := d.boolValue(value, key); ok {
				f.SymposMatch = &b
			}
		case "live":
			if p, ok := d.stringValue(value, key); ok {
				f.Live = resolve(f.Dir, p)
			}
		case "targets":
			f.Targets = d.decodeTargets(value, f.Dir)
		case "fail_on":
			f.FailOn = d.enumValue(value, key, failOnValues)
		case "patches":
			f.Patches = d.decodePatches(value, f.Dir)
		case "suppressions":
			f.Suppressions = d.decodeSuppressions(value)
		}
	})

	slices.SortStableFunc(d.errs, func(a, b *Error) int { return a.Line - b.Line })
	return f
}

// parseDocument parses data as exactly one YAML document whose root is a
// mapping, and returns that mapping.
func (d *decoder) parseDocument(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))

	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		d.errorf(0, "empty plan: expected a mapping with the keys %s", strings.Join(fileKeys, ", "))
		return nil
	}
	if err != nil {
		d.syntaxError(err)
		return nil
	}

	var extra yaml.Node
	err = dec.Decode(&extra)
	if err == nil {
		d.errorf(extra.Line, "a second YAML document starts here; a plan is a single document")
		return nil
	}
	if !errors.Is(err, io.EOF) {
		d.syntaxError(err)
		return nil
	}

	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		d.errorf(0, "empty plan: expected a mapping with the keys %s", strings.Join(fileKeys, ", "))
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "a plan must be a mapping of keys, got %s", describe(root))
		return nil
	}
	return root
}

// syntaxError turns a yaml.v3 parse error into an Error, moving the line
// number that yaml.v3 puts in its message into Line.
func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, convErr := strconv.Atoi(m[1])
		if convErr == nil {
			d.errorf(line, "invalid YAML: %s", m[2])
			return
		}
	}
	d.errorf(0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// forEachKey calls fn for each key of mapping m in file order. It reports
// keys that are not names, unknown keys and repeated keys instead of
// passing them on. Where names the mapping in messages ("" for the top
// level, else for example "patches[1]").
func (d *decoder) forEachKey(m *yaml.Node, where string, valid []string, fn func(key string, line int, value *yaml.Node)) {
	in := ""
	if where != "" {
		in = " in " + where
	}

	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		keyNode := deref(m.Content[i])
		value := m.Content[i+1]

		if keyNode.Kind != yaml.ScalarNode {
			d.errorf(keyNode.Line, "invalid key%s: expected a name, got %s", in, describe(keyNode))
			continue
		}
		key := keyNode.Value
		if !slices.Contains(valid, key) {
			d.errorf(keyNode.Line, "unknown key %q%s; valid keys: %s", key, in, strings.Join(valid, ", "))
			continue
		}
		if first, ok := seen[key]; ok {
			d.errorf(keyNode.Line, "duplicate key %q%s; first given on line %d", key, in, first)
			continue
		}
		seen[key] = keyNode.Line

		fn(key, keyNode.Line, value)
	}
}

// decodeTargets decodes the targets list. An entry is a path, or a
// mapping with a path and an expected srcversion or build ID.
func (d *decoder) decodeTargets(value *yaml.Node, dir string) []Target {
	var targets []Target
	for i, item := range d.listValue(value, "targets") {
		where := fmt.Sprintf("targets[%d]", i)
		line := item.Line
		entry := deref(item)

		if entry.Kind != yaml.MappingNode {
			if entry.Kind != yaml.ScalarNode {
				d.errorf(line, "%s must be a path or a mapping with the keys %s, got %s", where, strings.Join(targetKeys, ", "), describe(entry))
				continue
			}
			if p, ok := d.stringValue(item, where); ok {
				targets = append(targets, Target{Path: resolve(dir, p), RawPath: p, Line: line})
			}
			continue
		}

		t := Target{Line: line, Lines: map[string]int{}}
		d.forEachKey(entry, where, targetKeys, func(key string, keyLine int, v *yaml.Node) {
			t.Lines[key] = keyLine
			switch key {
			case "path":
				if raw, ok := d.stringValue(v, where+".path"); ok {
					t.RawPath, t.Path = raw, resolve(dir, raw)
				}
			case "expect":
				t.Expect = d.expectValue(v, where+".expect")
			}
		})
		if _, ok := t.Lines["path"]; !ok {
			d.errorf(line, "%s has no path; every target entry names a file or directory", where)
			continue
		}
		targets = append(targets, t)
	}
	return targets
}

func (d *decoder) decodePatches(value *yaml.Node, dir string) []Patch {
	var patches []Patch
	for i, item := range d.listValue(value, "patches") {
		where := fmt.Sprintf("patches[%d]", i)
		line := item.Line
		entry := deref(item)
		if entry.Kind != yaml.MappingNode {
			d.errorf(line, "%s must be a mapping with the keys %s, got %s", where, strings.Join(patchKeys, ", "), describe(entry))
			continue
		}

		p := Patch{Line: line, Lines: map[string]int{}}
		d.forEachKey(entry, where, patchKeys, func(key string, keyLine int, v *yaml.Node) {
			p.Lines[key] = keyLine
			field := where + "." + key
			switch key {
			case "path":
				if raw, ok := d.stringValue(v, field); ok {
					p.RawPath = raw
					p.Path = resolve(dir, raw)
				}
			case "replace":
				if b, ok := d.boolValue(v, field); ok {
					p.Replace = &b
				}
			case "tag":
				if n, ok := d.uint32Value(v, field); ok {
					p.Tag = &n
				}
			case "set":
				if n, ok := d.uint32Value(v, field); ok {
					p.Set = &n
				}
			case "expect":
				p.Expect = d.expectValue(v, field)
			case "live_name":
				p.LiveName = d.moduleNameValue(v, field)
			}
		})

		d.checkPatch(&p, where)
		patches = append(patches, p)
	}
	return patches
}

// checkPatch reports what is wrong with an entry as a whole: a missing path,
// and replace given together with tag or set. The proposals turn the
// kernel's bool replace into a u32 tag or replace_set, so an entry that sets
// both would describe one klp_patch field twice. Tag and set may appear
// together because they belong to different semantics and the simulation
// reads only the one in effect.
func (d *decoder) checkPatch(p *Patch, where string) {
	if _, ok := p.Lines["path"]; !ok {
		d.errorf(p.Line, "%s has no path; every patch entry names its module file", where)
	}

	for _, key := range []string{"tag", "set"} {
		if _, ok := p.Lines[key]; !ok {
			continue
		}
		if line, ok := p.Lines["replace"]; ok {
			d.errorf(line, "%s sets both replace and %s: replace is the mainline bool and %s the proposal's u32 in its place; keep one", where, key, key)
		}
	}
}

func (d *decoder) decodeSuppressions(value *yaml.Node) []Suppression {
	var suppressions []Suppression
	for i, item := range d.listValue(value, "suppressions") {
		where := fmt.Sprintf("suppressions[%d]", i)
		line := item.Line
		entry := deref(item)
		if entry.Kind != yaml.MappingNode {
			d.errorf(line, "%s must be a mapping with the keys %s, got %s", where, strings.Join(suppressionKeys, ", "), describe(entry))
			continue
		}

		s := Suppression{Line: line, Lines: map[string]int{}}
		d.forEachKey(entry, where, suppressionKeys, func(key string, keyLine int, v *yaml.Node) {
			s.Lines[key] = keyLine
			text, _ := d.stringValue(v, where+"."+key)
			switch key {
			case "rule":
				s.Rule = text
			case "module":
				s.Module = text
			case "object":
				s.Object = text
			case "function":
				s.Function = text
			case "reason":
				s.Reason = text
			}
		})
		suppressions = append(suppressions, s)
	}
	return suppressions
}

// listValue returns the items of a sequence. A key with no value counts as
// an empty list.
func (d *decoder) listValue(n *yaml.Node, field string) []*yaml.Node {
	line := n.Line
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(line, "%s must be a list, got %s", field, describe(n))
		return nil
	}
	return n.Content
}

// stringValue returns the text of a scalar exactly as written, so that
// "kernel: 6.10" stays 6.10 and is not read as a number. Booleans and empty
// values are rejected: they are almost always a mistake for a name or path.
func (d *decoder) stringValue(n *yaml.Node, field string) (string, bool) {
	line := n.Line
	n = deref(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		d.errorf(line, "%s must be a string, got %s", field, describe(n))
		return "", false
	case n.Tag == "!!null":
		d.errorf(line, "%s has no value", field)
		return "", false
	case n.Tag == "!!bool":
		d.errorf(line, "%s must be a string, got the boolean %s; quote it if you mean the text", field, n.Value)
		return "", false
	case n.Value == "":
		d.errorf(line, "%s is empty", field)
		return "", false
	}
	return n.Value, true
}

// enumValue returns a string that must be one of values.
func (d *decoder) enumValue(n *yaml.Node, field string, values []string) string {
	line := n.Line
	s, ok := d.stringValue(n, field)
	if !ok {
		return ""
	}
	if !slices.Contains(values, s) {
		d.errorf(line, "invalid %s %q; valid values: %s", field, s, strings.Join(values, ", "))
		return ""
	}
	return s
}

// boolValue accepts YAML 1.2 booleans only: true or false (any case).
// yaml.v3 reads yes, no, on and off as strings, and so does the plan.
func (d *decoder) boolValue(n *yaml.Node, field string) (bool, bool) {
	line := n.Line
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(line, "%s must be true or false, got %s", field, describe(n))
		return false, false
	}

	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(line, "%s must be true or false, got %s", field, describe(n))
		return false, false
	}
	return b, true
}

// uint32Value accepts a YAML integer from 0 to 4294967295, the range of the
// u32 replace tag and replace_set. Hex (0x), octal (0o) and underscores are
// accepted as yaml.v3 reads them.
func (d *decoder) uint32Value(n *yaml.Node, field string) (uint32, bool) {
	line := n.Line
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		d.errorf(line, "%s must be an integer from 0 to %d, got %s", field, uint32(math.MaxUint32), describe(n))
		return 0, false
	}

	// yaml.v3 tags an integer too large for uint64 as a float, so digits
	// under a float tag are an integer out of range, not a fraction.
	isDigits := strings.TrimLeft(strings.TrimPrefix(n.Value, "-"), "0123456789_") == ""
	if n.Tag == "!!float" && isDigits {
		d.errorf(line, "%s is out of range: %s is larger than the u32 maximum %d", field, n.Value, uint32(math.MaxUint32))
		return 0, false
	}
	if n.Tag != "!!int" {
		d.errorf(line, "%s must be an integer from 0 to %d, got %s", field, uint32(math.MaxUint32), describe(n))
		return 0, false
	}

	if strings.HasPrefix(n.Value, "-") {
		d.errorf(line, "%s is negative (%s); it must be from 0 to %d", field, n.Value, uint32(math.MaxUint32))
		return 0, false
	}
	var v uint64
	if err := n.Decode(&v); err != nil || v > math.MaxUint32 {
		d.errorf(line, "%s is out of range: %s is larger than the u32 maximum %d", field, n.Value, uint32(math.MaxUint32))
		return 0, false
	}
	return uint32(v), true
}

// expectValue accepts a module srcversion (23 hex digits, as modinfo
// prints it) or a GNU build ID (hex, as readelf -n prints it). Only the
// alphabet and the length are checked here. Which of the two it is gets
// decided when the module is compared.
func (d *decoder) expectValue(n *yaml.Node, field string) string {
	line := n.Line
	s, ok := d.stringValue(n, field)
	if !ok {
		return ""
	}
	if strings.TrimLeft(s, "0123456789abcdefABCDEF") != "" {
		d.errorf(line, "invalid %s %q: expected a srcversion or build ID in hex", field, s)
		return ""
	}
	if n := len(s); n != srcversionDigits && !slices.Contains(buildIDDigits, n) {
		d.errorf(line, "invalid %s %q: %d hex digits, but a srcversion has %d and a build ID 16, 32 or 40 (40 from Kbuild's --build-id=sha1)",
			field, s, n, srcversionDigits)
		return ""
	}
	return s
}

// srcversionDigits is the length of a srcversion. modpost formats the
// four 32-bit words of an MD4 digest of the module's sources as hex into a
// 24-byte buffer (get_src_version in scripts/mod/sumversion.c), so the
// NUL cuts the last digit.
const srcversionDigits = 23

// buildIDDigits are the lengths of the build IDs that linkers write: 8
// bytes for lld's fast style, 16 for md5 and uuid, and 20 for sha1, which
// Kbuild passes as --build-id=sha1.
var buildIDDigits = []int{16, 32, 40}

// moduleNameValue accepts a name that the kernel could give a module: at
// most MODULE_NAME_LEN-1 (55) bytes, without '/' or white space.
func (d *decoder) moduleNameValue(n *yaml.Node, field string) string {
	line := n.Line
	s, ok := d.stringValue(n, field)
	if !ok {
		return ""
	}
	if len(s) > livepatch.ModuleNameLen-1 {
		d.errorf(line, "invalid %s %q: longer than %d bytes, so no module can have it", field, s, livepatch.ModuleNameLen-1)
		return ""
	}
	if strings.ContainsAny(s, "/ \t\n\r\v\f") {
		d.errorf(line, "invalid %s %q: a module name contains no '/' or white space", field, s)
		return ""
	}
	return s
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "no value"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int":
			return "the integer " + n.Value
		case "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("%s %q", n.Tag, n.Value)
	}
	return "an unsupported YAML node"
}
