package generation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/efiboot"
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

	// Boot says which firmware the image boots on; the zero value means
	// every one whose loader is installed.
	Boot      Boot
	EFILoader string // GRUB EFI image for UEFI; "" searches efiboot.LoaderPaths
	NoHybrid  bool   // leave the system area empty: a CD image only, no MBR or GPT

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
	Kernel *isolayout.Node // the kernel file on the CD, for network boot (its Source and Size)
	Stats  cache.Stats
	Files  int // regular files on the CD
	Took   time.Duration
}

// Boot selects the boot entries.
type Boot struct {
	BIOS bool // El Torito with isolinux (and an isohybrid MBR for disks)
	UEFI bool // El Torito EFI entry with an ESP (and a GPT for disks)
}

// Builder builds successive generations from the same options, reusing the
// packer's caches so that a rebuild costs only what changed.
type Builder struct {
	opts      Options
	loader    string // isolinux.bin; "" without BIOS boot
	ldlinux   string
	isohdpfx  []byte // isohybrid MBR boot code; nil without BIOS disk boot
	efiLoader string // "" without UEFI boot
	packer    *cache.Packer
	log       *slog.Logger
	number    uint64
}

// NewBuilder checks the options and finds the boot files. Bad input (a
// missing rootfs, no boot loader) is reported here, before any packing.
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
	b := &Builder{opts: opts, log: log}
	if err := b.findLoaders(); err != nil {
		return nil, err
	}
	if opts.Kernel == "" {
		if _, err := newestKernel(opts.Rootfs); err != nil {
			return nil, err
		}
	} else if fi, err := os.Stat(opts.Kernel); err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("kernel %s: not a regular file", opts.Kernel)
	}
	if b.packer, err = cache.NewPacker(opts.Initramfs, log); err != nil {
		return nil, err
	}
	return b, nil
}

