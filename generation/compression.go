package generation

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/kernel"
)

// AutoCompression, as Options.Initramfs.Compression, asks the Builder to
// choose: zstd when the kernel is known to unpack a zstd initramfs
// (CONFIG_RD_ZSTD=y in its configuration), gzip otherwise. The packer only
// ever sees the compression chosen.
const AutoCompression cache.Compression = "auto"

// CompressionChoice is the compression a Builder packs with, and why.
type CompressionChoice struct {
	Compression cache.Compression
	Reason      string // for the log, the build summary and status.json
	// When auto fell back to gzip for want of a configuration: Detail says
	// where it was looked for, Hint how to choose instead. Both go to the
	// log only.
	Detail, Hint string
}

// chooseCompression resolves AutoCompression. The choice is made once, for
// the kernel found now: the packer's options (and its cache keys) are fixed
// for the Builder's life, so a kernel replaced later keeps the compression
// chosen at start.
func chooseCompression(opts Options) (CompressionChoice, error) {
	c := opts.Initramfs.Compression
	switch c {
	case AutoCompression:
	case "":
		return CompressionChoice{Compression: cache.Gzip, Reason: "the packer's default"}, nil
	default:
		return CompressionChoice{Compression: c, Reason: "--compression " + string(c)}, nil
	}
	s := kernel.Search{ConfigFile: opts.KernelConfig}
	if opts.Kernel != "" {
		f, fi, err := openHost(opts.Kernel)
		if err != nil {
			return CompressionChoice{}, fmt.Errorf("kernel: %w", err)
		}
		defer f.Close()
		s.Kernel, s.KernelSize, s.KernelPath = f, fi.Size(), opts.Kernel
	} else {
		rel, err := newestKernel(opts.Rootfs)
		if err != nil {
			return CompressionChoice{}, err
		}
		f, fi, err := openBeneath(opts.Rootfs, rel)
		if err != nil {
			return CompressionChoice{}, fmt.Errorf("kernel: %w", err)
		}
		defer f.Close()
		// No KernelPath: its directory is the rootfs's boot/, which the
		// Rootfs step reads without following symlinks.
		s.Kernel, s.KernelSize = f, fi.Size()
	}
	s.Rootfs = beneathFS(opts.Rootfs)

	found, err := kernel.FindConfig(s)
	switch {
	case err == nil && found.Config.Builtin(kernel.RDZstd):
		return CompressionChoice{Compression: cache.Zstd, Reason: kernel.RDZstd + "=y in " + found.String()}, nil
	case err == nil:
		return CompressionChoice{
			Compression: cache.Gzip,
			Reason:      kernel.RDZstd + " is not set in " + found.String(),
		}, nil
	case opts.KernelConfig != "":
		return CompressionChoice{}, err // the user's file must be readable
	}
	fallback := CompressionChoice{
		Compression: cache.Gzip,
		Detail:      err.Error(),
		Hint:        "pass --kernel-config FILE (the kernel's config-VERSION), or --compression zstd if the kernel has " + kernel.RDZstd + "=y",
	}
	switch {
	case errors.Is(err, kernel.ErrNotBzImage):
		fallback.Reason = "the kernel is not an x86 bzImage nor an arm64 Image, so its configuration is unknown"
		return fallback, nil
	case errors.Is(err, kernel.ErrNoVersion):
		fallback.Reason = "the kernel has no version string, so its configuration is unknown"
		return fallback, nil
	case errors.Is(err, kernel.ErrNoConfig) && found.Release != "":
		fallback.Reason = "no config-" + found.Release + " found for the kernel"
		return fallback, nil
	case errors.Is(err, kernel.ErrNoConfig):
		fallback.Reason = "the kernel's configuration was not found"
		return fallback, nil
	}
	return CompressionChoice{}, fmt.Errorf("choose the initrd's compression: %w", err)
}

// beneathFS reads the untrusted rootfs as an fs.FS without following any
// symlink (openBeneath).
type beneathFS string

func (root beneathFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, _, err := openBeneath(string(root), filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// resolveCompression chooses the compression, logs the choice and puts it
// into the packer's options.
func (b *Builder) resolveCompression() error {
	c, err := chooseCompression(b.opts)
	if err != nil {
		return err
	}
	if c.Hint != "" {
		b.log.Info("initrd compression", "compression", c.Compression, "reason", c.Reason, "detail", c.Detail, "hint", c.Hint)
	} else {
		b.log.Info("initrd compression", "compression", c.Compression, "reason", c.Reason)
	}
	b.compression = c
	b.opts.Initramfs.Compression = c.Compression
	return nil
}
