#!/bin/bash
# make-target-fixtures.sh writes testdata/target/<release>/System.map and
# Module.symvers: trimmed copies of the real files of two Debian 12 amd64
# kernels, holding the symbols that the livepatch fixtures in
# testdata/modules/<dir>/ refer to. Sources, by release:
#
#   6.1.0-57-amd64
#     System.map  linux-image-6.1.0-57-amd64-dbg 6.1.192-3,
#                 usr/lib/debug/boot/System.map-6.1.0-57-amd64
#     Module.symvers  linux-headers-6.1.0-57-amd64 6.1.192-3,
#                 usr/src/linux-headers-6.1.0-57-amd64/Module.symvers
#   6.12.118+deb12-amd64
#     System.map  linux-image-6.12.118+deb12-amd64-dbg 6.12.118-1~deb12u1,
#                 usr/lib/debug/boot/System.map-6.12.118+deb12-amd64
#     Module.symvers  linux-headers-6.12.118+deb12-amd64 6.12.118-1~deb12u1,
#                 usr/src/linux-headers-6.12.118+deb12-amd64/Module.symvers
#
# The plain linux-image-<release> package ships a placeholder System.map;
# the real one is in the -dbg package (859 MB for 6.1, 1034 MB for 6.12).
# scripts/fetch-debian-package.sh downloads and unpacks the packages into
# $KLPCHECK_CACHE (default ~/.cache/klpcheck), outside the repository.
#
# A System.map line is kept, in the original order and format, when its
# symbol name is one of the wanted names below. A wanted name may also carry
# a __pfx_ prefix (the 16-byte padding symbol that 6.12 puts before each
# function), a __ksymtab_ prefix (the export entry) or a compiler suffix
# such as .cold, .isra.0 or .constprop.0. Those neighbours let a test show
# that names are compared exactly. The wanted names are:
#   - every old_name and every .klp.sym symbol name of the livepatch
#     modules in testdata/modules/<dir>/, as klpcheck inspect reads them;
#   - every undefined symbol and every __versions entry of those modules and
#     of the ordinary modules in testdata/modules/<dir>/target/ (6.1 modules
#     version module_layout, which no relocation names);
#   - the section bounds and symbols that a target loader looks for, listed
#     in loader_symbols below.
# A Module.symvers line is kept when it exports one of the undefined
# symbols or __versions entries.
#
# Needs apt-get (with the Debian 12 security archive in its sources),
# dpkg-deb, readelf, modprobe (kmod), jq and Go. Set KLPCHECK to a built klpcheck binary to
# skip `go run`. The output depends only on the packages and the committed
# modules: a second run gives byte-identical files.
#
# Usage: scripts/make-target-fixtures.sh   (from anywhere in the repository)

