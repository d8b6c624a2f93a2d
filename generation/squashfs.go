package generation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/guestinit"
	"github.com/liveiso/liveiso/kernel"
	"github.com/liveiso/liveiso/liveinit"
	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
	"github.com/liveiso/liveiso/squashroot"
)

// Root is where the rootfs goes.
type Root string

const (
	// RootInitramfs packs the rootfs as the initrd: every file in RAM.
	RootInitramfs Root = "initramfs"
	// RootSquashfs puts the rootfs on the medium as /live/filesystem.squashfs
	// and boots a small initrd with liveiso's own init (package guestinit),
	// which mounts it under an overlay on tmpfs.
	RootSquashfs Root = "squashfs"
)

// DefaultInit is the rootfs's init liveiso's own init hands over to.
const DefaultInit = "/sbin/init"

// squashfsRoot is a Builder's state for RootSquashfs.
type squashfsRoot struct {
	builder *squashroot.Builder
	initrd  *cache.Initrd // the small initrd: made once, the same in every generation
	imageID string        // /live/liveiso.id, also in the small initrd
	tree    *rootfs.Tree  // the last successful scan
}

// maxSquashfsScans bounds the scans of one Build when files change while
// they are read (as cache's maxRescans does for the initrd).
const maxSquashfsScans = 3

// newSquashfsRoot makes the small initrd and the squashfs builder.
func (b *Builder) newSquashfsRoot() error {
	init := b.opts.Init
	if init == "" {
		init = DefaultInit
	}
	if _, err := os.Lstat(filepath.Join(b.opts.Rootfs, init)); err != nil {
		return fmt.Errorf("--root squashfs: the rootfs %s has no %s to hand over to (pass --init PATH): %w", b.opts.Rootfs, init, err)
	}
	release, kernelPath, err := b.kernelRelease()
	if err != nil {
		return fmt.Errorf("--root squashfs: the kernel's release, for its modules: %w", err)
	}
	abs, err := filepath.Abs(b.opts.Rootfs)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + b.opts.VolumeID + "\x00" + kernelPath))
	id := hex.EncodeToString(sum[:8])
	initrd, err := liveinit.Build(liveinit.Options{
		Rootfs:  b.opts.Rootfs,
		Release: release,
		Binary:  b.opts.InitBinary,
		Config:  guestinit.Config{VolumeID: b.opts.VolumeID, ImageID: id, Init: init},
	})
	if err != nil {
		return fmt.Errorf("--root squashfs: %w", err)
	}
	so := b.opts.Squashfs
	if so.Compression == "" {
		switch b.compression.Compression {
		case cache.Zstd:
			so.Compression = squashfs.Zstd
		case cache.None:
			so.Compression = squashfs.None
		default:
			so.Compression = squashfs.Gzip
		}
		so.Level = b.opts.Initramfs.Level
		if so.Level == 0 && so.Compression == squashfs.Zstd {
			so.Level = 3 // the initrd's default level, not mksquashfs's 15
		}
	}
	so.RootOwner = so.RootOwner || b.opts.Initramfs.RootOwner
	sb, err := squashroot.NewBuilder(so, b.log)
	if err != nil {
		return err
	}
	b.squashfs = &squashfsRoot{builder: sb, initrd: initrd, imageID: id}
	b.log.Info("root on the medium", "root", RootSquashfs, "compression", so.Compression, "kernel_release", release, "init", init, "image_id", id)
	return nil
}

// kernelRelease reads the release of the kernel the image boots.
func (b *Builder) kernelRelease() (release, path string, err error) {
	var f *os.File
	if b.opts.Kernel != "" {
		path = b.opts.Kernel
		f, _, err = openHost(path)
	} else {
		var rel string
		if rel, err = newestKernel(b.opts.Rootfs); err != nil {
			return "", "", err
		}
		path = filepath.Join(b.opts.Rootfs, rel)
		f, _, err = openBeneath(b.opts.Rootfs, rel)
	}
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	v, err := kernel.Version(f)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	r := kernel.Release(v)
	if r == "" {
		return "", "", fmt.Errorf("%s: no release in version %q", path, v)
	}
	return r, path, nil
}

// buildSquashfs scans what changed and makes the generation's squashfs.
func (b *Builder) buildSquashfs(ctx context.Context, changed []string) (*squashroot.Image, time.Time, error) {
	s := b.squashfs
	excl := rootfs.Options{Excludes: b.opts.Initramfs.Excludes}
	var lastErr error
	for range maxSquashfsScans {
		var tree *rootfs.Tree
		var err error
		if s.tree != nil && changed != nil && lastErr == nil {
			tree, err = rootfs.Rescan(ctx, s.tree, changed, excl)
		} else {
			tree, err = rootfs.Scan(ctx, b.opts.Rootfs, excl)
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		img, err := s.builder.Build(ctx, tree)
		if errors.Is(err, rootfs.ErrChanged) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		s.tree = tree
		var newest int64
		for i := range tree.Entries() {
			newest = max(newest, tree.Entries()[i].MtimeNs)
		}
		return img, time.Unix(0, newest), nil
	}
	return nil, time.Time{}, fmt.Errorf("%w: %w", cache.ErrKeepsChanging, lastErr)
}

// mediumID is the content of /live/liveiso.id.
func (s *squashfsRoot) mediumID() file {
	b := []byte(s.imageID + "\n")
	return file{Source: bytes.NewReader(b), Size: int64(len(b))}
}
