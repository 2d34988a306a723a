// Package target holds what klpcheck knows about the kernel a patch is
// deployed on: the symbols of vmlinux and of its modules in the order the
// kernel counts old_sympos, the ftrace call sites, the exported symbols
// with their CRCs, and the release and vermagic.
//
// Load fills a Target from the files a user names with --target. Each
// file is recognised by its content, not its name, and each fills part of
// the Target. What no input covers stays unknown, and the rules that need
// it say "not checked". Tests build a Target with the Add methods.
//
// # Inputs
//
// A vmlinux (an ELF ET_EXEC or ET_DYN file with .symtab, such as
// /usr/lib/debug/boot/vmlinux-<release> from Debian's -dbg package) gives
// vmlinux's kallsyms symbols with sizes, sections and source files, the
// ftrace call sites between __start_mcount_loc and __stop_mcount_loc,
// every export with its CRC and namespace, the release from linux_banner,
// and whether the kernel has livepatch (klp_enable_patch). An arm64
// vmlinux leaves __mcount_loc zero and the call sites come from the
// R_AARCH64_RELATIVE entries of .rela.dyn that fill it at boot. A
// relocatable kernel of another layout whose __mcount_loc is all zero
// gives no ftrace call sites. A stripped vmlinux or a vmlinuz is rejected.
//
// System.map gives vmlinux's symbol names, addresses and nm type letters:
// no sizes, sections, files, ftrace call sites, exports or modules.
//
// A /proc/kallsyms dump gives the same as System.map, and the symbols of
// the modules loaded when it was read. Read without CAP_SYSLOG, every
// address is zero: the names and their order still answer old_sympos,
// but no address is known. Kallsyms lines are told from System.map lines
// by a "[module]" tag or by all-zero addresses, so a dump taken with no
// module loaded reads as System.map. A caller that knows it has lines of
// /proc/kallsyms, such as the lines a trial guest selected by name, reads
// them with LoadKallsymsExcerpt.
//
// The placeholder System.map that Debian's linux-image package installs
// in /boot has one line with a sentence in place of a symbol. It is
// rejected with a message that points to the -dbg package.
//
// A module file (ELF ET_REL, also .ko.xz, .ko.zst and .ko.gz) gives one
// module's core symbols in .symtab order with sizes, sections and files,
// its ftrace call sites from __mcount_loc, its exports, srcversion,
// vermagic and GNU build ID. It does not say which other modules the
// target has.
//
// A modules tree (/lib/modules/<release>, an unpacked kernel package, or
// any directory of module files) lists the target's modules by file name,
// from modules.dep when present, and the built-in ones from
// modules.builtin. Module files are read only when a rule asks for one
// module's symbols. Exports of modules come from modules.symbols, and are
// unknown without it. An unpacked package directory also loads its
// vmlinux or System.map.
//
// Module.symvers gives every export of vmlinux and of the in-tree modules
// with its owner, CRC, GPL-only flag and namespace.
//
// available_filter_functions (from tracefs) gives the functions ftrace can
// trace, by name and module, but no addresses. Every line must be a
// function name with an optional "[module]", so that another list of
// words, such as modules.order, is rejected instead of read as one.
//
// Every input must name the release of the first input that names one.
// An input of another release is rejected with a *ReleaseError and
// nothing of it is used.
//
// # Order of symbols
//
// Object.Symbols is in the order klp_find_object_symbol counts matches,
// so the candidate for old_sympos N is Matches(name)[N-1]. For vmlinux
// that is the kallsyms table order that scripts/kallsyms builds, which
// the vmlinux and System.map readers recreate; a kallsyms dump is already
// in it. For a module it is .symtab order, restricted to core symbols
// once the module is loaded and not restricted while it loads
// (Object.LoadingSymbols).
//
// Names are kept exactly as in the input, including the .llvm.<hash>
// suffix that Clang LTO adds to promoted static functions.
//
// # Security
//
// Inputs are untrusted. Every offset, size and count read from a file is
// checked against the file's size before it is used, text inputs are
// bounded in size, and debug/elf panics are turned into errors.
package target
