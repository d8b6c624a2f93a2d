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
// the segment (the run between two such cuts) that holds it, which may split
// in two (the item becomes a cut) or merge with the segment before it (the
// item stops being one), and nothing else.
//
// Segment lengths are spread like an exponential distribution: most are
// short, a few run to three or four times the target, and an edit is more
// likely to fall in a long one (on average in one of twice the target), the
// whole of which it recompresses. So a segment longer than maxChunkBytes is
// cut again, where the next item would take it past that bound, counted from
// the segment's start: those cuts depend on the items since the segment's
// cut, so an edit that changes an item's size may move the ones after it in
// its own segment (never one in another segment), and then recompresses the
// segment from the edit's chunk on: never more than the whole segment it
// recompressed without the bound. The bound is 1.25 times the target: on
// the Debian minbase tree (zstd, 4 MiB target) a bound of 1.5 took the
// chunk an edit falls in from 5.3 MiB on average (at most 11.5) to 4.2 MiB
// (at most 6), and the initrd grew by 0.4%; 1.25 takes the most to 5 MiB,
// for 0.08% more of the image, and the one-file edit of the 200k-file
// benchmark tree from 6.0 to 4.7 MiB compressed (MEASUREMENTS.md, cache).

// chunkItems puts items in member order (small ones in archive order, then
// the large ones), in place, and returns them with the index of the first
// item of every chunk. In place, because a copy of every item on every Pack
// was a tenth of an edit's time on a 200k-file tree, most of it in the
// allocation and the garbage collection that followed.
func chunkItems(items []item, target int64) (ordered []item, starts []int) {
	return chunkItemsMax(items, target, maxChunkBytes(target))
}

// maxChunkBytes is the bound on a chunk of small items, for a target.
func maxChunkBytes(target int64) int64 { return target + target/4 }

// chunkItemsMax is chunkItems with the bound on chunks of small items given
// (0: none, which leaves the segments whole).
func chunkItemsMax(items []item, target, maxBytes int64) (ordered []item, starts []int) {
	var large []item
	n := 0
	var run int64 // bytes of the chunk so far
	for i := range items {
		l := items[i].encodedLen()
		if l >= target {
			large = append(large, items[i])
			continue
		}
		if n != i {
			items[n] = items[i]
		}
		if n == 0 || startsChunk(items[n].hash, l, target) || (maxBytes > 0 && run+l > maxBytes) {
			starts = append(starts, n)
			run = 0
		}
		run += l
		n++
	}
	for _, it := range large {
		starts = append(starts, n)
		items[n] = it
		n++
	}
	return items, starts
}

// startsChunk reports whether an item of encoded size n whose path has
// pathHash h starts a chunk: with probability n/target, decided by the path
// alone.
func startsChunk(h uint64, n, target int64) bool {
	return h%uint64(target) < uint64(n)
}

// castagnoli is CRC-32C, which amd64 and arm64 compute in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
