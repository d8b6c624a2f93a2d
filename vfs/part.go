package vfs

import (
	"context"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// partFile is a file that serves one part of the snapshot alone: initrd.img
// (the Initrd, for direct kernel boot and network boot) or uki.efi (the
// UKI). Each open handle is pinned to one snapshot for its life: nothing but
// a new open moves on.
type partFile struct {
	fs.Inode
	srv  *Server
	name string                                    // for the log
	part func(*live.Snapshot) (io.ReaderAt, int64) // which part
}

func initrdPart(s *live.Snapshot) (io.ReaderAt, int64) { return s.Initrd, s.InitrdSize }
func ukiPart(s *live.Snapshot) (io.ReaderAt, int64)    { return s.UKI, s.UKISize }
func squashfsPart(s *live.Snapshot) (io.ReaderAt, int64) {
	return s.Squashfs, s.SquashfsSize
}

var (
	_ = (fs.NodeOpener)((*partFile)(nil))
	_ = (fs.NodeGetattrer)((*partFile)(nil))
)

func (f *partFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := readOnly(flags); errno != 0 {
		return nil, 0, errno
	}
	h := &partHandle{srv: f.srv, name: f.name, part: f.part}
	h.pin.hold(f.srv.acquire())
	return h, f.srv.openFlags(), 0
}

// Getattr reports the newest generation's size, also for a GETATTR that names
// an open handle: go-fuse hands us some open handle even for a stat(2) that
// names none, so the handle's own generation cannot be trusted here.
func (f *partFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	snap := f.srv.acquire()
	defer snap.Release()
	_, size := f.part(snap)
	f.srv.fileAttr(&out.Attr, size)
	return 0 // attribute timeout 0: the size changes with every generation
}

// partHandle is an open partFile: the part of the snapshot current at open,
// which it holds until it is released.
type partHandle struct {
	srv  *Server
	name string
	part func(*live.Snapshot) (io.ReaderAt, int64)
	pin  pinned // never moves on
}

var (
	_ = (fs.FileReader)((*partHandle)(nil))
	_ = (fs.FileReleaser)((*partHandle)(nil))
)

func (h *partHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	snap := h.pin.forRead()
	if snap == nil {
		return nil, syscall.EBADF // released: the kernel sends no reads then
	}
	defer snap.Release()
	r, size := h.part(snap)
	if off >= size {
		return fuse.ReadResultData(nil), 0
	}
	p := dest[:min(int64(len(dest)), size-off)]
	if err := readPadded(r, size, p, off); err != nil {
		h.srv.log.Error("read "+h.name, "generation", snap.Generation, "offset", off, "bytes", len(p), "err", err)
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(p), 0
}

// Release lets go of the handle's snapshot: the file was closed.
func (h *partHandle) Release(ctx context.Context) syscall.Errno {
	h.pin.release()
	return 0
}
