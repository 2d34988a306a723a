package trial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Defaults of a Machine. A stock Debian 6.1 kernel boots to the guest's
// first report in about 2 seconds of guest time, 5 to 6 seconds of wall
// time under qemu's software emulation (TCG) on one core of a 2-core
// x86-64 host, measured with qemu 7.2 from Debian 12.
const (
	DefaultBootTimeout       = 60 * time.Second
	DefaultTimeout           = 5 * time.Minute
	DefaultTransitionTimeout = 15 * time.Second
	DefaultMemory            = "512M"
	DefaultQEMU              = "qemu-system-x86_64"
)

// Machine describes the virtual machine a trial boots.
type Machine struct {
	// Kernel is the kernel image to boot, such as /boot/vmlinuz-<release>.
	Kernel string
	// Modules is the target kernel's module directory, such as
	// /lib/modules/<release>. Only target steps need it.
	Modules string
	// QEMU is the qemu system emulator; DefaultQEMU on PATH when empty.
	QEMU string
	// Busybox is a statically linked busybox; busybox on PATH when empty.
	Busybox string
	// Memory is the guest's memory as qemu's -m takes it.
	Memory string
	// Accel is qemu's accelerator, tcg when empty. tcg works everywhere;
	// kvm is several times faster where the host allows it. An openable
	// /dev/kvm does not prove that it does: inside some sandboxes qemu then
	// hangs without output, so kvm is never chosen on its own.
	Accel string
	// BootTimeout bounds the time from starting qemu to the guest's first
	// report, and Timeout the whole run; both from starting qemu.
	BootTimeout time.Duration
	Timeout     time.Duration
	// TransitionTimeout bounds, per step, the guest's wait for livepatch
	// transitions to end.
	TransitionTimeout time.Duration
	// SymbolNames are vmlinux symbol names whose lines of /proc/kallsyms
	// the guest reports at boot, before any step, in Outcome.Kallsyms.
	SymbolNames []string
	// WorkDir receives the initramfs, the console log and the report. A
	// temporary directory, removed afterwards, is used when it is empty.
	WorkDir string
}

// Error is a run that did not produce a complete report. Console holds the
// last lines the kernel printed on its console, which usually show why.
type Error struct {
	Msg     string
	Console []string
}

func (e *Error) Error() string {
	if len(e.Console) == 0 {
		return e.Msg
	}
	return e.Msg + "; last console lines:\n  " + strings.Join(e.Console, "\n  ")
}

// Run boots the machine once, runs seqs in order and returns what the
// guest reported. When the guest does not boot, hangs or stops early, Run
// stops qemu and returns an *Error, together with the outcome of the steps
// that were reported.
func (m Machine) Run(ctx context.Context, seqs []Sequence) (*Outcome, error) {
	m.setDefaults()
	if err := validateSequences(seqs); err != nil {
		return nil, err
	}

	qemu, err := exec.LookPath(m.QEMU)
	if err != nil {
		return nil, fmt.Errorf("find qemu: %s is not on PATH: install Debian's qemu-system-x86 package or pass its path", m.QEMU)
	}
	if _, err := os.Stat(m.Kernel); err != nil {
		return nil, fmt.Errorf("read kernel image: %w", err)
	}

	dir := m.WorkDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "klpcheck-trial-")
		if err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		defer os.RemoveAll(dir)
	}

	initramfs, err := m.buildInitramfs(seqs)
	if err != nil {
		return nil, err
	}
	paths := runPaths{
		initramfs: filepath.Join(dir, "initramfs.cpio"),
		console:   filepath.Join(dir, "console.log"),
		report:    filepath.Join(dir, "report.log"),
	}
	if err := os.WriteFile(paths.initramfs, initramfs, 0o644); err != nil {
		return nil, fmt.Errorf("write initramfs: %w", err)
	}
	for _, p := range []string{paths.console, paths.report} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return nil, fmt.Errorf("create %s: %w", p, err)
		}
	}

	return m.boot(ctx, qemu, paths, seqs)
}

