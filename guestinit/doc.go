// Package guestinit is liveiso's own init for --root squashfs: the program
// the kernel runs as /init of the small initrd liveiso generates (package
// liveinit). It is the liveiso binary itself, copied into the initrd, and
// cmd/liveiso hands over to Main when it runs as PID 1 or as /init.
//
// Main loads the kernel modules the initrd carries (in the order the host
// resolved from modules.dep), finds the medium among the block devices by
// its ISO 9660 volume label and the image's ID in /live/liveiso.id, maps
// /live/filesystem.squashfs with a read-only loop device at its byte
// offset on the medium (no isofs needed; the same from a CD and a disk),
// mounts it under an overlay on tmpfs, moves /dev, /proc and /sys into it
// and switches root to the rootfs's init. Every step that fails says what
// it did and what it looked for on the console and ends PID 1, which the
// kernel reports as a panic: it never hangs.
//
// It needs nothing from the rootfs but the modules and the init, and uses
// no shell and no tool: system calls only.
package guestinit
