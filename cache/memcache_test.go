package cache

import (
	"bytes"
	"testing"
	"time"
)

// The memory cache holds what the latest Initrd uses: a Pack lets go of the
// members of the one before that it does not use (each version of a
// rewritten file, in a daemon that runs for weeks), even with room to
// spare under the limit. An older Initrd still pinned, as a generation a
// reader is on pins it, reads them from their store files, unchanged; once
// unpinned, their files are not held open (a trim could not free them).
func TestMemoryHoldsLatestInitrd(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 100)
	old := time.Unix(1600000000, 0)
	writeFile(t, root+"/big.bin", pseudoRandom(1, 300<<10), 0o644, old)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir(), MemoryLimitBytes: 64 << 20})
	r1 := pack(t, p, root, nil)
	pin := r1.Retain()
	defer pin.Close()
	want := initrdBytes(t, r1)

	writeFile(t, root+"/big.bin", pseudoRandom(2, 300<<10), 0o644, old.Add(time.Second))
	r2 := pack(t, p, root, []string{"big.bin"})

	inR2 := map[memberKey]bool{}
	for _, m := range r2.stored {
		inR2[m.key] = true
	}
	var gone []*member
	for _, m := range r1.stored {
		if !inR2[m.key] {
			gone = append(gone, m)
		}
	}
	if len(gone) != 1 {
		t.Fatalf("%d members of the first initrd are not in the second, want 1 (the big file's)", len(gone))
	}
	if p.mem.get(gone[0].key) != nil {
		t.Error("the memory cache still holds the old version of the big file's member")
	}
	if gone[0].inMemory() != nil {
		t.Error("the old member, pinned by the first initrd, still reads from memory, not its store file")
	}
	var held int64
	for k, el := range p.mem.index {
		if !inR2[k] {
			t.Errorf("the memory cache holds member %s, which the latest initrd does not use", k)
		}
		held += el.Value.(*member).sizeBytes
	}
	if held != p.mem.bytes || held == 0 {
		t.Errorf("the memory cache counts %d bytes, its members hold %d", p.mem.bytes, held)
	}
	if got := initrdBytes(t, r1); !bytes.Equal(got, want) {
		t.Error("the first initrd reads otherwise after the second Pack")
	}
	if !p.store.IsOpen(gone[0].key) {
		t.Error("the old member's store file was not open while pinned and read")
	}
	pin.Close()
	if p.store.IsOpen(gone[0].key) {
		t.Error("the old member's store file stays open after its last pin is closed")
	}
	if got := initrdBytes(t, r1); !bytes.Equal(got, want) {
		t.Error("the first initrd, unpinned, reads otherwise")
	}
}
