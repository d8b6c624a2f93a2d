package isolayout

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liveiso/liveiso/isolayout/internal/isoread"
)

// changedSectors lists the sectors where a and b differ (the shorter one
// read as zeros beyond its end).
func changedSectors(a, b []byte) []int {
	var out []int
	n := max(len(a), len(b))
	for s := 0; s*SectorSize < n; s++ {
		sa, sb := sectorOf(a, s), sectorOf(b, s)
		if !bytes.Equal(sa, sb) {
			out = append(out, s)
		}
	}
	return out
}

func sectorOf(b []byte, s int) []byte {
	zero := make([]byte, SectorSize)
	if s*SectorSize >= len(b) {
		return zero
	}
	return b[s*SectorSize : min(len(b), (s+1)*SectorSize)]
}

func TestReproducible(t *testing.T) {
	in1, _ := realTree(t, pattern(70_000, 9))
	in2, _ := realTree(t, pattern(70_000, 9))
	l1, err := Plan(in1)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := Plan(in2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, l1), readAll(t, l2)) {
		t.Fatal("identical inputs gave different images")
	}
}

// TestVolatileEditMovesOnlyTheInitrd is the layout-stability promise: a new
// initrd of another size and time changes the PVD (volume space size), the
// directory sector holding the initrd's record, and the initrd's own
// sectors; with Joliet also the supplementary volume descriptor (its
// volume space size) and the Joliet directory sector holding the initrd's
// record. Nothing else.
func TestVolatileEditMovesOnlyTheInitrd(t *testing.T) {
	for _, joliet := range []bool{true, false} {
		for _, newSize := range []int{70_000 + 5000, 70_000 - 30_000, 70_000 + 3*SectorSize} {
			t.Run(fmt.Sprintf("joliet=%v/%d", joliet, newSize), func(t *testing.T) {
				in1, _ := realTree(t, pattern(70_000, 9))
				in2, _ := realTree(t, pattern(newSize, 10))
				in2.Root.Children[0].Children[4].Mtime = testDate.Add(time.Minute) // the initrd was rebuilt
				if !joliet {
					in1.Joliet, in2.Joliet = nil, nil
				}
				l1, err := Plan(in1)
				if err != nil {
					t.Fatal(err)
				}
				l2, err := Plan(in2)
				if err != nil {
					t.Fatal(err)
				}
				img1 := readBack(t, l1)
				isolinuxDir := childNamed(t, img1.Root, "isolinux")
				initrd := childNamed(t, isolinuxDir, "initrd.img")
				allowed := map[int]string{pvdLBA: "PVD", int(isolinuxDir.Extents[0].LBA): "isolinux directory"}
				if joliet {
					if img1.Joliet == nil {
						t.Fatal("no Joliet hierarchy")
					}
					jdir := childNamed(t, img1.Joliet, "isolinux")
					if jinitrd := childNamed(t, jdir, "initrd.img"); jinitrd.Extents[0] != initrd.Extents[0] {
						t.Errorf("Joliet initrd %v, primary %v: not one extent", jinitrd.Extents, initrd.Extents)
					}
					allowed[bootRecordLBA+1] = "Joliet SVD"
					allowed[int(jdir.Extents[0].LBA)] = "Joliet isolinux directory"
				} else if img1.Joliet != nil {
					t.Fatal("a Joliet hierarchy without Input.Joliet")
				}
				first := int(initrd.Extents[0].LBA)
				for s := first; s < first+max(70_000, newSize)/SectorSize+1; s++ {
					allowed[s] = "initrd data"
				}
				for _, s := range changedSectors(readAll(t, l1), readAll(t, l2)) {
					if allowed[s] == "" {
						t.Errorf("sector %d changed (allowed: %v)", s, allowed)
					}
				}
				if int64(first)*SectorSize+int64(roundUp(70_000)) != l1.Size() {
					t.Errorf("initrd at sector %d is not last: image %d bytes", first, l1.Size())
				}
				img2 := readBack(t, l2)
				if img2.VolumeSpaceSize*SectorSize != uint32(l2.Size()) {
					t.Error("volume space size")
				}
			})
		}
	}
}

func childNamed(t *testing.T, dir *isoread.File, name string) *isoread.File {
	t.Helper()
	for _, c := range dir.Children {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: no %q", dir.Name, name)
	return nil
}

// TestMultiExtent places a 9 GiB file (three extents) and checks the
// records with the test reader and with xorriso and isoinfo, on a sparse
// copy of the image (the data of the big file is zeros).
func TestMultiExtent(t *testing.T) {
	const big = 9<<30 + 12345
	root := dir("",
		&Node{Name: "big.img", Mode: 0o644, Mtime: testDate, Size: big, Source: zeroReader{}},
		file("after", 0o644, []byte("after\n")),
	)
	l, err := Plan(Input{VolumeID: "BIG", Date: testDate, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	img, err := isoread.Read(l, l.Size())
	if err != nil {
		t.Fatal(err)
	}
	var f *isoread.File
	for _, c := range img.Root.Children {
		if c.Name == "big.img" {
			f = c
		}
	}
	if f == nil || f.Size != big || len(f.Extents) != 3 {
		t.Fatalf("big file: %+v", f)
	}
	for i := 1; i < len(f.Extents); i++ {
		prev := f.Extents[i-1]
		if f.Extents[i].LBA != prev.LBA+prev.Len/SectorSize {
			t.Errorf("extents not contiguous: %+v", f.Extents)
		}
	}
	// A sparse image file: write everything but the zeros of big.img.
	path := filepath.Join(t.TempDir(), "big.iso")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Extents() {
		if e.Name == "/big.img" {
			continue
		}
		if _, err := io.Copy(io.NewOffsetWriter(out, e.Offset), io.NewSectionReader(l, e.Offset, e.SizeBytes)); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Truncate(l.Size()); err != nil {
		t.Fatal(err)
	}
	out.Close()
	lsdl := run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-indev", path, "-find", "/", "-exec", "lsdl")
	if !bytes.Contains([]byte(lsdl), []byte(fmt.Sprintf(" %d ", big))) {
		t.Errorf("xorriso does not see the size %d:\n%s", big, lsdl)
	}
	requireTool(t, "isoinfo")
	run(t, "isoinfo", "-R", "-l", "-i", path)
}

type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

func TestPlanErrors(t *testing.T) {
	okFile := func() *Node { return file("f", 0o644, []byte("x")) }
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for name, in := range map[string]Input{
		"nil root":       {},
		"root not a dir": {Root: okFile()},
		"duplicate":      {Root: dir("", okFile(), okFile())},
		"slash":          {Root: dir("", &Node{Name: "a/b"})},
		"long name":      {Root: dir("", &Node{Name: string(long)})},
		"no source":      {Root: dir("", &Node{Name: "x", Size: 3})},
		"empty link":     {Root: dir("", &Node{Name: "x", Mode: fs.ModeSymlink})},
		"volume id":      {VolumeID: "0123456789012345678901234567890123", Root: dir("")},
		"no loader":      {Root: dir("", dir("isolinux")), ElTorito: &ElTorito{CatalogPath: "isolinux/boot.cat", LoaderPath: "isolinux/isolinux.bin"}},
		"catalog taken":  {Root: dir("", okFile()), ElTorito: &ElTorito{CatalogPath: "f", LoaderPath: "f", Loader: make([]byte, 1)}},
		"empty loader":   {Root: dir("", file("ldr", 0o444, nil)), ElTorito: &ElTorito{CatalogPath: "boot.cat", LoaderPath: "ldr"}},
	} {
		if _, err := Plan(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
