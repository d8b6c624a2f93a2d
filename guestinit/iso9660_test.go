package guestinit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestProbeXorrisoImage: the init's ISO 9660 reader finds the volume label,
// the image ID and the squashfs's bytes in an image xorriso made with Rock
// Ridge and ISO names of up to 31 characters (-l), as liveiso names them and
// lays them out (/live/liveiso.id, /live/filesystem.squashfs).
func TestProbeXorrisoImage(t *testing.T) {
	if _, err := exec.LookPath("xorriso"); err != nil {
		t.Fatal("xorriso is not installed (scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	sq := bytes.Repeat([]byte("hsqs squashfs bytes "), 5000)
	for p, c := range map[string][]byte{
		"live/" + IDName:       []byte("0123456789abcdef\n"),
		"live/" + SquashfsName: sq,
		"isolinux/vmlinuz":     []byte("kernel"),
		"live/other.txt":       []byte("x"),
	} {
		p = filepath.Join(tree, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	iso := filepath.Join(dir, "image.iso")
	if out, err := exec.Command("xorriso", "-as", "mkisofs", "-R", "-l", "-V", "MYLABEL", "-o", iso, tree).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	f, err := os.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	good := &Config{VolumeID: "MYLABEL", ImageID: "0123456789abcdef"}
	ext, ok := probe(iso, good)
	if !ok {
		t.Fatalf("probe did not recognise the medium")
	}
	got := make([]byte, ext.size)
	if _, err := f.ReadAt(got, ext.off); err != nil || !bytes.Equal(got, sq) {
		t.Fatalf("squashfs extent %+v does not hold the file (%v)", ext, err)
	}
	for _, bad := range []*Config{{VolumeID: "OTHER", ImageID: good.ImageID}, {VolumeID: good.VolumeID, ImageID: "fedcba9876543210"}} {
		if _, ok := probe(iso, bad); ok {
			t.Errorf("probe accepted %+v", bad)
		}
	}
	if _, ok := probe(filepath.Join(tree, "isolinux/vmlinuz"), good); ok {
		t.Errorf("probe accepted a file that is no ISO")
	}
}
