#!/bin/bash
# build-corpus.sh COMMAND
#
# Builds real livepatch modules for the opt-in corpus test (TestCorpus in
# elfscan/corpus_test.go). The modules contain the Linux kernel's and
# other projects' code, so they are built into a directory outside the
# repository and never committed. Run `build-corpus.sh help` for the
# commands and what each one needs.
#
# Environment:
#   KLPCHECK_CACHE    cache root, default ~/.cache/klpcheck
#   KLPCHECK_CORPUS   output directory, default $KLPCHECK_CACHE/corpus, and
#                     the directory that TestCorpus reads
#   CORPUS_JOBS       make -j value, default 2
#   CORPUS_SAMPLE_KERNELS  Debian kernel releases whose installed headers
#                     the samples are built against
#   CORPUS_KPATCH_KERNEL   Debian kernel release for kpatch-build
#   CORPUS_KLP_SOURCE      unstable source package for klp-build, default
#                     the newest linux-source-7.* there
#
# Every step is idempotent. A finished step leaves a stamp file in the work
# directory ($KLPCHECK_CACHE/corpus-work) and is skipped on the next run,
# and a module is rebuilt only when its patch or its line in the list
# changes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
patch_dir="$repo/scripts/corpus"
cache=${KLPCHECK_CACHE:-$HOME/.cache/klpcheck}
out=${KLPCHECK_CORPUS:-$cache/corpus}
work="$cache/corpus-work"
jobs=${CORPUS_JOBS:-2}
sample_kernels=${CORPUS_SAMPLE_KERNELS:-"6.1.0-57-amd64 6.12.118+deb12-amd64"}
kpatch_kernel=${CORPUS_KPATCH_KERNEL:-6.1.0-57-amd64}

# Separate apt state for Debian unstable. Packages from it are downloaded,
# never installed: the machine stays on bookworm.
unstable_state="$cache/apt-unstable"
unstable_apt=(
	-o "Dir::Etc::SourceList=$unstable_state/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$unstable_state/lists"
	-o "Dir::Cache=$unstable_state/cache"
	-o "Dir::Etc::Preferences=/dev/null"
	-o "Dir::Etc::PreferencesParts=/dev/null"
)

