package cache

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestStoreRefusesWrongFiles: a store file is used only if it is intact,
// holds the key it is stored under, in the compression asked for, and, to
// back a member in memory (spill), exactly that member's bytes.
func TestStoreRefusesWrongFiles(t *testing.T) {
	data := bytes.Repeat([]byte("member bytes "), 5000)
	key := func(b byte) memberKey { var k memberKey; k[0] = b; return k }
	setup := func(t *testing.T) (*store, *member) {
		s, err := openStore(t.TempDir(), 0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		m := newMemoryMember(key(1), Gzip, 12345, data)
		if err := s.save(m); err != nil {
			t.Fatal(err)
		}
		return s, m
	}
	loads := func(t *testing.T, s *store, k memberKey, comp Compression) bool {
		t.Helper()
		m, err := s.load(k, comp)
		if err != nil {
			t.Fatal(err)
		}
		if m == nil {
			return false
		}
		got, err := io.ReadAll(io.NewSectionReader(m, 0, m.sizeBytes))
		if err != nil || !bytes.Equal(got, data) || m.rawBytes != 12345 {
			t.Fatalf("loaded member reads %d bytes (%v), raw %d", len(got), err, m.rawBytes)
		}
		return true
	}

	t.Run("intact", func(t *testing.T) {
		s, m := setup(t)
		if !loads(t, s, m.key, Gzip) {
			t.Error("an intact store file was not loaded")
		}
		if !s.spill(newMemoryMember(m.key, Gzip, 12345, data)) {
			t.Error("spill refused the file holding the member's bytes")
		}
	})
	t.Run("other compression", func(t *testing.T) {
		s, m := setup(t)
		if loads(t, s, m.key, Zstd) {
			t.Error("a gzip member was loaded for zstd")
		}
	})
	t.Run("under another key", func(t *testing.T) {
		s, m := setup(t)
		if err := os.MkdirAll(filepath.Dir(s.path(key(2))), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(s.path(m.key), s.path(key(2))); err != nil {
			t.Fatal(err)
		}
		if loads(t, s, key(2), Gzip) {
			t.Error("a file holding another key was loaded")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s, m := setup(t)
		if err := os.Truncate(s.path(m.key), storeHeaderSize+int64(len(data))-1); err != nil {
			t.Fatal(err)
		}
		if s.spill(newMemoryMember(m.key, Gzip, 12345, data)) {
			t.Error("spill took a truncated file")
		}
		if loads(t, s, m.key, Gzip) {
			t.Error("a truncated file was loaded")
		}
	})
	t.Run("other bytes", func(t *testing.T) {
		s, m := setup(t)
		other := bytes.Clone(data)
		other[len(other)/2] ^= 1
		if s.spill(newMemoryMember(m.key, Gzip, 12345, other)) {
			t.Error("spill took a file with other bytes than the member's")
		}
		if s.spill(newMemoryMember(m.key, Gzip, 12345, data[:len(data)-1])) {
			t.Error("spill took a file longer than the member")
		}
	})
}
