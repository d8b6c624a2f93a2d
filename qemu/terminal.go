package qemu

import (
	"os"

	"golang.org/x/sys/unix"
)

// Terminal is a terminal's settings as they were before QEMU put it in raw
// mode. QEMU restores them when it exits normally, but not when it is
// killed.
type Terminal struct {
	fd    int
	saved *unix.Termios
}

// SaveTerminal records f's settings; ok is false when f is not a terminal.
func SaveTerminal(f *os.File) (_ *Terminal, ok bool) {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return nil, false
	}
	return &Terminal{fd: int(f.Fd()), saved: t}, true
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, ok := SaveTerminal(f)
	return ok
}

// Restore puts the recorded settings back.
func (t *Terminal) Restore() error {
	return unix.IoctlSetTermios(t.fd, unix.TCSETS, t.saved)
}
