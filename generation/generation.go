package generation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/isolayout"
)

// DefaultVolumeID is the volume identifier when none is given.
const DefaultVolumeID = "LIVEISO"

// Where the boot files go on the CD. isolinux looks for its configuration in
// its own directory first, and the generated isolinux.cfg names the kernel
// and initrd relative to it.
const (
	bootDir     = "isolinux"
	loaderName  = "isolinux.bin"
	ldlinuxName = "ldlinux.c32"
	cfgName     = "isolinux.cfg"
	kernelName  = "vmlinuz"
	initrdName  = "initrd.img"
	catalogName = "boot.cat"
)

// isolinuxLoadSectors is the El Torito load size for isolinux.bin: 4 virtual
// 512-byte sectors, as isolinux documents (-boot-load-size 4); isolinux
// loads the rest of itself.
const isolinuxLoadSectors = 4

// Options are the inputs of a generation. cmd/liveiso maps its flags onto
// these fields one to one.
type Options struct {
	Rootfs      string // the root file system to pack as the initrd
	Kernel      string // kernel image; "" picks the newest Rootfs/boot/vmlinuz-*
	Append      string // kernel command line after initrd=
	Extra       string // directory of files for the CD's root; "" for none
	Isolinux    string // isolinux.bin; "" searches the distributions' usual places
	IsolinuxCfg string // the user's own isolinux.cfg; "" generates one
	VolumeID    string // "" means DefaultVolumeID

	// SourceDateEpoch, when set, dates everything liveiso generates
	// (reproducible builds); otherwise the newest mtime among the inputs does.
	SourceDateEpoch *time.Time

	Initramfs cache.Options
}

// Generation is one immutable image: the layout and the initrd it serves.
type Generation struct {
	Number uint64
	Image  *isolayout.Layout
	Initrd *cache.Initrd
	Stats  cache.Stats
	Files  int // regular files on the CD
	Took   time.Duration
}

// Builder builds successive generations from the same options, reusing the
// packer's caches so that a rebuild costs only what changed.
type Builder struct {
	opts    Options
	loader  string // isolinux.bin
	ldlinux string
	packer  *cache.Packer
	log     *slog.Logger
	number  uint64
}

// NewBuilder checks the options and finds the boot files. Bad input (a
// missing rootfs, no isolinux) is reported here, before any packing.
func NewBuilder(opts Options, log *slog.Logger) (*Builder, error) {
	if opts.Rootfs == "" {
		return nil, errors.New("no rootfs given")
	}
	fi, err := os.Stat(opts.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("rootfs %s: not a directory", opts.Rootfs)
	}
	if opts.VolumeID == "" {
		opts.VolumeID = DefaultVolumeID
	}
	loader, ldlinux, err := findIsolinux(opts.Isolinux)
	if err != nil {
		return nil, err
	}
	if opts.Kernel == "" {
		if _, err := newestKernel(opts.Rootfs); err != nil {
			return nil, err
		}
	}
	packer, err := cache.NewPacker(opts.Initramfs, log)
	if err != nil {
		return nil, err
	}
	return &Builder{opts: opts, loader: loader, ldlinux: ldlinux, packer: packer, log: log}, nil
}

// Close releases the packer's caches. Generations already built stay readable.
func (b *Builder) Close() error { return b.packer.Close() }

