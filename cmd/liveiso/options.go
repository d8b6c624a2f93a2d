package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/spf13/pflag"
)

// imageFlags are the options build and mount share: what goes into the
// image. Each field is one flag; options maps them onto generation.Options.
type imageFlags struct {
	rootfs, kernel, appendLine, extra  string
	isolinux, isolinuxCfg, volumeID    string
	compression, cacheDir, cacheMemory string
	cacheSize                          string
	boot, efiLoader                    string
	level                              int
	rootOwner, noAutoInit, noHybrid    bool
	noJoliet, jolietLong               bool
	excludes                           []string
	kernelConfig                       string
	secureBoot, shim, ukiStub          string
}

// register defines the image flags on fs.
func (f *imageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.rootfs, "rootfs", "", "root file system `DIR` to pack as the initrd (required)")
	fs.StringVar(&f.kernel, "kernel", "", "kernel image `FILE` (default: the newest DIR/boot/vmlinuz-*)")
	fs.StringVar(&f.appendLine, "append", "", "kernel command line, after initrd=initrd.img")
	fs.StringVar(&f.extra, "extra", "", "`DIR` of extra files to put at the root of the CD")
	fs.StringVar(&f.isolinux, "isolinux", "", "isolinux.bin `FILE` (default: search the usual Debian, Fedora and Arch places)")
	fs.StringVar(&f.isolinuxCfg, "isolinux-cfg", "", "your own isolinux.cfg `FILE` instead of the generated one")
	fs.StringVar(&f.boot, "boot", "", "firmware to boot on: bios, uefi or bios,uefi (default: each whose loader is installed)")
	fs.StringVar(&f.efiLoader, "efi-loader", "", "GRUB EFI image `FILE` for UEFI boot (default: Debian's gcdx64.efi.signed)")
	fs.StringVar(&f.secureBoot, "secure-boot", string(generation.SecureBootAuto), "boot UEFI through shim, so that the image boots with Secure Boot on: auto (when shim is installed), on or off")
	fs.StringVar(&f.shim, "shim", "", "shim `FILE` for Secure Boot, with MokManager (mmx64.efi.signed or mmx64.efi) beside it (default: Debian's shimx64.efi.signed)")
	fs.StringVar(&f.ukiStub, "uki-stub", "", "systemd-stub `FILE` for the unified kernel image (default: /usr/lib/systemd/boot/efi/linuxx64.efi.stub)")
	fs.BoolVar(&f.noHybrid, "no-hybrid", false, "leave the system area empty: no MBR or GPT, so the image boots as a CD only")
	fs.BoolVar(&f.noJoliet, "no-joliet", false, "leave out the Joliet tree (the long, mixed-case names Windows and macOS show): Rock Ridge only")
	fs.BoolVar(&f.jolietLong, "joliet-long", false, "allow Joliet names of up to 103 characters instead of 64 (xorriso's -joliet-long; read by Windows and Linux)")
	fs.StringVar(&f.volumeID, "volume-id", generation.DefaultVolumeID, "ISO 9660 volume `ID`")
	fs.StringVar(&f.compression, "compression", string(generation.AutoCompression), "initrd compression: auto (zstd when the kernel's configuration has CONFIG_RD_ZSTD=y, else gzip), gzip, zstd or none")
	fs.StringVar(&f.kernelConfig, "kernel-config", "", "the kernel's configuration `FILE`, for --compression auto (default: config-VERSION beside the kernel, ROOTFS/boot/config-VERSION, the kernel's own)")
	fs.IntVar(&f.level, "level", 0, "compression `LEVEL` (default: the compression's default)")
	fs.BoolVar(&f.rootOwner, "root-owner", false, "store every rootfs entry as owned by uid 0, gid 0")
	// An array, not a slice: a glob may hold a comma ({a,b}).
	fs.StringArrayVar(&f.excludes, "exclude", nil, "leave out rootfs paths matching `GLOB` (repeatable; /var/cache/apt/*, *.pyc)")
	fs.BoolVar(&f.noAutoInit, "no-auto-init", false, "do not add an /init that runs /sbin/init when the rootfs has none")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "`DIR` of the persistent chunk cache (default $XDG_CACHE_HOME/liveiso)")
	fs.StringVar(&f.cacheSize, "cache-size", "", "bound on the chunk cache on disk, a `SIZE` like 4G (default: the larger of 2G and four times the initrd); least recently used chunks no live liveiso uses are removed past it")
	fs.StringVar(&f.cacheMemory, "cache-memory", "", "bound on compressed chunks held in memory, a `SIZE` like 256M (default 256M; the rest is read from the cache directory)")
}

