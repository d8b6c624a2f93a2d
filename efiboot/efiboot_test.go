package efiboot

import (
	"strings"
	"testing"
	"time"
)

func TestGrubConfig(t *testing.T) {
	got := GrubConfig("/isolinux/vmlinuz", "/isolinux/initrd.img", "console=ttyS0  quiet x=$y;z")
	want := "set default=0\nset timeout=0\nmenuentry \"liveiso\" {\n\tlinux /isolinux/vmlinuz console=ttyS0 quiet x=\\$y\\;z\n\tinitrd /isolinux/initrd.img\n}\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestESP(t *testing.T) {
	loader := strings.NewReader(strings.Repeat("MZ", 100_000))
	im, err := ESP(ESPInput{Loader: loader, LoaderSize: loader.Size(), Mtime: time.Unix(1e9, 0), VolumeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if im.Size() < 200_000 || im.Size() > 300_000 || im.Size()%2048 != 0 {
		t.Fatalf("ESP of %d bytes for a 200000-byte loader", im.Size())
	}
}

func TestFindLoaderOverride(t *testing.T) {
	if _, err := FindLoader("/nonexistent/loader.efi"); err == nil {
		t.Fatal("no error for a missing override")
	}
	if _, err := FindLoader(t.TempDir()); err == nil {
		t.Fatal("no error for a directory")
	}
}
