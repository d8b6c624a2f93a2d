package agent

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/newc"
)

// ErrNotStatic means the agent's binary needs a C library, which a guest
// may not have.
var ErrNotStatic = errors.New("dynamically linked")

// agentIno is the agent's inode number in the initrd: alone in its link
// group (nlink 1), so the kernel links it to nothing whatever the rootfs's
// entries use.
const agentIno = 0xfffffff0

// MemberOptions say how the agent's member is made.
type MemberOptions struct {
	Exe         string            // the agent's binary: liveiso itself (os.Executable)
	Compression cache.Compression // the rootfs's, so the trailer after it stays readable by host tools
	// CacheDir keeps the compressed member across runs (in CacheDir/agent,
	// one file per binary and compression); "" keeps nothing.
	CacheDir string
}

// Member returns the initrd member that holds opts.Exe as Path, and the
// bytes it takes once unpacked. It is made once per binary and
// compression, and read back from opts.CacheDir after that.
func Member(opts MemberOptions) (cache.Member, int64, error) {
	data, err := os.ReadFile(opts.Exe)
	if err != nil {
		return cache.Member{}, 0, fmt.Errorf("agent: %w", err)
	}
	if err := checkStatic(opts.Exe); err != nil {
		return cache.Member{}, 0, err
	}
	comp := opts.Compression
	if comp == "" {
		comp = cache.Gzip
	}
	h := &newc.Header{Name: strings.TrimPrefix(Path, "/"), Ino: agentIno, Mode: 0o100755, Nlink: 1, Size: int64(len(data))}
	unpacked := int64(h.EncodedLen()) + h.Size
	sum := sha256.Sum256(data)
	var cached string
	if opts.CacheDir != "" {
		cached = filepath.Join(opts.CacheDir, "agent", hex.EncodeToString(sum[:16])+"."+string(comp))
		if b, err := os.ReadFile(cached); err == nil && len(b) > 0 {
			return cache.Member{Compression: comp, SizeBytes: int64(len(b)), Data: bytes.NewReader(b)}, unpacked, nil
		}
	}
	var raw bytes.Buffer
	w := newc.NewWriter(&raw)
	if err := w.WriteHeader(h); err != nil {
		return cache.Member{}, 0, fmt.Errorf("agent: %w", err)
	}
	w.Write(data)
	if err := w.Flush(); err != nil {
		return cache.Member{}, 0, fmt.Errorf("agent: %w", err)
	}
	b, err := compress(raw.Bytes(), comp)
	if err != nil {
		return cache.Member{}, 0, fmt.Errorf("agent: compress: %w", err)
	}
	if cached != "" {
		// Best effort: without it the next run compresses again.
		saveCached(cached, b)
	}
	return cache.Member{Compression: comp, SizeBytes: int64(len(b)), Data: bytes.NewReader(b)}, unpacked, nil
}

func compress(raw []byte, c cache.Compression) ([]byte, error) {
	var b bytes.Buffer
	switch c {
	case cache.None:
		return raw, nil
	case cache.Gzip:
		w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case cache.Zstd:
		w, err := zstd.NewWriter(&b)
		if err != nil {
			return nil, err
		}
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("compression %q", c)
	}
	return b.Bytes(), nil
}

// saveCached writes b as path, whole or not at all, and removes the
// members of other binaries.
func saveCached(path string, b []byte) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	for _, o := range old {
		if o != path && !strings.HasPrefix(filepath.Base(o), ".tmp-") {
			os.Remove(o)
		}
	}
}

// checkStatic refuses a binary with an ELF interpreter: it could not run
// in a rootfs without the same C library.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("agent: %s is %w: the agent runs it in the guest, which may have no C library; build liveiso with CGO_ENABLED=0 (make build does)", path, ErrNotStatic)
		}
	}
	return nil
}