// options turns the flags into generation options.
func (f *imageFlags) options() (generation.Options, error) {
	var o generation.Options
	if f.rootfs == "" {
		return o, usageError{"--rootfs DIR is required"}
	}
	comp := cache.Compression(f.compression)
	switch comp {
	case generation.AutoCompression, cache.Gzip, cache.Zstd, cache.None:
	default:
		return o, usageError{fmt.Sprintf("--compression %q: want auto, gzip, zstd or none", f.compression)}
	}
	cacheDir := f.cacheDir
	if cacheDir == "" {
		d, err := cache.DefaultCacheDir()
		if err != nil {
			return o, fmt.Errorf("cache directory: %w (pass --cache-dir)", err)
		}
		cacheDir = d
	}
	memLimit := int64(cache.DefaultMemoryLimitBytes)
	if f.cacheMemory != "" {
		n, err := parseSize(f.cacheMemory)
		if err != nil {
			return o, usageError{"--cache-memory: " + err.Error()}
		}
		memLimit = n
	}
	var cacheSize int64
	if f.cacheSize != "" {
		n, err := parseSize(f.cacheSize)
		if err != nil {
			return o, usageError{"--cache-size: " + err.Error()}
		}
		cacheSize = n
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		// Without a limit the Go heap grows to twice its live size before
		// collecting; a limit close to the live heap makes the collector
		// run all the time (MEASUREMENTS.md), so the limit leaves the same
		// headroom again as the cache and the working set take.
		debug.SetMemoryLimit(2 * (memLimit + workingMemoryBytes))
	}
	var boot generation.Boot
	for _, m := range strings.Split(f.boot, ",") {
		switch strings.TrimSpace(m) {
		case "bios":
			boot.BIOS = true
		case "uefi":
			boot.UEFI = true
		case "":
		default:
			return o, usageError{fmt.Sprintf("--boot %q: want bios, uefi or bios,uefi", f.boot)}
		}
	}
	sb := generation.SecureBoot(f.secureBoot)
	switch sb {
	case generation.SecureBootAuto, generation.SecureBootOn, generation.SecureBootOff:
	default:
		return o, usageError{fmt.Sprintf("--secure-boot %q: want auto, on or off", f.secureBoot)}
	}
	if f.noJoliet && f.jolietLong {
		return o, usageError{"--joliet-long with --no-joliet"}
	}
	if sb == generation.SecureBootOff && f.shim != "" {
		return o, usageError{"--shim with --secure-boot off"}
	}
	sde, err := generation.ParseSourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return o, err
	}
	return generation.Options{
		Rootfs:          f.rootfs,
		Kernel:          f.kernel,
		KernelConfig:    f.kernelConfig,
		Append:          f.appendLine,
		Extra:           f.extra,
		Isolinux:        f.isolinux,
		IsolinuxCfg:     f.isolinuxCfg,
		VolumeID:        f.volumeID,
		Boot:            boot,
		EFILoader:       f.efiLoader,
		NoHybrid:        f.noHybrid,
		NoJoliet:        f.noJoliet,
		JolietLong:      f.jolietLong,
		SecureBoot:      sb,
		Shim:            f.shim,
		UKIStub:         f.ukiStub,
		SourceDateEpoch: sde,
		Initramfs: cache.Options{
			Compression:      comp,
			Level:            f.level,
			RootOwner:        f.rootOwner,
			Excludes:         f.excludes,
			NoAutoInit:       f.noAutoInit,
			CacheDir:         cacheDir,
			CacheSizeBytes:   cacheSize,
			MemoryLimitBytes: memLimit,
		},
	}, nil
}

// workingMemoryBytes is about what liveiso needs besides the member cache:
// the rootfs scan, chunks in flight on every core (a large file is one
// chunk), the layout.
const workingMemoryBytes = 128 << 20

// parseSize reads a byte count with an optional binary suffix: 4096, 512K,
// 700M, 2G, 1T (K, M, G, T are powers of 1024; "iB" or "B" may follow).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "B"), "i")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (like 700M or 2G)", s)
	}
	return n * mult, nil
}

// humanBytes formats n for people.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
