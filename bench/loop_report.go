package main

import (
	"fmt"
	"strings"

	"github.com/liveiso/liveiso/internal/testenv"
)

// The loop's section of the report and the targets of issue 13.

// renderLoop writes the loop's section of the report.
func renderLoop(p func(string, ...any), loops []*loopResult, loopErr string, edits int) {
	p("## 8. The edit-boot loop: edit → the guest prints the edited marker (-accel tcg, %d edits each)\n\n", edits)
	if len(loops) == 0 {
		p("Not measured: %s\n\n", oneLine(loopErr))
		return
	}
	p("- classic: write `/etc/marker`, rebuild the ISO with the classic pipeline (find | cpio | gzip -9, genisoimage), start `%s` on it.\n", strings.Replace(qemuCommand(), "-m 512", fmt.Sprintf("-m %d", loopMemoryMB), 1))
	p("- liveiso run: one `liveiso run --rootfs ROOTFS --kernel vmlinuz --append '%s' --accel tcg --memory %dM` (reset, BIOS CD) for all edits; each edit is made once the guest has powered off after the previous marker, and run resets it.\n", testenv.KernelArgs, loopMemoryMB)
	p("- liveiso run --on-change restart: the same, but each generation is booted by a new QEMU instead of a reset.\n")
	p("- liveiso run --direct: the same with `--direct`, which starts a new QEMU with -kernel/-initrd on each generation.\n")
	p("- floor: QEMU with run --direct's command line, `-kernel vmlinuz -initrd FILE`, FILE a page-cached copy of the current generation's initrd.img: start → marker, no edit; one floor boot before each edit of run --direct.\n\n")
	p("| tree | classic | liveiso run | run --on-change restart | liveiso run --direct | floor | classic / run | classic / --direct | --direct / floor | edit → reset sent |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range loops {
		p("| %s | %s | %s | %s | %s | %s | %.2fx | %.2fx | %.2fx | %s |\n", l.Tree, secs(l.Classic), secs(l.Reset), secs(l.Restart), secs(l.Direct), secs(l.Floor),
			l.Classic.median()/l.Reset.median(), l.Classic.median()/l.Direct.median(), l.Direct.median()/l.Floor.median(),
			ms(l.ResetPh.ToReset.median()))
	}
	p("\nWhere the time of a loop goes (medians; host arrival times of run's line and of the guest's console lines):\n\n")
	p("`Linux version` is the kernel's first line, but it reaches the serial port only when the serial console is\n")
	p("registered, so the column before it holds everything from the reset to then.\n\n")
	p("| tree | loop | edit → reset sent (of it: build_ms) | → `Linux version` | → unpack starts | initramfs unpack | → marker |\n")
	p("|---|---|---:|---:|---:|---:|---:|\n")
	for _, l := range loops {
		for _, row := range []struct {
			name string
			ph   loopPhases
			what string
		}{
			{"run (reset)", l.ResetPh, "firmware, isolinux, kernel decompression, early start"},
			{"run --on-change restart", l.RestartPh, "QEMU's restart, firmware, isolinux, kernel decompression, early start"},
			{"run --direct", l.DirectPh, "QEMU's restart, kernel decompression, early start"},
		} {
			p("| %s | %s | %s (%.0f ms) | %s (%s) | %s | %s | %s |\n", l.Tree, row.name, ms(row.ph.ToReset.median()), row.ph.BuildMs.median(),
				ms(row.ph.ToKernel.median()), row.what, ms(row.ph.Kernel.median()), ms(row.ph.Unpack.median()), ms(row.ph.ToMarker.median()))
		}
	}
	p("\n")
}

// loopTargets judges issue 13's targets.
func loopTargets(loops []*loopResult, loopErr string) []target {
	var debian *loopResult
	for _, l := range loops {
		if strings.HasPrefix(l.Tree, "debian") {
			debian = l
		}
	}
	var ts []target
	for _, sp := range []struct {
		name string
		want float64
		got  func(*loopResult) samples
	}{
		{"liveiso run (reset, BIOS CD)", targetRunSpeedup, func(l *loopResult) samples { return l.Reset }},
		{"liveiso run --direct", targetDirectSpeedup, func(l *loopResult) samples { return l.Direct }},
	} {
		t := target{name: fmt.Sprintf("%s at least %.0fx faster than the classic loop on the Debian tree", sp.name, sp.want)}
		if debian == nil {
			t.unknown, t.detail = true, "no Debian tree in this run"
			if loopErr != "" {
				t.detail = oneLine(loopErr)
			}
		} else {
			x := debian.Classic.median() / sp.got(debian).median()
			t.met = x >= sp.want
			t.detail = fmt.Sprintf("%.1f s vs %.1f s: %.2fx.", debian.Classic.median(), sp.got(debian).median(), x)
		}
		ts = append(ts, t)
	}
	perTree := func(name string, judge func(*loopResult) (bool, string)) target {
		t := target{name: name, met: len(loops) > 0}
		if len(loops) == 0 {
			t.unknown, t.detail = true, oneLine(loopErr)
			return t
		}
		var parts []string
		for _, l := range loops {
			ok, s := judge(l)
			t.met = t.met && ok
			parts = append(parts, l.Tree+" "+s)
		}
		t.detail = strings.Join(parts, ", ") + "."
		return t
	}
	ts = append(ts, perTree(fmt.Sprintf("edit → reset sent at most %d ms (median)", targetResetSentMs), func(l *loopResult) (bool, string) {
		m := l.ResetPh.ToReset.median()
		return m*1000 <= targetResetSentMs, ms(m)
	}))
	ts = append(ts, perTree(fmt.Sprintf("liveiso run --direct within %.1fx of the floor", targetDirectFloor), func(l *loopResult) (bool, string) {
		x := l.Direct.median() / l.Floor.median()
		return x <= targetDirectFloor, fmt.Sprintf("%.2fx (%.2f s vs %.2f s)", x, l.Direct.median(), l.Floor.median())
	}))
	return ts
}
