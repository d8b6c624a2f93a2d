package vfs

import (
	"context"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// imageFile is image.iso: the snapshot's Image, then zeros up to the capacity.
type imageFile struct {
	fs.Inode
	srv *Server
}

var (
	_ = (fs.NodeOpener)((*imageFile)(nil))
	_ = (fs.NodeGetattrer)((*imageFile)(nil))
)

func (f *imageFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := readOnly(flags); errno != 0 {
		return nil, 0, errno
	}
	h := &imageHandle{srv: f.srv}
	h.pin.hold(f.srv.acquire())
	h.runEnd.Store(-1)
	f.srv.images.add(h, callerTID(ctx))
	return h, f.srv.openFlags(), 0
}

func (f *imageFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	f.srv.fileAttr(&out.Attr, f.srv.capacity.Load())
	out.SetTimeout(imageAttrTimeout)
	return 0
}

// imageHandle is an open image.iso, pinned to a snapshot until a read touches
// Options.RepinRange, unless that read continues a copy: a run of reads, each
// starting where the one before ended, that began at offset 0. A copy made
// in small blocks (dd bs=4k, a 32 KiB sha256sum) reaches the safe point only
// in its second or ninth read, and must not move on there; a machine that
// starts over (a BIOS reading sector 17 after a reset, a guest kernel
// mounting the disc) reads the safe point out of sequence, or starts at 0
// with a read that covers it.
type imageHandle struct {
	srv    *Server
	pin    pinned
	runEnd atomic.Int64 // where the copy in progress continues; -1: none
}

var (
	_ = (fs.FileReader)((*imageHandle)(nil))
	_ = (fs.FileReleaser)((*imageHandle)(nil))
)

func (h *imageHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	s := h.srv
	snap := h.pin.forRead()
	if snap == nil {
		return nil, syscall.EBADF // released: the kernel sends no reads then
	}
	continues := off != 0 && off == h.runEnd.Load()
	if !continues && s.opts.RepinRange.overlaps(off, int64(len(dest))) {
		snap = h.moveOn(snap)
	}
	defer snap.Release()
	// The image is never cut short, even if it outgrew the capacity of an
	// older snapshot.
	end := max(s.capacity.Load(), snap.ImageSize)
	if off >= end {
		return fuse.ReadResultData(nil), 0
	}
	p := dest[:min(int64(len(dest)), end-off)]
	if continues || off == 0 {
		h.runEnd.Store(off + int64(len(p)))
	} else {
		h.runEnd.Store(-1)
	}
	if err := readPadded(snap.Image, snap.ImageSize, p, off); err != nil {
		s.log.Error("read image.iso", "generation", snap.Generation, "offset", off, "bytes", len(p), "err", err)
		return nil, syscall.EIO
	}
	// dest is go-fuse's request buffer: no allocation per read.
	return fuse.ReadResultData(p), 0
}

// Release lets go of the handle's snapshot: the file was closed.
func (h *imageHandle) Release(ctx context.Context) syscall.Errno {
	h.srv.images.remove(h)
	h.pin.release()
	return 0
}

// moveOn pins the newest snapshot, if there is a newer one than old. old
// comes with the read's reference, and the snapshot returned has it.
func (h *imageHandle) moveOn(old *live.Snapshot) *live.Snapshot {
	cur := h.srv.current.Acquire()
	if cur == nil {
		return old
	}
	if cur == old {
		cur.Release()
		return old
	}
	cur.Retain() // one reference for the handle, one for this read
	if !h.pin.p.CompareAndSwap(old, cur) {
		// A concurrent read of the same range moved on first: serve what
		// the handle holds now.
		cur.Release()
		cur.Release()
		if now := h.pin.forRead(); now != nil {
			old.Release()
			return now
		}
		return old
	}
	old.Release() // the handle's
	old.Release() // this read's
	h.srv.log.Info("image.iso reader moved on to a new generation", "generation", cur.Generation, "from", old.Generation)
	return cur
}
