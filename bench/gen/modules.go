package main

import (
	"debug/elf"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/internal/elftest"
)

// functionsPerModule is the number of patched functions in every module.
const functionsPerModule = 50

// hotFunctions is the size of the vmlinux function pool that modules
// patch. Functions are drawn from it with a Zipf distribution, so a few
// functions are patched by many modules. That models fixes that cluster
// in a few subsystems, an assumption of this generator.
const hotFunctions = 5000

// Producers. Streams use kpatch-build, klp-build and hand-written
// modules in the proportions 5:3:2, a choice of this generator.
const (
	producerKpatch      = "kpatch"
	producerKlpBuild    = "klpbuild"
	producerHandWritten = "handwritten"
)

// moduleObjects are the names of the patched module objects, common
// in-tree modules.
var moduleObjects = []string{"ext4", "xfs", "btrfs", "nfs", "nfsd", "sunrpc", "kvm", "kvm_intel",
	"nf_tables", "nf_conntrack", "bridge", "openvswitch", "vxlan", "bluetooth", "i915",
	"amdgpu", "nvme_core", "scsi_mod", "usbcore", "cifs", "overlay", "fuse", "tun", "bonding"}

// moduleObjectFunctions is the number of distinct function names per
// module object.
const moduleObjectFunctions = 400

// Length of a stream of modules. The corpus models a vendor that ships
// livepatches for a kernel as a stream of releases built with one tool.
// Each release of a replace stream is a cumulative patch that repeats the
// previous functions, fixes one or two more and drops as many. A new
// stream starts with a new function set.
const (
	minStreamLength = 5
	maxStreamLength = 30
)

// moduleSpec is one generated livepatch module before encoding.
type moduleSpec struct {
	fileName string
	producer string
	patch    elftest.Patch
}

// stream is the state shared by the modules of one stream.
type stream struct {
	producer string
	replace  bool
	left     int
	objects  []elftest.Object
}

// chooseModules chooses the contents of n modules in load order. The
// first k modules are the same for every n >= k, so that larger corpora
// extend smaller ones.
func chooseModules(seed uint64, n int, ks *kernelSymbols) []moduleSpec {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64756c6573))
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(min(hotFunctions, len(ks.patchable))-1))

	specs := make([]moduleSpec, 0, n)
	var s *stream
	for len(specs) < n {
		if s == nil || s.left == 0 {
			s = newStream(rng, zipf, ks)
		}
		specs = append(specs, s.next(rng, zipf, ks, len(specs)))
	}
	return specs
}

// newStream chooses a stream's tool, replace mode, length and first
// function set. Nine kpatch-build and klp-build streams in ten build
// replace patches, which both tools do by default, and half of the
// hand-written ones, which set the flag in their source.
func newStream(rng *rand.Rand, zipf *rand.Zipf, ks *kernelSymbols) *stream {
	s := &stream{left: minStreamLength + rng.IntN(maxStreamLength-minStreamLength+1)}
	switch r := rng.IntN(10); {
	case r < 5:
		s.producer = producerKpatch
		s.replace = rng.IntN(10) < 9
	case r < 8:
		s.producer = producerKlpBuild
		s.replace = rng.IntN(10) < 9
	default:
		s.producer = producerHandWritten
		s.replace = rng.IntN(2) == 0
	}
	if s.replace {
		s.objects = chooseObjects(rng, zipf, ks, s.producer)
	}
	return s
}

