package efiboot

import (
	"maps"
	"slices"
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

func TestCDFiles(t *testing.T) {
	loader := strings.NewReader(strings.Repeat("MZ", 1000))
	mtime := time.Unix(1e9, 0)
	cd, err := CDFiles(CDInput{
		Loader: loader, LoaderSize: loader.Size(), LoaderMtime: mtime,
		VolumeID: "VOL", Kernel: "/k", Initrd: "/i", Append: "quiet",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range cd.Files {
		b := make([]byte, f.Size)
		if _, err := f.Source.ReadAt(b, 0); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		got[f.Path] = string(b)
		if wantDated := f.Path == cd.ESPPath; f.Mtime.Equal(mtime) != wantDated {
			t.Errorf("%s: mtime %s", f.Path, f.Mtime)
		}
	}
	if cd.ESPPath != "boot/efi.img" || len(got[cd.ESPPath])%2048 != 0 || len(got[cd.ESPPath]) < 2000 {
		t.Errorf("ESP %q of %d bytes", cd.ESPPath, len(got[cd.ESPPath]))
	}
	if g := got["boot/grub/grub.cfg"]; g != GrubConfig("/k", "/i", "quiet") {
		t.Errorf("grub.cfg:\n%s", g)
	}
	if g := got[".disk/info"]; g != "liveiso VOL\n" {
		t.Errorf(".disk/info: %q", g)
	}
	if len(got) != 3 {
		t.Errorf("files %v, want the ESP, grub.cfg and .disk/info", slices.Collect(maps.Keys(got)))
	}
	if names := CDRootNames(); !slices.Equal(names, []string{"boot", ".disk"}) {
		t.Errorf("CDRootNames = %q", names)
	}
}
