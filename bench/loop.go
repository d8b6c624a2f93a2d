package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
	"github.com/liveiso/liveiso/qemu"
)

// Targets of issue 13 (liveiso run).
const (
	targetRunSpeedup    = 2.0 // classic loop / liveiso run (reset, BIOS CD), on the Debian tree
	targetDirectSpeedup = 4.0 // classic loop / liveiso run --direct, on the Debian tree
	targetResetSentMs   = 100 // edit to the reset being sent, median
	targetDirectFloor   = 1.1 // liveiso run --direct / the floor
)

// Console lines that split a boot into phases (the Debian 6.1 kernel's).
var (
	kernelStartLine = regexp.MustCompile(`\] Linux version `)
	unpackLine      = regexp.MustCompile(`Trying to unpack rootfs image as initramfs`)
	unpackedLine    = regexp.MustCompile(`Freeing initrd memory`)
	// run's own lines on stderr.
	resetSentLine  = regexp.MustCompile(`^liveiso: generation \d+ ready in (\d+) ms .*, (resetting the guest|restarting QEMU)$`)
	poweredOffLine = regexp.MustCompile(`^liveiso: the guest powered off`)
)

// loopInit is the /init the Debian tree gets for the loop: like the
// busybox fixture's, it prints the marker and powers off. The tree has no
// busybox; dash, cat and mount are essential packages.
const loopInit = `#!/bin/sh
# /init of liveiso's loop benchmark (bench/loop.go): print the marker, power off.
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "LIVEISO-MARKER: $(cat /etc/marker)"
echo o >/proc/sysrq-trigger
sleep 60
`

// loopPhases split liveiso run's edit→marker by the lines it and the
// guest print.
type loopPhases struct {
	ToReset  samples // edit → run says the reset is sent (or the restart begins)
	BuildMs  samples // the daemon's own build time of that generation
	ToKernel samples // → "Linux version", printed once the serial console is up: firmware, loader, kernel decompression, early start (--direct: QEMU's restart instead of the loader)
	Kernel   samples // → "Trying to unpack rootfs": the kernel's start
	Unpack   samples // → "Freeing initrd memory": the initramfs unpack
	ToMarker samples // → the marker: the rest of the kernel's start and /init
}

// loopResult is edit → the guest prints the edited marker, on one tree.
type loopResult struct {
	Tree      string
	Classic   samples // rebuild the ISO with the classic pipeline, start QEMU on it
	Reset     samples // liveiso run: reset, BIOS CD
	ResetPh   loopPhases
	Restart   samples // liveiso run --on-change restart: a new QEMU on the same live image.iso
	RestartPh loopPhases
	Direct    samples // liveiso run --direct
	DirectPh  loopPhases
	Floor     samples // QEMU -kernel -initrd with a page-cached copy of the initrd: start → marker
}

// measureLoops measures the loop on the busybox fixture and, when there is
// one, the Debian tree.

// loopMemoryMB is the guests' memory in every row of the loop: the Debian
// tree's initramfs (about 200 MB unpacked from 96 MB) does not fit in 512.
const loopMemoryMB = 1024

func measureLoops(ctx context.Context, cfg *config, work string, debian *corpus) ([]*loopResult, error) {
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	rootfs := filepath.Join(work, "busybox", "rootfs")
	if err := testenv.BuildBusyboxRootfs(rootfs, "loop start"); err != nil {
		return nil, err
	}
	busybox, err := measureLoop(ctx, cfg, "busybox fixture", rootfs, filepath.Join(work, "busybox"))
	if err != nil {
		return nil, fmt.Errorf("loop on the busybox fixture: %w", err)
	}
	res := []*loopResult{busybox}
	if debian != nil {
		restore, err := installLoopInit(debian.Root)
		if err != nil {
			return res, err
		}
		r, err := measureLoop(ctx, cfg, debian.Name, debian.Root, filepath.Join(work, "debian"))
		if rerr := restore(); rerr != nil {
			return res, errors.Join(err, rerr)
		}
		if err != nil {
			return res, fmt.Errorf("loop on %s: %w", debian.Name, err)
		}
		res = append(res, r)
	}
	os.RemoveAll(work)
	return res, nil
}

