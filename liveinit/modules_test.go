package liveinit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func names(ms []Module) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// TestResolveModulesDep: the closure of the needed modules from
// modules.dep, dependencies first, built-in ones left out, "-" and "_"
// the same.
func TestResolveModulesDep(t *testing.T) {
	root := t.TempDir()
	const rel = "6.1.0-test"
	d := "lib/modules/" + rel + "/"
	writeFiles(t, root, map[string]string{
		d + "modules.dep": "kernel/drivers/scsi/sr_mod.ko: kernel/drivers/cdrom/cdrom.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n" +
			"kernel/drivers/cdrom/cdrom.ko:\n" +
			"kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko\n" +
			"kernel/drivers/scsi/scsi_common.ko:\n" +
			"kernel/drivers/usb/storage/usb-storage.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n" +
			"kernel/fs/squashfs/squashfs.ko:\n" +
			"kernel/fs/overlayfs/overlay.ko:\n" +
			"kernel/fs/fuse/fuse.ko:\n",
		d + "modules.builtin": "kernel/drivers/block/loop.ko\n",
	})
	got, err := Resolve(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scsi_common", "scsi_mod", "cdrom", "sr_mod", "usb_storage", "squashfs", "overlay"}
	if g := names(got); len(g) != len(want) {
		t.Fatalf("modules %v, want %v", g, want)
	} else {
		for i := range g {
			if g[i] != want[i] {
				t.Fatalf("modules %v, want %v", g, want)
			}
		}
	}
	if got[0].Path != filepath.Join(root, d, "kernel/drivers/scsi/scsi_common.ko") {
		t.Errorf("path %s", got[0].Path)
	}
}

// TestResolveMissing: a required module found nowhere is an error naming it.
func TestResolveMissing(t *testing.T) {
	root := t.TempDir()
	const rel = "6.1.0-test"
	writeFiles(t, root, map[string]string{"lib/modules/" + rel + "/modules.dep": "kernel/fs/squashfs/squashfs.ko:\nkernel/drivers/block/loop.ko:\n"})
	_, err := Resolve(root, rel)
	if !errors.Is(err, ErrMissingModule) || !strings.Contains(err.Error(), "overlay") {
		t.Fatalf("Resolve without overlay: %v", err)
	}
	flatRoot := t.TempDir()
	writeFiles(t, flatRoot, map[string]string{"lib/modules/loop.ko": "", "lib/modules/overlay.ko": "", "lib/modules/sr_mod.ko": ""})
	_, err = Resolve(flatRoot, rel)
	if !errors.Is(err, ErrMissingModule) || !strings.Contains(err.Error(), "squashfs") {
		t.Fatalf("flat Resolve without squashfs: %v", err)
	}
	writeFiles(t, flatRoot, map[string]string{"lib/modules/squashfs.ko": ""})
	got, err := Resolve(flatRoot, rel)
	if err != nil || len(got) != 4 || got[0].Name != "sr_mod" || got[3].Name != "overlay" {
		t.Fatalf("flat Resolve: %v %v", names(got), err)
	}
}
