package testenv

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Lines the guest's /init prints on its console. Tests wait for them.
const (
	MarkerPrefix  = "LIVEISO-MARKER: " // followed by the contents of /etc/marker
	ListBegin     = "LIVEISO-LIST-BEGIN"
	ListEnd       = "LIVEISO-LIST-END"
	GuestError    = "LIVEISO-ERROR: " // followed by what went wrong
	GuestWaiting  = "LIVEISO-WAITING" // liveiso.wait: the guest idles until reset or killed
	GuestPoweroff = "LIVEISO-POWEROFF"

	// liveiso.probe (see probeScript): the hash of /isolinux/initrd.img
	// on the mounted medium at boot and at every round of the probe, the
	// copy of the whole medium, the kernel's complaints about its medium,
	// the end of the probe.
	ProbeBoot  = "LIVEISO-PROBE-BOOT "  // followed by the device and the hash
	ProbeRound = "LIVEISO-PROBE-ROUND " // followed by the round and the hash
	ProbeCopy  = "LIVEISO-PROBE-COPY "  // followed by the copy's initrd hash and pvd=same|differs
	ProbeDmesg = "LIVEISO-PROBE-DMESG " // followed by a kernel log line about the medium
	ProbeDone  = "LIVEISO-PROBE-DONE"
)

// Kernel command-line words the guest's /init acts on.
const (
	ArgMountCD = "liveiso.mountcd" // load the CD-ROM modules, mount /dev/sr0 on /mnt and list it
	ArgWait    = "liveiso.wait"    // stay up instead of powering off
	// ArgNoRock mounts the CD with -o norock: the kernel's isofs then
	// reads the Joliet tree (CONFIG_JOLIET=y; with CONFIG_NLS_DEFAULT
	// "utf8" it converts names with the built-in UTF-16 code, no nls
	// module).
	ArgNoRock = "liveiso.norock"
	// ArgProbe: mount the medium (CD or virtio disk) and, for
	// ProbeSecondsFile seconds, probe it as a running system does; then
	// copy it whole, and act as ProbeAfterFile says.
	ArgProbe = "liveiso.probe"
)

// Files of the rootfs that ArgProbe reads, so that a test can change them
// for the next generation.
const (
	ProbeSecondsFile = "etc/probe-seconds" // how long the probe lasts; 0: mount and hash only
	ProbeAfterFile   = "etc/probe-after"   // "reboot" (reboot -f 10 s after the probe) or "wait"
)

// BusyboxPath is the static busybox the rootfs is made of (Debian's
// busybox-static package).
const BusyboxPath = "/bin/busybox"

// initScript is the rootfs's /init. MODULES is replaced by the module names
// in load order. The listing format is the one ListEntry.String writes.
const initScript = `#!/bin/sh
# /init of the liveiso test rootfs, written by integration/rootfs.go.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Without /dev/console in the archive the kernel gives init no console.
exec </dev/console >/dev/console 2>&1
# The kernel writes to the serial port directly, so its messages can cut into
# a line of ours and hide it from a test waiting for it. From here on only
# its warnings and errors reach the console (the boot log before /init is
# there in full; dmesg has the rest).
echo 4 >/proc/sys/kernel/printk

echo "LIVEISO-MARKER: $(cat /etc/marker)"

has_word() {
	for w in $(cat /proc/cmdline); do
		[ "$w" = "$1" ] && return 0
	done
	return 1
}

# listentry prints one line: type perm uid:gid size sha256 path [-> target]
listentry() {
	set -- "$1" $(stat -c '%f %u %g %s' "$1")
	p=$1 mode=$((0x$2)) owner=$3:$4 size=0 sum=- link=
	case $((mode & 61440)) in
	16384) t=d ;;
	32768) t=f size=$5 sum=$(sha256sum "$p" | cut -d ' ' -f 1) ;;
	40960) t=l link=" -> $(readlink "$p")" ;;
	8192) t=c ;;
	24576) t=b ;;
	4096) t=p ;;
	49152) t=s ;;
	*) t=? ;;
	esac
	echo "$t $(printf %04o $((mode & 4095))) $owner $size $sum ${p#./}$link"
}

mountcd() {
	for m in MODULES; do
		insmod /lib/modules/$m.ko || { echo "LIVEISO-ERROR: insmod $m failed"; return 1; }
	done
	n=0
	while [ ! -b /dev/sr0 ]; do
		n=$((n + 1))
		if [ $n -gt 600 ]; then
			echo "LIVEISO-ERROR: no /dev/sr0 after 60 s"
			return 1
		fi
		sleep 0.1
	done
	opts=ro
	if has_word liveiso.norock; then
		opts=ro,norock
	fi
	if ! mount -t iso9660 -o $opts /dev/sr0 /mnt; then
		echo "LIVEISO-ERROR: mount -t iso9660 -o $opts /dev/sr0 failed"
		dmesg | tail -n 20
		return 1
	fi
	echo LIVEISO-LIST-BEGIN
	cd /mnt && find . | while IFS= read -r p; do listentry "$p"; done
	cd /
	echo LIVEISO-LIST-END
}

PROBE

if has_word liveiso.mountcd; then
	mountcd
fi
if has_word liveiso.probe; then
	probe
fi
if has_word liveiso.wait; then
	echo LIVEISO-WAITING
	while :; do sleep 60; done
fi
echo LIVEISO-POWEROFF
poweroff -f
`