// measureLoop takes cfg.edits samples of each loop on the tree at rootfs.
func measureLoop(ctx context.Context, cfg *config, name, rootfs, work string) (*loopResult, error) {
	res := &loopResult{Tree: name}
	current := "loop start"
	for i := 0; i < cfg.edits; i++ {
		current = fmt.Sprintf("classic edit %d", i)
		s, err := classicLoop(ctx, cfg, rootfs, work, current)
		if err != nil {
			return nil, err
		}
		res.Classic = append(res.Classic, s)
		cfg.logf("loop %s: classic edit %d: marker after %.2f s", name, i+1, s)
	}
	// The floor boots alternate with the edits of run --direct, so that
	// both see the same load on a shared machine.
	floor := func(mnt, marker string) error {
		initrd := filepath.Join(work, "floor-initrd.img")
		if out, err := exec.CommandContext(ctx, "cp", filepath.Join(mnt, "initrd.img"), initrd).CombinedOutput(); err != nil {
			return fmt.Errorf("copy the initrd: %w: %s", err, out)
		}
		if _, err := ddRead(ctx, initrd, sizeOf(initrd)); err != nil { // into the page cache
			return err
		}
		s, err := floorBoot(filepath.Join(work, "floor-vm"), cfg.liveiso.kernel, initrd, marker)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		res.Floor = append(res.Floor, s)
		cfg.logf("loop %s: floor boot %d: marker after %.2f s", name, len(res.Floor), s)
		return nil
	}
	for _, mode := range []struct {
		kind    string
		args    []string
		out     *samples
		phase   *loopPhases
		between func(mnt, marker string) error
	}{
		{"run", nil, &res.Reset, &res.ResetPh, nil},
		{"run --on-change restart", []string{"--on-change", "restart"}, &res.Restart, &res.RestartPh, nil},
		{"run --direct", []string{"--direct"}, &res.Direct, &res.DirectPh, floor},
	} {
		var err error
		current, err = runLoop(ctx, cfg, name, rootfs, work, current, mode.kind, mode.args, mode.out, mode.phase, mode.between)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mode.kind, err)
		}
	}
	return res, nil
}

// floorBoot boots kernel and initrd with QEMU as liveiso run --direct
// starts it (the qemu package's command line), without liveiso, and
// returns the seconds from the start to the marker.
func floorBoot(dir, kernel, initrd, marker string) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	bin, err := qemu.LookPath()
	if err != nil {
		return 0, err
	}
	m := qemu.Machine{
		Accel: qemu.TCG, Firmware: qemu.BIOS, MemoryMB: loopMemoryMB, CPUs: 1, NIC: qemu.NoNIC,
		Direct:   &qemu.Direct{Kernel: kernel, Initrd: initrd, Append: testenv.KernelArgs},
		QMP:      filepath.Join(dir, "qmp.sock"),
		NoReboot: true,
	}
	console, stderr := &lineLog{}, &lineLog{}
	start := time.Now()
	p, err := qemu.Start(bin, m, qemu.IO{Stdout: console, Stderr: stderr})
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, stderr.tail(10))
	}
	defer p.Kill()
	line, _, err := console.waitFor(markerLine(marker), 0, 5*time.Minute, p.Done())
	if err != nil {
		return 0, err
	}
	return line.at.Sub(start).Seconds(), nil
}

