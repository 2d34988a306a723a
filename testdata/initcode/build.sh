#!/bin/sh
# Rebuild the init-code samples in this directory from src/.
#
# x86-64 samples are out-of-tree modules built with Kbuild against the
# Debian 12 kernel headers named in KERNELS. No kernel tree is installed for
# the other architectures. Their samples are freestanding objects built with
# the Debian cross compilers and src/klp_sample.h in place of the kernel
# headers, with the code generation flags the kernel's arch Makefiles use
# for modules. Debian 12 has no loongarch64 gcc, so clang 16 builds those.
#
# Needs: linux-headers-6.1.0-57-amd64 linux-headers-6.12.118+deb12-amd64
#        gcc-aarch64-linux-gnu gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu
#        gcc-riscv64-linux-gnu clang-16 llvm-16 binutils
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$here/src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

KERNELS="6.1.0-57-amd64 6.12.118+deb12-amd64"

# variant name, source file, extra defines
VARIANTS="
kpatch_replace kpatch_hook.c -DKLP_REPLACE_ENABLE=true
kpatch_noreplace kpatch_hook.c -DKLP_REPLACE_ENABLE=false
kpatch_freehelper kpatch_hook.c -DKLP_REPLACE_ENABLE=true -DSAMPLE_FREE_HELPER
klpbuild_replace klp_build_init.c
klpbuild_noreplace klp_build_init.c -DKLP_NO_REPLACE
replaceset5 replace_set.c
twostores two_stores.c
foreignptr foreign_pointer.c
nostore no_store.c
"

COMMON="-O2 -ffreestanding -fno-common -fno-strict-aliasing -fno-stack-protector -I$src"

# Debug info and BTF are removed to keep the samples small, and the tests
# do not read them.
shrink() {
	"$1" --strip-debug --remove-section=.BTF --remove-section=.comment "$2"
}

build_kbuild() {
	kernel=$1
	version=$(echo "$kernel" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
	echo "$VARIANTS" | while read -r name file defines; do
		[ -n "$name" ] || continue
		dir=$work/$kernel/$name
		mkdir -p "$dir"
		cp "$src/$file" "$dir/$name.c"
		printf 'obj-m := %s.o\nccflags-y := %s\n' "$name" "$defines" >"$dir/Kbuild"
		# The samples reference symbols that a real livepatch build would
		# define (__kpatch_funcs, klp-build's section bounds), so modpost
		# only warns about them.
		make -s -C "/usr/src/linux-headers-$kernel" M="$dir" KBUILD_MODPOST_WARN=1 modules
		out=$here/$name-linux$version-x86_64.ko
		cp "$dir/$name.ko" "$out"
		shrink strip "$out"
	done
}

build_cross() {
	arch=$1 cc=$2 strip=$3 tag=$4
	shift 4
	echo "$VARIANTS" | while read -r name file defines; do
		[ -n "$name" ] || continue
		out=$here/$name-$tag-$arch.o
		# shellcheck disable=SC2086
		$cc $COMMON "$@" $defines -c "$src/$file" -o "$out"
		shrink "$strip" "$out"
	done
}

for kernel in $KERNELS; do
	build_kbuild "$kernel"
done

build_cross arm64 aarch64-linux-gnu-gcc aarch64-linux-gnu-strip gcc12 \
	-fno-pic -mgeneral-regs-only -mbranch-protection=pac-ret \
	-fpatchable-function-entry=2 -fno-asynchronous-unwind-tables
build_cross ppc64le powerpc64le-linux-gnu-gcc powerpc64le-linux-gnu-strip gcc12 \
	-DSAMPLE_SLAB_API=61 -mabi=elfv2 -mcmodel=medium -mno-pointers-to-nested-functions \
	-pg -mprofile-kernel -msoft-float -mno-altivec -mno-vsx
build_cross s390x s390x-linux-gnu-gcc s390x-linux-gnu-strip gcc12 \
	-DSAMPLE_SLAB_API=54 -fPIC -march=z10 -mpacked-stack -msoft-float \
	-pg -mfentry -mnop-mcount -mrecord-mcount
build_cross riscv64 riscv64-linux-gnu-gcc riscv64-linux-gnu-strip gcc12 \
	-fno-pic -mcmodel=medany -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax \
	-mno-save-restore -fpatchable-function-entry=8
build_cross loongarch64 "clang-16 --target=loongarch64-linux-gnu" llvm-strip-16 clang16 \
	-fno-pic -msoft-float -fno-asynchronous-unwind-tables

# The klp_patch of 5.1 to 5.4 keeps replace at offset 16.
gcc $COMMON -DSAMPLE_KLP_5_1 -DSAMPLE_SLAB_API=54 -fno-pic -mcmodel=kernel -mno-red-zone \
	-pg -mfentry -c "$src/kpatch_hook.c" -o "$here/kpatch_replace-klp5.1-gcc12-x86_64.o"
shrink strip "$here/kpatch_replace-klp5.1-gcc12-x86_64.o"
