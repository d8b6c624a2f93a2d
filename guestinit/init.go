package guestinit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts every line the init writes on the console.
const Prefix = "liveiso-init: "

// Where the init mounts things, in the initramfs.
const (
	runDir   = "/run/liveiso"
	lowerDir = runDir + "/squashfs" // the squashfs
	rwDir    = runDir + "/rw"       // tmpfs: the overlay's upper and work directories
	newRoot  = "/root"              // the overlay: the root to switch to
)

// Main runs the init and never returns: it execs the rootfs's init, or
// ends PID 1 after saying what failed (the kernel then panics).
func Main() {
	if err := mountEarly(); err != nil {
		fail(err)
	}
	console()
	c, err := ReadConfig(ConfigPath)
	if err != nil {
		fail(err)
	}
	if err := run(c); err != nil {
		fail(err)
	}
	fail(errors.New("switch_root returned")) // not reached: run execs
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, Prefix+format+"\n", args...)
}

// fail reports err and ends PID 1; the kernel's panic follows ("Attempted
// to kill init!"), so a boot that cannot go on stops visibly.
func fail(err error) {
	say("ERROR: %v", err)
	say("cannot boot the live root file system; giving up")
	time.Sleep(time.Second) // let the console drain
	os.Exit(1)
}

// mountEarly mounts /proc, /sys and /dev (devtmpfs: the block devices and
// loop devices appear there as their drivers find them).
func mountEarly() error {
	for _, m := range []struct{ fstype, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}, {"devtmpfs", "/dev"}} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.dir, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// console points stdin, stdout and stderr at /dev/console.
func console() {
	f, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		return // keep what the kernel gave us
	}
	for _, fd := range []int{0, 1, 2} {
		unix.Dup2(int(f.Fd()), fd)
	}
}

func run(c *Config) error {
	start := time.Now()
	for _, m := range c.Modules {
		if err := loadModule(m); err != nil {
			return err
		}
	}
	dev, sq, err := findMedium(c)
	if err != nil {
		return err
	}
	say("medium %s (volume %q, image %s); squashfs at byte %d, %d bytes", dev, c.VolumeID, c.ImageID, sq.off, sq.size)
	loop, err := attachLoop(dev, sq)
	if err != nil {
		return err
	}
	for _, d := range []string{lowerDir, rwDir, newRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount(loop, lowerDir, "squashfs", unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount the squashfs (%s, from %s at byte %d) on %s: %w", loop, dev, sq.off, lowerDir, err)
	}
	if err := unix.Mount("tmpfs", rwDir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", rwDir, err)
	}
	for _, d := range []string{rwDir + "/upper", rwDir + "/work"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := "lowerdir=" + lowerDir + ",upperdir=" + rwDir + "/upper,workdir=" + rwDir + "/work"
	if err := unix.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay (%s) on %s: %w", opts, newRoot, err)
	}
	if _, err := os.Lstat(filepath.Join(newRoot, c.Init)); err != nil {
		return fmt.Errorf("the root file system has no %s (--init names another): %w", c.Init, err)
	}
	say("root file system ready in %.2f s; starting %s", time.Since(start).Seconds(), c.Init)
	return switchRoot(c.Init)
}

// loadModule loads the kernel module at path; one the kernel already has
// is fine.
func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module %s: %w", path, err)
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
	case errors.Is(err, unix.ENOENT):
		// finit_module says ENOENT for a symbol no loaded module exports.
		return fmt.Errorf("load module %s: a symbol it needs is missing (a module it depends on is not loaded before it; the kernel log names the symbol): %w", path, err)
	default:
		return fmt.Errorf("load module %s: %w", path, err)
	}
	return nil
}

// findMedium scans the block devices until one has the volume label and
// the image ID, or the timeout passes.
func findMedium(c *Config) (string, extent, error) {
	deadline := time.Now().Add(time.Duration(c.TimeoutSeconds) * time.Second)
	said := false
	var seen []string
	for {
		names, _ := os.ReadDir("/sys/block")
		for _, n := range names {
			name := n.Name()
			if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
				continue
			}
			dev := "/dev/" + name
			if !slices.Contains(seen, name) {
				seen = append(seen, name)
			}
			sq, ok := probe(dev, c)
			if ok {
				return dev, sq, nil
			}
		}
		if time.Now().After(deadline) {
			return "", extent{}, fmt.Errorf("no medium with ISO 9660 volume %q holding /%s/%s = %q and /%s/%s after %d s; block devices seen: %s",
				c.VolumeID, MediumDir, IDName, c.ImageID, MediumDir, SquashfsName, c.TimeoutSeconds, strings.Join(seen, " "))
		}
		if !said {
			say("waiting for the medium: ISO 9660 volume %q with image %s", c.VolumeID, c.ImageID)
			said = true
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// probe reports whether dev is the medium, and where its squashfs is.
func probe(dev string, c *Config) (extent, bool) {
	f, err := os.Open(dev)
	if err != nil {
		return extent{}, false
	}
	defer f.Close()
	if v, err := volumeID(f); err != nil || v != c.VolumeID {
		return extent{}, false
	}
	id, err := lookup(f, MediumDir+"/"+IDName)
	if err != nil || id.size > 256 {
		return extent{}, false
	}
	b := make([]byte, id.size)
	if _, err := f.ReadAt(b, id.off); err != nil || string(bytes.TrimSpace(b)) != c.ImageID {
		return extent{}, false
	}
	sq, err := lookup(f, MediumDir+"/"+SquashfsName)
	if err != nil {
		return extent{}, false
	}
	return sq, true
}

// attachLoop maps the squashfs's bytes of dev on a free loop device,
// read-only, and returns the loop device.
func attachLoop(dev string, sq extent) (string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("loop devices (module loop): %w", err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return "", fmt.Errorf("get a free loop device: %w", err)
	}
	name := fmt.Sprintf("/dev/loop%d", n)
	var loop *os.File
	for range 50 { // devtmpfs makes the node as the device appears
		if loop, err = os.OpenFile(name, os.O_RDONLY, 0); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("open %s: %w", name, err)
	}
	defer loop.Close()
	backing, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer backing.Close()
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	cfg.Info.Offset = uint64(sq.off)
	cfg.Info.Sizelimit = uint64(sq.size)
	cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY
	if err := unix.IoctlLoopConfigure(int(loop.Fd()), &cfg); err != nil {
		return "", fmt.Errorf("set up %s over %s at byte %d: %w", name, dev, sq.off, err)
	}
	return name, nil
}

// switchRoot moves /dev, /proc and /sys into the new root, frees what the
// initramfs holds, makes the new root / and execs init there.
func switchRoot(init string) error {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		target := newRoot + d
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("move %s: %w", d, err)
		}
		if err := unix.Mount(d, target, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s to %s: %w", d, target, err)
		}
	}
	// The initramfs stays mounted under the new root: free its files (the
	// init binary, the modules), as switch_root does.
	for _, p := range []string{"/init", "/liveiso", "/lib"} {
		os.RemoveAll(p)
	}
	if err := unix.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	argv := []string{init}
	if err := unix.Exec(init, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", init, err)
	}
	return nil
}
