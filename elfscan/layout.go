package elfscan

import (
	"debug/elf"
	"fmt"
	"sort"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Field offsets of the external part of the livepatch structures on 64-bit
// kernels (include/linux/livepatch.h, 5.5 to 6.19). Everything after the
// external part is internal state that the kernel fills in, so it is zero
// in a module file, and its size depends on the kernel config: array
// strides are therefore measured, never assumed (see arrayStride).
const (
	patchObjsOffset   = 8
	patchStatesOffset = 16
	// The replace byte moved from +16 to +24 when states were added in 5.5.
	patchReplaceOffset      = 24
	patchReplaceOffsetPre55 = 16

	objNameOffset      = 0
	objFuncsOffset     = 8
	objCallbacksOffset = 16
	// objExternalSize covers name, funcs and struct klp_callbacks (four
	// function pointers and a bool, 40 bytes), present since 4.15.
	objExternalSize = 56
	// objExternalSizePre415 covers name and funcs of kernels before 4.15,
	// which had no callbacks.
	objExternalSizePre415 = 16

	funcOldNameOffset = 0
	funcNewFuncOffset = 8
	funcSymposOffset  = 16
	funcExternalSize  = 24
	// funcExternalSizeImmediate adds the bool immediate that 4.12 to 4.15
	// kept at +24 of struct klp_func, set by the module author.
	funcExternalSizeImmediate = 25

	stateIDOffset      = 0
	stateVersionOffset = 8
	// stateSize is sizeof(struct klp_state): id, version and a data
	// pointer, all set by the module author, so there is no internal part.
	stateSize = 24

	// kobjectMinSize is the smallest struct kobject on a 64-bit kernel:
	// name, entry, parent, kset, ktype, sd, kref and the state bits. In
	// the layouts this reader knows (4.7 and later), every klp_func and
	// klp_object embeds one after its external part, and klp_func also
	// keeps old_func or old_addr before it, so no stride can be smaller
	// than the external part plus this. The floor keeps a one-entry array
	// from reading as two entries of half the size.
	kobjectMinSize = 64
	minFuncStride  = funcExternalSize + 8 + kobjectMinSize

	// maxStride bounds the stride search. Internal parts are a few hundred
	// bytes even with debug options such as CONFIG_DEBUG_KOBJECT_RELEASE.
	maxStride = 4096
)

// array is a zero-terminated static array found in a module.
type array struct {
	section int
	start   uint64
	stride  uint64
	// count is the number of entries before the terminator.
	count int
	// how is the evidence the stride was measured from, for Module.Notes.
	how string
}

// entry returns the section offset of entry i.
func (a array) entry(i int) uint64 { return a.start + uint64(i)*a.stride }

// arrayStride measures a zero-terminated array of structures whose first
// external bytes are set by the module and whose remaining bytes are zero.
// The array's extent comes from the STT_OBJECT symbol that contains start
// (Kbuild points at arrays through the section symbol plus an addend, but
// the named array symbol is still in .symtab); without one it runs to the
// next symbol or the end of the section. A stride fits when it divides the
// extent, every entry but the last is a non-terminator whose bytes past
// external are zero and carry no relocation, and the last entry is an
// all-zero terminator. Exactly one stride must fit.
//
// NOTE: BTF and DWARF would give the struct sizes directly, but a module's
// .BTF is split BTF whose struct types live in vmlinux, and fixtures are
// stripped of DWARF, so the layout is measured instead.
func (mf *moduleFile) arrayStride(what string, sec int, start uint64, external, minStride uint64, isTerminator func(off uint64) (bool, error)) (array, error) {
	name := mf.sectionName(sec)
	data, err := mf.sectionData(sec)
	if err != nil {
		return array{}, err
	}
	if start >= uint64(len(data)) {
		return array{}, errAt(name, start, "%s array starts past end of section (%d bytes)", what, len(data))
	}

	end, how := mf.arrayEnd(sec, start, uint64(len(data)))
	span := end - start

	// The structures contain pointers, so on 64-bit kernels their size is
	// a multiple of 8 and only those strides are tried. That rules out
	// reading a 152-byte klp_func array without terminator as a 76-byte
	// entry and a terminator.
	var fits []array
	for stride := (minStride + 7) &^ 7; stride <= span && stride <= maxStride; stride += 8 {
		if span%stride != 0 {
			continue
		}
		a := array{section: sec, start: start, stride: stride, how: how}
		ok, count, err := mf.checkStride(a, int(span/stride), external, isTerminator)
		if err != nil {
			return array{}, err
		}
		if ok {
			a.count = count
			fits = append(fits, a)
		}
	}

	switch {
	case len(fits) == 0:
		return array{}, errAt(name, start, "%s array of %d bytes: no stride between %d and %d bytes ends in a zero terminator; the array is corrupt or its terminator is missing", what, span, minStride, min(span, maxStride))
	case len(fits) > 1 && fits[0].count > 0:
		strides := make([]uint64, len(fits))
		for i, f := range fits {
			strides[i] = f.stride
		}
		return array{}, errAt(name, start, "%s array of %d bytes: several strides fit (%v); cannot tell the struct size", what, span, strides)
	}

	// An array holding only its terminator fits every stride; its size is
	// then the struct size.
	a := fits[len(fits)-1]
	return a, nil
}

// arrayEnd returns where the array starting at start ends: the end of the
// STT_OBJECT symbol containing it, else the next symbol in the section,
// else the section end.
func (mf *moduleFile) arrayEnd(sec int, start, sectionSize uint64) (uint64, string) {
	if sym, ok := mf.objectCovering(elf.SectionIndex(sec), start); ok {
		end := sym.Value + sym.Size
		if end > sectionSize {
			end = sectionSize
		}
		return end, fmt.Sprintf("size of symbol %s", sym.Name)
	}

	next := sectionSize
	var starts []uint64
	for _, s := range mf.symbols {
		if s.Section == elf.SectionIndex(sec) && s.Value > start && s.Value < next {
			starts = append(starts, s.Value)
		}
	}
	if len(starts) > 0 {
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		next = starts[0]
	}
	return next, "distance to the next symbol or the section end (no array symbol)"
}

// checkStride reports whether the array read with a.stride and n entries
// is consistent, and how many entries come before the terminator.
func (mf *moduleFile) checkStride(a array, n int, external uint64, isTerminator func(off uint64) (bool, error)) (bool, int, error) {
	data, err := mf.sectionData(a.section)
	if err != nil {
		return false, 0, err
	}

	for i := 0; i < n; i++ {
		off := a.entry(i)
		last := i == n-1

		term, err := isTerminator(off)
		if err != nil {
			return false, 0, err
		}
		if term != last {
			return false, 0, nil
		}

		tailStart := off + external
		if last {
			tailStart = off
		}
		tailEnd := off + a.stride
		if tailStart > tailEnd {
			return false, 0, nil
		}
		for _, b := range data[tailStart:tailEnd] {
			if b != 0 {
				return false, 0, nil
			}
		}
		hasReloc, err := mf.hasRelocIn(a.section, tailStart, tailEnd)
		if err != nil {
			return false, 0, err
		}
		if hasReloc {
			return false, 0, nil
		}
	}
	return true, n - 1, nil
}

// pointerTarget describes what a relocated pointer refers to, for notes
// and symbol fields.
func (mf *moduleFile) pointerSymbol(p pointer) livepatch.Symbol {
	if !p.inSection() {
		return livepatch.Symbol{Name: p.sym.Name, Index: int(p.symIndex)}
	}

	sec := int(p.section)
	if t := elf.ST_TYPE(p.sym.Info); (t == elf.STT_FUNC || t == elf.STT_OBJECT || t == elf.STT_NOTYPE) && p.sym.Name != "" && p.offset == p.sym.Value {
		return livepatch.Symbol{Name: p.sym.Name, Section: mf.sectionName(sec), Size: p.sym.Size, Value: p.sym.Value, Index: int(p.symIndex)}
	}
	if sym, idx, ok := mf.symbolAt(p.section, p.offset); ok {
		return livepatch.Symbol{Name: sym.Name, Section: mf.sectionName(sec), Size: sym.Size, Value: sym.Value, Index: idx}
	}
	return livepatch.Symbol{Name: fmt.Sprintf("%s+%#x", mf.sectionName(sec), p.offset), Section: mf.sectionName(sec), Value: p.offset}
}