usage() {
	cat <<EOF
usage: $0 COMMAND

Builds livepatch modules into $out
(set KLPCHECK_CORPUS to change it), for:
  KLPCHECK_CORPUS=$out go test ./elfscan/ -run TestCorpus -v

Commands:
  samples    samples/livepatch and the livepatch selftest modules from
             Debian's linux-source-X.Y, built out of tree against the
             installed linux-headers-RELEASE for each of:
               $sample_kernels
             Needs: those headers packages, gcc-12, make.
             About 40 s a kernel, after a 150 MB download.
  klp-build  klp-build outputs of scripts/corpus/klp-build/*.patch, as
             listed in scripts/corpus/klp-build.list, built in a tinyconfig
             tree of the newest linux-source-7.* from Debian unstable
             (downloaded through a separate apt state, not installed).
             Needs: gcc make flex bison bc gawk libelf-dev libxxhash-dev
             patchutils. The first kernel build takes 5 to 12 minutes,
             then 30-60 s a patch. 2.2 GB of work space.
  kpatch     kpatch-build outputs of scripts/corpus/kpatch/*.patch, as
             listed in scripts/corpus/kpatch.list, against Debian's
             $kpatch_kernel kernel: kpatch's source (0.9.11) from
             Debian unstable, download only, and linux-source and the
             -dbg vmlinux from bookworm. Needs: gcc make flex bison bc gawk libelf-dev
             libssl-dev dwarves cpio. About 30 minutes for the first
             patch (building vmlinux), 1-3 minutes for each later one.
             4.5 GB of work space and a 1 GB download.
  all        samples, klp-build and kpatch in that order.
  test       runs TestCorpus over the output and counts producers.
  help       prints this text.

Install the build packages from bookworm, for example:
  apt-get install -y gcc-12 make flex bison bc gawk libelf-dev \\
    libxxhash-dev patchutils libssl-dev dwarves cpio xz-utils
EOF
}

die() {
	echo "build-corpus: error: $*" >&2
	exit 1
}

note() {
	echo "build-corpus: $*" >&2
}

# require_packages fails, naming every missing package at once, unless each
# named Debian package is installed.
require_packages() {
	local missing=()
	local pkg
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	if ((${#missing[@]} > 0)); then
		die "missing packages: ${missing[*]}; install them from bookworm with: apt-get install -y ${missing[*]}"
	fi
}

require_headers() {
	local release=$1
	[ -f "/usr/src/linux-headers-$release/Makefile" ] ||
		die "missing /usr/src/linux-headers-$release; install it with: apt-get install -y linux-headers-$release"
}

# headers_version prints the Debian version of an installed headers
# package, which is also the version of the matching linux-source-X.Y.
headers_version() {
	dpkg-query -W -f='${Version}' "linux-headers-$1"
}

# series prints the X.Y of a kernel release such as 6.12.118+deb12-amd64.
series() {
	echo "$1" | cut -d. -f1,2
}

# fetch_deb downloads PACKAGE=VERSION from bookworm into the cache, unless
# it is already there, and prints the path of the .deb.
fetch_deb() {
	local pkg=$1 version=$2
	local dir="$cache/debs"
	local prefix="$dir/${pkg}_${version//:/%3a}_"
	mkdir -p "$dir"
	if ! compgen -G "$prefix*.deb" >/dev/null; then
		note "downloading $pkg=$version"
		(cd "$dir" && apt-get download "$pkg=$version" >&2) ||
			die "apt-get download $pkg=$version failed; run apt-get update, or check that bookworm still has this version"
	fi
	compgen -G "$prefix*.deb" | head -n 1
}

# setup_unstable writes the separate apt state and refreshes its lists when
# they are missing or older than a day.
setup_unstable() {
	mkdir -p "$unstable_state/lists/partial" "$unstable_state/cache/archives/partial"
	local list="$unstable_state/sources.list"
	cat >"$list.new" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main
EOF
	mv "$list.new" "$list"

	local stamp="$unstable_state/updated"
	if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
		note "updating the unstable package lists in $unstable_state"
		apt-get "${unstable_apt[@]}" update >&2 ||
			die "apt-get update of the unstable lists failed (see above)"
		touch "$stamp"
	fi
}

# fetch_unstable_deb downloads the newest PACKAGE from unstable and prints
# the path of the .deb.
fetch_unstable_deb() {
	local pkg=$1
	local dir="$cache/debs-unstable"
	mkdir -p "$dir"

	local version
	version=$(apt-cache "${unstable_apt[@]}" show --no-all-versions "$pkg" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1)
	[ -n "$version" ] || die "package $pkg not found in unstable"

	local deb="$dir/${pkg}_${version//:/%3a}_all.deb"
	if [ ! -f "$deb" ]; then
		note "downloading $pkg=$version from unstable"
		(cd "$dir" && apt-get "${unstable_apt[@]}" download "$pkg=$version" >&2) ||
			die "apt-get download $pkg=$version from unstable failed"
	fi
	echo "$deb"
}

# source_tarball writes the compressed kernel source tarball inside a
# linux-source-X.Y .deb to standard output.
source_tarball() {
	local deb=$1 series=$2
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/src/linux-source-$series.tar.xz"
}

# write_info records where a directory of modules came from, next to them.
write_info() {
	local dir=$1
	shift
	{
		printf '%s\n' "$@"
		echo "compiler: $(gcc-12 --version | head -n 1)"
		echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/build-corpus.sh"
	} >"$dir/BUILD-INFO"
}

# up_to_date succeeds when module KO exists, is newer than PATCH, and was
# built from the same list line, which build_klp and build_kpatch record in
# KO.line.
up_to_date() {
	local ko=$1 patch=$2 line=$3
	[ -f "$ko" ] && [ "$ko" -nt "$patch" ] && [ "$(cat "$ko.line" 2>/dev/null)" = "$line" ]
}

# --- samples ---------------------------------------------------------------

# extract_samples unpacks samples/livepatch and the selftest modules of one
# kernel series into DEST, flat. The selftest modules are in lib/livepatch
# up to Linux 6.6 and in tools/testing/selftests/livepatch/test_modules
# from 6.7 on.
extract_samples() {
	local deb=$1 series=$2 dest=$3
	local top="linux-source-$series"
	local tmp="$dest.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp"

	local members
	members=$(source_tarball "$deb" "$series" | tar -tJf - |
		grep -E "^$top/(samples/livepatch|lib/livepatch|tools/testing/selftests/livepatch/test_modules)/[^/]+\.c$") ||
		die "no livepatch samples or selftest modules found in $deb"

	# shellcheck disable=SC2086 # members is one path a line without spaces
	source_tarball "$deb" "$series" | tar -xJf - -C "$tmp" $members
	find "$tmp" -name '*.c' -exec mv -t "$tmp" {} +
	rm -rf "${tmp:?}/$top"
	rm -rf "$dest"
	mv "$tmp" "$dest"
}

build_samples() {
	require_packages gcc-12 make
	local release
	for release in $sample_kernels; do
		require_headers "$release"
	done

	local total=0
	for release in $sample_kernels; do
		local series version deb src
		series=$(series "$release")
		version=$(headers_version "$release")
		src="$work/samples/$release"

		if [ ! -f "$src/.extracted" ]; then
			deb=$(fetch_deb "linux-source-$series" "$version")
			note "extracting samples and selftest modules of linux-source-$series $version"
			extract_samples "$deb" "$series" "$src"

			# One Kbuild for every source, written before the build
			# adds its *.mod.c files: the samples' and selftests' own
			# Makefiles depend on in-tree CONFIG_ symbols.
			(
				cd "$src"
				printf 'obj-m :='
				for c in *.c; do printf ' %s' "${c%.c}.o"; done
				echo
			) >"$src/Kbuild"
			touch "$src/.extracted"
		fi

		note "building $(wc -w <"$src/Kbuild" | awk '{print $1 - 2}') modules against linux-headers-$release"
		if ! nice -n 19 make -C "/usr/src/linux-headers-$release" M="$src" -j"$jobs" modules >"$src/build.log" 2>&1; then
			tail -n 30 "$src/build.log" >&2
			die "building the samples against linux-headers-$release failed; the full log is $src/build.log"
		fi

		local dest="$out/samples/$release"
		rm -rf "$dest"
		mkdir -p "$dest"
		cp "$src"/*.ko "$dest/"
		write_info "$dest" "source: linux-source-$series $version (samples/livepatch and livepatch selftest modules)" \
			"headers: linux-headers-$release $version"
		local count
		count=$(find "$dest" -maxdepth 1 -name '*.ko' | wc -l)
		total=$((total + count))
		note "$count modules in $dest"
	done
	note "samples: $total modules"
}

# --- klp-build -------------------------------------------------------------

# Kernel options for klp-build on top of tinyconfig. tinyconfig with
# ARCH=x86 turns 64BIT off, and klp-build supports only x86-64. LIVEPATCH
# needs MODULES, SYSFS, KALLSYMS_ALL (which needs DEBUG_KERNEL) and a dynamic
# ftrace. PROC_FS brings fs/proc/cmdline.c, and BINFMT_MISC=m gives the
# patches a module object. tinyconfig's LD_DEAD_CODE_DATA_ELIMINATION is
# rejected by klp-build (Linux 7.2 scripts/livepatch/klp-build).
klp_enable=(64BIT MODULES MODULE_UNLOAD SYSFS PROC_FS PRINTK DEBUG_KERNEL KALLSYMS KALLSYMS_ALL
	FTRACE FUNCTION_TRACER DYNAMIC_FTRACE LIVEPATCH)
klp_disable=(LD_DEAD_CODE_DATA_ELIMINATION)
klp_module=(BINFMT_MISC)
klp_expect=(CONFIG_X86_64=y CONFIG_LIVEPATCH=y CONFIG_KLP_BUILD=y CONFIG_KALLSYMS_ALL=y CONFIG_BINFMT_MISC=m)

# newest_unstable_source prints the newest linux-source-7.* package name
# in unstable.
newest_unstable_source() {
	apt-cache "${unstable_apt[@]}" search --names-only '^linux-source-[0-9]+\.[0-9]+$' 2>/dev/null |
		awk '{print $1}' | grep -E '^linux-source-7\.' | sort -V | tail -n 1
}

prepare_klp_tree() {
	local pkg=$1
	local series=${pkg#linux-source-}
	local tree="$work/klp-build/linux-source-$series"

	if [ ! -f "$tree/.extracted" ]; then
		local deb
		deb=$(fetch_unstable_deb "$pkg")
		note "extracting $(basename "$deb") into $work/klp-build (1.8 GB)"
		rm -rf "$tree"
		mkdir -p "$work/klp-build"
		source_tarball "$deb" "$series" | tar -xJf - -C "$work/klp-build"
		basename "$deb" >"$tree/.extracted"
	fi

	if [ ! -f "$tree/.configured" ]; then
		note "configuring a tinyconfig kernel with livepatch support in $tree"
		(
			cd "$tree"
			make -s tinyconfig
			local args=() opt
			for opt in "${klp_enable[@]}"; do args+=(--enable "$opt"); done
			for opt in "${klp_disable[@]}"; do args+=(--disable "$opt"); done
			for opt in "${klp_module[@]}"; do args+=(--module "$opt"); done
			scripts/config "${args[@]}"
			make -s olddefconfig
		) >&2
		local want
		for want in "${klp_expect[@]}"; do
			grep -qx "$want" "$tree/.config" ||
				die "$tree/.config lacks $want after olddefconfig; a dependency of it is missing from the option list in $0"
		done
		touch "$tree/.configured"
	fi
	echo "$tree"
}

build_klp() {
	require_packages gcc make flex bison bc gawk libelf-dev libxxhash-dev patchutils xz-utils
	local list="$patch_dir/klp-build.list"
	[ -f "$list" ] || die "missing $list"

	setup_unstable
	local pkg=${CORPUS_KLP_SOURCE:-}
	if [ -z "$pkg" ]; then
		pkg=$(newest_unstable_source)
		[ -n "$pkg" ] || die "no linux-source-7.* package in unstable; set CORPUS_KLP_SOURCE to a linux-source-X.Y package"
	fi
	local tree
	tree=$(prepare_klp_tree "$pkg")
	local release
	release=$(make -s -C "$tree" kernelrelease)
	local dest="$out/klp-build/$release"
	mkdir -p "$dest"

	local name patch options built=0
	while read -r name patch options; do
		case "$name" in '' | '#'*) continue ;; esac
		local patch_path="$patch_dir/klp-build/$patch"
		local ko="$dest/$name.ko"
		[ -f "$patch_path" ] || die "$list names $patch, which is missing from $patch_dir/klp-build"
		if up_to_date "$ko" "$patch_path" "$name $patch ${options:-}"; then
			note "$ko is up to date"
			continue
		fi

		# The first run builds the unpatched kernel and keeps it in
		# klp-tmp (-T); later runs start at the patched build (-S 2).
		local start=()
		if [ -f "$tree/klp-tmp/1-orig/.complete" ]; then
			start=(-S 2)
		else
			note "klp-build first builds the original kernel: 5 to 12 minutes on 2 cores"
		fi
		note "klp-build $name from $patch ${options:-}"
		# shellcheck disable=SC2086 # options is a word list from the .list file
		if ! (cd "$tree" && nice -n 19 ./scripts/livepatch/klp-build -T "${start[@]}" -j"$jobs" \
			-o "$ko" ${options:-} "$patch_path") >"$dest/$name.log" 2>&1; then
			tail -n 30 "$dest/$name.log" >&2
			rm -f "$ko"
			die "klp-build of $name failed; the full log is $dest/$name.log"
		fi
		rm -f "$dest/$name.log"
		echo "$name $patch ${options:-}" >"$ko.line"
		built=$((built + 1))
	done <"$list"

	((built > 0)) && write_info "$dest" "source: $(cat "$tree/.extracted") (Debian unstable), tinyconfig plus: ${klp_enable[*]}; =m: ${klp_module[*]}; off: ${klp_disable[*]}" \
		"patches: scripts/corpus/klp-build.list"
	note "klp-build: $built modules built, $(find "$dest" -maxdepth 1 -name '*.ko' | wc -l) in $dest"
}

# --- kpatch ----------------------------------------------------------------

# prepare_kpatch_tools downloads kpatch's upstream source from unstable,
# builds kpatch-build in place and prints the path of the kpatch-build
# script. Only the .orig tarball is fetched: it is the upstream release,
# and the Debian packaging is not needed to run kpatch-build from its
# source tree.
prepare_kpatch_tools() {
	local dir="$cache/src-unstable"
	mkdir -p "$dir"
	if ! compgen -G "$dir/kpatch_*.orig.tar.*" >/dev/null; then
		note "downloading kpatch's source from unstable"
		(cd "$dir" && apt-get "${unstable_apt[@]}" source --download-only --tar-only kpatch >&2) ||
			die "apt-get source --download-only --tar-only kpatch from unstable failed"
	fi
	local tarball
	tarball=$(compgen -G "$dir/kpatch_*.orig.tar.*" | sort -V | tail -n 1)
	local version=${tarball##*/kpatch_}
	version=${version%.orig.tar.*}
	local tools="$work/kpatch/kpatch-$version"

	if [ ! -f "$tools/.built" ]; then
		note "building kpatch-build $version in $tools"
		rm -rf "$tools"
		mkdir -p "$work/kpatch"
		tar -xf "$tarball" -C "$work/kpatch"
		[ -d "$tools/kpatch-build" ] || die "$tarball did not unpack into $tools"
		nice -n 19 make -C "$tools/kpatch-build" -j"$jobs" >"$tools/build.log" 2>&1 || {
			tail -n 30 "$tools/build.log" >&2
			die "building kpatch-build failed; the full log is $tools/build.log"
		}
		touch "$tools/.built"
	fi
	echo "$tools/kpatch-build/kpatch-build"
}

