package main

import (
	"context"

	"github.com/liveiso/liveiso/qemu"
)

// MoveOn moves the image.iso that process pid holds open on to the newest
// generation (vfs.Server.MoveOn); nothing else does (promise 7). It moves
// nothing without a FUSE mount.
func (l *liveDaemon) MoveOn(pid int) int {
	if l.fuse == nil {
		return 0
	}
	return l.fuse.srv.MoveOn(pid)
}

// bootAgain boots the newest generation: in the same QEMU, stopped while
// the mount moves its open image.iso on and reset, when run serves the
// mount itself; otherwise (--direct, --attach, --on-change restart) in a
// new QEMU, whose open of the image is new. A guest that powered off, or
// rebooted under RebootStops, is started again.
func (s *session) bootAgain(ctx context.Context) error {
	if s.plan.onChange == onChangeRestart || s.moveOn == nil {
		return s.restart(ctx)
	}
	pid := s.proc.Pid()
	err := s.proc.BootAgain(ctx, func() {
		n := s.moveOn(pid)
		s.log.Debug("moved QEMU's image.iso on", "pid", pid, "handles", n)
	})
	s.poweredOff = false
	if err != nil {
		s.say("system_reset failed (%v), restarting QEMU", err)
		return s.restart(ctx)
	}
	s.event(event{Event: "reset_sent", Generation: s.gen})
	s.startJob(s.gen)
	return nil
}

// guestRebooted reports whether ev is the guest rebooting (or panicking)
// under qemu.Machine.RebootStops: QEMU has stopped it, and run boots it
// again.
func guestRebooted(ev qemu.Event) bool {
	r := qemu.ShutdownReason(ev)
	return r == qemu.ShutdownReset || r == qemu.ShutdownPanic
}
