package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/qemu"
	"github.com/liveiso/liveiso/vfs"
	"github.com/spf13/cobra"
)

// Values of --on-change.
const (
	onChangeReset   = "reset"   // system_reset: QEMU keeps running and rereads the medium
	onChangeRestart = "restart" // a new QEMU
	onChangeNone    = "none"    // only report
)

// minMemoryBytes is the least --memory a guest with an initramfs boots in.
const minMemoryBytes = 64 << 20

// runFlags are run's command line.
type runFlags struct {
	image              imageFlags
	logs               logFlags
	mount, attach      string
	onChange           string
	accel, firmware    string
	medium, nic        string
	direct, watch      bool
	memory             string
	cpus               int
	until, timeout     string
	fail               []string
	consoleLog         string
	ovmfCode, ovmfVars string
	capacity           string
	allowOther         bool
	execFlags
}

const runLong = `Boots the live image of DIR in QEMU with the guest's serial console on this
terminal, and boots it again on every new generation: edit the rootfs, and
the guest restarts on the edited image.

The image is served from a private mount in a temporary directory (removed
afterwards), from --mount MOUNTPOINT (mounted and unmounted by run), or from
--attach MOUNTPOINT, a running 'liveiso mount' that is left running.

On a new generation, --on-change says what happens: reset (QEMU keeps
running: run stops the guest, moves QEMU's open image on to the new
generation and resets it, so the firmware boots the new image), restart (a
new QEMU) or none. A guest that reboots by itself boots the newest
generation too; a running guest reads the generation it booted until then.
With --attach, reset starts a new QEMU: the mount is another process's. --direct boots the kernel and MOUNTPOINT/initrd.img with QEMU's
-kernel/-initrd, skipping firmware and boot loader; QEMU reads them only when
it starts, so with --direct a new generation restarts QEMU.

On a terminal, QEMU's escapes work: Ctrl-A x quits, Ctrl-A c switches to its
monitor and back. Arguments after -- go to QEMU as they are.

Scripted runs (CI, boot tests): --until REGEX ends the run as soon as a console
line matches; then the guest boots once and is not reset on change, unless
--watch is given too. --fail REGEX (repeatable) adds to the patterns that end
it as failed: Kernel panic, Attempted to kill init, Unable to mount root,
Initramfs unpacking failed, No working init found.
Without --until, a --fail match is only reported and the loop goes on.

Tests inside the guest: --exec CMD boots with the guest agent (one more
initrd member, started before the rootfs's /init by rdinit=, which talks to run
over a second serial port), runs CMD as root with /bin/sh -c once the agent
answers, and exits with its status (128+N when signal N killed it); stdout and
stderr are CMD's, the console goes to --console-log (or stderr with --console).
--copy-in HOST_PATH:GUEST_PATH copies before CMD, --copy-out GUEST_PATH:HOST_DIR
after it. With --watch, CMD runs after every boot of a new generation and run
says one line per generation; --until-pass ends at the first that exits 0. A
boot that fails before the agent answers ends as below (1, 2, 3).

Exit status:
  0  a console line matched --until (or, without --until, QEMU was quit)
  1  a console line matched a --fail pattern
  2  --timeout passed (counted from the first boot)
  3  the guest powered off, or QEMU exited, before --until matched
  4  liveiso could not run the guest: bad input, a failed build or mount,
     QEMU did not start
  130, 143  interrupted (SIGINT, SIGTERM)
On 1, 2 and 3 the last 40 console lines are printed on stderr.`

func newRunCommand() *cobra.Command {
	var f runFlags
	return f.command()
}

