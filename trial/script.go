package trial

import (
	"fmt"
	"strings"
	"time"
)

// markerPrefix starts every line the guest reports on its second serial
// port. The host ignores any other line.
const markerPrefix = "KLPTRIAL "

// guestLibrary is the fixed part of the guest's /init: busybox ash
// functions that run one step each and report on file descriptor 3, the
// second serial port. The kernel console stays on the first port, so
// kernel messages never mix with the reports.
//
// Protocol, one line per fact; R is the sequence and S the step, both
// counted from 1:
//
//	KLPTRIAL boot RELEASE
//	KLPTRIAL kallsyms ADDRESS TYPE NAME     a line of /proc/kallsyms
//	KLPTRIAL seq R begin
//	KLPTRIAL step R S begin
//	KLPTRIAL step R S dep NAME STATUS      a dependency a target step loaded
//	KLPTRIAL step R S exit STATUS           the command's exit status
//	KLPTRIAL step R S out TEXT              a line the command printed
//	KLPTRIAL step R S settled 0|1           1 when waiting timed out
//	KLPTRIAL step R S kmsg TEXT             a kernel log line
//	KLPTRIAL step R S patch NAME ENABLED TRANSITION
//	KLPTRIAL step R S object PATCH OBJECT PATCHED
//	KLPTRIAL step R S func PATCH OBJECT NAME,SYMPOS
//	KLPTRIAL step R S module NAME TAINTS
//	KLPTRIAL step R S probe PATH line TEXT
//	KLPTRIAL step R S probe PATH error TEXT
//	KLPTRIAL step R S end
//	KLPTRIAL seq R reset ok | KLPTRIAL seq R reset failed TEXT
//	KLPTRIAL end
const guestLibrary = `
emit() { echo "KLPTRIAL $*" >&3; }

# emitfile PREFIX FILE reports each line of FILE, the last one even
# without a newline.
emitfile() {
	while IFS= read -r line || [ -n "$line" ]; do emit "$1 $line"; done < "$2"
}

# settled succeeds when no livepatch is in transition and no disabled
# patch is still listed: the kernel frees a disabled or replaced patch's
# sysfs directory from a work item after its transition ends.
settled() {
	for d in /sys/kernel/livepatch/*; do
		[ -d "$d" ] || continue
		[ "$(cat "$d/transition" 2>/dev/null)" = 0 ] || return 1
		[ "$(cat "$d/enabled" 2>/dev/null)" = 1 ] || return 1
	done
	return 0
}

wait_settled() {
	n=0
	while ! settled; do
		[ $n -ge $TICKS ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 0
}

dump() {
	for d in /sys/kernel/livepatch/*; do
		[ -d "$d" ] || continue
		p=${d##*/}
		emit "$1 patch $p $(cat "$d/enabled" 2>/dev/null) $(cat "$d/transition" 2>/dev/null)"
		for o in "$d"/*; do
			[ -d "$o" ] || continue
			emit "$1 object $p ${o##*/} $(cat "$o/patched" 2>/dev/null)"
			for f in "$o"/*; do
				[ -d "$f" ] && emit "$1 func $p ${o##*/} ${f##*/}"
			done
		done
	done
	while read -r name size refs deps state addr taints; do
		emit "$1 module $name $taints"
	done < /proc/modules
}

# finish PREFIX STATUS reports the rest of a step once its command ran.
finish() {
	emit "$1 exit $2"
	emitfile "$1 out" /tmp/out
	if wait_settled; then emit "$1 settled 0"; else emit "$1 settled 1"; fi
	dmesg -c > /tmp/kmsg
	emitfile "$1 kmsg" /tmp/kmsg
	dump "$1"
	for f in $PROBES; do
		if cat "$f" > /tmp/probe 2> /tmp/probe.err; then
			emitfile "$1 probe $f line" /tmp/probe
		else
			emitfile "$1 probe $f error" /tmp/probe.err
		fi
	done
	emit "$1 end"
}

begin() {
	dmesg -c > /dev/null
	: > /tmp/out
	emit "$1 begin"
}

do_insmod() {
	begin "$1"
	insmod "$2" > /tmp/out 2>&1
	finish "$1" $?
}

# do_target PREFIX NAME DEPENDENCY... loads the dependencies that are not
# loaded yet, in the order given, then the module.
do_target() {
	prefix=$1
	name=$2
	shift 2
	begin "$prefix"
	for dep in "$@"; do
		[ -e "/sys/module/$dep/initstate" ] && continue
		insmod "/target/$dep.ko" > /tmp/out 2>&1
		status=$?
		emit "$prefix dep $dep $status"
		if [ $status != 0 ]; then
			finish "$prefix" $status
			return
		fi
	done
	insmod "/target/$name.ko" > /tmp/out 2>&1
	finish "$prefix" $?
}

do_disable() {
	begin "$1"
	if [ -e "/sys/kernel/livepatch/$2/enabled" ]; then
		( echo 0 > "/sys/kernel/livepatch/$2/enabled" ) > /tmp/out 2>&1
		finish "$1" $?
	else
		echo "no livepatch $2 in /sys/kernel/livepatch" > /tmp/out
		finish "$1" 2
	fi
}

do_rmmod() {
	begin "$1"
	rmmod "$2" > /tmp/out 2>&1
	finish "$1" $?
}

# reset SEQ disables every livepatch, newest first as /proc/modules lists
# modules, then removes every module loaded since boot.
reset() {
	for name in $(cut -d ' ' -f 1 /proc/modules); do
		e=/sys/kernel/livepatch/$name/enabled
		[ -e "$e" ] || continue
		[ "$(cat "$e")" = 1 ] || continue
		if ! ( echo 0 > "$e" ) 2> /tmp/out; then
			emit "seq $1 reset failed disabling $name: $(cat /tmp/out)"
			return 1
		fi
		if ! wait_settled; then
			emit "seq $1 reset failed: $name still in transition"
			return 1
		fi
	done
	for name in $(cut -d ' ' -f 1 /proc/modules); do
		grep -qx "$name" /tmp/baseline && continue
		if ! rmmod "$name" 2> /tmp/out; then
			emit "seq $1 reset failed removing $name: $(cat /tmp/out)"
			return 1
		fi
	done
	for d in /sys/kernel/livepatch/*; do
		if [ -e "$d" ]; then
			emit "seq $1 reset failed: livepatch ${d##*/} is still listed"
			return 1
		fi
	done
	dmesg -c > /dev/null
	emit "seq $1 reset ok"
}
`

