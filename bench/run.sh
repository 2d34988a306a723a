#!/bin/sh
# bench/run.sh [--sizes 100,1000,10000] [--runs N] [--real] [--keep DIR] [--no-nice]
#
# Measures klpcheck against the I/O floor (cat) and against readelf -Wrs,
# in one run, on the same files. It builds klpcheck and the harness tools,
# writes the synthetic corpus of bench/gen into a temporary directory
# outside the repository, and for each size N times:
#
#   cat       the module files, and the module files plus vmlinux
#   readelf   -Wrs over the same two sets of files
#   inspect   klpcheck inspect over the module directory
#   check     klpcheck check --plan plan.yaml
#   target    klpcheck check --plan plan.yaml --target vmlinux
#
# Each command runs --runs times (5 by default) after one warm-up round,
# interleaved with the others, and the table gives medians, the ratio to
# cat, how many times faster than readelf klpcheck is, and the peak
# resident set size. inspect and check are compared with the module files
# alone, target with the module files plus vmlinux.
#
# --real also measures Debian kernels' module trees, downloaded and
# unpacked with scripts/fetch-debian-package.sh into $KLPCHECK_CACHE
# (default ~/.cache/klpcheck): the 4,000 .ko files of 6.1 scanned as
# inputs, which are all rejected as not livepatch modules, and loaded as a
# --target modules tree; and the .ko.xz files of 6.12, where xz
# decompression is the floor. Set KLPCHECK_BENCH_VMLINUX to a real vmlinux
# (for example from linux-image-6.1.0-57-amd64-dbg) to time it as a target
# too.
#
# Commands run under nice -n 10 unless --no-nice is given, because the
# machines this runs on are shared. --keep DIR writes the corpus, binaries
# and raw results into DIR and keeps them. Without it they go to a
# temporary directory that is removed at exit.
set -eu

sizes=100,1000,10000
runs=5
real=false
keep=
nice="nice -n 10"

while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--real) real=true; shift ;;
	--keep) keep=$2; shift 2 ;;
	--no-nice) nice=; shift ;;
	*)
		echo "usage: $0 [--sizes 100,1000,10000] [--runs N] [--real] [--keep DIR] [--no-nice]" >&2
		exit 2
		;;
	esac
done

# Sizes in ascending order, as the growth figure at the end expects.
sizes=$(echo "$sizes" | tr , '\n' | sort -n | uniq | paste -sd, -)

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "$keep" ]; then
	work=$keep
	mkdir -p "$work"
	work=$(cd "$work" && pwd)
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/klpcheck-bench.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
bin=$work/bin
results=$work/results
mkdir -p "$bin" "$results"

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
echo "# go: $(cd "$repo" && go version), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

(cd "$repo" && go build -o "$bin/klpcheck" ./cmd/klpcheck && go build -o "$bin/timer" ./bench/timer && go build -o "$bin/gen" ./bench/gen)
klpcheck=$bin/klpcheck

# has_target_flag reports whether this klpcheck has check --target.
has_target_flag() {
	"$klpcheck" check --help 2>&1 | grep -q -- '--target'
}

# measure NAME=COMMAND... runs the timer and appends its lines to the
# results file named by $out. A failed command is reported by the timer
# and shows up as a row without figures.
measure() {
	$nice "$bin/timer" -runs "$runs" -warmup 1 "$@" >>"$out" || true
}

# table BOUND_MODULES BOUND_ALL: prints the rows of $out with their ratios
# and memory bounds in MiB. Rows named target* and *-all are compared with
# the *-all floors and BOUND_ALL, the others with *-modules and
# BOUND_MODULES.
table() {
	awk -F'\t' -v bound_modules="$1" -v bound_all="$2" '
	{ name[NR] = $1; t[$1] = $3; rss[$1] = $6; status[$1] = $7 }
	END {
		printf "%-18s %9s %8s %10s %9s %9s\n", "command", "median_s", "x_cat", "readelf_x", "rss_MiB", "bound_MiB"
		for (i = 1; i <= NR; i++) {
			n = name[i]
			suffix = (n ~ /^target/ || n ~ /-all$/) ? "all" : "modules"
			bound = (suffix == "all") ? bound_all : bound_modules
			if (t[n] == "-") {
				printf "%-18s %9s   (%s)\n", n, "-", status[n]
				continue
			}
			cat = t["cat-" suffix]; re = t["readelf-" suffix]
			xcat = (cat > 0) ? sprintf("%.2f", t[n] / cat) : "-"
			xre = (re > 0 && t[n] > 0) ? sprintf("%.2f", re / t[n]) : "-"
			printf "%-18s %9.4f %8s %10s %9.1f %9.1f\n", n, t[n], xcat, xre, rss[n] / 1024, bound
		}
	}' "$out"
}

# largest_mib FILE...: the size of the largest file in MiB.
largest_mib() {
	stat -c %s "$@" | awk '$1 > m { m = $1 } END { printf "%.1f", m / 1048576 }'
}

echo "# generating the synthetic corpus ($sizes modules)"
$nice "$bin/gen" -out "$work/corpus" -n "$sizes"
vmlinux=$work/corpus/vmlinux

