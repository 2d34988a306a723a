#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Rebuild every livepatch fixture in this directory from src/.
#
#   6.1/<name>.ko, 6.12/<name>.ko  Kbuild modules for Debian 12 x86_64 kernels
#   6.1/target/<name>.ko,          ordinary (not livepatch) modules from
#   6.12/target/<name>.ko          src/target/ that the livepatch fixtures
#                                 patch as module objects
#   cross/<arch>/<name>.o         gcc -O2 -c + ld -r objects for arm64,
#                                 ppc64le and s390x
#
# Needs (Debian 12): linux-headers-6.1.0-57-amd64,
# linux-headers-6.12.118+deb12-amd64, gcc-12, make, binutils, pahole (for
# the .BTF of the 6.12 modules), gcc-aarch64-linux-gnu,
# gcc-powerpc64le-linux-gnu and gcc-s390x-linux-gnu.
#
# The output depends only on the sources and on those package versions: a
# second run in another work directory gives byte-identical files (no paths
# or times end up in the stripped modules).
#
# Usage: ./build.sh [kbuild|cross|all]   (default all)

set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/klpc-build.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Release directory under /usr/src for each output directory.
declare -A kernels=(
	[6.1]=linux-headers-6.1.0-57-amd64
	[6.12]=linux-headers-6.12.118+deb12-amd64
)

# Modules built with Kbuild: every src/klpc_* directory.
kbuild_modules() {
	local dir
	for dir in "$here"/src/klpc_*/; do
		basename "$dir"
	done
}

# build_kbuild builds every Kbuild module against one header tree and keeps
# the .symtab but drops DWARF, which is most of the size.
build_kbuild() {
	local out=$1 headers=/usr/src/${kernels[$1]}
	local name

	if [ ! -d "$headers" ]; then
		echo "build.sh: $headers is missing; install ${kernels[$1]}" >&2
		exit 1
	fi
	if [ "$(pahole --version)" != v1.24 ]; then
		echo "build.sh: warning: pahole $(pahole --version) is not the v1.24 of Debian 12; the .BTF of the 6.12 modules will differ" >&2
	fi

	mkdir -p "$here/$out"
	rm -f "$here/$out"/*.ko
	for name in $(kbuild_modules); do
		mkdir -p "$work/$out"
		cp -r "$here/src/$name" "$work/$out/$name"
		# The prefix map keeps the work directory out of DWARF, which
		# the build ID is computed over before strip removes it.
		# PAHOLE_FLAGS is what scripts/Makefile.btf of 6.12 passes for
		# pahole 1.24 minus -j, because parallel BTF encoding orders
		# types differently from run to run. Only the 6.12 tree ships
		# the vmlinux that module BTF needs.
		make -s -C "$headers" M="$work/$out/$name" \
			KCFLAGS="-ffile-prefix-map=$work/=" \
			PAHOLE_FLAGS=--btf_gen_floats modules
		strip --strip-debug -o "$here/$out/$name.ko" "$work/$out/$name/$name.ko"
	done
}

# build_targets builds the ordinary modules in src/target/ against one header
# tree, with the same make and strip steps as build_kbuild, into <out>/target/.
# They live apart from the livepatch fixtures so that <out>/*.ko stays a list
# of livepatch modules and <out>/target/ can be passed to --target as it is.
build_targets() {
	local out=$1 headers=/usr/src/${kernels[$1]}
	local dir name

	if [ ! -d "$headers" ]; then
		echo "build.sh: $headers is missing; install ${kernels[$1]}" >&2
		exit 1
	fi

	mkdir -p "$here/$out/target"
	rm -f "$here/$out/target"/*.ko
	for dir in "$here"/src/target/*/; do
		name=$(basename "$dir")
		mkdir -p "$work/$out/target"
		cp -r "$dir" "$work/$out/target/$name"
		make -s -C "$headers" M="$work/$out/target/$name" \
			KCFLAGS="-ffile-prefix-map=$work/=" \
			PAHOLE_FLAGS=--btf_gen_floats modules
		strip --strip-debug -o "$here/$out/target/$name.ko" \
			"$work/$out/target/$name/$name.ko"
	done
}

