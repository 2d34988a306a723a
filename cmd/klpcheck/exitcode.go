package main

// Exit statuses of klpcheck. The numbers are part of the command's
// documented interface, so they are written out instead of using iota:
// inserting a constant must never renumber the others.
const (
	exitClean = 0
	// exitFindings means a finding reached the --fail-on severity.
	exitFindings = 1
	// exitUsage means bad flags or arguments, an invalid configuration, or
	// a report that could not be written.
	exitUsage = 2
	// exitInputError means at least one input could not be analysed.
	exitInputError = 3
)

// worseExit returns the higher of two exit statuses, so that when several
// conditions apply the most severe one wins.
func worseExit(a, b int) int {
	return max(a, b)
}