// command defines run's command line, parsed into f.
func (f *runFlags) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run --rootfs DIR [flags] [-- QEMU ARGS...]",
		Short: "boot the live image in QEMU, and again on every edit",
		Long:  runLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); len(args) > 0 && dash != 0 {
				return exitStatus{qemu.ExitError, usageError{fmt.Sprintf("unexpected argument %q (QEMU's arguments go after --)", args[0])}}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.plan(args)
			if err != nil {
				return exitStatus{qemu.ExitError, err}
			}
			out, err := f.logs.output(true)
			if err != nil {
				return exitStatus{qemu.ExitError, err}
			}
			return runRun(p, out)
		},
	}
	// Its statuses 1 to 3 are the guest's: a mistake in the command line
	// is 4 like every other failure to start.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitStatus{qemu.ExitError, usageError{err.Error()}}
	})
	fs := cmd.Flags()
	f.image.register(fs)
	f.logs.register(fs)
	fs.StringVar(&f.mount, "mount", "", "serve the image on `MOUNTPOINT` (mounted and unmounted by run) instead of a private temporary one")
	fs.StringVar(&f.attach, "attach", "", "boot the image of the running 'liveiso mount' at `MOUNTPOINT`, and leave it running")
	fs.StringVar(&f.capacity, "capacity", "", "`SIZE` of image.iso, as for mount")
	fs.BoolVar(&f.allowOther, "allow-other", false, "let other users read the mount, as for mount")
	fs.StringVar(&f.onChange, "on-change", onChangeReset, "on a new generation: reset (the guest, QEMU keeps running), restart (QEMU) or none")
	fs.StringVar(&f.accel, "accel", "", "kvm or tcg (default: kvm when /dev/kvm is usable)")
	fs.StringVar(&f.firmware, "firmware", "", "bios or uefi (OVMF, from the package ovmf) (default: bios; uefi (AAVMF, from the package qemu-efi-aarch64) for an arm64 kernel)")
	fs.StringVar(&f.ovmfCode, "ovmf-code", "", "with --firmware uefi: OVMF's code `FILE` (default: the ovmf package's)")
	fs.StringVar(&f.ovmfVars, "ovmf-vars", "", "with --firmware uefi: the variable store `FILE` run boots a private copy of (default: the ovmf package's)")
	fs.StringVar(&f.medium, "medium", string(qemu.CD), "attach the image as a cd or a disk")
	fs.BoolVar(&f.direct, "direct", false, "boot the kernel and initrd.img directly (-kernel, -initrd): no firmware, no loader; a new generation restarts QEMU")
	fs.StringVarP(&f.memory, "memory", "m", "1G", "guest memory, a `SIZE` like 512M or 2G")
	fs.IntVar(&f.cpus, "cpus", 1, "guest CPUs")
	fs.StringVar(&f.nic, "nic", string(qemu.NoNIC), "guest network: none or user (QEMU's NAT)")
	fs.StringVar(&f.until, "until", "", "end with status 0 when a console line matches `REGEX`; the guest boots once")
	fs.StringArrayVar(&f.fail, "fail", nil, "also end with status 1 when a console line matches `REGEX` (repeatable)")
	fs.StringVar(&f.timeout, "timeout", "", "end with status 2 after `DURATION` (like 120, 90s, 5m) from the first boot")
	fs.BoolVar(&f.watch, "watch", false, "with --until: still reset the guest on every new generation")
	fs.StringVar(&f.consoleLog, "console-log", "", "also write the whole console to `FILE`")
	f.execFlags.register(fs)
	return cmd
}

// runPlan is a checked command line of run.
type runPlan struct {
	image      generation.Options // unused with attach
	capacity   int64
	allowOther bool
	mountpoint string // of --mount or --attach; "" for a private mount
	attach     bool
	kernel     string // with --direct: the kernel file
	binary     string // qemu-system-x86_64
	machine    qemu.Machine
	accelWhy   string // how the accelerator was chosen
	onChange   string
	until      *regexp.Regexp
	fail       []*regexp.Regexp
	timeout    time.Duration
	watch      bool // boot again on every new generation
	consoleLog string
	exec       *execPlan // --exec; nil without
	events     string    // --events FILE, "-" for stdout
}

