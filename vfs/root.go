package vfs

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// rootDir is the mount's only directory: image.iso, initrd.img, status.json
// and, when the generations have one, uki.efi.
type rootDir struct {
	fs.Inode
	srv *Server
}

var (
	_ = (fs.NodeOnAdder)((*rootDir)(nil))
	_ = (fs.NodeGetattrer)((*rootDir)(nil))
)

// OnAdd creates the files, once, when the file system is mounted. Whether
// there is a UKI is settled before the first generation (systemd-stub is
// found or not), so the first snapshot says for all.
func (d *rootDir) OnAdd(ctx context.Context) {
	s := d.srv
	add := func(name string, ino uint64, node fs.InodeEmbedder) *fs.Inode {
		ch := d.NewPersistentInode(ctx, node, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
		d.AddChild(name, ch, false)
		return ch
	}
	s.image = add(imageName, imageIno, &imageFile{srv: s})
	s.initrd = add(initrdName, initrdIno, &partFile{srv: s, name: initrdName, part: initrdPart})
	s.status = add(statusName, statusIno, &statusFile{srv: s})
	first := s.acquire()
	defer first.Release()
	if first.UKI != nil {
		s.uki = add(ukiName, ukiIno, &partFile{srv: s, name: ukiName, part: ukiPart})
	}
	if first.Squashfs != nil {
		s.squashfs = add(squashfsName, squashfsIno, &partFile{srv: s, name: squashfsName, part: squashfsPart})
	}
}

func (d *rootDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s := d.srv
	out.Mode = 0o555
	out.Uid, out.Gid = s.uid, s.gid
	t := time.Unix(0, s.changed.Load())
	out.SetTimes(nil, &t, &t)
	return 0
}

// readOnly refuses opens for writing (the mount is also "ro").
func readOnly(flags uint32) syscall.Errno {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return syscall.EROFS
	}
	return 0
}
