package store

import (
	"math/rand/v2"
	"testing"

	"github.com/liveiso/liveiso/internal/procfs"
)

// testData returns n deterministic bytes for seed.
func testData(seed, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// testKey is a key whose first bytes are b.
func testKey(b ...byte) Key {
	var k Key
	copy(k[:], b)
	return k
}

// openTest opens a store in dir, closed when the test ends.
func openTest(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// readAll reads the n bytes of member k from s.
func readAll(t *testing.T, s *Store, k Key, n int64) []byte {
	t.Helper()
	b := make([]byte, n)
	if got, err := s.ReadAt(k, b, 0); err != nil || got != len(b) {
		t.Fatalf("read %s: %d of %d bytes, %v", k, got, n, err)
	}
	return b
}

// fdsUnder counts this process's open fds on files under dir.
func fdsUnder(t *testing.T, dir string) int {
	t.Helper()
	n, err := procfs.OpenFDsUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Test compression codes: the store compares them, never interprets them.
const (
	codeGzip uint32 = 1
	codeZstd uint32 = 2
)
