package elftest

import (
	"debug/elf"
	"strings"
)

// thisModule defines __this_module in .gnu.linkonce.this_module with the
// module name at offset 24 and pointers to init_module and cleanup_module.
func (m *module) thisModule() {
	sec := m.section(".gnu.linkonce.this_module")
	off := reserve(sec, thisModuleSize, 64)
	name := m.p.Name
	if m.p.ThisModuleName != "" {
		name = m.p.ThisModuleName
	}
	if len(name) >= moduleNameLen {
		name = name[:moduleNameLen-1]
	}
	copy(sec.Data[off+thisModuleNameOffset:], name)

	sym := m.lookupSymbol("__this_module")
	if sym == nil {
		sym = m.addSymbol(&Symbol{Name: "__this_module"})
	}
	sym.Section, sym.Value, sym.Size = sec, off, thisModuleSize
	sym.Bind, sym.Type = elf.STB_GLOBAL, elf.STT_OBJECT

	if init := m.lookupSymbol("init_module"); init != nil {
		m.pointer(sec, off+thisModuleInitOffset, init, 0)
	}
	if exit := m.lookupSymbol("cleanup_module"); exit != nil {
		m.pointer(sec, off+thisModuleExitOffset, exit, 0)
	}
}

// thisModuleSymbol returns __this_module, declared early so that init code
// can refer to it. thisModule defines it later.
func (m *module) thisModuleSymbol() *Symbol {
	return m.undefined("__this_module")
}

// modInfo writes .modinfo: the producer's leading entries, the extra
// ModInfo strings, then what modpost adds (depends, name, vermagic).
func (m *module) modInfo(leading []string) {
	overridden := map[string]bool{}
	for _, kv := range m.p.ModInfo {
		key, _, _ := strings.Cut(kv, "=")
		overridden[key] = true
	}

	var entries []string
	add := func(kv string) {
		key, _, _ := strings.Cut(kv, "=")
		if !overridden[key] {
			entries = append(entries, kv)
		}
	}
	if !m.p.NoLivepatchInfo {
		add("livepatch=Y")
	}
	for _, kv := range leading {
		add(kv)
	}
	if m.p.KernelParam {
		add("parmtype=replace:int")
	}
	entries = append(entries, m.p.ModInfo...)
	add("depends=")
	if m.p.Name != "" {
		add("name=" + m.p.Name)
	}
	if m.p.Vermagic != "" {
		add("vermagic=" + m.p.Vermagic)
	}

	sec := m.section(".modinfo")
	for _, kv := range entries {
		sec.Data = append(append(sec.Data, kv...), 0)
	}
}

// kernelParam adds the replace module parameter: the int variable, its
// name string and the 40-byte struct kernel_param in __param.
func (m *module) kernelParam() {
	if !m.p.KernelParam {
		return
	}
	variable := m.paramVariable()

	rodata := m.section(".rodata")
	nameOff := reserve(rodata, uint64(len("replace")+1), 1)
	copy(rodata.Data[nameOff:], "replace")
	m.object("__param_str_replace", rodata, nameOff, uint64(len("replace")+1))

	sec := m.section("__param")
	off := reserve(sec, 40, 8)
	m.pointerTo(sec, off, rodata, nameOff)
	m.pointer(sec, off+8, m.thisModuleSymbol(), 0)
	m.pointer(sec, off+16, m.undefined("param_ops_int"), 0)
	m.arch.ByteOrder.PutUint16(sec.Data[off+24:], 0o644) // perm
	sec.Data[off+26] = 0xff                              // level -1
	m.pointerTo(sec, off+32, variable.Section, variable.Value)
	m.object("__param_replace", sec, off, 40)
}

// paramVariable returns the replace variable, defining it on first use in
// .data, or in .bss when its default is 0.
func (m *module) paramVariable() *Symbol {
	if s := m.lookupSymbol("replace"); s != nil {
		return s
	}
	if m.p.Replace.Value == 0 {
		bss := m.section(".bss")
		return m.object("replace", bss, reserve(bss, 4, 4), 4)
	}
	data := m.section(".data")
	off := reserve(data, 4, 4)
	m.put32(data, off, m.p.Replace.Value)
	return m.object("replace", data, off, 4)
}

// versions writes __versions: struct modversion_info {unsigned long crc;
// char name[56];} per entry.
func (m *module) versions() {
	if len(m.p.Versions) == 0 {
		return
	}
	sec := m.section("__versions")
	start := reserve(sec, 0, 8)
	for _, v := range m.p.Versions {
		off := reserve(sec, 64, 8)
		m.put64(sec, off, uint64(v.CRC))
		name := v.Name
		if len(name) >= moduleNameLen {
			name = name[:moduleNameLen-1]
		}
		copy(sec.Data[off+8:], name)
	}
	m.object("____versions", sec, start, uint64(len(sec.Data))-start)
}
