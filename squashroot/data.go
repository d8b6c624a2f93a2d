package squashroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

// fileData is a regular file's data as stored in the image: its blocks'
// stored sizes (as the inode lists them) and where the stored bytes are in
// the spool. Immutable once made.
type fileData struct {
	blocks      []uint32 // stored size per block, with squashfs.BlockUncompressed; 0: sparse
	segs        []segment
	storedBytes int64
	sparseBytes uint64
}

// segment is a run of stored blocks, back to back in the spool.
type segment struct{ off, n int64 }

// fileKey identifies a file's data: its path and the stat data a change of
// content changes (as cache's chunk keys trust them; a racy file is not
// kept, see RacyWindow in cache). The compression options are the
// Builder's, the same for every key.
type fileKey struct {
	path           string
	size           int64
	mtimeNs        int64
	ctimeNs        int64
	dev, ino, mode uint64
}

func keyOf(e *rootfs.Entry) fileKey {
	return fileKey{path: e.Path, size: e.Size, mtimeNs: e.MtimeNs, ctimeNs: e.CtimeNs, dev: e.Dev, ino: e.Ino, mode: uint64(e.Mode)}
}

// segmentBytes bounds the stored bytes a worker holds before it writes
// them to the spool.
const segmentBytes = 1 << 20

// worker is one goroutine's compressor and buffers.
type worker struct {
	c     *squashfs.Compressor
	block []byte
	out   []byte
}

// compressFile reads e (checking that it is the file the scan saw, before
// and after) and stores its compressed blocks in sp.
func (w *worker) compressFile(ctx context.Context, op *rootfs.Opener, sp *spool, e *rootfs.Entry, blockSize int) (*fileData, error) {
	f, err := op.Open(e)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer f.Close()
	d := &fileData{blocks: make([]uint32, 0, (e.Size+int64(blockSize)-1)/int64(blockSize))}
	w.out = w.out[:0]
	flush := func() error {
		if len(w.out) == 0 {
			return nil
		}
		off, err := sp.append(w.out)
		if err != nil {
			return err
		}
		d.segs = append(d.segs, segment{off, int64(len(w.out))})
		d.storedBytes += int64(len(w.out))
		w.out = w.out[:0]
		return nil
	}
	for remain := e.Size; remain > 0; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := int(min(int64(blockSize), remain))
		if _, err := io.ReadFull(f, w.block[:n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("read %s: %w: shorter than the scanned %d bytes", e.Path, rootfs.ErrChanged, e.Size)
			}
			return nil, fmt.Errorf("read %s: %w", e.Path, err)
		}
		remain -= int64(n)
		blk := w.block[:n]
		if allZero(blk) {
			d.blocks = append(d.blocks, 0) // sparse: the reader makes the zeros
			d.sparseBytes += uint64(n)
			continue
		}
		at := len(w.out)
		var compressed bool
		w.out, compressed = w.c.Compress(w.out, blk)
		size := uint32(len(w.out) - at)
		if !compressed {
			size |= squashfs.BlockUncompressed
		}
		d.blocks = append(d.blocks, size)
		if len(w.out) >= segmentBytes {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := checkStat(f, e); err != nil {
		return nil, err
	}
	return d, nil
}

// checkStat compares the open file's stat with the scanned entry: every
// write since the scan, even one during the read, has changed the ctime.
func checkStat(f *os.File, e *rootfs.Entry) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", e.Path, err)
	}
	if st.Size != e.Size || st.Mtim.Nano() != e.MtimeNs || st.Ctim.Nano() != e.CtimeNs {
		return fmt.Errorf("read %s: %w: size %d mtime %d ctime %d, scanned size %d mtime %d ctime %d",
			e.Path, rootfs.ErrChanged, st.Size, st.Mtim.Nano(), st.Ctim.Nano(), e.Size, e.MtimeNs, e.CtimeNs)
	}
	return nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
