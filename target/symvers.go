package target

import (
	"strings"
)

// exportTypes maps the export types modpost writes to Module.symvers to
// whether they are GPL-only. The _GPL_FUTURE and _UNUSED_ kinds were
// removed in 5.12 and appear only in older files.
var exportTypes = map[string]bool{
	"EXPORT_SYMBOL":            false,
	"EXPORT_SYMBOL_GPL":        true,
	"EXPORT_SYMBOL_GPL_FUTURE": false,
	"EXPORT_UNUSED_SYMBOL":     false,
	"EXPORT_UNUSED_SYMBOL_GPL": true,
}

// parseSymvers reads Module.symvers. Each line is
// "CRC\tSYMBOL\tMODULE\tEXPORT_TYPE\tNAMESPACE" (5.6 and later; before
// 5.4 without the namespace), except that 5.4 and 5.5 put the namespace
// third: "CRC\tSYMBOL\tNAMESPACE\tMODULE\tEXPORT_TYPE". The export type
// tells the two apart. MODULE is "vmlinux" or the module's path in the
// build tree without .ko.
//
// A Module.symvers that lists vmlinux's exports is taken to be the kernel's
// own, which lists every export of vmlinux and of the in-tree modules.
// Without CONFIG_MODVERSIONS modpost writes 0x00000000 for every CRC, so a
// file whose CRCs are all zero gives no CRCs.
func parseSymvers(text string) (*contents, error) {
	c := &contents{input: Input{Kind: KindModuleSymvers}}
	allZero := true

	err := forEachLine(text, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		var f [5]string
		count := splitTabs(line, f[:])
		if count < 4 || count > 5 {
			return lineError(n, "found %d tab-separated fields, want CRC, symbol, module, export type and an optional namespace", count)
		}

		crc, ok := parseCRC(f[0])
		if !ok {
			return lineError(n, "invalid CRC %q, want 0x and up to 8 hexadecimal digits", f[0])
		}
		if !isSymbolName(f[1]) {
			return lineError(n, "invalid symbol name %q", f[1])
		}

		module, typ, namespace := f[2], f[3], f[4]
		gpl, ok := exportTypes[typ]
		if !ok && count == 5 {
			// The 5.4 and 5.5 field order.
			if gpl, ok = exportTypes[f[4]]; ok {
				namespace, module, typ = f[2], f[3], f[4]
			}
		}
		if !ok {
			return lineError(n, "invalid export type %q, want EXPORT_SYMBOL or EXPORT_SYMBOL_GPL", typ)
		}
		if module == "" {
			return lineError(n, "empty module field")
		}

		owner := "vmlinux"
		if module != "vmlinux" {
			owner = moduleName(module)
		} else {
			c.exportsVmlinux = true
		}
		if crc != 0 {
			allZero = false
		}
		c.exports = append(c.exports, Export{
			Name: f[1], Owner: owner, CRC: crc, CRCKnown: true, GPLOnly: gpl, Namespace: namespace,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}

	if allZero {
		for i := range c.exports {
			c.exports[i].CRC, c.exports[i].CRCKnown = 0, false
		}
		c.input.Notes = append(c.input.Notes, "every CRC is 0x00000000, which modpost writes for a kernel built without CONFIG_MODVERSIONS, so CRCs are unknown")
	}
	c.exportsModules = c.exportsVmlinux
	if !c.exportsVmlinux {
		c.input.Notes = append(c.input.Notes, "lists no export of vmlinux, so it is not the kernel's own Module.symvers and an export it does not list may still exist")
	}
	c.input.Symbols = len(c.exports)
	return c, nil
}

// parseCRC parses "0x" followed by 1 to 8 hexadecimal digits.
func parseCRC(s string) (uint32, bool) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || len(digits) > 8 {
		return 0, false
	}
	v, ok := parseHex(digits)
	return uint32(v), ok
}
