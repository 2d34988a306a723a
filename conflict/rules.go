package conflict

import (
	"cmp"
	"slices"
	"strings"
)

// registry holds every rule, sorted by ID. Each rule is declared in the
// file of its rule group.
var registry = sortRules([]*Rule{
	metadataInvalid,
	duplicateObject,
	duplicateFunc,
	objectNameInvalid,
	klpRelocInvalid,
	replaceUnknown,
	vermagicDiffers,
	patchSrcversionMismatch,
	funcOverlap,
	overrideCumulative,
	stackOrderDependent,
	setConflict,
	replaceReverts,
	replaceDisables,
	emptyReplace,
	symposZeroOne,
	stateIncompatible,
	stateSetConflict,
	moduleNameClash,
	transitionBusy,
	symbolNotFound,
	symbolAmbiguous,
	symposOutOfRange,
	symposFirstOfMany,
	notFtraceable,
	unexportedSymbol,
	crcMismatch,
	vermagicMismatch,
	noLivepatchSupport,
	objectNotInTarget,
	objectNotLoaded,
	targetSrcversionMismatch,
	pre51API,
	namespaceNotImported,
	suppressionInvalid,
	suppressionStale,
	baselineStale,
})

func sortRules(rules []*Rule) []*Rule {
	slices.SortFunc(rules, func(a, b *Rule) int { return cmp.Compare(a.ID, b.ID) })
	return rules
}

// Rules returns every rule, sorted by ID. The rules are shared: callers
// must not modify them.
func Rules() []*Rule {
	return slices.Clone(registry)
}

// LookupRule finds a rule by ID (KLP0201) or name (func-overlap), ignoring
// case.
func LookupRule(idOrName string) (*Rule, bool) {
	for _, r := range registry {
		if strings.EqualFold(r.ID, idOrName) || strings.EqualFold(r.Name, idOrName) {
			return r, true
		}
	}
	return nil, false
}