func (m *Machine) setDefaults() {
	if m.QEMU == "" {
		m.QEMU = DefaultQEMU
	}
	if m.Busybox == "" {
		m.Busybox = "busybox"
	}
	if m.Memory == "" {
		m.Memory = DefaultMemory
	}
	if m.Accel == "" {
		m.Accel = "tcg"
	}
	if m.BootTimeout <= 0 {
		m.BootTimeout = DefaultBootTimeout
	}
	if m.Timeout <= 0 {
		m.Timeout = DefaultTimeout
	}
	m.BootTimeout = min(m.BootTimeout, m.Timeout)
	if m.TransitionTimeout <= 0 {
		m.TransitionTimeout = DefaultTransitionTimeout
	}
}

// runPaths are the files of one run.
type runPaths struct {
	initramfs, console, report string
}

// qemuArgs returns qemu's command line. -nodefaults drops every default
// device, so the guest has no network card, disk or display: only the
// two serial ports, whose output qemu writes to files. -no-reboot makes a
// kernel panic (panic=-1 reboots at once, oops=panic turns an oops into a
// panic) end qemu.
func (m *Machine) qemuArgs(p runPaths) []string {
	return []string{
		"-accel", m.Accel,
		"-m", m.Memory,
		"-smp", "1",
		"-nodefaults",
		"-no-user-config",
		"-nic", "none",
		"-display", "none",
		"-no-reboot",
		"-kernel", m.Kernel,
		"-initrd", p.initramfs,
		"-append", "console=ttyS0 panic=-1 oops=panic quiet",
		"-serial", "file:" + p.console,
		"-serial", "file:" + p.report,
	}
}

// pollInterval is how often the host reads the guest's report while qemu
// runs.
const pollInterval = 100 * time.Millisecond

// boot runs qemu until the guest reports the end, exits, or a timeout
// passes, and parses the report.
func (m *Machine) boot(ctx context.Context, qemu string, p runPaths, seqs []Sequence) (*Outcome, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(qemu, m.qemuArgs(p)...)
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", qemu, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	stop := func() {
		cmd.Process.Kill()
		<-exited
	}

	var (
		bootTime time.Duration
		runErr   error
		waitErr  error
		running  = true
	)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for running {
		select {
		case waitErr = <-exited:
			running = false
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-ticker.C:
		}

		data, _ := os.ReadFile(p.report)
		rep := parseReport(string(data), seqs)
		elapsed := time.Since(start)
		if rep.booted && bootTime == 0 {
			bootTime = elapsed
		}
		if !running {
			break
		}
		switch {
		case rep.ended:
			// The guest powers off right after its last report.
			select {
			case waitErr = <-exited:
			case <-time.After(10 * time.Second):
				stop()
			}
			running = false
		case !rep.booted && elapsed > m.BootTimeout:
			stop()
			runErr = &Error{Msg: fmt.Sprintf("kernel did not boot within %s: the guest's init never reported", m.BootTimeout), Console: consoleTail(p.console)}
			running = false
		case elapsed > m.Timeout:
			stop()
			runErr = &Error{Msg: fmt.Sprintf("no result after %s: %s", m.Timeout, progress(rep)), Console: consoleTail(p.console)}
			running = false
		}
	}

	data, err := os.ReadFile(p.report)
	if err != nil {
		return nil, fmt.Errorf("read the guest's report: %w", err)
	}
	rep := parseReport(string(data), seqs)
	out := &Outcome{Release: rep.release, Sequences: rep.seqs, Kallsyms: rep.kallsyms, Boot: bootTime, Total: time.Since(start)}

	switch {
	case runErr != nil:
		return out, runErr
	case !rep.booted:
		return out, &Error{Msg: fmt.Sprintf("qemu exited before the guest reported (%s)%s", exitText(waitErr), qemuText(stderr.String())), Console: consoleTail(p.console)}
	case !rep.ended:
		return out, &Error{Msg: fmt.Sprintf("the guest stopped before it finished: %s", progress(rep)), Console: consoleTail(p.console)}
	case len(rep.errs) > 0:
		return out, fmt.Errorf("parse the guest's report: %s", strings.Join(rep.errs, "; "))
	}
	for _, s := range out.Sequences {
		if s.ResetError != "" {
			return out, fmt.Errorf("sequence %s: the guest could not return to a fresh state afterwards (%s), so later sequences did not run", s.Name, s.ResetError)
		}
	}
	return out, nil
}