// findLoaders finds the loaders of the boot modes asked for. With no mode
// asked for, a missing loader drops its mode with a warning, as long as one
// mode remains.
func (b *Builder) findLoaders() error {
	// --boot names the modes; without it every mode whose loader is found.
	// Naming a loader's path asks for its mode: a wrong path is an error,
	// not a mode quietly dropped.
	explicit := b.opts.Boot.BIOS || b.opts.Boot.UEFI
	needBIOS := b.opts.Boot.BIOS || b.opts.Isolinux != ""
	needUEFI := b.opts.Boot.UEFI || b.opts.EFILoader != ""
	var biosErr, uefiErr error
	if needBIOS || !explicit {
		b.loader, b.ldlinux, biosErr = findIsolinux(b.opts.Isolinux)
	}
	if needUEFI || !explicit {
		b.efiLoader, uefiErr = efiboot.FindLoader(b.opts.EFILoader)
	}
	switch {
	case needBIOS && biosErr != nil:
		return biosErr
	case needUEFI && uefiErr != nil:
		return uefiErr
	case biosErr != nil && uefiErr != nil:
		return fmt.Errorf("no boot loader: BIOS: %w; UEFI: %w", biosErr, uefiErr)
	case biosErr != nil:
		b.log.Warn("the image will not boot on BIOS", "err", biosErr)
	case uefiErr != nil:
		b.log.Warn("the image will not boot on UEFI", "err", uefiErr)
	}
	if b.loader != "" && !b.opts.NoHybrid {
		code, path, err := findIsohdpfx(b.loader)
		if err != nil {
			b.log.Warn("the image will not boot on BIOS from a disk (USB stick)", "err", err)
		} else {
			b.isohdpfx = code
			b.log.Debug("isohybrid MBR boot code", "path", path)
		}
	}
	return nil
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
	if b.opts.Extra != "" {
		if extra, err = extraTree(b.opts.Extra); err != nil {
			return nil, err
		}
		for _, e := range extra {
			if reservedNames[e.Name] {
				return nil, fmt.Errorf("extra files: %s/%s: the name %q is taken by the boot files", b.opts.Extra, e.Name, e.Name)
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
	dir := func(name string, children ...*isolayout.Node) *isolayout.Node {
		return &isolayout.Node{Name: name, Mode: fs.ModeDir | 0o555, Mtime: stable, Children: children}
	}
	for _, n := range boot.nodes {
		if n.Mtime.IsZero() {
			n.Mtime = stable
		}
	}
	top := []*isolayout.Node{dir(bootDir, append(boot.nodes, initrdNode)...)}
	et := &isolayout.ElTorito{CatalogPath: bootDir + "/" + catalogName}
	if b.loader != "" {
		et.LoaderPath = bootDir + "/" + loaderName
		et.Loader = boot.loader
		et.LoadSectors = isolinuxLoadSectors
		et.BootInfoTable = true
	}
	if b.efiLoader != "" {
		uefi, err := b.uefiFiles(stable)
		if err != nil {
			return nil, err
		}
		top = append(top, uefi...)
		et.EFIImagePath = efiboot.ESPPath
	}
	var hybrid *isolayout.Hybrid
	if !b.opts.NoHybrid {
		hybrid = &isolayout.Hybrid{MBRCode: b.isohdpfx, Seed: "liveiso"}
	}
	root := dir("", append(top, extra...)...)
	layout, err := isolayout.Plan(isolayout.Input{
		VolumeID:      b.opts.VolumeID,
		ApplicationID: "LIVEISO",
		Date:          volumeDate,
		Root:          root,
		ElTorito:      et,
		Hybrid:        hybrid,
	})
	if err != nil {
		return nil, fmt.Errorf("plan the image: %w", err)
	}
	b.number++
	return &Generation{
		Number: b.number,
		Image:  layout,
		Initrd: initrd,
		Kernel: boot.nodes[0], // bootFiles puts the kernel first
		Stats:  stats,
		Files:  countFiles(root) + 1, // and the boot catalog the planner adds
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
	var kernel *os.File
	var kfi os.FileInfo
	var err error
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
	set.mtime = kfi.ModTime()
	set.nodes = []*isolayout.Node{{Name: kernelName, Mode: 0o444, Mtime: kfi.ModTime(), Size: kfi.Size(), Source: kernel}}
	if b.loader == "" {
		return set, nil
	}

	loader, err := os.ReadFile(b.loader)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
	}
	set.loader = loader
	lfi, err := os.Stat(b.loader)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
	}
	ld, ldfi, err := openHost(b.ldlinux)
	if err != nil {
		return set, fmt.Errorf("isolinux: %w", err)
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
	for _, t := range []time.Time{lfi.ModTime(), ldfi.ModTime(), cfgTime} {
		if t.After(set.mtime) {
			set.mtime = t
		}
	}
	set.nodes = append(set.nodes,
		&isolayout.Node{Name: loaderName, Mode: 0o444, Mtime: lfi.ModTime(), Size: int64(len(loader)), Source: bytes.NewReader(loader)},
		&isolayout.Node{Name: ldlinuxName, Mode: 0o444, Mtime: ldfi.ModTime(), Size: ldfi.Size(), Source: ld},
		&isolayout.Node{Name: cfgName, Mode: 0o444, Mtime: cfgTime, Size: int64(len(cfg)), Source: bytes.NewReader(cfg)},
	)
	return set, nil
}

// uefiFiles makes the EFI System Partition image (GRUB as
// EFI/BOOT/BOOTX64.EFI; see package efiboot for why GRUB), GRUB's
// configuration, and the file GRUB looks for to find the CD when booted
// from a disk. GRUB reads the kernel and initrd from the ISO 9660 tree, so
// they are stored once, and nothing here changes when the rootfs does.
func (b *Builder) uefiFiles(date time.Time) ([]*isolayout.Node, error) {
	loader, lfi, err := openHost(b.efiLoader)
	if err != nil {
		return nil, fmt.Errorf("UEFI loader: %w", err)
	}
	esp, err := efiboot.ESP(efiboot.ESPInput{
		Loader: loader, LoaderSize: lfi.Size(), Mtime: lfi.ModTime(),
		VolumeID: crc32.ChecksumIEEE([]byte(b.opts.VolumeID)),
	})
	if err != nil {
		return nil, fmt.Errorf("EFI system partition: %w", err)
	}
	file := func(name string, data []byte) *isolayout.Node {
		return &isolayout.Node{Name: name, Mode: 0o444, Mtime: date, Size: int64(len(data)), Source: bytes.NewReader(data)}
	}
	dir := func(name string, children ...*isolayout.Node) *isolayout.Node {
		return &isolayout.Node{Name: name, Mode: fs.ModeDir | 0o555, Mtime: date, Children: children}
	}
	grubCfg := efiboot.GrubConfig("/"+bootDir+"/"+kernelName, "/"+bootDir+"/"+initrdName, b.opts.Append)
	espName := path.Base(efiboot.ESPPath)
	return []*isolayout.Node{
		dir(path.Dir(efiboot.ESPPath),
			&isolayout.Node{Name: espName, Mode: 0o444, Mtime: lfi.ModTime(), Size: esp.Size(), Source: esp},
			dir(path.Base(path.Dir(efiboot.GrubConfigPath)), file(path.Base(efiboot.GrubConfigPath), []byte(grubCfg))),
		),
		dir(path.Dir(efiboot.DiskInfoPath), file(path.Base(efiboot.DiskInfoPath), []byte(efiboot.DiskInfo(b.opts.VolumeID)))),
	}, nil
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

// countFiles counts the regular files in the tree under n.
func countFiles(n *isolayout.Node) int {
	c := 0
	if n.Mode.IsRegular() {
		c = 1
	}
	for _, k := range n.Children {
		c += countFiles(k)
	}
	return c
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
