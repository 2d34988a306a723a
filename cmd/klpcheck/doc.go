// Command klpcheck checks Linux livepatch kernel modules before they are
// loaded.
//
// Usage:
//
//	klpcheck <command> [flags] [arguments]
//
// The commands are:
//
//	inspect   print what each livepatch module declares
//	check     simulate loading livepatch modules and report conflicts
//	rules     list the rules that check applies
//	explain   print the documentation of one rule
//	snapshot  copy the livepatch state of this host into a directory
//	trial     boot the target kernel in qemu and load the plan for real
//	help      print help for klpcheck or one command
//	version   print the klpcheck version
//
// Run "klpcheck help <command>" for the flags of a command.
//
// # Exit status
//
// The exit status is a contract that scripts and CI jobs may rely on:
//
//	0  clean: every input was analysed and nothing reached --fail-on
//	1  findings at or above the --fail-on severity that no suppression or
//	   baseline entry accepts (check only)
//	2  usage or configuration error, or a report could not be written
//	3  an input could not be analysed
//
// When several apply, the highest wins: a run with a usage error exits 2
// even if it found problems, and a run in which one module could not be read
// exits 3 even if others had findings. Files that are not livepatch modules
// are listed as skipped and do not change the status. The status does not
// depend on the output format.
package main
