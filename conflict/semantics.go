package conflict

import "fmt"

// Valid reports whether s is one of Mainline, Tag and ReplaceSet.
func (s Semantics) Valid() bool {
	switch s {
	case Mainline, Tag, ReplaceSet:
		return true
	}
	return false
}

// ParseSemantics parses a semantics name as written in --semantics and in
// plan files: mainline, tag or replace-set.
func ParseSemantics(name string) (Semantics, error) {
	s := Semantics(name)
	if !s.Valid() {
		return "", fmt.Errorf("invalid semantics %q: want mainline, tag or replace-set", name)
	}
	return s, nil
}
