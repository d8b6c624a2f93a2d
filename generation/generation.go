package generation

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/efiboot"
	"github.com/liveiso/liveiso/isolayout"
	"github.com/liveiso/liveiso/uki"
)

// DefaultVolumeID is the volume identifier when none is given.
const DefaultVolumeID = "LIVEISO"

// Options are the inputs of a generation. cmd/liveiso maps its flags onto
// these fields one to one.
type Options struct {
	Rootfs      string // the root file system to pack as the initrd
	Kernel      string // kernel image; "" picks the newest Rootfs/boot/vmlinuz-*
	Append      string // kernel command line after initrd=
	Extra       string // directory of files for the CD's root; "" for none
	Isolinux    string // isolinux.bin; "" searches Search.Isolinux
	IsolinuxCfg string // the user's own isolinux.cfg; "" generates one
	VolumeID    string // "" means DefaultVolumeID

	// KernelConfig is the kernel's configuration, for AutoCompression; ""
	// looks for it (see chooseCompression).
	KernelConfig string

	// Boot says which firmware the image boots on; the zero value means
	// every one whose loader is installed.
	Boot      Boot
	EFILoader string // GRUB EFI image for UEFI; "" searches Search.EFILoaders
	NoHybrid  bool   // leave the system area empty: a CD image only, no MBR or GPT

	// NoJoliet leaves out the Joliet hierarchy (the names Windows and
	// macOS read); JolietLong allows 103-character Joliet names instead
	// of 64.
	NoJoliet, JolietLong bool

	// SecureBoot chooses whether UEFI boots through shim; the zero value
	// is SecureBootAuto. Shim is shimx64.efi ("" searches
	// Search.Shims), with MokManager beside it.
	SecureBoot SecureBoot
	Shim       string

	// UKIStub is systemd-stub for the generation's unified kernel image
	// ("" searches Search.UKIStubs; none found: no UKI). UKI says one is
	// wanted: no stub is then an error.
	UKIStub string
	UKI     bool

	// SourceDateEpoch, when set, dates everything liveiso generates
	// (reproducible builds); otherwise the newest mtime among the inputs does.
	SourceDateEpoch *time.Time

	Initramfs cache.Options

	// Search is where the boot files not named above are looked for; the
	// zero value, the distributions' usual places.
	Search HostSearch
}

// Generation is one immutable image: the layout and the initrd it serves.
type Generation struct {
	Number     uint64
	Image      *isolayout.Layout
	Initrd     *cache.Initrd
	Kernel     io.ReaderAt // the kernel on the CD, for network and direct boot
	KernelSize int64
	Stats      cache.Stats
	Files      int // regular files on the CD
	Took       time.Duration

	// UKI is the unified kernel image of the same kernel, command line and
	// initrd; nil without systemd-stub.
	UKI *uki.Layout

	// SecureBoot says the ESP boots through shim.
	SecureBoot bool

	// Joliet says the image has a Joliet hierarchy.
	Joliet bool

	// Warnings are the packer's (Stats.Warnings, WarningRootfs), the boot
	// files' (WarningBoot) and the layout's (WarningLayout: names the
	// Joliet tree could not hold as they are), in that order.
	Warnings []Warning

	Compression CompressionChoice // of the initrd

	refs    atomic.Int64 // see lifetime.go
	closers []io.Closer  // the files gather opened, closed by the last Release
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
	shim      efiboot.Shim
	shimCerts []*x509.Certificate // what shim trusts; nil: signatures are not checked
	ukiStub   string              // "" without a UKI
	search    HostSearch          // opts.Search with its defaults
	packer    *cache.Packer
	log       *slog.Logger
	number    uint64

	compression CompressionChoice

	// The last signature checks, so that an unchanged file is read whole
	// once, not once per generation.
	kernelCheck, loaderCheck signatureCheck
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
	b := &Builder{opts: opts, log: log, search: opts.Search.withDefaults()}
	if err := b.findLoaders(); err != nil {
		return nil, err
	}
	if err := b.findShim(); err != nil {
		return nil, err
	}
	if err := b.findUKIStub(); err != nil {
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
	if err := b.resolveCompression(); err != nil {
		return nil, err
	}
	if b.packer, err = cache.NewPacker(b.opts.Initramfs, log); err != nil {
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
		b.loader, b.ldlinux, biosErr = findIsolinux(b.opts.Isolinux, b.search.Isolinux)
	}
	if needUEFI || !explicit {
		b.efiLoader, uefiErr = efiboot.FindLoader(b.opts.EFILoader, b.search.EFILoaders)
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
		code, path, err := findIsohdpfx(b.loader, b.search.Isolinux)
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

// Settle caches the racy chunks of the last build's initrd once their files
// are past the racy window (cache.Packer.Settle); nothing in the generation
// changes.
func (b *Builder) Settle(ctx context.Context) (cache.Settled, error) { return b.packer.Settle(ctx) }

// Build makes the next generation. changed lists the rootfs-relative paths
// that may have changed since the last successful Build (nil: all of them).
// The generation comes with one reference, the caller's: Release it when
// done (see lifetime.go).
func (b *Builder) Build(ctx context.Context, changed []string) (_ *Generation, err error) {
	start := time.Now()
	initrd, err := b.packer.Pack(ctx, b.opts.Rootfs, changed)
	if err != nil {
		return nil, err
	}
	stats := initrd.Stats()
	g, err := b.gather(initrd, stats.NewestMtime)
	defer func() {
		if err != nil {
			closeAll(g.Opened)
		}
	}()
	if err != nil {
		return nil, err
	}
	in, err := plan(g, planOptions{
		VolumeID:        b.opts.VolumeID,
		Append:          b.opts.Append,
		NoHybrid:        b.opts.NoHybrid,
		NoJoliet:        b.opts.NoJoliet,
		JolietLong:      b.opts.JolietLong,
		SourceDateEpoch: b.opts.SourceDateEpoch,
	})
	if err != nil {
		return nil, err
	}
	layout, err := isolayout.Plan(in)
	if err != nil {
		return nil, fmt.Errorf("plan the image: %w", err)
	}
	var ukiLayout *uki.Layout
	if g.UKI != nil {
		if ukiLayout, err = planUKI(g, b.opts.Append); err != nil {
			return nil, err
		}
	}
	b.number++
	gen := &Generation{
		Number:     b.number,
		Image:      layout,
		Initrd:     initrd,
		Kernel:     g.Kernel.Source,
		KernelSize: g.Kernel.Size,
		Stats:      stats,
		Files:      layout.Files(),
		Took:       time.Since(start),

		UKI:        ukiLayout,
		SecureBoot: g.Shim != nil,
		Joliet:     in.Joliet != nil,
		Warnings:   slices.Concat(warnings(WarningRootfs, stats.Warnings), warnings(WarningBoot, g.Warnings), warnings(WarningLayout, layout.Warnings())),

		Compression: b.compression,
		// The pin keeps the initrd's members from every trim of the
		// store, this process's and others', for as long as the
		// generation is held; taken before the next Pack, as Pin asks.
		closers: append(g.Opened, initrd.Retain()),
	}
	gen.refs.Store(1)
	return gen, nil
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
	return 0, isolayout.HeadSectors * isolayout.SectorSize
}
