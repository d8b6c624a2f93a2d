package cache

import (
	"encoding/binary"
	"hash/maphash"
)

// rawDigest identifies the newc bytes a racy member was made from, so that
// re-reading its files later can tell whether they still give those bytes
// (settle.go). It is compared only within the process that made it, never
// stored, so it need not be a cryptographic hash: two maphash sums of
// different seeds, 128 bits, at memory speed. SHA-256 was a twelfth of a
// one-file edit's rebuild (MEASUREMENTS.md, cache).
type rawDigest [16]byte

var rawSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// rawHasher computes a rawDigest; it is an io.Writer.
type rawHasher struct{ a, b maphash.Hash }

func newRawHasher() *rawHasher {
	h := &rawHasher{}
	h.a.SetSeed(rawSeeds[0])
	h.b.SetSeed(rawSeeds[1])
	return h
}

func (h *rawHasher) Write(p []byte) (int, error) {
	h.a.Write(p)
	h.b.Write(p)
	return len(p), nil
}

func (h *rawHasher) digest() rawDigest {
	var d rawDigest
	binary.LittleEndian.PutUint64(d[:8], h.a.Sum64())
	binary.LittleEndian.PutUint64(d[8:], h.b.Sum64())
	return d
}
