package target

import (
	"cmp"
	"slices"
	"strings"
)

// This file holds the kernel's rules for which vmlinux symbols kallsyms
// lists and in what order, from scripts/kallsyms.c and scripts/mksysmap
// (read in Debian's 6.1.192 source). Both the vmlinux and the System.map
// readers apply them, so the two agree on old_sympos.

// ignoredNames are the names scripts/kallsyms.c drops exactly: tables that
// kallsyms itself adds between link passes, and ppc linker symbols. L0 is
// dropped by scripts/mksysmap (a LoongArch label).
var ignoredNames = map[string]bool{
	"kallsyms_addresses":     true,
	"kallsyms_offsets":       true,
	"kallsyms_relative_base": true,
	"kallsyms_num_syms":      true,
	"kallsyms_names":         true,
	"kallsyms_markers":       true,
	"kallsyms_token_table":   true,
	"kallsyms_token_index":   true,
	"kallsyms_seqs_of_names": true,
	"_SDA_BASE_":             true,
	"_SDA2_BASE_":            true,
	"L0":                     true,
}

// ignoredPrefixes are the name prefixes that scripts/mksysmap and
// scripts/kallsyms.c drop: mapping symbols and local labels ($, .L),
// modversions CRCs, export strings (6.1 drops __kstrtab_ and __kstrtabns_,
// older kernels list them, and no function shares their names), arm64
// EFI stub and nVHE names, linker thunks and CFI type ids.
var ignoredPrefixes = []string{
	"$", ".L", "__crc_", "__kstrtab_", "__kstrtabns_",
	"__efistub_", "__kvm_nvhe_$", "__kvm_nvhe_.L",
	"__AArch64ADRPThunk_", "__ARMV5PILongThunk_", "__ARMV7PILongThunk_",
	"__ThumbV7PILongThunk_", "__LA25Thunk_", "__microLA25Thunk_",
	"__kcfi_typeid_",
}

// ignoredSuffixes and ignoredInfixes are arm veneers and ppc branch stubs.
var (
	ignoredSuffixes = []string{"_from_arm", "_from_thumb", "_veneer"}
	ignoredInfixes  = []string{".long_branch.", ".plt_branch."}
)

// ignoredName reports whether kallsyms drops a vmlinux symbol by its name.
//
// It runs once per .symtab entry, 200,000 times for a large vmlinux, so it
// first rules out most names by one byte: every ignored name and prefix
// starts with one of the bytes in ignoredFirst, every suffix ends in m, b
// or r, and every infix contains a dot. TestIgnoredFirst keeps these
// shortcuts in step with the lists.
func ignoredName(name string) bool {
	if name == "" {
		return false
	}
	if strings.IndexByte(ignoredFirst, name[0]) >= 0 {
		if ignoredNames[name] {
			return true
		}
		for _, p := range ignoredPrefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	if last := name[len(name)-1]; last == 'm' || last == 'b' || last == 'r' {
		for _, s := range ignoredSuffixes {
			if strings.HasSuffix(name, s) {
				return true
			}
		}
	}
	if strings.IndexByte(name, '.') >= 0 {
		for _, s := range ignoredInfixes {
			if strings.Contains(name, s) {
				return true
			}
		}
	}
	return false
}

// ignoredFirst holds the first bytes of ignoredNames and ignoredPrefixes.
const ignoredFirst = "$._kL"

// ignoredType reports whether kallsyms drops a symbol by its nm type
// letter: undefined (U, u, w), debugging (N, n) and absolute (A, a).
// Per-cpu variables have type D or d in nm output and are kept; kallsyms
// prints them with type A later, which is why a /proc/kallsyms dump is
// not filtered again.
func ignoredType(typ byte) bool {
	switch typ {
	case 'U', 'u', 'w', 'N', 'n', 'A', 'a':
		return true
	}
	return false
}

// orderEntry is one symbol to sort into kallsyms order: its address,
// its position in the input (.symtab order for a vmlinux, line order for
// System.map) and whether it is weak (nm types W and w: a weak symbol that
// is not an object; weak objects are V and v and do not count).
type orderEntry struct {
	addr uint64
	pos  int32
	weak bool
}

// linkerProvided reports whether name looks like a symbol that a linker
// script defines (__start_X, __stop_X, __end_X, __X_start, __X_end), the
// guess scripts/kallsyms.c makes to sort such symbols after others at the
// same address.
func linkerProvided(name string) bool {
	if len(name) < 8 || !strings.HasPrefix(name, "__") {
		return false
	}
	rest := name[2:]
	return strings.HasPrefix(rest, "start_") || strings.HasPrefix(rest, "stop_") ||
		strings.HasPrefix(rest, "end_") || strings.HasSuffix(name, "_start") ||
		strings.HasSuffix(name, "_end")
}

// kallsymsOrder returns symbols sorted as the kallsyms table is sorted:
// by address, then non-weak before weak, then names a linker script would
// not provide before those it would, then fewer leading underscores
// first, then in nm -n order, which at one address is name order (binutils
// numeric_forward, in the C locale Kbuild sets). Symbols with one name at
// one address keep their input order. entries are parallel to symbols. It
// sorts symbols in place and overwrites entries.
//
// klp_find_object_symbol's N-th match of a name is the N-th in this order:
// kernels before 6.2 walk the table in it, and later ones walk a name
// index whose ties are broken by address and then by this order.
func kallsymsOrder(symbols []Symbol, entries []orderEntry) []Symbol {
	compare := func(a, b orderEntry) int {
		if c := cmp.Compare(a.addr, b.addr); c != 0 {
			return c
		}
		return compareTies(a, b, symbols[a.pos].Name, symbols[b.pos].Name)
	}
	if slices.IsSortedFunc(entries, compare) {
		return symbols
	}
	slices.SortFunc(entries, compare)
	permute(symbols, entries)
	return symbols
}

// permute reorders symbols in place so that symbols[i] becomes the symbol
// that was at entries[i].pos, following each cycle of the permutation.
// A sorted copy would double the peak memory of the symbol table, which is
// 16 MB for 200,000 symbols. It overwrites the pos fields of entries.
func permute(symbols []Symbol, entries []orderEntry) {
	const done = -1
	for start := range entries {
		if entries[start].pos == done {
			continue
		}
		first := symbols[start]
		i := start
		for {
			from := int(entries[i].pos)
			entries[i].pos = done
			if from == start {
				symbols[i] = first
				break
			}
			symbols[i] = symbols[from]
			i = from
		}
	}
}

// compareTies orders two symbols at one address.
func compareTies(a, b orderEntry, nameA, nameB string) int {
	if a.weak != b.weak {
		if a.weak {
			return 1
		}
		return -1
	}
	if la, lb := linkerProvided(nameA), linkerProvided(nameB); la != lb {
		if la {
			return 1
		}
		return -1
	}
	ua := len(nameA) - len(strings.TrimLeft(nameA, "_"))
	ub := len(nameB) - len(strings.TrimLeft(nameB, "_"))
	if c := cmp.Compare(ua, ub); c != 0 {
		return c
	}
	if c := strings.Compare(nameA, nameB); c != 0 {
		return c
	}
	return cmp.Compare(a.pos, b.pos)
}
