package cache

import (
	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// Synthetic entries: what the kernel needs from an initramfs that a rootfs
// prepared for a disk may lack. They have fixed stat data (mtime 0, root
// owned), so they encode the same every time and their chunks stay cached.

// autoInit is the /init written when the rootfs has none: the kernel runs
// /init of an initramfs, while a rootfs made for a disk boots /sbin/init.
const autoInit = "#!/bin/sh\nexec /sbin/init \"$@\"\n"

const (
	consoleMajor = 5 // /dev/console is char 5:1 (Documentation/admin-guide/devices.txt)
	consoleMinor = 1
)

// synthesize returns the synthetic entries the tree lacks, and warnings.
func synthesize(es []rootfs.Entry, noAutoInit bool) (extra []item, warns []string) {
	has := func(p string) (*rootfs.Entry, bool) {
		i := rootfs.FindEntry(es, p)
		if i < 0 {
			return nil, false
		}
		return &es[i], true
	}
	_, hasInit := has("init")
	hasSbinInit := false
	for _, p := range []string{"sbin/init", "usr/sbin/init"} {
		if _, ok := has(p); ok {
			hasSbinInit = true
		}
	}
	if !hasInit && !hasSbinInit {
		warns = append(warns, "neither /init nor /sbin/init exists in the rootfs: the kernel will have nothing to run")
	}
	if !hasInit && !noAutoInit {
		extra = append(extra, synthItem(rootfs.Entry{Path: "init", Mode: newc.TypeReg | 0o755, Size: int64(len(autoInit)), Nlink: 1}, []byte(autoInit)))
	}
	dev, hasDev := has("dev")
	switch {
	case !hasDev:
		extra = append(extra, synthItem(rootfs.Entry{Path: "dev", Mode: newc.TypeDir | 0o755, Nlink: 2}, nil))
	case dev.Mode&newc.TypeMask != newc.TypeDir:
		warns = append(warns, "/dev is not a directory in the rootfs: no /dev/console added, the kernel may start /init without a console")
		return extra, warns
	}
	if _, ok := has("dev/console"); !ok {
		rdev := unix.Mkdev(consoleMajor, consoleMinor)
		extra = append(extra, synthItem(rootfs.Entry{Path: "dev/console", Mode: newc.TypeChar | 0o600, Rdev: rdev, Nlink: 1}, nil))
	}
	return extra, warns
}

func synthItem(e rootfs.Entry, content []byte) item {
	h, _ := header(&e, true) // valid by construction
	it := item{e: &e, hdr: h, content: content, synth: true, hash: pathHash(e.Path)}
	it.hdr.Ino = pathInode(it.hash, 0)
	return it
}
