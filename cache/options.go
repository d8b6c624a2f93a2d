package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Compression is how a member's bytes are stored in the initrd.
type Compression string

// The compressions the kernel's initramfs unpacker and the host tools
// (gzip -dc, zstd -dc) both read.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// Options tune a Packer. The zero value is a working configuration without a
// disk store.
type Options struct {
	Compression      Compression // "" means Gzip
	Level            int         // 0 means the default level of Compression
	RootOwner        bool        // every entry uid 0 gid 0
	Excludes         []string    // rsync/mksquashfs-like globs, rootfs-relative ("/var/cache/apt/*", "*.pyc")
	NoAutoInit       bool        // do not synthesise /init when missing
	CacheDir         string      // on-disk member store; "" disables the disk store
	CacheSizeBytes   int64       // size the store is trimmed to; 0: the larger of DefaultCacheSizeBytes and 4x the initrd
	MemoryLimitBytes int64       // bound on member bytes held in memory; 0 means a default
	ChunkTargetBytes int64       // 0 means the default of Compression (see defaultChunkTarget)
	Workers          int         // 0 means runtime.NumCPU()

	// RacyWindow is how close to a Pack's start a file's ctime makes its
	// chunk racy (see DefaultRacyWindow); 0 means DefaultRacyWindow. Tests
	// shorten it so that they need not wait for files to age: a file
	// written before the Pack starts is never racy with time.Nanosecond.
	RacyWindow time.Duration

	// Progress, if set, is called as chunks are compressed with the
	// uncompressed bytes done and to do in this Pack (for a progress line
	// during a long cold build). Calls are serialised.
	Progress func(doneBytes, totalBytes int64)
}

// Default levels: gzip 9, the smallest gzip Go's encoders make and still
// well inside the time budget (no level reaches zlib -9's size: they look
// for matches of 4 bytes or more, zlib of 3); zstd 3, faster and smaller
// than gzip -9. Figures: MEASUREMENTS.md, cache.
const (
	defaultGzipLevel = 9
	defaultZstdLevel = 3
)

// Default chunk targets. An edit recompresses the chunk it falls in, about
// twice the target on average (a byte is more likely to sit in a long chunk
// than a short one), so gzip, whose size barely gains beyond its 32 KiB
// window, takes a small target; zstd, whose 8 MiB window gains from long
// chunks, a large one.
// Figures: MEASUREMENTS.md, cache.
const (
	defaultChunkTarget     = 512 << 10
	defaultZstdChunkTarget = 4 << 20
)

// DefaultMemoryLimitBytes bounds the member bytes the in-memory cache keeps; the
// rest is served from the disk store's files.
const DefaultMemoryLimitBytes = 256 << 20

// resolved returns opts with defaults filled in, or an error for values out
// of range.
func (o Options) resolved() (Options, error) {
	switch o.Compression {
	case "":
		o.Compression = Gzip
	case Gzip, Zstd, None:
	default:
		return o, fmt.Errorf("compression %q: %w", o.Compression, ErrBadOption)
	}
	switch o.Compression {
	case Gzip:
		if o.Level == 0 {
			o.Level = defaultGzipLevel
		}
		if o.Level < 1 || o.Level > 9 {
			return o, fmt.Errorf("gzip level %d (1..9): %w", o.Level, ErrBadOption)
		}
	case Zstd:
		if o.Level == 0 {
			o.Level = defaultZstdLevel
		}
		if o.Level < 1 || o.Level > 22 {
			return o, fmt.Errorf("zstd level %d (1..22): %w", o.Level, ErrBadOption)
		}
	case None:
		o.Level = 0
	}
	if o.ChunkTargetBytes == 0 {
		o.ChunkTargetBytes = defaultChunkTarget
		if o.Compression == Zstd {
			o.ChunkTargetBytes = defaultZstdChunkTarget
		}
	}
	if o.CacheSizeBytes < 0 {
		return o, fmt.Errorf("cache size %d: %w", o.CacheSizeBytes, ErrBadOption)
	}
	if o.ChunkTargetBytes < 0 {
		return o, fmt.Errorf("chunk target %d: %w", o.ChunkTargetBytes, ErrBadOption)
	}
	if o.MemoryLimitBytes == 0 {
		o.MemoryLimitBytes = DefaultMemoryLimitBytes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	switch {
	case o.RacyWindow == 0:
		o.RacyWindow = DefaultRacyWindow
	case o.RacyWindow < 0:
		return o, fmt.Errorf("racy window %v: %w", o.RacyWindow, ErrBadOption)
	}
	return o, nil
}

// DefaultCacheDir returns $XDG_CACHE_HOME/liveiso, else ~/.cache/liveiso.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "liveiso"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "liveiso"), nil
}

// Errors a caller may need to tell apart. Errors about an entry wrap these
// (or newc's ErrTooLarge, ErrNameTooLong, rootfs's ErrChanged, ...) with the
// path.
var (
	// ErrBadOption: an Options field out of range.
	ErrBadOption = errors.New("invalid option")
	// ErrKeepsChanging: a file kept changing while it was read, through all
	// the rescans Pack allows.
	ErrKeepsChanging = errors.New("file keeps changing while it is read")
)
