package integration

// Promise 7: a running guest reads the generation it booted until it boots
// again, whatever it reads in between (the volume descriptors, sector 0,
// the partition tables, a superblock probe, the whole medium), while the
// rootfs changes every 0.5 s; and a boot after that boots the newest.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/liveiso/liveiso/internal/testenv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeTimeout bounds a guest's boot, its 30 s probe and its copy of the
// medium, under TCG on a loaded machine.
const probeTimeout = 15 * time.Minute

// probeArgs are the kernel arguments of a probing guest. no_timer_check:
// on a host loaded far beyond its cores, the kernel's check of the TCG
// guest's timer fails and it panics ("IO-APIC + timer doesn't work"), as
// seen here at a load average of 86.
const probeArgs = testenv.ArgProbe + " " + testenv.ArgWait + " no_timer_check"

// probeEditInterval is how often the rootfs changes during a probe.
const probeEditInterval = 500 * time.Millisecond

// probeReport is what a guest's probe (testenv.ArgProbe) printed on its console.
type probeReport struct {
	dev, boot string   // the medium and the hash of its initrd at boot
	rounds    []string // the hash at each round
	copy      string   // the rest of the copy line: HASH pvd=same|differs bytes=N
	dmesg     []string // the kernel's lines about its medium
}

var (
	probeBootRe  = regexp.MustCompile(`^` + testenv.ProbeBoot + `(\S+) ([0-9a-f]{64})$`)
	probeRoundRe = regexp.MustCompile(`^` + testenv.ProbeRound + `(\d+) (\S*)$`)
)

// parseProbe reads the first probe in console, from its testenv.ProbeBoot line to
// testenv.ProbeDone.
func parseProbe(console string) (probeReport, error) {
	var r probeReport
	started := false
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := probeBootRe.FindStringSubmatch(line); m != nil && !started {
			r.dev, r.boot, started = m[1], m[2], true
			continue
		}
		if !started {
			continue
		}
		switch {
		case probeRoundRe.MatchString(line):
			r.rounds = append(r.rounds, probeRoundRe.FindStringSubmatch(line)[2])
		case strings.HasPrefix(line, testenv.ProbeCopy):
			r.copy = strings.TrimPrefix(line, testenv.ProbeCopy)
		case strings.HasPrefix(line, testenv.ProbeDmesg):
			r.dmesg = append(r.dmesg, strings.TrimPrefix(line, testenv.ProbeDmesg))
		case line == testenv.ProbeDone:
			return r, nil
		}
	}
	return r, fmt.Errorf("no complete probe on the console (started %v)", started)
}

// check fails the test unless every round and the copy read the generation
// the guest booted, and the kernel did not complain about its medium.
func (r probeReport) check(t *testing.T, wantDev string) {
	t.Helper()
	if r.dev != wantDev {
		t.Errorf("the guest probed %s, want %s", r.dev, wantDev)
	}
	// Once a second for 30 s; a round takes seconds under TCG on a loaded
	// machine (3 to 8 rounds were measured at load averages of 20 to 30).
	if len(r.rounds) < 3 {
		t.Errorf("only %d probe rounds", len(r.rounds))
	}
	for i, h := range r.rounds {
		if h != r.boot {
			t.Errorf("round %d: /isolinux/initrd.img hashes to %q, at boot %s: the guest read another generation", i+1, h, r.boot)
		}
	}
	if want := r.boot + " pvd=same "; !strings.HasPrefix(r.copy, want) {
		t.Errorf("the copy of the whole medium: %q, want its initrd and its volume descriptor to be the booted generation's (%q...)", r.copy, want)
	}
	for _, l := range r.dmesg {
		t.Errorf("guest kernel: %s", l)
	}
	t.Logf("%d probe rounds, every one and the copy (%s) read the generation booted (initrd %s…)", len(r.rounds), r.copy, r.boot[:12])
}

// probeFixture is a fixture whose guest probes its medium (testenv.ArgProbe) and
// then waits, or reboots (after).
func probeFixture(t *testing.T, marker, after string) fixture {
	fx := newFixture(t, marker)
	writeRootfsFile(t, fx, testenv.ProbeAfterFile, after)
	return fx
}

func writeRootfsFile(t *testing.T, fx fixture, name, content string) {
	t.Helper()
	writeAtomic(t, filepath.Join(fx.rootfs, name), []byte(content+"\n"))
}

// finalEdit ends the edits and makes the last one: marker, and a guest
// that only mounts its medium and waits.
func finalEdit(t *testing.T, fx fixture, marker string) {
	t.Helper()
	writeRootfsFile(t, fx, testenv.ProbeSecondsFile, "0")
	writeRootfsFile(t, fx, testenv.ProbeAfterFile, "wait")
	writeRootfsFile(t, fx, "etc/marker", marker)
}

// sha256File is the hex SHA-256 of the file at path.
func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lastProbeBoot is the initrd hash of the last testenv.ProbeBoot line on console.
func lastProbeBoot(console string) string {
	hash := ""
	for _, line := range strings.Split(console, "\n") {
		if m := probeBootRe.FindStringSubmatch(strings.TrimRight(line, "\r")); m != nil {
			hash = m[2]
		}
	}
	return hash
}

var generationReadyRe = regexp.MustCompile(`generation (\d+) ready`)

