package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// imageBlockBytes is how much of the image one read and one write move.
const imageBlockBytes = 4 << 20

// directAlign is the alignment of direct I/O's buffers, offsets and lengths
// that we rely on: the page size, which covers the logical block size of
// the devices a file system sits on (512 or 4096 bytes).
const directAlign = 4096

// writeImage writes the image (size bytes of src) to path atomically: into a
// temporary file beside path, renamed over it when complete, so a reader of
// path sees the old file or the new one, never a part.
//
// The bytes go out with direct I/O (O_DIRECT) where the file system takes
// it: fresh page-cache pages cost host faults on the VMs we build on, and
// the image, read once, would push out the rootfs and chunk store that the
// next build reads (figures in MEASUREMENTS.md). The tail that is not whole
// directAlign blocks, and everything on a file system that refuses O_DIRECT,
// goes through the page cache. One goroutine reads the next block while the
// current one is written.
//
// It does not fsync, like cp and dd without conv=fsync: the image can be
// made again, and on ext4 an fsync also waits for the cache directory's
// fresh chunks to reach the disk (MEASUREMENTS.md).
func writeImage(ctx context.Context, path string, src io.ReaderAt, size int64) error {
	// The rename would replace a device node (-o /dev/sdX) or a FIFO with a
	// regular file, after filling /dev's tmpfs with the image.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("write %s: not a regular file (%s); write the image to a file, then dd it to a device", path, fi.Mode().Type())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	defer tmp.Close()
	direct, err := os.OpenFile(tmp.Name(), os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		direct = nil // the file system has no direct I/O: tmp does it all
	} else {
		defer direct.Close()
	}
	if _, err := copyImage(ctx, tmp, direct, src, size); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if direct != nil {
		if err := direct.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// imageBlock is one block of the image on its way from src to the file.
type imageBlock struct {
	buf []byte // imageBlockBytes, directAlign-aligned
	n   int    // bytes of buf that hold the image
	off int64
	err error
}

// copyImage copies size bytes of src to the file, each block through direct
// (when not nil) if its length allows, else through buffered, and returns
// how many bytes went through direct. Reading runs one block ahead of
// writing.
func copyImage(ctx context.Context, buffered, direct *os.File, src io.ReaderAt, size int64) (directBytes int64, err error) {
	// Anonymous mappings are page aligned, as O_DIRECT wants its buffers.
	const nbuf = 2
	mem, err := unix.Mmap(-1, 0, nbuf*imageBlockBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("buffer: %w", err)
	}
	defer unix.Munmap(mem)
	free := make(chan []byte, nbuf)
	for i := range nbuf {
		free <- mem[i*imageBlockBytes : (i+1)*imageBlockBytes]
	}
	filled := make(chan imageBlock, nbuf)
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		// The reader must be done with the buffers before they are unmapped.
		cancel()
		for range filled {
		}
	}()
	go func() {
		defer close(filled)
		for off := int64(0); off < size; {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			b := imageBlock{buf: buf, n: int(min(imageBlockBytes, size-off)), off: off}
			if n, err := src.ReadAt(buf[:b.n], off); n < b.n {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				b.err = fmt.Errorf("reading the image at %d: %w", off, err)
			}
			filled <- b
			if b.err != nil {
				return
			}
			off += int64(b.n)
		}
	}()
	for b := range filled {
		if b.err != nil {
			return directBytes, b.err
		}
		if err := ctx.Err(); err != nil {
			return directBytes, err
		}
		whole := 0 // bytes of this block written through direct
		if direct != nil {
			whole = b.n &^ (directAlign - 1)
		}
		if whole > 0 {
			_, err := direct.WriteAt(b.buf[:whole], b.off)
			if errors.Is(err, unix.EINVAL) {
				// Alignment the file system does not take: buffered from
				// here on. Nothing of this block was written.
				direct, whole, err = nil, 0, nil
			}
			if err != nil {
				return directBytes, err
			}
			directBytes += int64(whole)
		}
		if whole < b.n {
			if _, err := buffered.WriteAt(b.buf[whole:b.n], b.off+int64(whole)); err != nil {
				return directBytes, err
			}
		}
		free <- b.buf
	}
	return directBytes, ctx.Err()
}
