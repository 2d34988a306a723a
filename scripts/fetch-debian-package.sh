#!/bin/sh
# fetch-debian-package.sh PACKAGE[=VERSION]...
#
# Downloads Debian binary packages with apt-get download and unpacks each
# into its own directory of the cache, without installing anything. Prints
# one line per package: the directory it was unpacked into. A package that
# is already unpacked is not downloaded again.
#
# The cache is $KLPCHECK_CACHE, or ~/.cache/klpcheck when that is unset. It
# lives outside the repository because these packages hold other projects'
# files and are hundreds of megabytes.
#
# Example: the symbol-bearing vmlinux and System.map of Debian's 6.1 kernel:
#   scripts/fetch-debian-package.sh linux-image-6.1.0-57-amd64-dbg
set -eu

if [ $# -eq 0 ]; then
	echo "usage: $0 PACKAGE[=VERSION]..." >&2
	exit 2
fi

cache=${KLPCHECK_CACHE:-$HOME/.cache/klpcheck}
mkdir -p "$cache/debs" "$cache/unpacked"

for spec in "$@"; do
	pkg=${spec%%=*}
	dest="$cache/unpacked/$pkg"
	if [ -f "$dest/.complete" ]; then
		echo "$dest"
		continue
	fi

	(cd "$cache/debs" && apt-get download "$spec" >&2)
	deb=$(ls -t "$cache/debs/${pkg}_"*.deb | head -n 1)

	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg-deb -x "$deb" "$dest"
	basename "$deb" > "$dest/.complete"
	echo "$dest"
done
