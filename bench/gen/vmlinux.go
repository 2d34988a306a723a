package main

import (
	"debug/elf"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"

	"github.com/klpcheck/klpcheck/internal/elftest"
)

// Shape of the synthetic vmlinux. Debian's 6.1.0-57-amd64 vmlinux has
// 129,791 .symtab entries, so 200,000 leaves room for larger kernel
// configurations. The other counts are this generator's choices, not
// measured from a kernel.
const (
	vmlinuxSymbols = 200000
	sourceFiles    = 8000
	exportCount    = 8000
	// duplicateNames is the number of static function names that several
	// source files may define, as real kernels have many static "show"
	// or "init_once" functions.
	duplicateNames = 1500
)

// coreExports are exported kernel functions and variables that the
// modules written by elftest call, so that the target rules find them.
var coreExports = []string{
	"klp_enable_patch", "__kmalloc", "__kmalloc_cache_noprof", "kmalloc_caches",
	"kfree", "_printk", "mutex_lock", "mutex_unlock", "_raw_spin_lock",
	"_raw_spin_unlock", "__fentry__", "__x86_return_thunk", "memcpy", "memset",
	"jiffies", "schedule", "__stack_chk_fail", "kmem_cache_alloc_noprof",
}

// subsystems and verbs make kernel-looking names.
var (
	subsystems = []string{"tcp", "udp", "ip", "ipv6", "net", "sock", "skb", "ext4", "vfs",
		"mm", "page", "sched", "cgroup", "bpf", "kvm", "pci", "blk", "scsi", "nvme", "usb",
		"tty", "irq", "timer", "rcu", "audit", "selinux", "crypto", "xfrm", "nf", "dev"}
	verbs = []string{"init", "alloc", "free", "get", "put", "lookup", "insert", "remove",
		"update", "flush", "show", "store", "read", "write", "open", "release", "ioctl",
		"poll", "map", "unmap", "parse", "check", "handle", "queue", "rcv", "xmit"}
)

// kernelSymbols holds the facts about the synthetic vmlinux that the
// module generator uses: names to patch, to relocate against and to
// import.
type kernelSymbols struct {
	release string
	// patchable are functions with a unique name and an ftrace call site,
	// in a fixed random order.
	patchable []string
	// duplicated are functions whose name several source files define,
	// each with the old_sympos that selects it.
	duplicated []patchTarget
	// dataObjects are local variables with unique names, which a
	// livepatch reaches through klp relocations.
	dataObjects []string
	// exports are exported symbols, coreExports first.
	exports []string
}

// patchTarget is one function named by old_name and old_sympos.
type patchTarget struct {
	name   string
	sympos uint64
}

// crcOf is the modversions CRC of an exported symbol in the synthetic
// corpus. Any fixed function of the name works, because vmlinux and the
// modules' __versions use the same one.
func crcOf(name string) uint32 { return crc32.ChecksumIEEE([]byte(name)) }

