package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

	// Progress, if set, is called as chunks are compressed with the
	// uncompressed bytes done and to do in this Pack (for a progress line
	// during a long cold build). Calls are serialised.
	Progress func(doneBytes, totalBytes int64)
}

// Default levels, measured on a 453 MB tree (/usr/bin, /usr/include and
// /usr/lib/python3.11 of a Debian 12 machine, 11357 entries, one newc stream
// of 452788736 bytes) on 2 cores. GNU gzip -9 of the whole stream: 60.5 s,
// 140557613 bytes (the classic pipeline, find | cpio | gzip -9: about 63 s).
// klauspost/compress gzip, chunks compressed in parallel:
//
//	chunk     level 6           level 7           level 9           zstd default
//	256 KiB   1.9 s  1.065x     3.1 s  1.046x     17.0 s 1.035x     1.5 s 1.060x
//	1 MiB     2.0 s  1.059x     3.2 s  1.041x     17.3 s 1.029x     1.3 s 1.016x
//	4 MiB     2.1 s  1.058x     3.2 s  1.039x     17.5 s 1.028x     1.1 s 0.962x
//
// (sizes relative to gzip -9 of the whole stream). Go's deflate encoders,
// klauspost's and the standard library's alike, look for matches of 4 bytes
// or more where zlib finds 3-byte ones, so no level of them reaches zlib -9's
// size: on the first 128 MiB of the stream, as one stream, klauspost -9 is
// 1.030x and compress/flate -9 1.028x of gzip -9 (GNU gzip -6: 1.008x).
// Level 9 is the smallest gzip we can make and still well inside the time
// budget, so it is the default. A full Pack of that tree, same run, machine
// shared with other jobs: classic pipeline 125 s (56 s CPU), 140557603
// bytes; Pack gzip -9 43.8 s (36 s CPU), 144039377 bytes (1.025x); Pack
// zstd 5.3 s, 130567960 bytes (0.93x). Only zstd meets a 1.02x size bound.
const (
	defaultGzipLevel = 9
	defaultZstdLevel = 3
)

// Default chunk targets. For gzip the chunk size barely matters beyond the
// 32 KiB window (1 MiB loses 0.13% against 4 MiB, 256 KiB 0.7%), so the
// target is 512 KiB. An edit recompresses the chunk it falls in, and that
// is about twice the target on average, since cuts are random and a byte is
// more likely to sit in a long chunk than in a short one: with 1 MiB the
// one-file edit of the Debian minbase benchmark landed in a 2.1 MB chunk of
// .gz man pages and took 72-99 ms to rebuild; with 512 KiB it is a 338 KB
// chunk, 9 ms, and the image grows by 53 KB of 105 MB (0.05%). zstd uses
// its 8 MiB window: 4 MiB chunks are 5% smaller than 1 MiB ones, and a
// one-file edit repacked in 53 ms.
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
