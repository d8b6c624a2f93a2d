package vfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// statusFile is status.json: Options.Status() as of the open.
type statusFile struct {
	fs.Inode
	srv *Server
}

var (
	_ = (fs.NodeOpener)((*statusFile)(nil))
	_ = (fs.NodeGetattrer)((*statusFile)(nil))
)

// Open takes the status once, so a reader sees one consistent document
// however it splits its reads; it is always direct I/O (the status also
// changes between generations, while one builds).
func (f *statusFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if errno := readOnly(flags); errno != 0 {
		return nil, 0, errno
	}
	return &statusHandle{data: f.srv.statusJSON()}, fuse.FOPEN_DIRECT_IO, 0
}

func (f *statusFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	// The fresh status's size, whatever handle go-fuse passes (see
	// partFile.Getattr); a reader reads to EOF, direct I/O allows that.
	f.srv.fileAttr(&out.Attr, int64(len(f.srv.statusJSON())))
	return 0 // attribute timeout 0
}

// statusHandle is an open status.json.
type statusHandle struct {
	data []byte
}

var _ = (fs.FileReader)((*statusHandle)(nil))

func (h *statusHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.data[off:min(int64(len(h.data)), off+int64(len(dest)))]), 0
}
