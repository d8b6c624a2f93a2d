package cache

import (
	"hash/crc32"
	"unsafe"
)

// Chunking.
//
// A chunk is a run of consecutive items that is encoded and compressed as
// one member. Where a chunk starts is decided by each item on its own, from
// its path and its encoded size, never from a running count: an item starts
// a chunk when a hash of its path, reduced modulo the target, falls below
// its encoded size, so there is about one cut per target bytes of input,
// wherever the bytes are.
//
// A large item (encoded size at least the target) is a chunk of its own, and
// it is moved out of line: large items follow all the others, in archive
// order. The archive stays valid (a directory still comes before everything
// it holds, and in a hard-link group the entry with the data, which is the
// last one, stays last), and the small items' boundaries do not depend on
// the large ones at all. Had a large item stayed in line, the item after it
// would have to start a chunk because of it, and deleting the large item
// would change the chunk after it.
//
// Because a cut is decided by the item it precedes, an edit never moves
// another item's boundary: inserting, deleting or resizing an item changes
// the chunk that holds it, which may split in two (the item becomes a cut)
// or merge with the chunk before it (the item stops being one), and nothing
// else.

// chunkItems returns the items in member order (small ones in archive
// order, then the large ones) and the index of the first item of every chunk.
func chunkItems(items []item, target int64) (ordered []item, starts []int) {
	ordered = make([]item, 0, len(items))
	var large []item
	for _, it := range items {
		if it.encodedLen() >= target {
			large = append(large, it)
		} else {
			ordered = append(ordered, it)
		}
	}
	for i := range ordered {
		if i == 0 || startsChunk(ordered[i].hash, ordered[i].encodedLen(), target) {
			starts = append(starts, i)
		}
	}
	for _, it := range large {
		starts = append(starts, len(ordered))
		ordered = append(ordered, it)
	}
	return ordered, starts
}

// startsChunk reports whether an item of encoded size n whose path has
// pathHash h starts a chunk: with probability n/target, decided by the path
// alone.
func startsChunk(h uint64, n, target int64) bool {
	return h%uint64(target) < uint64(n)
}

// pathHash is the hash of a path that chunk cuts and inode numbers are
// derived from. It must not change without a new keyVersion, and it runs
// for every entry on every Pack, so it is CRC-32C (castagnoli, computed in
// hardware: a few ns for a path; FNV-1a took a tenth of an edit's time on a
// 200k-file tree), spread over 64 bits by mix64 with the length mixed in.
func pathHash(path string) uint64 {
	// The bytes are only read: no copy of the string.
	b := unsafe.Slice(unsafe.StringData(path), len(path))
	return mix64(uint64(crc32.Checksum(b, castagnoli))<<32 | uint64(uint32(len(path))))
}