// classicLoop is one edit of the classic loop: the marker is written, the
// ISO rebuilt with find | cpio | gzip -9 and genisoimage, and QEMU started
// on it. It returns the seconds from the edit to the marker.
func classicLoop(ctx context.Context, cfg *config, rootfs, work, marker string) (float64, error) {
	dir := filepath.Join(work, "classic")
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if err := writeMarker(rootfs, marker); err != nil {
		return 0, err
	}
	img, err := testenv.BuildReference(ctx, dir, rootfs, cfg.liveiso.kernel, testenv.ReferenceOptions{})
	if err != nil {
		return 0, err
	}
	if _, err := bootVMToMarker(filepath.Join(work, "classic-vm"), testenv.VMOptions{CDROM: img.ISO, NoReboot: true, MemoryMB: loopMemoryMB}, marker); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// runLoop starts one liveiso run on the tree and times cfg.edits edits,
// each made once the guest has powered off after the previous marker; then
// between, if set, runs with run's mount point and the marker the guest
// printed. It returns the marker the tree holds.
func runLoop(ctx context.Context, cfg *config, name, rootfs, work, current, kind string, args []string,
	out *samples, ph *loopPhases, between func(mnt, marker string) error) (string, error) {
	tmp := filepath.Join(work, "run-tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return current, err
	}
	s, err := cfg.liveiso.run(ctx, rootfs, filepath.Join(work, "cache"), tmp, args...)
	if err != nil {
		return current, err
	}
	defer s.stop()
	if _, _, err := s.stdout.waitFor(markerLine(current), 0, 5*time.Minute, s.exited); err != nil {
		return current, fmt.Errorf("first boot: %w", err)
	}
	mounts, _ := filepath.Glob(filepath.Join(tmp, "liveiso-run-*", "mnt"))
	if len(mounts) != 1 {
		return current, fmt.Errorf("run's private mount: found %v", mounts)
	}
	errAt := 0
	for i := 0; i < cfg.edits; i++ {
		_, at, err := s.stderr.waitFor(poweredOffLine, errAt, 2*time.Minute, s.exited)
		if err != nil {
			return current, err
		}
		errAt = at + 1
		if between != nil {
			if err := between(mounts[0], current); err != nil {
				return current, err
			}
		}
		outAt := s.stdout.count()
		current = fmt.Sprintf("%s edit %d", kind, i)
		t0 := time.Now()
		if err := writeMarker(rootfs, current); err != nil {
			return current, err
		}
		sent, at, err := s.stderr.waitFor(resetSentLine, errAt, time.Minute, s.exited)
		if err != nil {
			return current, err
		}
		errAt = at + 1
		var lines [4]timedLine
		for j, re := range []*regexp.Regexp{kernelStartLine, unpackLine, unpackedLine, markerLine(current)} {
			if lines[j], outAt, err = s.stdout.waitFor(re, outAt, 5*time.Minute, s.exited); err != nil {
				return current, err
			}
		}
		buildMs, _ := strconv.Atoi(resetSentLine.FindStringSubmatch(sent.text)[1])
		since := func(a, b time.Time) float64 { return b.Sub(a).Seconds() }
		*out = append(*out, since(t0, lines[3].at))
		ph.ToReset = append(ph.ToReset, since(t0, sent.at))
		ph.BuildMs = append(ph.BuildMs, float64(buildMs))
		ph.ToKernel = append(ph.ToKernel, since(sent.at, lines[0].at))
		ph.Kernel = append(ph.Kernel, since(lines[0].at, lines[1].at))
		ph.Unpack = append(ph.Unpack, since(lines[1].at, lines[2].at))
		ph.ToMarker = append(ph.ToMarker, since(lines[2].at, lines[3].at))
		cfg.logf("loop %s: %s edit %d: reset sent after %.0f ms, marker after %.2f s", name, kind, i+1,
			1000*since(t0, sent.at), since(t0, lines[3].at))
	}
	return current, s.stop()
}

// runSession is a running `liveiso run` in the loop benchmark.
type runSession struct {
	cmd            *exec.Cmd
	stdout, stderr *lineLog
	exited         chan struct{}
	stopped        bool
}

// run starts liveiso run of rootfs on TCG with as much memory as the
// harness's VMs, its temporary files in tmp.
func (l liveisoTool) run(ctx context.Context, rootfs, cacheDir, tmp string, more ...string) (*runSession, error) {
	args := append(append([]string{"run"}, l.imageArgs(rootfs, cacheDir)...), "--accel", "tcg", "--memory", fmt.Sprintf("%dM", loopMemoryMB))
	s := &runSession{stdout: &lineLog{}, stderr: &lineLog{}, exited: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, l.bin, append(args, more...)...)
	s.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	return s, nil
}

// stop ends the run as Ctrl-C would and waits for its cleanup.
func (s *runSession) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("liveiso run did not exit a minute after SIGTERM:\n%s", s.stderr.tail(10))
	}
}