// plan checks the command line and the machine, so that a mistake is
// reported before anything starts.
func (f *runFlags) plan(qemuArgs []string) (runPlan, error) {
	p := runPlan{mountpoint: f.mount, allowOther: f.allowOther, consoleLog: f.consoleLog, onChange: f.onChange}
	var err error
	if f.mount != "" && f.attach != "" {
		return p, usageError{"--mount and --attach exclude each other"}
	}
	if f.attach != "" {
		p.mountpoint, p.attach = f.attach, true
		if f.image.rootfs != "" {
			return p, usageError{"--attach boots the image of that mount: leave out --rootfs and the other build options"}
		}
	} else if p.image, err = f.image.options(); err != nil {
		return p, err
	}
	if f.capacity != "" {
		if p.capacity, err = parseSize(f.capacity); err != nil {
			return p, usageError{"--capacity: " + err.Error()}
		}
	}
	m := qemu.Machine{Extra: qemuArgs}
	if m.Arch, err = f.guestArch(p); err != nil {
		return p, err
	}
	switch a := qemu.Accel(f.accel); a {
	case "":
		m.Accel, p.accelWhy = qemu.DetectAccelFor(m.Arch)
	case qemu.KVM, qemu.TCG:
		m.Accel, p.accelWhy = a, "--accel "+f.accel
	default:
		return p, usageError{fmt.Sprintf("--accel %q: want kvm or tcg", f.accel)}
	}
	if m.Firmware, err = firmwareFor(m.Arch, f.firmware); err != nil {
		return p, err
	}
	switch md := qemu.Medium(f.medium); md {
	case qemu.CD, qemu.Disk:
		m.Medium = md
	default:
		return p, usageError{fmt.Sprintf("--medium %q: want cd or disk", f.medium)}
	}
	if m.Medium == qemu.Disk && f.image.noHybrid {
		return p, usageError{"--medium disk boots from the hybrid MBR/GPT, which --no-hybrid leaves out"}
	}
	switch n := qemu.NIC(f.nic); n {
	case qemu.NoNIC, qemu.UserNIC:
		m.NIC = n
	default:
		return p, usageError{fmt.Sprintf("--nic %q: want none or user", f.nic)}
	}
	mem, err := parseSize(f.memory)
	if err != nil {
		return p, usageError{"--memory: " + err.Error()}
	}
	if mem < minMemoryBytes {
		return p, usageError{fmt.Sprintf("--memory %s: a guest needs at least %dM", f.memory, minMemoryBytes>>20)}
	}
	m.MemoryMB = mem >> 20
	if f.cpus < 1 {
		return p, usageError{fmt.Sprintf("--cpus %d: want at least 1", f.cpus)}
	}
	m.CPUs = f.cpus
	switch f.onChange {
	case onChangeReset, onChangeRestart, onChangeNone:
	default:
		return p, usageError{fmt.Sprintf("--on-change %q: want reset, restart or none", f.onChange)}
	}
	if f.direct && f.image.root == string(generation.RootSquashfs) {
		return p, usageError{"--direct boots without the medium, and --root squashfs reads the root from it: boot from the CD or --medium disk"}
	}
	if (f.direct || p.attach) && f.onChange == onChangeReset {
		// QEMU reads -kernel and -initrd only when it starts; an attached
		// mount is another process's, which run cannot tell to move QEMU's
		// open image.iso on (promise 7): a new QEMU opens it anew.
		p.onChange = onChangeRestart
	}
	if f.until != "" {
		if p.until, err = regexp.Compile(f.until); err != nil {
			return p, usageError{fmt.Sprintf("--until: %v", err)}
		}
	}
	if err := f.planExec(&p); err != nil {
		return p, err
	}
	p.fail = qemu.DefaultFail()
	for _, s := range f.fail {
		re, err := regexp.Compile(s)
		if err != nil {
			return p, usageError{fmt.Sprintf("--fail: %v", err)}
		}
		p.fail = append(p.fail, re)
	}
	if f.watch && p.until == nil && !p.runsCommand() {
		return p, usageError{"--watch goes with --until or --exec: without them, run boots again on every generation anyway"}
	}
	p.watch = p.until == nil && !p.runsCommand() || f.watch
	if f.timeout != "" {
		if p.timeout, err = parseTimeout(f.timeout); err != nil {
			return p, usageError{"--timeout: " + err.Error()}
		}
	}
	// One boot: a reboot or a panic (with panic=N) ends QEMU. A watching
	// run keeps QEMU when the guest powers off, to boot it again.
	m.NoReboot = !p.watch
	m.NoShutdown = p.watch
	// A guest's own reboot stops it, so that run moves the image on
	// before the firmware reads it (bootAgain).
	m.RebootStops = p.watch

	if p.binary, err = qemu.LookPathFor(m.Arch); err != nil {
		return p, err
	}
	// An arm64 --direct boot needs no firmware: QEMU loads the Image.
	if m.Firmware == qemu.UEFI && !(m.Arch == qemu.AArch64 && f.direct) {
		if m.OVMF, err = f.findFirmware(m.Arch); err != nil {
			return p, err
		}
	}
	if p.attach {
		if err := checkAttach(p.mountpoint); err != nil {
			return p, err
		}
	} else if p.mountpoint != "" {
		if err := checkMountpoint(p.mountpoint); err != nil {
			return p, err
		}
	}
	if f.direct {
		opts := p.image
		if p.attach {
			// The mount serves no kernel: it is --kernel, or the rootfs's.
			st, _ := readStatus(p.mountpoint)
			opts = generation.Options{Rootfs: st.Rootfs, Kernel: f.image.kernel}
		}
		if p.kernel, err = generation.KernelFile(opts); err != nil {
			return p, fmt.Errorf("--direct: %w", err)
		}
		// p.image's: with the agent's rdinit= when it is in.
		m.Direct = &qemu.Direct{Kernel: p.kernel, Append: p.image.Append}
	}
	p.machine = m
	return p, nil
}

// parseTimeout reads a duration: seconds (120) or Go's notation (90s, 5m).
func parseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration (like 120, 90s or 5m)", s)
	}
	return d, nil
}

// checkMountpoint refuses a --mount directory that cannot take the mount,
// in the words vfs.Mount would use after the first build. A stale mount
// (its daemon died) is fine: vfs.Mount detaches it.
func checkMountpoint(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--mount: mount point %s does not exist", dir)
	case err != nil && !isStale(err):
		return fmt.Errorf("--mount: mount point %s: %w", dir, err)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("--mount: mount point %s is not a directory", dir)
	}
	mounted, err := vfs.IsMounted(dir)
	if err != nil {
		return fmt.Errorf("--mount: %w", err)
	}
	if mounted && fi != nil {
		return fmt.Errorf("--mount: %w: %s is already a mount point (unmount it, or boot a liveiso mount there with --attach)", vfs.ErrBusy, dir)
	}
	return nil
}

// describe is the machine for run's first line, with why it is TCG when
// the user did not ask for it.
func (p runPlan) describe() string {
	s := p.machine.String()
	if p.machine.Accel == qemu.TCG && !strings.HasPrefix(p.accelWhy, "--accel") {
		s += "; TCG: " + p.accelWhy
	}
	return s
}
