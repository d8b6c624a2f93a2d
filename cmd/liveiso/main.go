// Command liveiso makes a bootable Linux CD image from a root file system in
// a directory, and keeps that image live.
//
//	liveiso build --rootfs DIR -o FILE [options]    write the image to a file
//	liveiso mount --rootfs DIR [options] MOUNTPOINT serve MOUNTPOINT/image.iso, rebuilt on every edit
//	liveiso status MOUNTPOINT                       show what a mount is serving
//
// The command line is defined with cobra, one file per command (build.go,
// mount.go, status.go); root.go ties them together and sets the exit status.
package main

import (
	"os"
	"path/filepath"

	"github.com/liveiso/liveiso/agent"
)

func main() {
	if runsAsGuestInit() {
		guestInitMain()
	}
	// In a guest, the initrd's /liveiso-agent is this binary (agent.go).
	if filepath.Base(os.Args[0]) == agent.Name {
		os.Exit(agent.Main(os.Args))
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