// progress describes how far the guest's report went.
func progress(rep *report) string {
	if !rep.booted {
		return "the kernel did not boot"
	}
	if rep.current == "" {
		return "the guest booted but reported no step"
	}
	return "the last report was about sequence and step " + rep.current
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func qemuText(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return ": " + s
}

// consoleTail returns the last lines of the console log, without blank
// lines.
func consoleTail(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	const keep = 15
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return lines
}

// initramfsFileName turns a module name or file name into a name that
// needs no quoting in the guest's shell.
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// buildInitramfs collects busybox, the guest script, the livepatch module
// files and the target modules into a newc archive.
func (m *Machine) buildInitramfs(seqs []Sequence) ([]byte, error) {
	busybox, err := exec.LookPath(m.Busybox)
	if err != nil {
		return nil, fmt.Errorf("find busybox: %s is not on PATH: install Debian's busybox-static package or pass its path", m.Busybox)
	}
	static, err := isStaticELF(busybox)
	if err != nil {
		return nil, fmt.Errorf("read busybox %s: %w", busybox, err)
	}
	if !static {
		return nil, fmt.Errorf("busybox %s is dynamically linked, and the initramfs has no C library: install Debian's busybox-static package", busybox)
	}
	busyboxData, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}

	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "trial", "target"} {
		w.Dir(d, 0o755)
	}
	// The kernel opens /dev/console for init's standard streams before
	// init mounts devtmpfs.
	w.CharDevice("dev/console", 0o600, 5, 1)
	w.File("bin/busybox", 0o755, busyboxData)

	files := map[string]string{}
	for _, seq := range seqs {
		for _, a := range seq.Actions {
			if a.Kind != ActionInsmod || files[a.Path] != "" {
				continue
			}
			data, err := readModuleFile(a.Path)
			if err != nil {
				return nil, err
			}
			base := a.Module
			if base == "" {
				base = strings.TrimSuffix(filepath.Base(a.Path), filepath.Ext(a.Path))
			}
			name := fmt.Sprintf("/trial/%02d-%s.ko", len(files)+1, unsafeFileChars.ReplaceAllString(base, "_"))
			files[a.Path] = name
			w.File(name, 0o644, data)
		}
	}

	deps, err := m.addTargetModules(w, seqs)
	if err != nil {
		return nil, err
	}

	if len(m.SymbolNames) > 0 {
		w.File("kallsyms-names", 0o644, []byte(strings.Join(m.SymbolNames, "\n")+"\n"))
	}
	w.File("init", 0o755, []byte(guestScript(seqs, files, deps, m.TransitionTimeout)))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write initramfs: %w", err)
	}
	return buf.Bytes(), nil
}

// addTargetModules adds every module that a target step loads, with its
// dependencies, as /target/<name>.ko, and returns each target module's
// dependencies in load order.
func (m *Machine) addTargetModules(w *cpioWriter, seqs []Sequence) (map[string][]string, error) {
	deps := map[string][]string{}
	var tree *moduleTree
	added := map[string]bool{}
	for _, seq := range seqs {
		for _, a := range seq.Actions {
			if a.Kind != ActionTarget {
				continue
			}
			if _, done := deps[a.Module]; done {
				continue
			}
			if tree == nil {
				if m.Modules == "" {
					return nil, errors.New("a step loads target module " + a.Module + ", but no module directory of the target kernel was given")
				}
				t, err := openModuleTree(m.Modules)
				if err != nil {
					return nil, err
				}
				tree = t
			}
			chain, err := tree.withDependencies(a.Module)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, tm := range chain {
				if !moduleName.MatchString(tm.Name) {
					return nil, fmt.Errorf("target module %s: invalid dependency name %q", a.Module, tm.Name)
				}
				if !added[tm.Name] {
					added[tm.Name] = true
					w.File("/target/"+tm.Name+".ko", 0o644, tm.Data)
				}
				names = append(names, tm.Name)
			}
			deps[a.Module] = names[:len(names)-1]
		}
	}
	return deps, nil
}
