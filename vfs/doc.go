// Package vfs serves a live image over FUSE: a read-only directory holding
// image.iso, initrd.img, status.json and uki.efi (when the snapshots have a
// unified kernel image), whose bytes come from immutable
// snapshots (live.Snapshot, io.ReaderAt values). It is an outlet, the last
// step of the pipeline: generation builds generations, live publishes them
// as snapshots to its subscribers, Server.Publish among them, and vfs adapts
// them to the kernel; it imports live, never the other way round. It knows nothing of
// ISO 9660.
//
// Consistency: every open file handle pins the snapshot that was current when
// it was opened, so a sequential reader gets exactly one generation and a new
// open sees the newest. An open image.iso moves on to the newest snapshot
// only when MoveOn names the process that opened it: liveiso run calls it
// for its QEMU, stopped, right before it resets the guest, so that a reset
// boots the newest generation and a running guest reads the one it booted,
// whatever it reads (promise 7). (Options.RepinRange, a byte range whose
// out-of-sequence read moves a handle on, exists for readers that start
// over by reading known bytes; liveiso does not use it, because a running
// kernel reads the same bytes as firmware.) A pin is a reference to a
// snapshot: the handle holds one
// until FUSE RELEASE or until it moves on, and each read one while it reads,
// so a generation's files close as soon as the last handle on it lets go
// (pinned.go). Files are served with direct I/O so that the kernel's
// page cache, which is per inode and not per handle, can never hand one
// handle the bytes of another's generation.
package vfs
