package main

import (
	"os"
	"path/filepath"

	"github.com/liveiso/liveiso/guestinit"
)

// runsAsGuestInit reports whether this process is liveiso's own init in the
// small initrd of --root squashfs: the kernel runs it as /init, PID 1.
func runsAsGuestInit() bool {
	return os.Getpid() == 1 && filepath.Base(os.Args[0]) == "init"
}

// guestInitMain hands over to package guestinit; it never returns.
func guestInitMain() { guestinit.Main() }
