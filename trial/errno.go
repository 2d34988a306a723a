package trial

import (
	"regexp"
	"strconv"
	"strings"
)

// errnos are the Linux error numbers a module load, a module removal or a
// write to a livepatch attribute can fail with, with their names and the
// text glibc's strerror gives them (glibc 2.36, as linked into Debian 12's
// busybox-static). The numbers are those of x86_64 and of the other
// architectures that use include/uapi/asm-generic/errno-base.h and
// errno.h.
var errnos = []struct {
	number int
	name   string
	text   string
}{
	{1, "EPERM", "Operation not permitted"},
	{2, "ENOENT", "No such file or directory"},
	{3, "ESRCH", "No such process"},
	{4, "EINTR", "Interrupted system call"},
	{5, "EIO", "Input/output error"},
	{7, "E2BIG", "Argument list too long"},
	{8, "ENOEXEC", "Exec format error"},
	{9, "EBADF", "Bad file descriptor"},
	{11, "EAGAIN", "Resource temporarily unavailable"},
	{12, "ENOMEM", "Cannot allocate memory"},
	{13, "EACCES", "Permission denied"},
	{14, "EFAULT", "Bad address"},
	{16, "EBUSY", "Device or resource busy"},
	{17, "EEXIST", "File exists"},
	{19, "ENODEV", "No such device"},
	{22, "EINVAL", "Invalid argument"},
	{26, "ETXTBSY", "Text file busy"},
	{27, "EFBIG", "File too large"},
	{28, "ENOSPC", "No space left on device"},
	{34, "ERANGE", "Numerical result out of range"},
	{38, "ENOSYS", "Function not implemented"},
	{61, "ENODATA", "No data available"},
	{75, "EOVERFLOW", "Value too large for defined data type"},
	{95, "EOPNOTSUPP", "Operation not supported"},
	{110, "ETIMEDOUT", "Connection timed out"},
	{126, "ENOKEY", "Required key not available"},
	{127, "EKEYEXPIRED", "Key has expired"},
	{128, "EKEYREVOKED", "Key has been revoked"},
	{129, "EKEYREJECTED", "Key was rejected by service"},
}

// errnoName returns the symbolic name of errno n, or "errno N" for a
// number the table lacks.
func errnoName(n int) string {
	for _, e := range errnos {
		if e.number == n {
			return e.name
		}
	}
	return "errno " + strconv.Itoa(n)
}

// unknownError matches glibc's text for an error number it has no message
// for, such as the kernel-internal ENOTSUPP (524).
var unknownError = regexp.MustCompile(`Unknown error (\d+)`)

// errnoOf returns the errno behind a failed step. busybox insmod exits
// with the errno of the failed system call, so its exit status is the
// errno unless the number was too large for an exit status; busybox rmmod
// and the shell's echo exit with 1, so for them the errno comes from the
// strerror text at the end of the message. It returns 0 when neither
// gives one.
func errnoOf(kind ActionKind, status int, output []string) int {
	text := strings.Join(output, "\n")
	if m := unknownError.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if kind == ActionInsmod || kind == ActionTarget {
		return status
	}
	for _, e := range errnos {
		if strings.HasSuffix(strings.TrimSpace(text), ": "+e.text) {
			return e.number
		}
	}
	return 0
}