# prepare_kpatch_tree unpacks linux-source-X.Y at the version of the
# installed headers and pins its kernel release to Debian's. Debian builds
# with KERNELRELEASE=<abi>-<flavour> on the make command line, while the
# tree by itself would call itself X.Y.SUBLEVEL. kpatch-build cannot pass
# make variables through, so the tree's Makefile is edited instead. The
# version code (LINUX_VERSION_SUBLEVEL) stays as Debian's.
prepare_kpatch_tree() {
	local release=$1 version=$2
	local series
	series=$(series "$release")
	local tree="$work/kpatch/linux-source-$series"

	if [ ! -f "$tree/.extracted" ] || [ "$(cat "$tree/.extracted")" != "$version" ]; then
		local deb
		deb=$(fetch_deb "linux-source-$series" "$version")
		note "extracting linux-source-$series $version into $work/kpatch (1.4 GB)"
		rm -rf "$tree"
		mkdir -p "$work/kpatch"
		source_tarball "$deb" "$series" | nice -n 19 tar -xJf - -C "$work/kpatch"
		echo "$version" >"$tree/.extracted"
	fi

	if [ ! -f "$tree/.pinned" ]; then
		grep -q '^KERNELRELEASE = ' "$tree/Makefile" ||
			die "$tree/Makefile has no 'KERNELRELEASE = ' line to pin; this Linux version needs another way to set the release"
		sed -i "s/^KERNELRELEASE = .*/KERNELRELEASE = $release/" "$tree/Makefile"
		# kpatch-build copies and checks Module.symvers after building
		# only vmlinux, which writes vmlinux.symvers.
		ln -sf vmlinux.symvers "$tree/Module.symvers"
		touch "$tree/.pinned"
	fi
	echo "$tree"
}

