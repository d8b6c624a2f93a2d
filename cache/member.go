package cache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/cache/internal/store"
	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// member is one chunk encoded as newc entries (no trailer) and compressed:
// a gzip member, a zstd frame or plain newc bytes. Its bytes never change;
// where they are kept may (memory, then the disk store's file once the
// memory cache lets go of them), so readers load the backing atomically.
type member struct {
	key       memberKey
	comp      Compression
	sizeBytes int64 // compressed size
	rawBytes  int64 // uncompressed newc size
	// rawSum is the digest of the newc bytes it was made from, kept for a
	// racy member (see settle.go); nil otherwise.
	rawSum  *rawDigest
	backing atomic.Pointer[backing]
}

// backing holds a member's bytes: in memory, or in the store st's file of
// the member, read through st's bounded cache of open files (and its pin,
// which keeps the file from trims while the member is referenced).
type backing struct {
	data []byte
	st   *store.Store
}

func newMemoryMember(k memberKey, comp Compression, raw int64, data []byte) *member {
	m := &member{key: k, comp: comp, sizeBytes: int64(len(data)), rawBytes: raw}
	m.backing.Store(&backing{data: data})
	return m
}

// ReadAt reads the member's bytes; safe for concurrent use.
func (m *member) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("member: negative offset %d", off)
	}
	if off >= m.sizeBytes {
		return 0, io.EOF
	}
	short := false
	if rest := m.sizeBytes - off; int64(len(p)) > rest {
		p, short = p[:rest], true
	}
	b := m.backing.Load()
	var n int
	var err error
	if b.st == nil {
		n = copy(p, b.data[off:])
	} else {
		n, err = b.st.ReadAt(m.key, p, off)
	}
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// inMemory returns the member's bytes if they are held in memory.
func (m *member) inMemory() []byte {
	return m.backing.Load().data
}

// errChanged is a file that is not what the scan saw any more: it is
// rescanned and its chunk encoded again.
type errChanged struct {
	path string
	err  error
}

func (e *errChanged) Error() string {
	return fmt.Sprintf("%s changed since the scan: %v", e.path, e.err)
}
func (e *errChanged) Unwrap() error { return e.err }

// encodeChunk writes the newc entries of items (no trailer) to w, reading
// regular files through tree.Open. A file whose size, mtime or ctime is not
// what the scan saw, before or after it is read, or which is gone or
// replaced, is an *errChanged; reading goes on no further.
func encodeChunk(ctx context.Context, w io.Writer, tree *rootfs.Tree, items []item, s *scratch) error {
	bw := s.bw
	bw.Reset(w)
	defer bw.Reset(nil)
	nw := newc.NewWriter(bw)
	var op *rootfs.Opener // the root opened once for the chunk's files
	defer func() {
		if op != nil {
			op.Close()
		}
	}()
	for i := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := &items[i]
		if err := nw.WriteHeader(&it.hdr); err != nil {
			return fmt.Errorf("encode %s: %w", it.hdr.Name, err)
		}
		switch {
		case it.hdr.Size == 0:
		case it.hdr.Mode&newc.TypeMask == newc.TypeSymlink:
			if _, err := io.WriteString(nw, it.e.Target); err != nil {
				return err
			}
		case it.content != nil:
			if _, err := nw.Write(it.content); err != nil {
				return err
			}
		default:
			if op == nil {
				var err error
				if op, err = tree.Opener(); err != nil {
					return openFailed(it.e, err)
				}
			}
			if err := copyFile(ctx, nw, op, it.e, s.buf); err != nil {
				return err
			}
		}
	}
	if err := nw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// copyFile copies the data of e to w, checking that the file is the one the
// scan saw (op.Open checks dev and inode; size, mtime and ctime are checked
// after reading): a file that grows, shrinks or is rewritten while it is
// compressed does not slip into the archive with a header (and a cache
// key) that describe another version of it. One check after the read is
// enough: every write, before the open or during the read, sets ctime to
// the present, which no scanned value can equal afterwards.
func copyFile(ctx context.Context, w io.Writer, op *rootfs.Opener, e *rootfs.Entry, buf []byte) error {
	f, err := op.Open(e)
	if err != nil {
		return openFailed(e, err)
	}
	defer f.Close()
	for remain := e.Size; remain > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.Read(buf[:min(int64(len(buf)), remain)])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			remain -= int64(n)
		}
		if err == io.EOF && remain > 0 {
			return &errChanged{path: e.Path, err: fmt.Errorf("%w: %d bytes short of the scanned size", rootfs.ErrChanged, remain)}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read %s: %w", e.Path, err)
		}
	}
	return checkStat(f, e)
}

// openFailed is the error of a file (or of the root, for the first file of
// a chunk) that would not open as scanned.
func openFailed(e *rootfs.Entry, err error) error {
	if errors.Is(err, rootfs.ErrChanged) {
		return &errChanged{path: e.Path, err: err}
	}
	return fmt.Errorf("read %s: %w", e.Path, err)
}

// checkStat compares the open file's stat with the scanned entry.
func checkStat(f *os.File, e *rootfs.Entry) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", e.Path, err)
	}
	if st.Size != e.Size || st.Mtim.Nano() != e.MtimeNs || st.Ctim.Nano() != e.CtimeNs {
		return &errChanged{path: e.Path, err: fmt.Errorf("%w: size %d mtime %d ctime %d, scanned size %d mtime %d ctime %d",
			rootfs.ErrChanged, st.Size, st.Mtim.Nano(), st.Ctim.Nano(), e.Size, e.MtimeNs, e.CtimeNs)}
	}
	return nil
}

// scratch is a worker's reusable buffers.
type scratch struct {
	bw  *bufio.Writer
	buf []byte
}

func newScratch() *scratch {
	return &scratch{bw: bufio.NewWriterSize(nil, 64<<10), buf: make([]byte, 256<<10)}
}

// buildMember encodes and compresses one chunk in memory; a racy chunk's
// member keeps the hash of its newc bytes.
func buildMember(ctx context.Context, c *compressor, s *scratch, tree *rootfs.Tree, ch *chunk) (*member, error) {
	var buf bytes.Buffer
	if c.comp == None {
		buf.Grow(int(ch.rawBytes))
	} else {
		buf.Grow(int(ch.rawBytes / 3))
	}
	w, closeW, err := c.begin(&buf, ch.rawBytes)
	if err != nil {
		return nil, err
	}
	var h *rawHasher
	if ch.racy {
		h = newRawHasher()
		w = io.MultiWriter(w, h)
	}
	if err := encodeChunk(ctx, w, tree, ch.items, s); err != nil {
		closeW()
		return nil, err
	}
	if err := closeW(); err != nil {
		return nil, fmt.Errorf("compress chunk at %s: %w", ch.items[0].hdr.Name, err)
	}
	m := newMemoryMember(ch.key, c.comp, ch.rawBytes, buf.Bytes())
	if h != nil {
		d := h.digest()
		m.rawSum = &d
	}
	return m, nil
}
