package conflict

import (
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

// SymposMatchRelease is a kernel line that carries commit 139560e8b973
// ("livepatch: Match old_sympos 0 and 1 in klp_find_func()") from one
// release on. docs/sympos-zero-one.md lists the same releases with their
// evidence; a test keeps the two equal.
type SymposMatchRelease struct {
	// Major, Minor and Patch name the first release with the commit.
	Major, Minor, Patch int
	// Mainline is set for the mainline entry, which covers every later
	// major.minor too. A stable entry covers only its own major.minor.
	Mainline bool
	// Source is the evidence, as the documentation gives it.
	Source string
}

// SymposMatchReleases lists the releases known to carry the commit, mainline
// first. Stable lines whose first release with the backport could not be
// established are left out, so their releases come back Unknown.
var SymposMatchReleases = []SymposMatchRelease{
	{Major: 6, Minor: 19, Mainline: true, Source: "merged for 6.19 with tag livepatching-for-6.19 (merge commit 51ab33fc0a8b)"},
	{Major: 6, Minor: 6, Patch: 120, Source: "listed in the 6.6.120 release announcement"},
	{Major: 5, Minor: 15, Patch: 198, Source: "listed in the 5.15.198 release announcement"},
}

// SymposMatch reports whether a kernel release has commit 139560e8b973,
// with the reason. It returns Yes for 6.19 and later and for a stable
// release at or after the first one of its line listed in
// SymposMatchReleases, and Unknown otherwise.
//
// It never returns No. A distribution kernel's release string does not show
// which stable release it is based on (6.1.0-57-amd64 is a 6.1.1xx kernel)
// nor which fixes it backports, so a release below the table proves
// nothing. The user states No explicitly when the target is known to lack
// the commit.
func SymposMatch(v livepatch.KernelVersion) (Tristate, string) {
	if !v.Known() {
		return Unknown, "the target kernel release is unknown"
	}

	for _, r := range SymposMatchReleases {
		if r.Mainline && v.AtLeast(r.Major, r.Minor) {
			return Yes, fmt.Sprintf("%s is %d.%d or later, which has the commit", v.Release, r.Major, r.Minor)
		}
		if !r.Mainline && v.Major == r.Major && v.Minor == r.Minor && v.Patch >= r.Patch {
			return Yes, fmt.Sprintf("%s is %d.%d.%d or later in its stable line, which has the backport", v.Release, r.Major, r.Minor, r.Patch)
		}
	}
	return Unknown, fmt.Sprintf("%s is not a release known to have the commit", v.Release)
}