// guestScript returns the guest's /init for seqs. files maps each insmod
// action's host path to its name in the initramfs, and deps gives each
// target module's dependencies in load order.
func guestScript(seqs []Sequence, files map[string]string, deps map[string][]string, transitionTimeout time.Duration) string {
	var b strings.Builder
	b.WriteString(`#!/bin/busybox sh
# Written by klpcheck trial: the guest's init process. It runs each step,
# reports the kernel's answer on /dev/ttyS1 and powers the machine off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Only emergencies reach the console, which qemu writes to a log file.
echo 1 > /proc/sys/kernel/printk
exec 3> /dev/ttyS1
`)
	fmt.Fprintf(&b, "TICKS=%d\n", max(1, int(transitionTimeout/(100*time.Millisecond))))
	b.WriteString(guestLibrary)
	b.WriteString(`
cut -d ' ' -f 1 /proc/modules > /tmp/baseline
dmesg -c > /dev/null
emit "boot $(uname -r)"
if [ -e /kallsyms-names ]; then
	grep -wFf /kallsyms-names /proc/kallsyms > /tmp/kallsyms
	emitfile kallsyms /tmp/kallsyms
fi
`)

	for i, seq := range seqs {
		r := i + 1
		fmt.Fprintf(&b, "\n# sequence %d: %s\n", r, shellComment(seq.Name))
		fmt.Fprintf(&b, "PROBES='%s'\n", strings.Join(seq.Probes, " "))
		fmt.Fprintf(&b, "emit \"seq %d begin\"\n", r)
		for j, a := range seq.Actions {
			prefix := fmt.Sprintf("step %d %d", r, j+1)
			switch a.Kind {
			case ActionInsmod:
				fmt.Fprintf(&b, "do_insmod '%s' '%s'\n", prefix, files[a.Path])
			case ActionTarget:
				args := []string{fmt.Sprintf("'%s'", prefix), strings.ReplaceAll(a.Module, "-", "_")}
				args = append(args, deps[a.Module]...)
				fmt.Fprintf(&b, "do_target %s\n", strings.Join(args, " "))
			case ActionDisable:
				fmt.Fprintf(&b, "do_disable '%s' %s\n", prefix, a.Module)
			case ActionRmmod:
				fmt.Fprintf(&b, "do_rmmod '%s' %s\n", prefix, a.Module)
			}
		}
		if r < len(seqs) {
			fmt.Fprintf(&b, "reset %d || { emit end; poweroff -f; }\n", r)
		}
	}
	b.WriteString("\nemit end\npoweroff -f\n")
	return b.String()
}

// shellComment makes s safe to place after a # on one line.
func shellComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
