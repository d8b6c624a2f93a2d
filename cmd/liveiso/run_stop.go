package main

import (
	"context"
	"errors"
)

// How a run ends, whatever ends it: QEMU first (it holds the image open),
// then the live daemon with its mount; a second signal stops both waits.

// stopQEMU ends QEMU, at once after a second signal.
func (s *session) stopQEMU() {
	s.stopJob()
	if s.proc == nil {
		return
	}
	ctx, cancel := s.forced(context.Background())
	defer cancel()
	s.proc.Stop(ctx, quitGrace)
}

// forced is parent, cancelled by a second signal too.
func (s *session) forced(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-s.force:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// stopDaemon stops the live daemon run started: the mount is unmounted,
// and its last open file waited for (QEMU has gone by then) until
// unmountGrace or a second signal.
func (s *session) stopDaemon(l *liveDaemon) {
	grace, stop := context.WithTimeout(context.Background(), unmountGrace)
	defer stop()
	ctx, cancel := s.forced(grace)
	defer cancel()
	err := l.Close(ctx)
	switch {
	case err == nil:
	case errors.Is(err, errDetached):
		select {
		case <-s.force:
		default:
			s.say("%s still has open files after %v; it is detached and goes when they are closed", s.mountpoint, unmountGrace)
		}
	default:
		s.say("%v", err)
	}
}
