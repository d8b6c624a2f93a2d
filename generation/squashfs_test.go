package generation

import (
	"strings"
	"testing"

	"github.com/liveiso/liveiso/isolayout"
)

// extentOffsets maps each file's data extent to its offset.
func extentOffsets(t *testing.T, g gathered) (map[string]int64, []string) {
	t.Helper()
	in, err := plan(g, planOptions{VolumeID: "LIVEISO"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := isolayout.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	offs := map[string]int64{}
	var order []string
	for _, e := range l.Extents() {
		offs[e.Name] = e.Offset
		order = append(order, e.Name)
	}
	return offs, order
}

// TestPlanSquashfsLast: with the root on the medium, the squashfs is the
// last file of the CD, the small initrd stays where it is, and a squashfs
// of another size moves nothing before it.
func TestPlanSquashfsLast(t *testing.T) {
	withSquashfs := func(size int) gathered {
		g := gatheredWith(bios(), uefi())
		sq := bytesFile(strings.Repeat("S", size), tRootfs)
		id := bytesFile("0123456789abcdef\n", tKernel)
		g.Squashfs, g.MediumID = &sq, &id
		return g
	}
	a, order := extentOffsets(t, withSquashfs(10000))
	b, _ := extentOffsets(t, withSquashfs(300000))
	const sqName = "/live/filesystem.squashfs"
	last := order[len(order)-1]
	if last == "backup GPT" { // the disk's, at the very end
		last = order[len(order)-2]
	}
	if last != sqName {
		t.Fatalf("last file %q, want the squashfs; order %v", last, order)
	}
	for _, name := range []string{"/isolinux/initrd.img", "/isolinux/vmlinuz", "/live/liveiso.id", "/boot/efi.img", sqName} {
		if _, ok := a[name]; !ok {
			t.Fatalf("no extent %q in %v", name, order)
		}
		if a[name] != b[name] {
			t.Errorf("%s moved from %d to %d when the squashfs grew", name, a[name], b[name])
		}
	}
	if a["/isolinux/initrd.img"] > a[sqName] {
		t.Errorf("the initrd (%d) is after the squashfs (%d)", a["/isolinux/initrd.img"], a[sqName])
	}
}
