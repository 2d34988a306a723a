package elftest

// replaceOffset is the offset of klp_patch.replace in kernels 5.5 and
// later, where generated init code stores it.
const replaceOffset = 24

// wantReplaceFunc is the local function whose result selects the replace
// value in the ReplaceSpec.Conflicting and OnePath variants.
const wantReplaceFunc = "livepatch_want_replace"

// cacheFirstAllocators take (struct kmem_cache *, gfp_t, size_t) instead of
// (size_t, gfp_t).
var cacheFirstAllocators = map[string]bool{
	"kmalloc_trace":          true,
	"__kmalloc_cache_noprof": true,
	"kmem_cache_alloc_trace": true,
}

// allocatingInit builds the init function of kpatch-build and klp-build
// modules, reduced to the part a reader needs:
//
//	patch = kzalloc(sizeof(*patch), GFP_KERNEL);  // kept in a callee-saved register
//	if (!patch)
//		return -ENOMEM;
//	patch->mod = THIS_MODULE;
//	patch->replace = <Replace.Value>;            // Replace.Width bytes at +24
//	return klp_enable_patch(patch);
//
// kpatch's livepatch-patch-hook.c and the kernel's scripts/livepatch/init.c
// have this shape, with more work between the allocation and the call.
func (m *module) allocatingInit() *asm {
	e, a := m.enc, m.newAsm()
	allocator := m.p.Allocator
	if allocator == "" {
		allocator = "__kmalloc"
	}

	e.enter(a)
	if cacheFirstAllocators[allocator] {
		e.loadFrom(a, regArg0, 8, m.undefined("kmalloc_caches"), kmallocCacheOffset)
		e.movImm(a, regArg1, gfpKernelZero)
		e.movImm(a, regArg2, klpPatchSize)
	} else {
		e.movImm(a, regArg0, klpPatchSize)
		e.movImm(a, regArg1, gfpKernelZero)
	}
	e.call(a, m.undefined(allocator))
	e.movReg(a, regSaved, regRet)
	noMemory := a.newLabel()
	e.branchZero(a, regRet, noMemory)

	e.loadAddr(a, regTemp, m.thisModuleSymbol(), 0)
	e.store(a, 8, regTemp, regSaved, 0)
	if !m.p.Replace.AfterEnable {
		m.replaceStores(a)
	}

	e.movReg(a, regArg0, regSaved)
	e.call(a, m.undefined("klp_enable_patch"))
	if m.p.Replace.AfterEnable {
		m.replaceStores(a)
	}
	e.leave(a)

	a.bind(noMemory)
	e.movImm(a, regRet, enomem)
	e.leave(a)
	return a
}

// replaceStores emits the replace stores of allocatingInit that the
// ReplaceSpec selects: one store, none, or one on each side of a branch.
func (m *module) replaceStores(a *asm) {
	e, r := m.enc, m.p.Replace
	switch {
	case r.Omit:
	case r.OnePath:
		skip := a.newLabel()
		e.call(a, m.function(wantReplaceFunc))
		e.branchZero(a, regRet, skip)
		e.storeImm(a, r.Width, r.Value, regSaved, replaceOffset)
		a.bind(skip)
	case r.Conflicting:
		other, join := a.newLabel(), a.newLabel()
		e.call(a, m.function(wantReplaceFunc))
		e.branchZero(a, regRet, other)
		e.storeImm(a, r.Width, r.Value, regSaved, replaceOffset)
		e.jump(a, join)
		a.bind(other)
		e.storeImm(a, r.Width, r.Value^1, regSaved, replaceOffset)
		a.bind(join)
	default:
		e.storeImm(a, r.Width, r.Value, regSaved, replaceOffset)
	}
}

// staticInit builds the init function of a hand-written module, which
// passes its static klp_patch to klp_enable_patch:
//
//	patch.replace = replace;         // with KernelParam only
//	klp_register_patch(&patch);      // kernels before 5.1 only
//	return klp_enable_patch(&patch);
//
// The address of patch is relocated against the section symbol of data, as
// gas does for a static variable.
func (m *module) staticInit(patch *Symbol, replaceOff int64, registerFirst bool) *asm {
	e, a := m.enc, m.newAsm()
	data := m.sectionSymbol(patch.Section)
	patchAddend := int64(patch.Value)

	e.enter(a)
	if m.p.KernelParam {
		param := m.paramVariable()
		e.loadFrom(a, regTemp, 4, m.sectionSymbol(param.Section), int64(param.Value))
		e.loadAddr(a, regArg0, data, patchAddend)
		e.store(a, 1, regTemp, regArg0, replaceOff)
	}
	if registerFirst {
		e.loadAddr(a, regArg0, data, patchAddend)
		e.call(a, m.undefined("klp_register_patch"))
	}
	e.loadAddr(a, regArg0, data, patchAddend)
	e.call(a, m.undefined("klp_enable_patch"))
	e.leave(a)
	return a
}
