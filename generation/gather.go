package generation

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/cache"
)

// gather opens what a generation is made of besides the initrd: the kernel,
// the loaders and the extra files. They are reopened on every build, so that
// a new kernel or a new isolinux shows up in the next generation. Every file
// it opened is in g.Opened, also when it fails: the caller closes them.
func (b *Builder) gather(initrd *cache.Initrd, rootfsMtime time.Time) (g gathered, err error) {
	g = gathered{
		Initrd:   file{Source: initrd, Size: initrd.Size(), Mtime: rootfsMtime},
		MBRCode:  b.isohdpfx,
		ExtraDir: b.opts.Extra,
	}
	kernel, kernelPath, kfi, err := b.kernel(&g.Opened)
	if err != nil {
		return g, fmt.Errorf("kernel: %w", err)
	}
	g.Kernel = kernel
	if b.loader != "" {
		if g.BIOS, err = b.isolinux(&g.Opened); err != nil {
			return g, err
		}
	}
	if b.efiLoader != "" {
		f, fi, err := openHost(b.efiLoader)
		if err != nil {
			return g, fmt.Errorf("UEFI loader: %w", err)
		}
		g.Opened = append(g.Opened, f)
		g.UEFI = &file{Source: f, Size: fi.Size(), Mtime: fi.ModTime()}
		if b.shim.Shim != "" {
			if g.Shim, err = b.shimFiles(&g.Opened); err != nil {
				return g, err
			}
			for _, w := range []string{
				b.checkSigned(&b.loaderCheck, "UEFI loader", b.efiLoader, *g.UEFI, fi),
				b.checkSigned(&b.kernelCheck, "kernel", kernelPath, kernel, kfi),
			} {
				if w != "" {
					g.Warnings = append(g.Warnings, w)
				}
			}
		}
	}
	if b.ukiStub != "" {
		if g.UKI, err = b.ukiFiles(); err != nil {
			return g, err
		}
		if g.UKI.Linux, err = b.ukiLinux(kernel, kfi); err != nil {
			return g, err
		}
	}
	if b.opts.Extra != "" {
		if g.Extra, err = extraTree(b.opts.Extra, &g.Opened); err != nil {
			return g, err
		}
	}
	return g, nil
}

// kernel opens the kernel the options name, or the newest in the rootfs,
// says which it is and adds it to opened.
func (b *Builder) kernel(opened *[]io.Closer) (file, string, os.FileInfo, error) {
	var f *os.File
	var fi os.FileInfo
	var err error
	path := b.opts.Kernel
	if path != "" {
		f, fi, err = openHost(path)
	} else {
		var rel string
		if rel, err = newestKernel(b.opts.Rootfs); err == nil {
			path = filepath.Join(b.opts.Rootfs, rel)
			f, fi, err = openBeneath(b.opts.Rootfs, rel)
		}
	}
	if err != nil {
		return file{}, "", nil, err
	}
	*opened = append(*opened, f)
	return file{Source: f, Size: fi.Size(), Mtime: fi.ModTime()}, path, fi, nil
}

// shimFiles opens shim and MokManager, adding them to opened.
func (b *Builder) shimFiles(opened *[]io.Closer) (*shimFiles, error) {
	var s shimFiles
	for _, x := range []struct {
		path string
		f    *file
	}{{b.shim.Shim, &s.Shim}, {b.shim.MokManager, &s.MokManager}} {
		f, fi, err := openHost(x.path)
		if err != nil {
			return nil, fmt.Errorf("boot through shim: %w", err)
		}
		*opened = append(*opened, f)
		*x.f = file{Source: f, Size: fi.Size(), Mtime: fi.ModTime()}
	}
	return &s, nil
}

// isolinux reads isolinux.bin (the planner patches it), opens ldlinux.c32
// (adding it to opened) and reads the user's isolinux.cfg, if any.
func (b *Builder) isolinux(opened *[]io.Closer) (*biosFiles, error) {
	loader, err := os.ReadFile(b.loader)
	if err != nil {
		return nil, fmt.Errorf("isolinux: %w", err)
	}
	lfi, err := os.Stat(b.loader)
	if err != nil {
		return nil, fmt.Errorf("isolinux: %w", err)
	}
	ld, ldfi, err := openHost(b.ldlinux)
	if err != nil {
		return nil, fmt.Errorf("isolinux: %w", err)
	}
	*opened = append(*opened, ld)
	set := &biosFiles{
		Loader: loader, LoaderMtime: lfi.ModTime(),
		Ldlinux: file{Source: ld, Size: ldfi.Size(), Mtime: ldfi.ModTime()},
	}
	if b.opts.IsolinuxCfg != "" {
		cfg, err := os.ReadFile(b.opts.IsolinuxCfg)
		if err != nil {
			return nil, fmt.Errorf("isolinux config: %w", err)
		}
		cfi, err := os.Stat(b.opts.IsolinuxCfg)
		if err != nil {
			return nil, fmt.Errorf("isolinux config: %w", err)
		}
		set.Config = &file{Source: bytes.NewReader(cfg), Size: int64(len(cfg)), Mtime: cfi.ModTime()}
	}
	return set, nil
}
