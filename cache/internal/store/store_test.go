package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStoreRefusesWrongFiles: a store file is used only if it is intact,
// holds the key it is stored under, in the compression asked for, and, to
// back a member in memory (spill), exactly that member's bytes.
func TestStoreRefusesWrongFiles(t *testing.T) {
	data := bytes.Repeat([]byte("member bytes "), 5000)
	setup := func(t *testing.T) (*Store, Key) {
		s := openTest(t, t.TempDir(), Options{})
		if err := s.Save(Member{Key: testKey(1), Compression: codeGzip, RawBytes: 12345, Data: data}); err != nil {
			t.Fatal(err)
		}
		return s, testKey(1)
	}
	loads := func(t *testing.T, s *Store, k Key, comp uint32) bool {
		t.Helper()
		info, ok, err := s.Load(k, comp)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return false
		}
		if got := readAll(t, s, k, info.SizeBytes); !bytes.Equal(got, data) || info.RawBytes != 12345 {
			t.Fatalf("loaded member reads %d bytes, raw %d", len(got), info.RawBytes)
		}
		return true
	}

	t.Run("intact", func(t *testing.T) {
		s, k := setup(t)
		if !loads(t, s, k, codeGzip) {
			t.Error("an intact store file was not loaded")
		}
		if !s.Spill(k, data) {
			t.Error("spill refused the file holding the member's bytes")
		}
	})
	t.Run("other compression", func(t *testing.T) {
		s, k := setup(t)
		if loads(t, s, k, codeZstd) {
			t.Error("a gzip member was loaded for zstd")
		}
	})
	t.Run("under another key", func(t *testing.T) {
		s, k := setup(t)
		if err := os.MkdirAll(filepath.Dir(s.Path(testKey(2))), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(s.Path(k), s.Path(testKey(2))); err != nil {
			t.Fatal(err)
		}
		if loads(t, s, testKey(2), codeGzip) {
			t.Error("a file holding another key was loaded")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s, k := setup(t)
		if err := os.Truncate(s.Path(k), headerSize+int64(len(data))-1); err != nil {
			t.Fatal(err)
		}
		if s.Spill(k, data) {
			t.Error("spill took a truncated file")
		}
		if loads(t, s, k, codeGzip) {
			t.Error("a truncated file was loaded")
		}
	})
	t.Run("other bytes", func(t *testing.T) {
		s, k := setup(t)
		other := bytes.Clone(data)
		other[len(other)/2] ^= 1
		if s.Spill(k, other) {
			t.Error("spill took a file with other bytes than the member's")
		}
		if s.Spill(k, data[:len(data)-1]) {
			t.Error("spill took a file longer than the member")
		}
	})
}
