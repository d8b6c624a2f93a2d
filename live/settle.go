package live

import (
	"context"
	"errors"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/cache"
)

// Settling: a generation built from files changed within the racy window
// (a tree copied just before the mount) has racy chunks, in no cache yet.
// Once the daemon is idle it has the builder settle them (cache.Packer.
// Settle: re-read, never compress) in the background, so that the first
// edit rebuilds one chunk, not all of them; a newer edit cancels it. No
// generation is published for it: nothing in the image changes, only
// status.json's chunks_racy.

// settleRun is a Settle running in the background.
type settleRun struct {
	cancel context.CancelFunc
	done   chan settleResult
}

type settleResult struct {
	settled cache.Settled
	err     error
}

// startSettle starts a Settle on a thread of its own at the lowest CPU and
// I/O priority, so that serving the image and building generations come
// first.
func (d *Daemon) startSettle(ctx context.Context) *settleRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &settleRun{cancel: cancel, done: make(chan settleResult, 1)}
	go func() {
		// Never unlocked: the thread ends with the goroutine, and its
		// priority with it, instead of going back to the runtime's pool.
		runtime.LockOSThread()
		lowerPriority()
		s, err := d.builder.Settle(ctx)
		r.done <- settleResult{s, err}
	}()
	return r
}

// lowerPriority makes the calling thread nice 19 and idle-class I/O; it is
// best effort (a failure only leaves the settle at normal priority).
func lowerPriority() {
	tid := unix.Gettid()
	unix.Setpriority(unix.PRIO_PROCESS, tid, 19)
	const ioprioWhoProcess, ioprioClassIdle, ioprioClassShift = 1, 3, 13
	unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift)
}

// stopSettle cancels r, if any, waits for it and records what it did.
func (d *Daemon) stopSettle(r *settleRun) {
	if r == nil {
		return
	}
	r.cancel()
	d.settled(<-r.done)
}

// settled records a Settle that ended. One that was cancelled is due again
// once the daemon is idle; one that finished, or failed, is not, until the
// next generation.
func (d *Daemon) settled(r settleResult) {
	cancelled := errors.Is(r.err, context.Canceled)
	if !cancelled {
		d.settleDue = false
		if r.err != nil {
			d.log.Warn("settling racy chunks failed; the next generation compresses them", "generation", d.st.Generation, "err", r.err)
		}
	}
	if d.st.ChunksRacy != r.settled.Racy {
		d.st.ChunksRacy = r.settled.Racy
		d.publishStatus()
	}
	d.log.Debug("racy chunks settled", "generation", d.st.Generation, "chunks_settled", r.settled.Chunks,
		"chunks_racy", r.settled.Racy, "cancelled", cancelled)
}
