package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// bootResult is the time from starting QEMU to the guest's marker line.
type bootResult struct {
	File samples // -cdrom the file liveiso build wrote
	Live samples // -cdrom MOUNTPOINT/image.iso of liveiso mount
}

// measureBoot boots the busybox fixture boots times from each image,
// alternating between the two.
func measureBoot(ctx context.Context, cfg *config, work string, boots int) (*bootResult, error) {
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	marker := "bench boot"
	rootfs := filepath.Join(work, "rootfs")
	if err := testenv.BuildBusyboxRootfs(rootfs, marker); err != nil {
		return nil, err
	}
	file := filepath.Join(work, "image.iso")
	if _, _, err := cfg.liveiso.build(ctx, rootfs, file, filepath.Join(work, "cache")); err != nil {
		return nil, err
	}
	// liveiso build writes with direct I/O, so the file is not in the page
	// cache: read it once, or its first boot would pay for the disk.
	if _, err := ddRead(ctx, file, sizeOf(file)); err != nil {
		return nil, err
	}
	d, err := cfg.liveiso.mount(rootfs, filepath.Join(work, "mnt"), filepath.Join(work, "mount-cache"), filepath.Join(work, "mount.log"))
	if err != nil {
		return nil, err
	}
	defer d.stop()
	res := &bootResult{}
	for i := 0; i < boots; i++ {
		for _, img := range []struct {
			path string
			out  *samples
		}{{file, &res.File}, {d.image(), &res.Live}} {
			s, err := bootToMarker(filepath.Join(work, fmt.Sprintf("vm-%d", i)), img.path, marker)
			if err != nil {
				return nil, err
			}
			*img.out = append(*img.out, s)
			cfg.logf("boot %d from %s: marker after %.2f s", i+1, img.path, s)
		}
	}
	return res, nil
}

// bootToMarker starts QEMU on the CD image and returns the seconds until
// the console shows the marker line, polled every 10 ms.
func bootToMarker(dir, image, marker string) (float64, error) {
	return bootVMToMarker(dir, testenv.VMOptions{CDROM: image, NoReboot: true}, marker)
}

// bootVMToMarker starts QEMU with opts and returns the seconds until the
// console shows the marker line, polled every 10 ms.
func bootVMToMarker(dir string, opts testenv.VMOptions, marker string) (float64, error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	vm, err := testenv.Start(dir, opts)
	if err != nil {
		return 0, err
	}
	defer vm.Kill()
	want := testenv.MarkerPrefix + marker
	for time.Since(start) < 3*time.Minute {
		b, _ := os.ReadFile(vm.ConsolePath())
		if strings.Contains(string(b), want+"\r\n") || strings.Contains(string(b), want+"\n") {
			return time.Since(start).Seconds(), nil
		}
		if vm.Exited() {
			return 0, fmt.Errorf("qemu exited before the marker:\n%s", vm.Tail(20))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("no marker after 3 minutes:\n%s", vm.Tail(20))
}

// qemuCommand is the boot as the report shows it.
func qemuCommand() string {
	return testenv.QEMU + " -accel tcg -m 512 -display none -nic none -parallel none -serial file:console.log -no-reboot -cdrom IMAGE"
}
