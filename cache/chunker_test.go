package cache

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// fakeItems makes regular-file items with the given paths (sorted) and sizes.
func fakeItems(paths []string, sizes []int64) []item {
	items := make([]item, len(paths))
	for i, p := range paths {
		e := &rootfs.Entry{Path: p, Mode: newc.TypeReg | 0o644, Size: sizes[i], Nlink: 1}
		items[i] = item{e: e, hdr: newc.Header{Name: p, Mode: e.Mode, Size: sizes[i], Nlink: 1}, hash: pathHash(p)}
	}
	return items
}

// chunkNames describes each chunk by its paths and sizes.
func chunkNames(items []item, target int64) []string {
	ordered, starts := chunkItems(items, target)
	var out []string
	for i, s := range starts {
		end := len(ordered)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		var b strings.Builder
		for _, it := range ordered[s:end] {
			fmt.Fprintf(&b, "%s:%d ", it.hdr.Name, it.hdr.Size)
		}
		out = append(out, b.String())
	}
	return out
}

func TestChunkerSizes(t *testing.T) {
	const n, target = 20000, 64 << 10
	paths := make([]string, n)
	sizes := make([]int64, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("dir%03d/file%05d", i/100, i)
		sizes[i] = int64(i*7919) % 8192
	}
	paths = append(paths, "zz/huge")
	sizes = append(sizes, 10*target)
	items := fakeItems(paths, sizes)
	ordered, starts := chunkItems(items, target)
	if len(ordered) != len(items) {
		t.Fatalf("%d items ordered, want %d", len(ordered), len(items))
	}
	var total int64
	for i := range items {
		total += items[i].encodedLen()
	}
	// The large item is the last chunk, alone.
	if last := starts[len(starts)-1]; last != len(ordered)-1 || ordered[last].hdr.Name != "zz/huge" {
		t.Errorf("large item not a chunk of its own at the end")
	}
	small := len(starts) - 1
	avg := float64(total-ordered[len(ordered)-1].encodedLen()) / float64(small)
	if avg < target/2 || avg > target*2 {
		t.Errorf("%d chunks of %.0f bytes on average, target %d", small, avg, target)
	}
	t.Logf("%d chunks, %.0f bytes on average (target %d)", small, avg, target)
}

func TestChunkerEmpty(t *testing.T) {
	if o, s := chunkItems(nil, 1024); len(o) != 0 || len(s) != 0 {
		t.Errorf("chunkItems(nil) = %v, %v", o, s)
	}
}

// FuzzChunkerStability: one insert, delete or resize in a random entry list
// changes only chunks of the segment that holds the entry (and, when the
// entry starts or stops being a cut, of the segment before it, which it
// merges with or splits from); never a chunk of a segment after it. And no
// chunk of small items exceeds maxChunkBytes.
func FuzzChunkerStability(f *testing.F) {
	f.Add([]byte("seed-one"), uint16(300), uint16(17), uint8(0), uint32(100))
	f.Add([]byte("another"), uint16(50), uint16(0), uint8(1), uint32(9000))
	f.Add([]byte("x"), uint16(1000), uint16(999), uint8(2), uint32(70000))
	f.Fuzz(func(t *testing.T, seed []byte, n, at uint16, op uint8, size uint32) {
		const target = 16 << 10
		n = n%2000 + 2
		rng := uint64(len(seed)) + 1
		for _, b := range seed {
			rng = rng*1099511628211 ^ uint64(b)
		}
		next := func() uint64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
		set := map[string]int64{".": 0}
		for len(set) < int(n) {
			p := fmt.Sprintf("d%d/f%x", next()%16, next()%100000)
			sz := int64(next() % 4096)
			if next()%50 == 0 {
				sz = int64(next() % (4 * target))
			}
			set[p] = sz
		}
		paths := make([]string, 0, len(set))
		for p := range set {
			paths = append(paths, p)
		}
		slices.SortFunc(paths, rootfs.ComparePaths)
		sizes := make([]int64, len(paths))
		for i, p := range paths {
			sizes[i] = set[p]
		}
		before := fakeItems(paths, sizes)

		// One edit, never of ".".
		i := 1 + int(at)%(len(paths)-1)
		var x string
		newPaths, newSizes := slices.Clone(paths), slices.Clone(sizes)
		switch op % 3 {
		case 0: // insert
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], next())
			x = fmt.Sprintf("d%d/g%x", next()%16, buf)
			j, found := slices.BinarySearchFunc(newPaths, x, rootfs.ComparePaths)
			if found {
				return
			}
			newPaths = slices.Insert(newPaths, j, x)
			newSizes = slices.Insert(newSizes, j, int64(size)%(3*target))
		case 1: // delete
			x = newPaths[i]
			newPaths = slices.Delete(newPaths, i, i+1)
			newSizes = slices.Delete(newSizes, i, i+1)
		case 2: // resize
			x = newPaths[i]
			newSizes[i] = int64(size) % (3 * target)
		}
		after := fakeItems(newPaths, newSizes)

		old := chunkNames(before, target)
		now := chunkNames(after, target)
		oldOrdered, oldStarts := chunkItems(before, target)
		// The segments of before (its chunks before maxChunkBytes cuts
		// them again) by their first paths: an edit may change the chunks
		// of the segment that holds x and of the one before it, no other.
		segItems, segStarts := chunkItemsMax(fakeItems(paths, sizes), target, 0)
		var segFirst []string
		for _, s := range segStarts {
			if segItems[s].encodedLen() >= target {
				break // the large ones, at the end
			}
			segFirst = append(segFirst, segItems[s].hdr.Name)
		}
		segmentOf := func(p string) int {
			k := -1
			for j, first := range segFirst {
				if rootfs.ComparePaths(first, p) <= 0 {
					k = j
				}
			}
			return k
		}
		cover := segmentOf(x)
		allowed := 0 // chunks of before in those two segments
		for _, s := range oldStarts {
			if oldOrdered[s].encodedLen() < target {
				if seg := segmentOf(oldOrdered[s].hdr.Name); seg == cover || seg == cover-1 {
					allowed++
				}
			}
		}
		var missing []int
		for k, c := range old {
			if !slices.Contains(now, c) {
				missing = append(missing, k)
			}
		}
		for _, k := range missing {
			s := oldStarts[k]
			large := oldOrdered[s].encodedLen() >= target
			seg := segmentOf(oldOrdered[s].hdr.Name)
			switch {
			case large && oldOrdered[s].hdr.Name == x:
			case !large && (seg == cover || seg == cover-1):
			default:
				t.Fatalf("edit of %s (op %d) changed chunk %d %q in segment %d, the edit's segment is %d", x, op%3, k, old[k], seg, cover)
			}
		}
		if len(missing) > allowed+1 {
			t.Fatalf("edit of %s changed %d chunks, its segments hold %d", x, len(missing), allowed)
		}
		// No chunk exceeds the bound, unless it is a large item's.
		for k, s := range oldStarts {
			end := len(oldOrdered)
			if k+1 < len(oldStarts) {
				end = oldStarts[k+1]
			}
			var n int64
			for _, it := range oldOrdered[s:end] {
				n += it.encodedLen()
			}
			if end-s > 1 && n > maxChunkBytes(target) {
				t.Fatalf("chunk %d holds %d bytes in %d items, bound %d", k, n, end-s, maxChunkBytes(target))
			}
		}
		added := 0
		for _, c := range now {
			if !slices.Contains(old, c) {
				added++
			}
		}
		if added > len(missing)+2 {
			t.Fatalf("edit of %s added %d chunks for the %d it changed", x, added, len(missing))
		}
	})
}