// lastGeneration is the newest generation run reported on stderr.
func lastGeneration(stderr string) int {
	n := 0
	for _, m := range generationReadyRe.FindAllStringSubmatch(stderr, -1) {
		g, _ := strconv.Atoi(m[1])
		n = max(n, g)
	}
	return n
}

// liveiso run boots the fixture (BIOS and UEFI from a CD, BIOS from a
// disk) and leaves it alone while the rootfs changes every 0.5 s
// (--on-change none): the guest probes its medium for 30 s, copies it
// whole, and reboots; run stops the rebooting guest, moves its image on
// and resets it, and it boots the newest generation.
func TestRunPromise7(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		dev  string
	}{
		{"bios-cd", nil, "/dev/sr0"},
		{"uefi-cd", []string{"--firmware", "uefi"}, "/dev/sr0"},
		{"bios-disk", []string{"--medium", "disk"}, "/dev/vda"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := probeFixture(t, "promise 7 "+tc.name, "reboot")
			mnt := filepath.Join(t.TempDir(), "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			testenv.CleanupUnmount(t, mnt)
			args := append(fx.imageArgs(t, probeArgs), "--accel", "tcg", "--mount", mnt, "--on-change", "none")
			r := startRun(t, append(args, tc.args...)...)
			// Edits start after the first build: one that sees a file
			// change under it fails, and run with it.
			r.waitStderr(t, regexp.MustCompile(`generation 1 ready .*booting it`))
			stopEdits := editContinuously(t, fx.rootfs, "edit", probeEditInterval, 50_000)
			defer stopEdits()

			r.waitLineWithin(t, regexp.MustCompile(`^`+testenv.ProbeDone+`$`), probeTimeout)
			stopEdits()
			gens := lastGeneration(r.stderr.String())
			finalEdit(t, fx, "promise 7 final")
			rep, err := parseProbe(strings.ReplaceAll(r.stdout.String(), "\r\n", "\n"))
			if err != nil {
				t.Fatal(err)
			}
			rep.check(t, tc.dev)
			if gens < 10 {
				t.Errorf("only %d generations by the end of the probe: the rootfs did not change under the guest", gens)
			}

			// The guest reboots 10 s after its probe: run boots it on
			// the newest generation, the final edit.
			r.waitLineWithin(t, markerLine("promise 7 final"), bootTimeout)
			r.waitLineWithin(t, probeBootRe, bootTimeout)
			r.waitStderr(t, regexp.MustCompile(`the guest rebooted; booting the newest generation`))
			want := sha256File(t, filepath.Join(mnt, "initrd.img"))
			if got := lastProbeBoot(r.stdout.String()); got != want {
				t.Errorf("after the reboot the guest's initrd is %s, the newest generation's %s", got, want)
			}
			t.Logf("%d generations during the probe; the reboot booted the newest", gens)
		})
	}
}

// waitLineWithin is waitLine with a timeout of its own.
func (r *liveRun) waitLineWithin(t *testing.T, re *regexp.Regexp, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := strings.ReplaceAll(r.stdout.String(), "\r\n", "\n")
		if _, end, ok := testenv.MatchLine(out[min(r.cursor, len(out)):], re); ok {
			r.cursor += end
			return
		}
		select {
		case <-r.done:
			t.Fatalf("liveiso run exited (%v) before a line matching %q\nstderr:\n%s\nlast console lines:\n%s",
				r.cmd.ProcessState, re, r.stderr.String(), lastLines(out, testenv.ConsoleTailLines))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q after %v\nlast console lines:\n%s", re, timeout, lastLines(out, testenv.ConsoleTailLines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A QEMU started by hand on MOUNTPOINT/image.iso (BIOS, CD): the guest
// reads the generation it booted while it probes its medium and the
// rootfs changes every 0.5 s; then the README's monitor recipe (stop, a
// fresh open of the CD with change ... -f, system_reset, cont) boots the
// newest generation.
func TestMountPromise7(t *testing.T) {
	t.Parallel()
	fx := probeFixture(t, "promise 7 by hand", "wait")
	m := startMount(t, fx, probeArgs, "", "")
	stopEdits := editContinuously(t, fx.rootfs, "edit", probeEditInterval, 50_000)
	defer stopEdits()
	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: m.image()})
	if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.ProbeDone+"$"), probeTimeout); err != nil {
		t.Fatal(err)
	}
	stopEdits()
	before, _ := m.status()
	rep, err := parseProbe(vm.Console())
	if err != nil {
		t.Fatal(err)
	}
	rep.check(t, "/dev/sr0")
	if before.Generation < 10 {
		t.Errorf("only %d generations by the end of the probe", before.Generation)
	}
	finalEdit(t, fx, "by hand final")
	m.waitNext(t, before.Generation)
	want := sha256File(t, filepath.Join(m.dir, "initrd.img"))
	if err := vm.BootNewestCD(m.image()); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.WaitForLine(markerLine("by hand final"), bootTimeout); err != nil {
		t.Fatal(err)
	}
	line, err := vm.WaitForLine(probeBootRe, bootTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := probeBootRe.FindStringSubmatch(line)[2]; got != want {
		t.Errorf("after the monitor recipe the guest's initrd is %s, want the newest generation's %s", got, want)
	}
}