// probeScript is the part of /init that acts on ArgProbe: promise 7 as a
// running guest sees it. It mounts its medium (/dev/sr0, or /dev/vda when
// it is a virtio disk) and hashes /isolinux/initrd.img, which changes with
// every generation; then, once a second for ProbeSecondsFile seconds, it
// reads what firmware and probes read (sector 16 and sector 0 of the raw
// device, busybox findfs's superblock probe of every block device, for a
// disk the partition table with fdisk -l and blockdev --rereadpt), drops
// its caches and hashes the file again. Then it copies the whole raw
// medium in order (dd), keeping the ISO volume in /tmp, mounts that copy
// and hashes its initrd, and compares the copy's primary volume descriptor
// with the one it read at boot. PROBEMODULES is replaced by ProbeModules,
// MODULES by Modules.
const probeScript = `probe() {
	for m in MODULES PROBEMODULES; do
		insmod /lib/modules/$m.ko || { echo "LIVEISO-ERROR: insmod $m failed"; return 1; }
	done
	n=0 dev=
	while [ -z "$dev" ]; do
		for d in /dev/sr0 /dev/vda; do
			[ -b $d ] && dev=$d
		done
		n=$((n + 1))
		if [ $n -gt 600 ]; then
			echo "LIVEISO-ERROR: no /dev/sr0 or /dev/vda after 60 s"
			return 1
		fi
		[ -n "$dev" ] || sleep 0.1
	done
	if ! mount -t iso9660 -o ro $dev /mnt; then
		echo "LIVEISO-ERROR: mount -t iso9660 $dev failed"
		dmesg | tail -n 20
		return 1
	fi
	dd if=$dev of=/tmp/pvd bs=2048 skip=16 count=1 2>/dev/null
	echo "LIVEISO-PROBE-BOOT $dev $(sha256sum /mnt/isolinux/initrd.img | cut -d ' ' -f 1)"
	secs=$(cat /etc/probe-seconds)
	[ "$secs" -gt 0 ] || return 0
	end=$(($(date +%s) + secs)) i=0
	while [ $(date +%s) -lt $end ]; do
		i=$((i + 1))
		dd if=$dev of=/dev/null bs=2048 skip=16 count=1 2>/dev/null || echo "LIVEISO-ERROR: read of sector 16 failed"
		dd if=$dev of=/dev/null bs=512 count=1 2>/dev/null || echo "LIVEISO-ERROR: read of sector 0 failed"
		found=$(findfs LABEL=LIVEISO 2>&1)
		if [ $dev = /dev/vda ]; then
			fdisk -l $dev >/dev/null 2>&1
			rereadpt=$(blockdev --rereadpt $dev 2>&1 && echo ok)
		fi
		[ $i = 1 ] && echo "findfs LABEL=LIVEISO: $found; blockdev --rereadpt: ${rereadpt:-not a disk}"
		echo 3 >/proc/sys/vm/drop_caches
		echo "LIVEISO-PROBE-ROUND $i $(sha256sum /mnt/isolinux/initrd.img | cut -d ' ' -f 1)"
		sleep 1
	done
	bytes=$(($(stat -f -c %b /mnt) * $(stat -f -c %S /mnt)))
	dd if=$dev bs=64k 2>/dev/null | { head -c $bytes >/tmp/copy; cat >/dev/null; }
	mkdir -p /copy
	if mount -t iso9660 -o ro,loop /tmp/copy /copy; then
		dd if=/tmp/copy of=/tmp/pvd2 bs=2048 skip=16 count=1 2>/dev/null
		pvd=differs
		cmp -s /tmp/pvd /tmp/pvd2 && pvd=same
		echo "LIVEISO-PROBE-COPY $(sha256sum /copy/isolinux/initrd.img | cut -d ' ' -f 1) pvd=$pvd bytes=$bytes"
		umount /copy
	else
		echo "LIVEISO-PROBE-COPY none: the copy does not mount"
	fi
	rm -f /tmp/copy
	dmesg | grep -iE 'i/o error|isofs|iso9660|blk_update|medium error|critical' | sed 's/^/LIVEISO-PROBE-DMESG /'
	echo LIVEISO-PROBE-DONE
	if [ "$(cat /etc/probe-after)" = reboot ]; then
		sleep 10
		reboot -f
	fi
}
`

