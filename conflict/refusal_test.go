package conflict

import (
	"testing"
)

func TestRefusalRankNamesRules(t *testing.T) {
	for name := range refusalRank {
		if _, ok := LookupRule(name); !ok {
			t.Errorf("refusalRank names %q, which is not a rule", name)
		}
	}
}

func TestFirstRefusalInKernelOrder(t *testing.T) {
	// The module loader finds the name clash before klp_enable_patch
	// reaches the duplicate function.
	a := module("klpc_a", vmlinux("f"))
	dup := module("klpc_a", obj("vmlinux", fnAt("g", 0), fnAt("g", 1)))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(dup)}})

	checkFindings(t, res,
		want{Rule: "duplicate-func", Severity: SeverityError, Step: 2, Module: "klpc_a", Object: "vmlinux", Function: "g"},
		want{Rule: "module-name-clash", Severity: SeverityError, Step: 2, Module: "klpc_a", Related: []string{"klpc_a"}},
	)
	checkRefused(t, res, 2, "EEXIST", "module-name-clash")
}

func TestRefusedLoadChangesNothing(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	bad := module("klpc_bad", vmlinux("f", "g"))
	bad.ObjsNull = true

	res := Check(Plan{Patches: []Patch{replace(a), replace(bad)}})

	checkFindings(t, res, want{Rule: "metadata-invalid", Severity: SeverityError, Step: 2, Module: "klpc_bad"})
	checkRefused(t, res, 2, "EINVAL", "metadata-invalid")
	if s := res.Steps[1]; len(s.Patched) != 0 || len(s.Reverted) != 0 || len(s.Disabled) != 0 {
		t.Errorf("refused step changed the patch list: %+v", s)
	}
	if got := effectiveMap(res); len(got) != 1 || got[0] != "vmlinux:f,1=klpc_a" {
		t.Errorf("effective map = %q, want only klpc_a's f", got)
	}
}
