#!/bin/sh
# fetch-debian-kernel.sh [PACKAGE=VERSION]
#
# Downloads and unpacks the Debian kernel that the oracle suite and
# 'klpcheck trial' boot, without installing it, and prints the unpacked
# directory: it holds boot/vmlinuz-<release> and lib/modules/<release>.
# The default is linux-image-6.1.0-57-amd64 version 6.1.192-3, the kernel
# the committed 6.1 fixtures were built for. The package lands in the
# cache of fetch-debian-package.sh ($KLPCHECK_CACHE, default
# ~/.cache/klpcheck), outside the repository, and is downloaded once.
#
# Example:
#   KLPCHECK_ORACLE_KERNEL=$(scripts/fetch-debian-kernel.sh) go test ./cmd/klpcheck -run TestTrialOracle
set -eu

spec=${1:-linux-image-6.1.0-57-amd64=6.1.192-3}
dir=$(dirname "$0")/fetch-debian-package.sh
dest=$("$dir" "$spec")

release=${spec%%=*}
release=${release#linux-image-}
if [ ! -f "$dest/boot/vmlinuz-$release" ] || [ ! -d "$dest/lib/modules/$release" ]; then
	echo "$0: $dest has no boot/vmlinuz-$release or lib/modules/$release" >&2
	exit 1
fi
echo "$dest"
