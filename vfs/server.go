package vfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// Options configure a mount. The zero value is a private mount whose image.iso
// handles never move on from the snapshot they were opened with.
type Options struct {
	AllowOther bool // let other users (and root) read the mount; needs user_allow_other in /etc/fuse.conf for non-root
	Debug      bool // log every FUSE request

	// Status is the contents of status.json, asked for at each open and
	// stat of it (the daemon's StatusJSON); nil serves {}.
	Status func() []byte

	// RepinRange is a safe point of image.iso: a read that touches it moves
	// its handle on to the newest snapshot before it is served, unless the
	// read continues a copy (a run of back-to-back reads that began at
	// offset 0, such as cp or dd bs=4k). Set it to the bytes every reader of
	// the image reads when it starts over (for ISO 9660, the volume
	// descriptors at sectors 16 and 17: the BIOS reads sector 17 after a
	// reset), so that a program that keeps image.iso open (QEMU across guest
	// resets) sees the newest generation when it starts over, and a copy
	// never gets two. The zero range disables moving on: handles keep their
	// snapshot for life, or until MoveOn. liveiso leaves it zero: a running
	// guest reads these bytes too (promise 7), so only the one who resets
	// the guest can say when it boots again (MoveOn).
	RepinRange ByteRange

	// pageCache serves image.iso and initrd.img through the kernel page cache
	// (invalidated by Publish) instead of direct I/O. It exists only so that
	// the tests can measure the alternative; see openFlags.
	pageCache bool
}

// ErrBusy is wrapped by Mount's error when the mount point already has a
// live mount on it.
var ErrBusy = errors.New("busy")

// Server is a mounted live directory: an outlet of the live daemon, which
// hands it every new snapshot (Publish). Its methods are safe for
// concurrent use.
type Server struct {
	opts       Options
	log        *slog.Logger
	mountpoint string
	uid, gid   uint32
	fuse       *fuse.Server

	image, initrd, status *fs.Inode // set by the root's OnAdd, during Mount
	uki                   *fs.Inode // likewise; nil when the snapshots have no UKI
	squashfs              *fs.Inode // likewise; nil when the rootfs is the initrd

	// current is the newest snapshot, which a new open pins; the server
	// holds a reference to it until a newer one is published or the
	// server stops.
	current  live.Current
	images   openImages   // the open image.iso handles, for MoveOn
	capacity atomic.Int64 // size of image.iso, refreshed by Publish
	changed  atomic.Int64 // mtime of the files (Unix ns): the last Publish, or the mount

	// pubMu orders Publish and the stop of the server, so that no
	// snapshot is kept after it.
	pubMu   sync.Mutex
	stopped bool
	done    chan struct{} // closed when the server has stopped

	unmountMu sync.Mutex // one Unmount at a time
	detached  bool       // Unmount finished (cleanly or lazily)
}

// Names of the served files.
const (
	imageName  = "image.iso"
	initrdName = "initrd.img"
	statusName = "status.json"
	ukiName    = "uki.efi"
	// squashfsName is the rootfs as a squashfs (--root squashfs), also
	// on the image as /live/filesystem.squashfs.
	squashfsName = "filesystem.squashfs"
)

// Inode numbers of the served files; the root is 1.
const (
	imageIno = 2 + iota
	initrdIno
	statusIno
	ukiIno
	squashfsIno
)

const (
	// maxRequestBytes is the largest READ the kernel may send: 1 MiB, the
	// most Linux allows (fs.fuse.max_pages_limit 256 pages by default).
	// go-fuse derives max_read and the kernel's max_pages from MaxWrite.
	maxRequestBytes = fuse.MAX_KERNEL_WRITE

	// Names never change, so the kernel may keep its dentries.
	entryTimeout = time.Hour
	// image.iso's size changes only with the capacity, and Publish
	// invalidates it then; initrd.img and status.json change with every
	// generation (or build state), so their attributes are never cached.
	imageAttrTimeout = time.Second
)

// Mount mounts the live directory at mountpoint and serves first (with the
// reference the caller hands over; nil serves empty files until the first
// Publish) until Unmount. Whether there is a uki.efi is settled by first.
// The mount point must be an existing directory that is not a mount point; a
// stale FUSE mount left there by a daemon that died is detached first.
func Mount(mountpoint string, first *live.Snapshot, opts Options, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mnt, err := prepareMountpoint(mountpoint, log)
	if err != nil {
		if first != nil {
			first.Release()
		}
		return nil, err
	}
	s := &Server{
		opts:       opts,
		log:        log,
		mountpoint: mnt,
		uid:        uint32(os.Getuid()),
		gid:        uint32(os.Getgid()),
		done:       make(chan struct{}),
	}
	if first != nil {
		s.capacity.Store(first.Capacity)
		s.current.Replace(first)
	}
	s.changed.Store(time.Now().UnixNano())

	// go-fuse's own messages: its request trace when asked for (Debug), and
	// otherwise only its complaints.
	fuseLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	if opts.Debug {
		fuseLog = slog.NewLogLogger(log.Handler(), slog.LevelInfo)
	}
	et := entryTimeout
	server, err := fs.Mount(mnt, &rootDir{srv: s}, &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:   opts.AllowOther,
			Debug:        opts.Debug,
			FsName:       "liveiso",
			Name:         "liveiso",
			Options:      []string{"ro"},
			MaxWrite:     maxRequestBytes,
			MaxReadAhead: maxRequestBytes,
			// Our replies are bytes in go-fuse's request buffer, never a
			// file descriptor: a splice attempt per read would only fail
			// (a 1 MiB reply does not fit the default 1 MiB pipe) and log.
			DisableSplice: true,
			Logger:        fuseLog,
		},
		EntryTimeout: &et,
		// AttrTimeout stays nil: each node sets its own (see Getattr).
		Logger: fuseLog,
	})
	if err != nil {
		s.current.Replace(nil)
		return nil, fmt.Errorf("mount %s: %w", mnt, err)
	}
	s.fuse = server
	go func() {
		server.Wait()
		s.pubMu.Lock()
		s.stopped = true
		s.current.Replace(nil) // open files keep theirs
		s.pubMu.Unlock()
		close(s.done)
	}()
	log.Info("mounted", "mountpoint", mnt, "capacity_bytes", s.capacity.Load(),
		"allow_other", opts.AllowOther, "direct_io", !opts.pageCache)
	return s, nil
}

