package efiboot

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
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
	if _, err := FindLoader("/nonexistent/loader.efi", nil); err == nil {
		t.Fatal("no error for a missing override")
	}
	if _, err := FindLoader(t.TempDir(), nil); err == nil {
		t.Fatal("no error for a directory")
	}
}

// The search list is the caller's: the first regular file of it, and an
// error naming every place looked at when there is none.
func TestFindLoaderSearch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	search := []string{filepath.Join(dir, "a.efi"), dir, filepath.Join(dir, "b.efi")}
	if _, err := FindLoader("", search); !errors.Is(err, ErrNoLoader) || !strings.Contains(err.Error(), search[2]) {
		t.Errorf("nothing installed: %v, want ErrNoLoader naming %s", err, search[2])
	}
	if err := os.WriteFile(search[2], []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindLoader("", search); err != nil || got != search[2] {
		t.Errorf("FindLoader = %q, %v, want %s", got, err, search[2])
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

// With a shim, shim is BOOTX64.EFI and GRUB grubx64.efi beside it, with
// MokManager, as mtools (an independent FAT reader) reads them back.
func TestESPWithShim(t *testing.T) {
	if _, err := exec.LookPath("mcopy"); err != nil {
		t.Fatalf("mcopy (package mtools; scripts/setup.sh installs it): %v", err)
	}
	loader, shim, mm := strings.Repeat("GRUB", 30_000), strings.Repeat("SHIM", 20_000), strings.Repeat("MOKM", 10_000)
	im, err := ESP(ESPInput{
		Loader: strings.NewReader(loader), LoaderSize: int64(len(loader)), Mtime: time.Unix(1e9, 0), VolumeID: 1,
		Shim: strings.NewReader(shim), ShimSize: int64(len(shim)),
		MokManager: strings.NewReader(mm), MokManagerSize: int64(len(mm)),
	})
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, im.Size())
	if _, err := im.ReadAt(img, 0); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "esp.img")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"EFI/BOOT/BOOTX64.EFI": shim,
		"EFI/BOOT/grubx64.efi": loader,
		"EFI/BOOT/mmx64.efi":   mm,
		"EFI/BOOT/grub.cfg":    espGrubConfig(),
		"boot/grub/grub.cfg":   espGrubConfig(),
	} {
		got, err := exec.Command("mcopy", "-n", "-i", path, "::"+name, "-").Output()
		if err != nil {
			t.Errorf("mcopy %s: %v", name, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s: %d bytes read back, want %d", name, len(got), len(want))
		}
	}
}

func TestFindShim(t *testing.T) {
	dir := t.TempDir()
	shim := filepath.Join(dir, "shimx64.efi.signed")
	if err := os.WriteFile(shim, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindShim(shim, nil); !errors.Is(err, ErrNoShim) || !strings.Contains(err.Error(), "mmx64.efi") {
		t.Errorf("FindShim without MokManager beside it: %v, want ErrNoShim naming mmx64.efi", err)
	}
	mm := filepath.Join(dir, "mmx64.efi")
	if err := os.WriteFile(mm, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindShim(shim, nil); err != nil || got != (Shim{Shim: shim, MokManager: mm}) {
		t.Errorf("FindShim = %+v, %v", got, err)
	}
	if _, err := FindShim(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("no error for a missing shim")
	}
	// A search list of the caller's: a pair whose MokManager is missing
	// is passed over.
	other := t.TempDir()
	search := []Shim{{Shim: filepath.Join(other, "shimx64.efi"), MokManager: filepath.Join(other, "mmx64.efi")}, {Shim: shim, MokManager: mm}}
	if err := os.WriteFile(search[0].Shim, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := FindShim("", search); err != nil || got != search[1] {
		t.Errorf("FindShim search = %+v, %v, want %+v", got, err, search[1])
	}
	if _, err := FindShim("", search[:1]); !errors.Is(err, ErrNoShim) || !strings.Contains(err.Error(), search[0].MokManager) {
		t.Errorf("FindShim search without a whole pair: %v, want ErrNoShim naming %s", err, search[0].MokManager)
	}
}
