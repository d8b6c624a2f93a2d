package qemu

// Exit statuses of a run (`liveiso run`), for scripts and CI.
const (
	ExitUntil   = 0 // the console printed a line matching --until
	ExitFail    = 1 // the console printed a line matching a --fail pattern
	ExitTimeout = 2 // --timeout passed first
	ExitEnded   = 3 // the guest powered off, or QEMU exited, before --until matched
	ExitError   = 4 // liveiso could not run the guest: bad input, a failed build or mount, QEMU did not start
	ExitSignal  = 130
)
