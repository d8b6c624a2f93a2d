package vfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// initrdFile is initrd.img: the snapshot's Initrd alone, for direct kernel
// boot (qemu -kernel ... -initrd) and network boot.
type initrdFile struct {
	fs.Inode
	srv *Server
}

var (
	_ = (fs.NodeOpener)((*initrdFile)(nil))
	_ = (fs.NodeGetattrer)((*initrdFile)(nil))
)

func (f *initrdFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := readOnly(flags); errno != 0 {
		return nil, 0, errno
	}
	return &initrdHandle{srv: f.srv, snap: f.srv.current()}, f.srv.openFlags(), 0
}

// Getattr reports the newest generation's size, also for a GETATTR that names
// an open handle: go-fuse hands us some open handle even for a stat(2) that
// names none, so the handle's own generation cannot be trusted here.
func (f *initrdFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	f.srv.fileAttr(&out.Attr, f.srv.current().InitrdSize)
	return 0 // attribute timeout 0: the size changes with every generation
}

// initrdHandle is an open initrd.img, pinned to one snapshot for its life:
// nothing but a new open moves on.
type initrdHandle struct {
	srv  *Server
	snap *live.Snapshot // never changes
}

var _ = (fs.FileReader)((*initrdHandle)(nil))

func (h *initrdHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	snap := h.snap
	if off >= snap.InitrdSize {
		return fuse.ReadResultData(nil), 0
	}
	p := dest[:min(int64(len(dest)), snap.InitrdSize-off)]
	if err := readPadded(snap.Initrd, snap.InitrdSize, p, off); err != nil {
		h.srv.log.Error("read initrd.img", "generation", snap.Generation, "offset", off, "bytes", len(p), "err", err)
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(p), 0
}