// next returns the stream's next module. In a replace stream it is the
// previous function set with up to two vmlinux functions swapped for
// others. Modules of a stream without replace are independent fixes that
// stack, each with its own function set.
func (s *stream) next(rng *rand.Rand, zipf *rand.Zipf, ks *kernelSymbols, index int) moduleSpec {
	s.left--
	if !s.replace && s.objects == nil {
		s.objects = chooseObjects(rng, zipf, ks, s.producer)
	}
	defer func() {
		if !s.replace {
			s.objects = nil
		}
	}()

	vmlinux := &s.objects[0]
	vmlinux.Funcs = slices.Clone(vmlinux.Funcs)
	for range rng.IntN(3) {
		seen := map[string]bool{}
		for _, fn := range vmlinux.Funcs {
			seen[fn.OldName] = true
		}
		i := rng.IntN(len(vmlinux.Funcs))
		name := pickUnseen(zipf, ks, seen)
		vmlinux.Funcs[i] = elftest.Func{OldName: name, NewFunc: newFuncName(s.producer, "vmlinux", name)}
	}

	name := fmt.Sprintf("lp%05d_%s", index, s.producer)
	p := elftest.Patch{
		Arch:     "x86_64",
		Name:     name,
		Vermagic: ks.release + " SMP preempt mod_unload modversions ",
		Objects:  slices.Clone(s.objects),
	}
	if s.replace {
		p.Replace = elftest.ReplaceSpec{Value: 1}
	}
	if s.producer != producerHandWritten {
		// 6.10 and later allocate the klp_patch with this function.
		p.Allocator = "__kmalloc_cache_noprof"
		p.KlpRelocs = chooseKlpRelocs(rng, ks, p.Objects)
	}
	p.Undefined = chooseImports(rng, ks)

	// modpost writes a __versions entry for every undefined exported
	// symbol: the imports, and what the builders' init code calls.
	versioned := append([]string{"klp_enable_patch"}, p.Undefined...)
	if p.Allocator != "" {
		versioned = append(versioned, p.Allocator, "kmalloc_caches")
	}
	for _, name := range versioned {
		p.Versions = append(p.Versions, elftest.SymbolVersion{Name: name, CRC: crcOf(name)})
	}

	return moduleSpec{
		fileName: strings.ReplaceAll(name, "_", "-") + ".ko",
		producer: s.producer,
		patch:    p,
	}
}

// pickUnseen draws a function from the hot pool that is not in seen.
func pickUnseen(zipf *rand.Zipf, ks *kernelSymbols, seen map[string]bool) string {
	for {
		name := ks.patchable[zipf.Uint64()]
		if !seen[name] {
			return name
		}
	}
}

// chooseObjects picks functionsPerModule functions: mostly in vmlinux,
// with one or two module objects for 40% of streams. The vmlinux part
// includes one or two functions whose name several files define, patched
// with their old_sympos.
func chooseObjects(rng *rand.Rand, zipf *rand.Zipf, ks *kernelSymbols, producer string) []elftest.Object {
	var modules []string
	switch r := rng.IntN(10); {
	case r < 3:
		modules = []string{moduleObjects[rng.IntN(len(moduleObjects))]}
	case r < 4:
		a := rng.IntN(len(moduleObjects))
		b := (a + 1 + rng.IntN(len(moduleObjects)-1)) % len(moduleObjects)
		modules = []string{moduleObjects[a], moduleObjects[b]}
	}

	var objects []elftest.Object
	left := functionsPerModule
	for _, mod := range modules {
		count := 5 + rng.IntN(11)
		left -= count
		seen := map[int]bool{}
		var funcs []elftest.Func
		for len(funcs) < count {
			k := rng.IntN(moduleObjectFunctions)
			if seen[k] {
				continue
			}
			seen[k] = true
			old := fmt.Sprintf("%s_%s_%d", mod, verbs[k%len(verbs)], k)
			funcs = append(funcs, elftest.Func{OldName: old, NewFunc: newFuncName(producer, mod, old)})
		}
		objects = append(objects, elftest.Object{Name: mod, Funcs: funcs})
	}

	var funcs []elftest.Func
	seen := map[string]bool{}
	for range 1 + rng.IntN(2) {
		t := ks.duplicated[rng.IntN(len(ks.duplicated))]
		if !seen[t.name] {
			seen[t.name] = true
			funcs = append(funcs, elftest.Func{OldName: t.name, NewFunc: newFuncName(producer, "vmlinux", t.name), Sympos: t.sympos})
		}
	}
	for len(funcs) < left {
		name := pickUnseen(zipf, ks, seen)
		seen[name] = true
		funcs = append(funcs, elftest.Func{OldName: name, NewFunc: newFuncName(producer, "vmlinux", name)})
	}
	// vmlinux comes first, as every producer writes it.
	return append([]elftest.Object{{Funcs: funcs}}, objects...)
}

// newFuncName names the replacement function of old. kpatch-build and
// klp-build keep the original name; hand-written modules prefix it, as the
// kernel samples do. A replacement for a module function in a hand-written
// patch also carries the object name, so that two objects cannot clash.
func newFuncName(producer, object, old string) string {
	if producer != producerHandWritten {
		return old
	}
	if object == "vmlinux" {
		return "livepatch_" + old
	}
	return "livepatch_" + object + "_" + old
}