// buildVmlinux returns an x86-64 vmlinux with vmlinuxSymbols .symtab
// entries, written by elftest.Vmlinux, and the facts the modules are
// generated from. It has STT_FILE symbols before each file's locals,
// static functions with the same name in several files, functions without
// an ftrace call site (notrace), exports with their __ksymtab, __kstrtab,
// __kstrtabns and __crc symbols, linux_banner, and the __mcount_loc table.
// Functions are 16 to 512 bytes long, so .text is about 30 MiB of zeros.
func buildVmlinux(seed uint64, release string) ([]byte, *kernelSymbols, error) {
	rng := rand.New(rand.NewPCG(seed, 0x766d6c696e7578))
	v := &elftest.Vmlinux{Banner: elftest.LinuxBanner(release)}
	ks := &kernelSymbols{release: release}

	// Per export, elftest adds __ksymtab_, __kstrtab_, __kstrtabns_ and
	// __crc_ symbols. linux_banner and the two mcount markers come on
	// top, and each source file takes one STT_FILE symbol.
	fixed := 4*exportCount + 3 + sourceFiles
	remaining := vmlinuxSymbols - fixed

	shared := make([]string, duplicateNames)
	for i := range shared {
		shared[i] = fmt.Sprintf("%s_%s_shared%d", subsystems[i%len(subsystems)], verbs[i%len(verbs)], i)
	}

	// Locals come first, file by file, and globals after all locals, as
	// the linker writes them.
	var locals, globals []elftest.KernelSymbol
	var textEnd, dataEnd uint64
	nameCount := map[string]int{}
	traced := map[string]bool{}
	// Seven symbols in ten are functions, the others variables.
	for i := range remaining {
		file := i * sourceFiles / remaining
		s := elftest.KernelSymbol{File: sourceFileName(file)}
		if i%10 < 7 {
			s.Size = 16 * uint64(1+rng.IntN(32))
			s.Offset, textEnd = textEnd, textEnd+s.Size
			s.Name = fmt.Sprintf("%s_%s_%d", subsystems[rng.IntN(len(subsystems))], verbs[rng.IntN(len(verbs))], i)
			// 6% of functions are notrace or noinstr and have no call site.
			if rng.IntN(100) >= 6 {
				s.Ftrace = []uint64{0}
			}
		} else {
			s.Section, s.Type = ".data", elf.STT_OBJECT
			s.Size = 8 * uint64(1+rng.IntN(32))
			s.Offset, dataEnd = dataEnd, dataEnd+s.Size
			s.Name = fmt.Sprintf("%s_%s_data%d", subsystems[rng.IntN(len(subsystems))], verbs[rng.IntN(len(verbs))], i)
		}

		if rng.IntN(10) < 4 {
			s.Bind, s.File = elf.STB_GLOBAL, ""
			globals = append(globals, s)
			continue
		}
		if s.Type != elf.STT_OBJECT && rng.IntN(100) < 3 {
			s.Name = shared[rng.IntN(len(shared))]
		}
		locals = append(locals, s)
	}

	// Exports: core names first, given to the first traced global
	// functions, then other traced global functions.
	core := 0
	for i := range globals {
		s := &globals[i]
		if s.Type == elf.STT_OBJECT || len(s.Ftrace) == 0 || len(ks.exports) == exportCount {
			continue
		}
		if core < len(coreExports) {
			s.Name = coreExports[core]
			core++
		}
		ks.exports = append(ks.exports, s.Name)
		v.Exports = append(v.Exports, elftest.KernelExport{Name: s.Name, GPL: s.Name == "klp_enable_patch" || rng.IntN(2) == 0, CRC: crcOf(s.Name)})
	}

	v.Symbols = append(locals, globals...)
	// A file whose symbols all became global has no STT_FILE symbol, so
	// global variables make up the difference to vmlinuxSymbols.
	files := map[string]bool{}
	for _, s := range locals {
		files[s.File] = true
	}
	for i := range vmlinuxSymbols - len(v.Symbols) - len(files) - 4*len(v.Exports) - 3 {
		v.Symbols = append(v.Symbols, elftest.KernelSymbol{Name: fmt.Sprintf("bench_padding_data%d", i), Section: ".data",
			Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL, Offset: dataEnd, Size: 8})
		dataEnd += 8
	}
	for _, s := range v.Symbols {
		nameCount[s.Name]++
		if s.Type != elf.STT_OBJECT && len(s.Ftrace) > 0 {
			traced[s.Name] = true
		}
	}

	// old_sympos counts in address order, which is the order of Offset in
	// .text.
	byAddress := slices.Clone(v.Symbols)
	slices.SortFunc(byAddress, func(a, b elftest.KernelSymbol) int {
		if a.Section != b.Section {
			return cmpString(a.Section, b.Section)
		}
		return int(int64(a.Offset) - int64(b.Offset))
	})
	seen := map[string]uint64{}
	for _, s := range byAddress {
		if s.Type == elf.STT_OBJECT {
			continue
		}
		seen[s.Name]++
		if nameCount[s.Name] > 1 && len(s.Ftrace) > 0 && s.Bind == elf.STB_LOCAL {
			ks.duplicated = append(ks.duplicated, patchTarget{s.Name, seen[s.Name]})
		}
	}

	exported := map[string]bool{}
	for _, name := range ks.exports {
		exported[name] = true
	}
	for _, s := range v.Symbols {
		switch {
		case s.Type != elf.STT_OBJECT && nameCount[s.Name] == 1 && traced[s.Name] && !exported[s.Name]:
			ks.patchable = append(ks.patchable, s.Name)
		case s.Type == elf.STT_OBJECT && s.Bind == elf.STB_LOCAL:
			ks.dataObjects = append(ks.dataObjects, s.Name)
		}
	}
	rng.Shuffle(len(ks.patchable), func(i, j int) { ks.patchable[i], ks.patchable[j] = ks.patchable[j], ks.patchable[i] })
	rng.Shuffle(len(ks.dataObjects), func(i, j int) { ks.dataObjects[i], ks.dataObjects[j] = ks.dataObjects[j], ks.dataObjects[i] })

	raw, err := v.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("encode vmlinux: %w", err)
	}
	return raw, ks, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sourceFileName names the STT_FILE symbol of source file i, as gcc writes
// it: the base name of the C file.
func sourceFileName(i int) string {
	return fmt.Sprintf("%s_%d.c", subsystems[i%len(subsystems)], i)
}

func alignUp(v, align uint64) uint64 {
	if align <= 1 {
		return v
	}
	return (v + align - 1) / align * align
}