# Per-architecture settings for the cross objects:
#   triple, compiler flags, internal sizes of klp_func, klp_object and
#   klp_patch in bytes, and vermagic.
#
# s390 gets -fPIC because arch/s390/Makefile adds it to KBUILD_CFLAGS_MODULE.
# With it gcc puts data holding pointers to global symbols into .data.rel and
# data holding only local pointers into .data.rel.local. The arm64 and ppc64le
# flags are a small subset of the kernel's: they turn off the PIE default of
# Debian's compilers and pick the code model, so no GOT relocations appear.
# The internal sizes are made up so that the three architectures have
# different array strides. arm64 gets the x86_64 strides of the Debian 6.1
# and 6.12 builds (152 and 168 bytes).
#
# The vermagic strings follow include/linux/vermagic.h and the arch's
# MODULE_ARCH_VERMAGIC for Debian 6.1.0-57 configurations; they were not
# copied from real Debian modules.
declare -A cross_triple=(
	[arm64]=aarch64-linux-gnu
	[ppc64le]=powerpc64le-linux-gnu
	[s390x]=s390x-linux-gnu
)
declare -A cross_flags=(
	[arm64]="-fno-pie -mgeneral-regs-only"
	[ppc64le]="-fno-pie -mcmodel=medium -mno-save-toc-indirect"
	[s390x]="-fPIC"
)
declare -A cross_sizes=(
	[arm64]="128 112 160"
	[ppc64le]="136 120 168"
	[s390x]="144 104 176"
)
declare -A cross_vermagic=(
	[arm64]="6.1.0-57-arm64 SMP preempt mod_unload modversions aarch64"
	[ppc64le]="6.1.0-57-powerpc64le SMP mod_unload modversions mprofile-kernel relocatable "
	[s390x]="6.1.0-57-s390x SMP mod_unload modversions "
)

cross_modules="klpc_cross_plain klpc_cross_states klpc_cross_modobj"

build_cross() {
	local arch triple func_size obj_size patch_size name

	for arch in arm64 ppc64le s390x; do
		triple=${cross_triple[$arch]}
		read -r func_size obj_size patch_size <<<"${cross_sizes[$arch]}"
		mkdir -p "$work/cross/$arch" "$here/cross/$arch"
		rm -f "$here/cross/$arch"/*.o

		for name in $cross_modules; do
			# shellcheck disable=SC2086 # cross_flags holds several words
			"$triple-gcc" -O2 -std=gnu11 -Wall -Werror \
				-ffreestanding -fno-common \
				-fno-asynchronous-unwind-tables -fno-unwind-tables \
				${cross_flags[$arch]} \
				-DKLPC_FUNC_INTERNAL="$func_size" \
				-DKLPC_OBJECT_INTERNAL="$obj_size" \
				-DKLPC_PATCH_INTERNAL="$patch_size" \
				-DKLPC_VERMAGIC="\"${cross_vermagic[$arch]}\"" \
				-c -o "$work/cross/$arch/$name.c.o" \
				"$here/src/cross/$name.c"
			"$triple-ld" -r -o "$here/cross/$arch/$name.o" \
				"$work/cross/$arch/$name.c.o"
		done
	done
}

what=${1:-all}
case $what in
kbuild)
	build_kbuild 6.1
	build_kbuild 6.12
	build_targets 6.1
	build_targets 6.12
	;;
cross)
	build_cross
	;;
all)
	build_kbuild 6.1
	build_kbuild 6.12
	build_targets 6.1
	build_targets 6.12
	build_cross
	;;
*)
	echo "usage: $0 [kbuild|cross|all]" >&2
	exit 2
	;;
esac