// BuildBusyboxRootfs creates in dir (which must be empty or missing) a root
// file system made of the host's static busybox: /bin/busybox and a symlink
// per applet, /etc/marker holding marker, the test kernel's CD-ROM modules in
// /lib/modules, /dev/console when run as root, and an /init that prints
// MarkerPrefix+marker on the console, then acts on ArgMountCD and ArgWait
// and otherwise powers off.
func BuildBusyboxRootfs(dir, marker string) error {
	k, err := Kernel()
	if err != nil {
		return err
	}
	return buildBusyboxRootfs(dir, marker, BusyboxPath, k.ModulesDir, Modules(), ProbeModules())
}

// buildBusyboxRootfs is BuildBusyboxRootfs with busybox and the modules
// (in load order, from modulesDir) of any architecture. The applets are
// the host busybox's, of the same Debian version.
func buildBusyboxRootfs(dir, marker, busybox, modulesDir string, modules, probeModules []string) error {
	if strings.ContainsAny(marker, "\n\r") {
		return fmt.Errorf("marker %q: must be one line", marker)
	}
	if err := checkStatic(busybox); err != nil {
		return err
	}
	applets, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", BusyboxPath, err)
	}

	for _, d := range []struct {
		path string
		mode os.FileMode
	}{
		{".", 0o755}, {"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"lib", 0o755},
		{"lib/modules", 0o755}, {"mnt", 0o755}, {"proc", 0o555}, {"root", 0o700},
		{"sys", 0o555}, {"tmp", 0o777 | os.ModeSticky},
	} {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		// Chmod, because MkdirAll applies the umask and drops the sticky bit.
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	if err := CopyFile(busybox, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, name := range strings.Fields(string(applets)) {
		if name == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", name)); err != nil {
			return err
		}
	}
	for _, m := range append(slices.Clone(modules), probeModules...) {
		if err := CopyFile(filepath.Join(modulesDir, m+".ko"), filepath.Join(dir, "lib/modules", m+".ko"), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/marker"), []byte(marker+"\n"), 0o644); err != nil {
		return err
	}
	probe := strings.Replace(probeScript, "PROBEMODULES", strings.Join(probeModules, " "), 1)
	script := strings.Replace(initScript, "PROBE\n", probe, 1)
	script = strings.Replace(script, "MODULES", strings.Join(modules, " "), -1)
	for name, content := range map[string]string{ProbeSecondsFile: "30\n", ProbeAfterFile: "reboot\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "init"), []byte(script), 0o755); err != nil {
		return err
	}
	// Only root may mknod; /init copes without it (see the script).
	console := filepath.Join(dir, "dev/console")
	if err := syscall.Mknod(console, syscall.S_IFCHR|0o600, 5<<8|1); err != nil && !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("mknod %s: %w", console, err)
	}
	return nil
}

// checkStatic fails when path is a dynamically linked ELF file, which could
// not run in a rootfs without a C library.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w (install busybox-static: scripts/setup.sh)", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static (scripts/setup.sh)", path)
		}
	}
	return nil
}

func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

// consoleText normalises what the guest wrote to its serial console: the
// tty turns "\n" into "\r\n".
func consoleText(b []byte) string {
	return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
}