build_kpatch() {
	require_packages gcc make flex bison bc gawk libelf-dev libssl-dev dwarves cpio xz-utils
	local release=$kpatch_kernel
	local list="$patch_dir/kpatch.list"
	[ -f "$list" ] || die "missing $list"
	require_headers "$release"
	local debian_config="/usr/src/linux-headers-$release/.config"
	[ -f "$debian_config" ] || die "missing $debian_config"
	if grep -qx 'CONFIG_X86_KERNEL_IBT=y' "$debian_config"; then
		die "$release enables CONFIG_X86_KERNEL_IBT, which kpatch-build 0.9.11 rejects; set CORPUS_KPATCH_KERNEL to a release without it, such as 6.1.0-57-amd64"
	fi

	# Debian signs modules with a key kept outside the source package
	# (MODULE_SIG_KEY="output/signing_key.pem"), and the certs/ build fails
	# without it. certs/signing_key.pem makes the build generate a
	# throwaway key instead; no other option changes.
	local config="$work/kpatch/config-$release"
	mkdir -p "$work/kpatch"
	sed 's|^CONFIG_MODULE_SIG_KEY=.*|CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"|' "$debian_config" >"$config.new"
	mv "$config.new" "$config"

	local version
	version=$(headers_version "$release")
	local vmlinux="$work/kpatch/vmlinux-$release"
	if [ ! -f "$vmlinux" ]; then
		local deb
		deb=$(fetch_deb "linux-image-$release-dbg" "$version")
		note "extracting vmlinux-$release from $(basename "$deb")"
		mkdir -p "$work/kpatch"
		dpkg-deb --fsys-tarfile "$deb" |
			tar -xOf - "./usr/lib/debug/boot/vmlinux-$release" >"$vmlinux.tmp"
		mv "$vmlinux.tmp" "$vmlinux"
	fi

	setup_unstable
	local kpatch_build tree
	kpatch_build=$(prepare_kpatch_tools)
	tree=$(prepare_kpatch_tree "$release" "$version")

	local dest="$out/kpatch/$release"
	local scratch="$work/kpatch/output"
	mkdir -p "$dest" "$scratch"

	local name patch options built=0
	while read -r name patch options; do
		case "$name" in '' | '#'*) continue ;; esac
		local patch_path="$patch_dir/kpatch/$patch"
		local ko="$dest/$name.ko"
		[ -f "$patch_path" ] || die "$list names $patch, which is missing from $patch_dir/kpatch"
		if up_to_date "$ko" "$patch_path" "$name $patch ${options:-}"; then
			note "$ko is up to date"
			continue
		fi

		if [[ " ${options:-} " != *" vmlinux "* ]] && [ ! -f "$tree/vmlinux.o" ]; then
			die "$name builds only modules, and $tree has no vmlinux.o yet; put a line with -t vmlinux before it in $list"
		fi

		note "kpatch-build $name from $patch ${options:-} (about 30 minutes in a fresh tree, 1 to 3 later)"
		# CACHEDIR keeps kpatch-build's scratch tree and log out of ~/.kpatch.
		# shellcheck disable=SC2086 # options is a word list from the .list file
		if ! CACHEDIR="$work/kpatch/cache" nice -n 19 "$kpatch_build" -s "$tree" -c "$config" \
			-v "$vmlinux" -j"$jobs" -n "$name" -o "$scratch" ${options:-} "$patch_path" \
			>"$dest/$name.log" 2>&1; then
			tail -n 30 "$dest/$name.log" >&2
			die "kpatch-build of $name failed; the full logs are $dest/$name.log and $work/kpatch/cache/build.log"
		fi
		cp "$scratch/$name.ko" "$ko"
		rm -f "$dest/$name.log"
		echo "$name $patch ${options:-}" >"$ko.line"
		built=$((built + 1))
	done <"$list"

	((built > 0)) && write_info "$dest" "kernel: Debian $release $version (linux-source-$(series "$release"), vmlinux from linux-image-$release-dbg)" \
		"config: Debian's, with MODULE_SIG_KEY=certs/signing_key.pem" \
		"tool: $(basename "$(dirname "$(dirname "$kpatch_build")")") from Debian unstable's source" \
		"patches: scripts/corpus/kpatch.list"
	note "kpatch: $built modules built, $(find "$dest" -maxdepth 1 -name '*.ko' | wc -l) in $dest"
}

# --- test ------------------------------------------------------------------

run_test() {
	[ -d "$out" ] || die "$out does not exist; build the corpus first"
	cd "$repo"
	KLPCHECK_CORPUS="$out" go test ./elfscan/ -run TestCorpus -count=1 -v
	echo "producers reported by klpcheck inspect, per directory:"
	local dir
	for dir in "$out"/*/*/; do
		[ -d "$dir" ] || continue
		printf '%s\n' "${dir#"$out"/}"
		go run ./cmd/klpcheck inspect --format json "$dir" 2>/dev/null |
			sed -n 's/^ *"producer": "\(.*\)",\{0,1\}$/\1/p' | sort | uniq -c || true
	done
}

case "${1:-help}" in
samples) build_samples ;;
klp-build) build_klp ;;
kpatch) build_kpatch ;;
all)
	build_samples
	build_klp
	build_kpatch
	;;
test) run_test ;;
help | -h | --help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