// chooseKlpRelocs adds two to five klp relocations: references from the
// replacement code to local variables of vmlinux, or to functions of a
// patched module object.
func chooseKlpRelocs(rng *rand.Rand, ks *kernelSymbols, objects []elftest.Object) []elftest.KlpReloc {
	var relocs []elftest.KlpReloc
	seen := map[string]bool{}
	for n := 2 + rng.IntN(4); len(relocs) < n; {
		var symbol string
		if len(objects) > 1 && rng.IntN(3) == 0 {
			o := objects[1+rng.IntN(len(objects)-1)]
			k := rng.IntN(moduleObjectFunctions)
			symbol = fmt.Sprintf(".klp.sym.%s.%s_%s_%d,0", o.Name, o.Name, verbs[k%len(verbs)], k)
			if !seen[symbol] {
				relocs = append(relocs, elftest.KlpReloc{Object: o.Name, Symbol: symbol})
			}
		} else {
			symbol = fmt.Sprintf(".klp.sym.vmlinux.%s,0", ks.dataObjects[rng.IntN(len(ks.dataObjects))])
			if !seen[symbol] {
				relocs = append(relocs, elftest.KlpReloc{Symbol: symbol})
			}
		}
		seen[symbol] = true
	}
	return relocs
}

// chooseImports picks the exported functions a module calls: a few core
// helpers and some others.
func chooseImports(rng *rand.Rand, ks *kernelSymbols) []string {
	names := []string{"_printk", "mutex_lock", "mutex_unlock"}
	seen := map[string]bool{"_printk": true, "mutex_lock": true, "mutex_unlock": true,
		"klp_enable_patch": true, "__kmalloc_cache_noprof": true, "kmalloc_caches": true}
	for n := 3 + rng.IntN(8); len(names) < n; {
		name := ks.exports[rng.IntN(len(ks.exports))]
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// buildModule encodes spec. The elftest builders write two-instruction
// stubs, but a module's size and relocation count matter to the timings.
// So each replacement function of a kpatch-build or klp-build module,
// alone in its section, gets a body of 64 to 1,024 bytes with a call
// relocation every 32 bytes. Hand-written modules keep their stubs, as
// the kernel samples are that small.
func buildModule(spec moduleSpec, seed uint64, index int) ([]byte, error) {
	var f *elftest.File
	switch spec.producer {
	case producerKpatch:
		f = elftest.KpatchBuild(spec.patch)
	case producerKlpBuild:
		f = elftest.KlpBuild(spec.patch)
	default:
		f = elftest.HandWritten(spec.patch)
	}

	if spec.producer != producerHandWritten {
		rng := rand.New(rand.NewPCG(seed^0x626f6479, uint64(index)))
		callees := undefinedSymbols(f)
		for _, sym := range f.Symbols {
			if sym.Type != elf.STT_FUNC || sym.Section == nil || sym.Section.Name != ".text."+sym.Name {
				continue
			}
			growFunction(rng, sym, callees)
		}
	}
	return f.Bytes()
}

// undefinedSymbols returns the module's undefined global symbols other
// than __this_module.
func undefinedSymbols(f *elftest.File) []*elftest.Symbol {
	var out []*elftest.Symbol
	for _, s := range f.Symbols {
		if s.Section == nil && s.Index == elf.SHN_UNDEF && s.Name != "" && s.Name != "__this_module" {
			out = append(out, s)
		}
	}
	return out
}

// growFunction pads the function sym, alone in its section, to a random
// size with int3 bytes and adds R_X86_64_PLT32 call relocations into it.
func growFunction(rng *rand.Rand, sym *elftest.Symbol, callees []*elftest.Symbol) {
	sec := sym.Section
	size := 64 * uint64(1+rng.IntN(16))
	if size <= uint64(len(sec.Data)) {
		return
	}
	start := uint64(len(sec.Data))
	for uint64(len(sec.Data)) < size {
		sec.Data = append(sec.Data, 0xcc)
	}
	sym.Size = size
	if len(callees) == 0 {
		return
	}
	for off := alignUp(start, 32); off+4 <= size; off += 32 {
		sec.Relocs = append(sec.Relocs, elftest.Reloc{
			Offset: off, Type: uint32(elf.R_X86_64_PLT32),
			Symbol: callees[rng.IntN(len(callees))], Addend: -4,
		})
	}
}
