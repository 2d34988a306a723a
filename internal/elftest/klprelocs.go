package elftest

import (
	"debug/elf"
	"fmt"
	"strings"
)

// helper defines the function that calls every Undefined symbol and holds
// the call sites of KlpRelocs without a Section.
func (m *module) helper() {
	var klpCalls []KlpReloc
	for _, r := range m.p.KlpRelocs {
		if r.Section == "" {
			klpCalls = append(klpCalls, r)
		}
	}
	if len(m.p.Undefined) == 0 && len(klpCalls) == 0 {
		return
	}

	a := m.newAsm()
	m.enc.enter(a)
	for _, name := range m.p.Undefined {
		m.enc.call(a, m.undefined(name))
	}
	var klpIndexes []int
	for range klpCalls {
		// The symbol is replaced by the klp symbol in klpRelocs.
		klpIndexes = append(klpIndexes, m.enc.call(a, nil))
	}
	m.enc.movImm(a, regRet, 0)
	m.enc.leave(a)

	// Keep the klp call sites out of the normal relocations.
	var normal []Reloc
	isKlp := map[int]bool{}
	for _, i := range klpIndexes {
		isKlp[i] = true
	}
	for i, r := range a.relocs {
		if isKlp[i] {
			m.helperKlpCalls = append(m.helperKlpCalls, r)
		} else {
			normal = append(normal, r)
		}
	}
	a.relocs = normal

	sec := m.textSection(m.helperName)
	sym := m.place(sec, a, m.helperName, elf.STB_LOCAL)
	for i := range m.helperKlpCalls {
		m.helperKlpCalls[i].Offset += sym.Value
	}
	m.helperSection = sec
}

// klpRelocs writes the klp relocation sections. With tombstones set, as
// klp-build's post-link step does, every klp relocation also leaves a
// R_*_NONE relocation at the same place in the normal relocation section,
// against a SHN_LIVEPATCH .klp.tombstone.<name> symbol.
func (m *module) klpRelocs(klpSymbol func(name string) *Symbol, tombstones bool) {
	helperCall := 0
	for _, r := range m.p.KlpRelocs {
		obj := r.Object
		if obj == "" {
			obj = "vmlinux"
		}

		var target *Section
		rel := Reloc{Offset: r.Offset, Type: r.Type, Addend: r.Addend}
		if r.Section == "" {
			target = m.helperSection
			call := m.helperKlpCalls[helperCall]
			helperCall++
			rel.Offset, rel.Addend = call.Offset, call.Addend
			if rel.Type == 0 {
				rel.Type = call.Type
			}
		} else {
			target = m.lookupSection(r.Section)
			if target == nil {
				panic(fmt.Sprintf("elftest: klp relocation target section %s is not in the module", r.Section))
			}
		}
		if rel.Type == 0 {
			rel.Type = m.arch.Call
		}
		rel.Symbol = klpSymbol(r.Symbol)

		name := ".klp.rela." + obj + "." + target.Name
		sec := m.lookupSection(name)
		if sec == nil {
			sec = m.addSection(KlpRelaSection(obj, target))
		}
		sec.Relocs = append(sec.Relocs, rel)

		if tombstones {
			stone := m.lookupSymbol(".klp.tombstone." + klpSymbolTarget(r.Symbol))
			if stone == nil {
				stone = m.addSymbol(&Symbol{
					Name: ".klp.tombstone." + klpSymbolTarget(r.Symbol),
					Bind: elf.STB_WEAK, Type: elf.STT_NOTYPE, Index: SHN_LIVEPATCH,
				})
			}
			target.Relocs = append(target.Relocs, Reloc{Offset: rel.Offset, Type: 0, Symbol: stone})
		}
	}
}

// klpSymbolTarget returns the <symbol> part of ".klp.sym.<obj>.<symbol>,<pos>",
// or the whole name when it does not have that form.
func klpSymbolTarget(name string) string {
	rest, ok := strings.CutPrefix(name, ".klp.sym.")
	if !ok {
		return name
	}
	_, rest, ok = strings.Cut(rest, ".")
	if !ok {
		return name
	}
	symbol, _, _ := strings.Cut(rest, ",")
	return symbol
}

// klpSymbolDefiner returns a function that defines each klp symbol once,
// with st_shndx SHN_LIVEPATCH and the given binding and type.
func (m *module) klpSymbolDefiner(bind elf.SymBind, typ elf.SymType) func(string) *Symbol {
	return func(name string) *Symbol {
		if s := m.lookupSymbol(name); s != nil {
			return s
		}
		return m.addSymbol(&Symbol{Name: name, Bind: bind, Type: typ, Index: SHN_LIVEPATCH})
	}
}
