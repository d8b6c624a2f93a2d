package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/qemu"
)

// A mistake in run's command line exits 4, like every failure to start,
// since 1 to 3 are the guest's statuses; the message comes first.
func TestRunBadCommandLine(t *testing.T) {
	rootfs := t.TempDir()
	base := []string{"run", "--rootfs", rootfs, "--cache-dir", t.TempDir(), "--accel", "tcg"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"run"}, "--rootfs DIR is required"},
		{append(base, "extra"), `unexpected argument "extra" (QEMU's arguments go after --)`},
		{append(base, "--on-change", "reboot"), `--on-change "reboot": want reset, restart or none`},
		{append(base, "--accel", "hvf"), `--accel "hvf": want kvm or tcg`},
		{append(base, "--firmware", "coreboot"), `--firmware "coreboot": want bios or uefi`},
		{append(base, "--medium", "usb"), `--medium "usb": want cd or disk`},
		{append(base, "--medium", "disk", "--no-hybrid"), "--no-hybrid leaves out"},
		{append(base, "--nic", "tap"), `--nic "tap": want none or user`},
		{append(base, "--memory", "lots"), `--memory: "lots" is not a size`},
		{append(base, "-m", "16M"), "at least 64M"},
		{append(base, "--cpus", "0"), "--cpus 0: want at least 1"},
		{append(base, "--until", "(x"), "--until: error parsing regexp"},
		{append(base, "--fail", "[x"), "--fail: error parsing regexp"},
		{append(base, "--timeout", "soon"), `--timeout: "soon" is not a duration`},
		{append(base, "--watch"), "--watch goes with --until"},
		{append(base, "--mount", "a", "--attach", "b"), "--mount and --attach exclude each other"},
		{append(base, "--attach", "b"), "--attach boots the image of that mount"},
		{append(base, "--firmware", "uefi", "--ovmf-code", "x"), "--ovmf-code and --ovmf-vars go together"},
	} {
		status, _, stderr := run(t, tc.args...)
		if status != qemu.ExitError || !strings.Contains(stderr, "liveiso run: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("liveiso %s: status %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), status, stderr, qemu.ExitError, tc.want)
		}
	}
}

func TestRunPlan(t *testing.T) {
	if _, err := qemu.LookPath(); err != nil {
		t.Skipf("plan looks for QEMU: %v", err)
	}
	rootfs := t.TempDir()
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := func(args ...string) runPlan {
		t.Helper()
		var f runFlags
		cmd := f.command()
		if err := cmd.ParseFlags(append([]string{"--rootfs", rootfs, "--kernel", kernel, "--cache-dir", t.TempDir()}, args...)); err != nil {
			t.Fatal(err)
		}
		got, err := f.plan(cmd.Flags().Args())
		if err != nil {
			t.Fatalf("plan %q: %v", args, err)
		}
		return got
	}

	p := plan("--accel", "tcg")
	if !p.watch || p.until != nil || p.onChange != onChangeReset || !p.machine.NoShutdown || p.machine.NoReboot || !p.machine.RebootStops {
		t.Errorf("the loop: watch %v, until %v, on-change %s, NoShutdown %v, NoReboot %v; want a watching reset loop that keeps QEMU on poweroff",
			p.watch, p.until, p.onChange, p.machine.NoShutdown, p.machine.NoReboot)
	}
	if p.machine.MemoryMB != 1024 || p.machine.CPUs != 1 || p.machine.NIC != qemu.NoNIC || p.machine.Accel != qemu.TCG {
		t.Errorf("defaults: %+v", p.machine)
	}
	if len(p.fail) != len(qemu.DefaultFail()) {
		t.Errorf("%d --fail patterns, want the %d defaults", len(p.fail), len(qemu.DefaultFail()))
	}

	p = plan("--accel", "tcg", "--until", "^ok$", "--fail", "oops", "--timeout", "120", "-m", "512M")
	if p.watch || p.until.String() != "^ok$" || !p.machine.NoReboot || p.machine.NoShutdown {
		t.Errorf("--until: watch %v, NoReboot %v, NoShutdown %v; want one boot", p.watch, p.machine.NoReboot, p.machine.NoShutdown)
	}
	if len(p.fail) != len(qemu.DefaultFail())+1 || p.fail[len(p.fail)-1].String() != "oops" {
		t.Errorf("--fail adds to the defaults: %v", p.fail)
	}
	if p.timeout != 120*time.Second || p.machine.MemoryMB != 512 {
		t.Errorf("timeout %v, memory %d MiB", p.timeout, p.machine.MemoryMB)
	}

	p = plan("--accel", "tcg", "--until", "^ok$", "--watch")
	if !p.watch || !p.machine.NoShutdown {
		t.Errorf("--until --watch: watch %v, NoShutdown %v", p.watch, p.machine.NoShutdown)
	}

	p = plan("--accel", "tcg", "--direct", "--append", "console=ttyS0 quiet", "--", "-smp", "2")
	if p.onChange != onChangeRestart || p.machine.Direct == nil || p.machine.Direct.Kernel != kernel || p.machine.Direct.Append != "console=ttyS0 quiet" {
		t.Errorf("--direct: on-change %s, direct %+v; want a restart and the kernel", p.onChange, p.machine.Direct)
	}
	if strings.Join(p.machine.Extra, " ") != "-smp 2" {
		t.Errorf("QEMU arguments after --: %q", p.machine.Extra)
	}
}

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"120": 120 * time.Second, "1.5": 1500 * time.Millisecond, "90s": 90 * time.Second, "5m": 5 * time.Minute} {
		if got, err := parseTimeout(in); err != nil || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-3", "soon", "5 minutes"} {
		if _, err := parseTimeout(in); err == nil {
			t.Errorf("parseTimeout(%q): no error", in)
		}
	}
}

func TestGenerationLine(t *testing.T) {
	got := generationLine(live.Status{Generation: 7, BuildMs: 58, ChunksRebuilt: 1, ChunksTotal: 212})
	if want := "generation 7 ready in 58 ms (1 of 212 chunks)"; got != want {
		t.Errorf("generationLine = %q, want %q", got, want)
	}
}

func TestPoweredOff(t *testing.T) {
	for _, tc := range []struct {
		ev   qemu.Event
		want bool
	}{
		{qemu.Event{Event: "SHUTDOWN", Data: []byte(`{"guest": true, "reason": "guest-shutdown"}`)}, true},
		{qemu.Event{Event: "SHUTDOWN", Data: []byte(`{"guest": false, "reason": "host-qmp-quit"}`)}, false},
		{qemu.Event{Event: "RESET", Data: []byte(`{"guest": true, "reason": "guest-reset"}`)}, false},
	} {
		if got := poweredOff(tc.ev); got != tc.want {
			t.Errorf("poweredOff(%s %s) = %v", tc.ev.Event, tc.ev.Data, got)
		}
	}
}
