#!/bin/sh
# fetch-debian-arm64-dbg.sh [PACKAGE[=VERSION]]
#
# Downloads Debian's arm64 debug kernel package, which contains the
# symbol-bearing arm64 vmlinux, and unpacks it without installing it.
# Prints the unpacked directory. The vmlinux is
# usr/lib/debug/boot/vmlinux-<release> inside it.
#
# The default is linux-image-6.1.0-57-arm64-dbg version 6.1.192-3, the
# arm64 build of the release the committed 6.1 fixtures were built for
# (about 800 MB). The machine's dpkg stays amd64-only: the arm64 package
# lists are fetched into a separate apt state in the cache, with
# bookworm, bookworm-updates and bookworm-security as sources.
#
# The cache layout is the one of fetch-debian-package.sh: the .deb goes to
# $KLPCHECK_CACHE/debs and is unpacked to $KLPCHECK_CACHE/unpacked/PACKAGE
# ($KLPCHECK_CACHE defaults to ~/.cache/klpcheck). A package that is
# already unpacked is not downloaded again.
#
# Example: the opt-in test of the target loader on the real file:
#   dir=$(scripts/fetch-debian-arm64-dbg.sh)
#   KLPCHECK_ARM64_VMLINUX=$dir/usr/lib/debug/boot/vmlinux-6.1.0-57-arm64 \
#     go test ./target/ -run TestRealArm64Vmlinux -v
set -eu

spec=${1:-linux-image-6.1.0-57-arm64-dbg=6.1.192-3}
pkg=${spec%%=*}

cache=${KLPCHECK_CACHE:-$HOME/.cache/klpcheck}
state="$cache/apt-bookworm-arm64"
dest="$cache/unpacked/$pkg"
mkdir -p "$cache/debs" "$cache/unpacked" "$state/lists/partial" "$state/cache/archives/partial"

if [ -f "$dest/.complete" ]; then
	echo "$dest"
	exit 0
fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$state/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
EOF

# apt_state runs apt-get or apt-cache on the arm64 state only: its own
# sources, lists and package cache, and no preferences from /etc/apt.
apt_state() {
	tool=$1
	shift
	"$tool" \
		-o "Dir::Etc::SourceList=$state/sources.list" \
		-o "Dir::Etc::SourceParts=/dev/null" \
		-o "Dir::Etc::Preferences=/dev/null" \
		-o "Dir::Etc::PreferencesParts=/dev/null" \
		-o "Dir::State::Lists=$state/lists" \
		-o "Dir::Cache=$state/cache" \
		-o "APT::Architecture=arm64" \
		-o "APT::Architectures=arm64" \
		"$@"
}

# The lists are fetched once. Delete $state/updated to fetch them again.
if [ ! -f "$state/updated" ]; then
	apt_state apt-get update >&2
	touch "$state/updated"
fi

# A version that the archive no longer carries falls back to the
# candidate, with a message, because Debian drops old point releases.
if [ "$spec" != "$pkg" ] && ! apt_state apt-cache show "$spec" >/dev/null 2>&1; then
	echo "$0: $spec is not in the arm64 lists, so the candidate version of $pkg is downloaded" >&2
	spec=$pkg
fi

apt_state apt-get download --print-uris "$spec" >&2
(cd "$cache/debs" && apt_state apt-get download "$spec" >&2)
deb=$(ls -t "$cache/debs/${pkg}_"*_arm64.deb | head -n 1)

rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
basename "$deb" >"$dest/.complete"
echo "$dest"