// Build makes the next generation. changed lists the rootfs-relative paths
// that may have changed since the last successful Build (nil: all of them).
func (b *Builder) Build(ctx context.Context, changed []string) (*Generation, error) {
	start := time.Now()
	initrd, err := b.packer.Pack(ctx, b.opts.Rootfs, changed)
	if err != nil {
		return nil, err
	}
	stats := initrd.Stats()
	boot, err := b.bootFiles()
	if err != nil {
		return nil, err
	}
	var extra []*isolayout.Node
	files := len(boot.nodes) + 1 // + the initrd
	if b.opts.Extra != "" {
		var n int
		if extra, n, err = extraTree(b.opts.Extra); err != nil {
			return nil, err
		}
		files += n
		for _, e := range extra {
			if e.Name == bootDir {
				return nil, fmt.Errorf("extra files: %s/%s: the name %q is taken by the boot loader's directory", b.opts.Extra, bootDir, bootDir)
			}
		}
	}

	// Dates: whatever does not change when the rootfs does is dated by the
	// inputs it comes from, so that an edit of the rootfs moves only the
	// initrd's record and the volume descriptor (layout stability).
	stable := newest(boot.mtime, extra)
	rootfsDate := stats.NewestMtime
	if sde := b.opts.SourceDateEpoch; sde != nil {
		stable, rootfsDate = *sde, *sde
	}
	volumeDate := stable
	if rootfsDate.After(volumeDate) {
		volumeDate = rootfsDate
	}

	initrdNode := &isolayout.Node{
		Name: initrdName, Mode: 0o444, Mtime: rootfsDate,
		Size: initrd.Size(), Source: initrd, Volatile: true,
	}
	for _, n := range boot.nodes {
		if n.Mtime.IsZero() {
			n.Mtime = stable
		}
	}
	isolinux := &isolayout.Node{
		Name: bootDir, Mode: fs.ModeDir | 0o555, Mtime: stable,
		Children: append(boot.nodes, initrdNode),
	}
	root := &isolayout.Node{
		Name: "", Mode: fs.ModeDir | 0o555, Mtime: stable,
		Children: append([]*isolayout.Node{isolinux}, extra...),
	}
	layout, err := isolayout.Plan(isolayout.Input{
		VolumeID:      b.opts.VolumeID,
		ApplicationID: "LIVEISO",
		Date:          volumeDate,
		Root:          root,
		ElTorito: &isolayout.ElTorito{
			CatalogPath:   bootDir + "/" + catalogName,
			LoaderPath:    bootDir + "/" + loaderName,
			Loader:        boot.loader,
			LoadSectors:   isolinuxLoadSectors,
			BootInfoTable: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("plan the image: %w", err)
	}
	b.number++
	return &Generation{
		Number: b.number,
		Image:  layout,
		Initrd: initrd,
		Stats:  stats,
		Files:  files,
		Took:   time.Since(start),
	}, nil
}

// bootSet is the boot loader's directory without the initrd.
type bootSet struct {
	nodes  []*isolayout.Node
	loader []byte
	mtime  time.Time // newest mtime of the files it was made from
}

// bootFiles opens the kernel and the isolinux files and makes isolinux.cfg.
// They are reopened on every build, so that a new kernel or a new isolinux
// shows up in the next generation.
func (b *Builder) bootFiles() (bootSet, error) {
	var set bootSet
	loader, err := os.ReadFile(b.loader)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
	}
	set.loader = loader
	lfi, err := os.Stat(b.loader)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
	}
	set.mtime = lfi.ModTime()

	ld, ldfi, err := openHost(b.ldlinux)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
	}
	var kernel *fileSource
	var kfi os.FileInfo
	if b.opts.Kernel != "" {
		kernel, kfi, err = openHost(b.opts.Kernel)
	} else {
		var rel string
		if rel, err = newestKernel(b.opts.Rootfs); err == nil {
			kernel, kfi, err = openBeneath(b.opts.Rootfs, rel)
		}
	}
	if err != nil {
		return set, fmt.Errorf("kernel: %w", err)
	}

	cfg := []byte(isolinuxCfg(b.opts.Append))
	var cfgTime time.Time // zero: dated like the other generated files
	if b.opts.IsolinuxCfg != "" {
		if cfg, err = os.ReadFile(b.opts.IsolinuxCfg); err != nil {
			return set, fmt.Errorf("isolinux config: %w", err)
		}
		cfi, err := os.Stat(b.opts.IsolinuxCfg)
		if err != nil {
			return set, fmt.Errorf("isolinux config: %w", err)
		}
		cfgTime = cfi.ModTime()
	}

	for _, t := range []time.Time{ldfi.ModTime(), kfi.ModTime(), cfgTime} {
		if t.After(set.mtime) {
			set.mtime = t
		}
	}
	set.nodes = []*isolayout.Node{
		{Name: loaderName, Mode: 0o444, Mtime: lfi.ModTime(), Size: int64(len(loader)), Source: bytes.NewReader(loader)},
		{Name: ldlinuxName, Mode: 0o444, Mtime: ldfi.ModTime(), Size: ldfi.Size(), Source: ld},
		{Name: cfgName, Mode: 0o444, Mtime: cfgTime, Size: int64(len(cfg)), Source: bytes.NewReader(cfg)},
		{Name: kernelName, Mode: 0o444, Mtime: kfi.ModTime(), Size: kfi.Size(), Source: kernel},
	}
	return set, nil
}

// isolinuxCfg is the configuration of the classic recipe: boot the kernel
// with the initrd at once, with the user's command line.
func isolinuxCfg(appendLine string) string {
	var sb strings.Builder
	sb.WriteString("default linux\n")
	sb.WriteString("label linux\n")
	sb.WriteString("  kernel " + kernelName + "\n")
	sb.WriteString("  append initrd=" + initrdName)
	if a := strings.TrimSpace(appendLine); a != "" {
		sb.WriteString(" " + a)
	}
	sb.WriteString("\n")
	return sb.String()
}

// newest is the newest of t and the mtimes in the trees.
func newest(t time.Time, trees []*isolayout.Node) time.Time {
	for _, n := range trees {
		if n.Mtime.After(t) {
			t = n.Mtime
		}
		t = newest(t, n.Children)
	}
	return t
}

// ParseSourceDateEpoch reads SOURCE_DATE_EPOCH as the reproducible-builds
// specification defines it: a decimal count of seconds since the epoch.
func ParseSourceDateEpoch(v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", v)
	}
	t := time.Unix(s, 0).UTC()
	return &t, nil
}

// RepinRange is the byte range of the image that every reader reads when it
// starts over: the system area (a disk boot reads the MBR and GPT there), the
// primary volume descriptor (isolinux and every ISO 9660 driver read it) and
// the El Torito boot record (a BIOS or UEFI CD boot reads it first). A live
// mount moves a long-open handle, such as QEMU's across a guest reset, on to
// the newest generation when it reads here; see package vfs.
func RepinRange() (off, n int64) {
	return 0, 18 * isolayout.SectorSize
}
