package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/liveiso/liveiso/qemu"
)

// Starting and replacing run's QEMU, and run's own lines on stderr.

// start starts a QEMU on the current generation; a signal (ctx) ends the
// wait for it.
func (s *session) start(ctx context.Context) error {
	m := s.plan.machine
	s.starts++
	// A socket of its own per QEMU: the old one may linger as it exits.
	m.QMP = filepath.Join(s.dir, fmt.Sprintf("qmp-%d.sock", s.starts))
	s.withAgentPort(&m, s.starts)
	if m.Direct != nil {
		d := *m.Direct
		d.Initrd = filepath.Join(s.mountpoint, "initrd.img")
		m.Direct = &d
	} else {
		m.Image = filepath.Join(s.mountpoint, "image.iso")
	}
	s.log.Debug("starting QEMU", "args", strings.Join(m.Args(), " "))
	s.stopJob()
	p, err := qemu.Start(ctx, s.plan.binary, m, qemu.IO{Stdin: s.qemuStdin(), Stdout: s.console, Stderr: s.stderr})
	if err != nil {
		return err
	}
	s.proc, s.poweredOff = p, false
	s.event(event{Event: "boot_started", Generation: s.gen})
	s.startJob(s.gen)
	return nil
}

// restart replaces QEMU by a new one, which opens the newest generation.
func (s *session) restart(ctx context.Context) error {
	s.proc.Stop(ctx, quitGrace)
	if s.term != nil {
		s.term.Restore()
	}
	return s.start(ctx)
}

// say prints one line of run's own on stderr.
func (s *session) say(format string, args ...any) {
	fmt.Fprintf(s.stderr, "liveiso: "+format+"\n", args...)
}

// tail says why the run failed, with the last console lines.
func (s *session) tail(why string) {
	lines := s.console.Tail()
	var b strings.Builder
	fmt.Fprintf(&b, "liveiso: %s\n--- last %d console lines ---\n", why, len(lines))
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("--- end of console ---\n")
	io.WriteString(s.stderr, b.String())
}