// Mountpoint is the absolute path the server is mounted at.
func (s *Server) Mountpoint() string { return s.mountpoint }

// Publish makes snap (with the reference the caller hands over) the
// snapshot that new opens get, and tells the kernel: it refreshes
// image.iso's size (snap.Capacity) and drops cached attributes of all the
// files, and their cached pages when they are served through the page
// cache. Handles already open keep their snapshots (see MoveOn). It is the daemon's subscriber (live.Daemon.
// Subscribe): call it from the goroutine that publishes generations, never
// from a FUSE request (the kernel may wait on reads in flight while it
// invalidates). After the server has stopped it only releases snap.
func (s *Server) Publish(snap *live.Snapshot) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if s.stopped {
		snap.Release()
		return
	}
	s.current.Replace(snap)
	s.invalidate(snap.Capacity)
}

// invalidate refreshes the capacity and the files' mtime, and drops what
// the kernel caches of them.
func (s *Server) invalidate(c int64) {
	if old := s.capacity.Swap(c); old != c {
		s.log.Info("image.iso size changed", "old_bytes", old, "bytes", c)
	}
	s.changed.Store(time.Now().UnixNano())
	for _, n := range []*fs.Inode{s.image, s.initrd, s.status, s.uki, s.squashfs} {
		if n == nil {
			continue
		}
		// (0, 0) drops the attributes and every cached page. With direct
		// I/O there are no pages, except those of a private mmap.
		// ENOENT: the kernel has not looked the file up, nothing cached.
		if errno := n.NotifyContent(0, 0); errno != 0 && errno != syscall.ENOENT {
			s.log.Debug("invalidate kernel cache", "ino", n.StableAttr().Ino, "err", errno)
		}
	}
}

// Unmount unmounts the directory. When it is busy (a file is open, a loop
// device is attached), it is detached lazily: it disappears from the name
// space now, and the server keeps answering the open files until the last
// one is closed, when Wait returns.
func (s *Server) Unmount() error {
	// go-fuse's Unmount is not safe for concurrent calls: a second one
	// fails while the first waits for the kernel, and would detach lazily.
	s.unmountMu.Lock()
	defer s.unmountMu.Unlock()
	if s.detached {
		return nil
	}
	err := s.fuse.Unmount()
	if err == nil {
		s.detached = true
		s.log.Info("unmounted", "mountpoint", s.mountpoint)
		return nil
	}
	s.log.Warn("mount point busy, detaching it lazily; the server exits when its last open file is closed",
		"mountpoint", s.mountpoint, "err", err)
	if lerr := lazyUnmount(s.mountpoint); lerr != nil {
		return fmt.Errorf("unmount %s: %v; lazy unmount: %w", s.mountpoint, err, lerr)
	}
	s.detached = true
	return nil
}

// Wait returns when the server has stopped: after Unmount (or an unmount
// from outside) once no file is open any more. It has let go of its
// snapshot then.
func (s *Server) Wait() { <-s.done }

// Done is closed when the server has stopped (see Wait).
func (s *Server) Done() <-chan struct{} { return s.done }

// fileAttr fills the attributes shared by the three files.
func (s *Server) fileAttr(out *fuse.Attr, size int64) {
	out.Mode = 0o444
	out.Size = uint64(size)
	out.Uid, out.Gid = s.uid, s.gid
	t := time.Unix(0, s.changed.Load())
	out.SetTimes(nil, &t, &t)
}

// openFlags are the FUSE open flags of image.iso, initrd.img and uki.efi:
// direct I/O.
// The kernel page cache is per inode and snapshots are per handle, so with it
// a handle pinned to generation N could be served pages a reader of N+1
// brought in, and invalidation on Publish cannot tell them apart. It is also
// faster than the cold cache every reader meets after an edit. FUSE
// passthrough, faster still, binds a handle to one backing file for life, so
// it could never move QEMU on to a new generation (promise 2). A reader's
// big blocks arrive as 1 MiB requests (maxRequestBytes; TestLargeReads).
// Figures: MEASUREMENTS.md, vfs.
func (s *Server) openFlags() uint32 {
	if s.opts.pageCache {
		return fuse.FOPEN_KEEP_CACHE
	}
	return fuse.FOPEN_DIRECT_IO
}

// acquire is the newest snapshot with a reference for the caller, or an
// empty one, holding nothing, before the first.
func (s *Server) acquire() *live.Snapshot {
	if snap := s.current.Acquire(); snap != nil {
		return snap
	}
	return &live.Snapshot{}
}

// statusJSON is the contents of status.json.
func (s *Server) statusJSON() []byte {
	if s.opts.Status == nil {
		return []byte("{}\n")
	}
	return s.opts.Status()
}