target_runs=true
if ! has_target_flag; then
	target_runs=false
	echo "# skipped: klpcheck check has no --target flag in this build, so the target runs are left out"
fi

for n in $(echo "$sizes" | tr , ' '); do
	dir=$work/corpus/n$n
	out=$results/n$n.tsv
	: >"$out"
	cd "$dir"

	modules_mib=$(du -sm modules | cut -f1)
	echo
	echo "## N=$n: $n modules ($modules_mib MiB), vmlinux $(largest_mib "$vmlinux") MiB"

	set -- \
		"cat-modules=exec cat modules/*.ko" \
		"cat-all=exec cat modules/*.ko ../vmlinux" \
		"readelf-modules=exec readelf -Wrs modules/*.ko" \
		"readelf-all=exec readelf -Wrs modules/*.ko ../vmlinux" \
		"inspect=exec $klpcheck inspect modules" \
		"check=exec $klpcheck check --plan plan.yaml"
	if $target_runs; then
		set -- "$@" "target=exec $klpcheck check --plan plan.yaml --target ../vmlinux"
	fi
	measure "$@"

	# Peak RSS may be at most twice the largest single input plus 64 MiB.
	bound_modules=$(awk -v m="$(largest_mib modules/*.ko)" 'BEGIN { printf "%.1f", 2 * m + 64 }')
	bound_all=$(awk -v m="$(largest_mib "$vmlinux")" 'BEGIN { printf "%.1f", 2 * m + 64 }')
	table "$bound_modules" "$bound_all"
done
cd "$work"

# Growth from the second largest to the largest size, which is the 1,000
# to 10,000 step with the default sizes.
small=$(echo "$sizes" | awk -F, 'NF >= 2 { print $(NF - 1) }')
large=$(echo "$sizes" | awk -F, '{ print $NF }')
if [ -n "$small" ]; then
	echo
	echo "## time growth from N=$small to N=$large (linear would be $((large / small))x)"
	awk -F'\t' 'FNR == NR { small[$1] = $3; next } { if (small[$1] > 0 && $3 != "-") printf "%-18s %6.2fx\n", $1, $3 / small[$1] }' \
		"$results/n$small.tsv" "$results/n$large.tsv"
fi

if ! $real; then
	exit 0
fi

fetch=$repo/scripts/fetch-debian-package.sh

echo
echo "## Debian 6.1: linux-image-6.1.0-57-amd64 modules as inputs and as a --target tree"
mods=$("$fetch" linux-image-6.1.0-57-amd64)/lib/modules/6.1.0-57-amd64
find "$mods" -name '*.ko' | sort >"$work/real61.list"
echo "# $(wc -l <"$work/real61.list") .ko files, $(du -sm "$mods" | cut -f1) MiB"
out=$results/real61.tsv
: >"$out"
set -- \
	"cat-modules=exec xargs -a $work/real61.list cat" \
	"readelf-modules=exec xargs -a $work/real61.list readelf -Wrs" \
	"inspect=exec $klpcheck inspect $mods" \
	"check=exec $klpcheck check --fail-on none $mods"
if $target_runs; then
	set -- "$@" "target-tree=exec $klpcheck check --fail-on none --target $mods $repo/testdata/modules/6.1"
	if [ -n "${KLPCHECK_BENCH_VMLINUX:-}" ]; then
		set -- "$@" "target-vmlinux=exec $klpcheck check --fail-on none --target $KLPCHECK_BENCH_VMLINUX --target $mods $repo/testdata/modules/6.1"
	fi
fi
measure "$@"
bound=$(awk -v m="$(xargs -a "$work/real61.list" stat -c %s | awk '$1 > m { m = $1 } END { print m / 1048576 }')" 'BEGIN { printf "%.1f", 2 * m + 64 }')
table "$bound" "$bound"

echo
echo "## Debian 6.12: linux-image-6.12.118+deb12-amd64 .ko.xz modules"
mods=$("$fetch" linux-image-6.12.118+deb12-amd64)/lib/modules/6.12.118+deb12-amd64
find "$mods" -name '*.ko.xz' | sort >"$work/real612.list"
echo "# $(wc -l <"$work/real612.list") .ko.xz files, $(du -sm "$mods" | cut -f1) MiB compressed"
out=$results/real612.tsv
: >"$out"
set -- \
	"cat-modules=exec xargs -a $work/real612.list cat" \
	"xz-modules=exec xargs -a $work/real612.list xz -dc" \
	"inspect=exec $klpcheck inspect $mods"
if $target_runs; then
	set -- "$@" "target-tree=exec $klpcheck check --fail-on none --target $mods $repo/testdata/modules/6.12"
fi
measure "$@"
awk -F'\t' '
	{ t[$1] = $3; rss[$1] = $6; name[NR] = $1 }
	END {
		printf "%-18s %9s %8s %8s %9s\n", "command", "median_s", "x_cat", "x_xz", "rss_MiB"
		for (i = 1; i <= NR; i++) {
			n = name[i]
			printf "%-18s %9.4f %8.2f %8.2f %9.1f\n", n, t[n], t[n] / t["cat-modules"], t[n] / t["xz-modules"], rss[n] / 1024
		}
	}' "$out"