set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
fetch=$root/scripts/fetch-debian-package.sh
work=$(mktemp -d /tmp/klpc-target.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Symbols a target loader uses beyond the ones the fixtures name. The text,
# init text and noinstr bounds tell where functions have no ftrace location.
# Then come the bounds of the ftrace call-site records and of the export
# tables, the banner, and the livepatch API: klp_enable_patch since 5.1 and
# the other three before it.
loader_symbols="
_text _stext _etext _sinittext _einittext
__noinstr_text_start __noinstr_text_end
__start_mcount_loc __stop_mcount_loc
__start___ksymtab __stop___ksymtab __start___ksymtab_gpl __stop___ksymtab_gpl
__start___kcrctab __stop___kcrctab __start___kcrctab_gpl __stop___kcrctab_gpl
linux_banner
klp_enable_patch klp_register_patch klp_unregister_patch klp_disable_patch
"

# Package versions and fixture directory for each kernel release.
releases="6.1.0-57-amd64 6.12.118+deb12-amd64"
declare -A version=(
	[6.1.0-57-amd64]=6.1.192-3
	[6.12.118+deb12-amd64]=6.12.118-1~deb12u1
)
declare -A fixture_dir=(
	[6.1.0-57-amd64]=6.1
	[6.12.118+deb12-amd64]=6.12
)

# Debian keeps modprobe in /sbin, which is not on every user's PATH.
modprobe=$(command -v modprobe || echo /sbin/modprobe)

klpcheck() {
	if [ -n "${KLPCHECK:-}" ]; then
		"$KLPCHECK" "$@"
	else
		(cd "$root" && go run ./cmd/klpcheck "$@")
	fi
}

# fetch_package prints the unpacked directory of PACKAGE=VERSION. It fails
# when the cache contains another version under the same name, because
# fetch-debian-package.sh reuses an unpacked directory by package name.
fetch_package() {
	local pkg=$1 ver=$2 dir deb

	dir=$("$fetch" "$pkg=$ver")
	deb=$(cat "$dir/.complete")
	# Debian file names spell an epoch colon as %3a, but these versions have
	# no epoch.
	if [ "$deb" != "${pkg}_${ver}_amd64.deb" ]; then
		echo "make-target-fixtures.sh: $dir was unpacked from $deb, not ${pkg}_${ver}_amd64.deb. Remove that directory and run again." >&2
		exit 1
	fi
	echo "$dir"
}

# patched_names prints the old_name of every patched function and the symbol
# name of every .klp.sym symbol of the livepatch modules given.
patched_names() {
	klpcheck inspect --format json "$@" |
		jq -r '.modules[] |
			((.objects // [])[] | (.functions // [])[] | .name),
			((.klp_symbols // [])[] | .symbol // empty)'
}

# undefined_names prints the undefined symbols of the ELF files given.
undefined_names() {
	readelf -W --syms "$@" | awk '$7 == "UND" && $8 != "" { print $8 }'
}

# versioned_names prints the symbol names in the __versions sections of the
# modules given.
versioned_names() {
	local ko
	for ko in "$@"; do
		"$modprobe" --dump-modversions "$ko" | cut -f 2
	done
}

# trim_system_map keeps the lines of System.map MAP whose symbol, with a
# __pfx_ or __ksymtab_ prefix and any compiler suffix removed, is listed in
# the file NAMES.
trim_system_map() {
	local map=$1 names=$2

	awk '
		NR == FNR { wanted[$1] = 1; next }
		{
			base = $3
			sub(/^__pfx_/, "", base)
			sub(/^__ksymtab_/, "", base)
			sub(/\..*$/, "", base)
			if ($3 in wanted || base in wanted)
				print
		}
	' "$names" "$map"
}

# trim_symvers keeps the lines of Module.symvers SYMVERS whose symbol (the
# second column) is listed in the file NAMES.
trim_symvers() {
	local symvers=$1 names=$2

	awk -F '\t' '
		NR == FNR { wanted[$1] = 1; next }
		$2 in wanted { print }
	' "$names" "$symvers"
}

for release in $releases; do
	ver=${version[$release]}
	modules=$root/testdata/modules/${fixture_dir[$release]}
	out=$root/testdata/target/$release

	dbg=$(fetch_package "linux-image-$release-dbg" "$ver")
	headers=$(fetch_package "linux-headers-$release" "$ver")
	map=$dbg/usr/lib/debug/boot/System.map-$release
	symvers=$headers/usr/src/linux-headers-$release/Module.symvers

	patched_names "$modules"/*.ko >"$work/patched"
	{
		undefined_names "$modules"/*.ko "$modules"/target/*.ko
		versioned_names "$modules"/*.ko "$modules"/target/*.ko
	} | sort -u >"$work/imports"
	{
		cat "$work/patched" "$work/imports"
		# shellcheck disable=SC2086 # one name per word
		printf '%s\n' $loader_symbols
	} | sort -u >"$work/names"

	mkdir -p "$out"
	trim_system_map "$map" "$work/names" >"$out/System.map"
	trim_symvers "$symvers" "$work/imports" >"$out/Module.symvers"
	echo "$out: $(wc -l <"$out/System.map") System.map lines, $(wc -l <"$out/Module.symvers") Module.symvers lines"
done
