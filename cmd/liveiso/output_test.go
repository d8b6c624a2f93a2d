package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/live"
)

// The human format: the people's lines, and log records from warnings up
// as lines of the same kind; the machine formats: the records only.
func TestOutputFormats(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flags     logFlags
		autoHuman bool
		want      []string // lines, in order
	}{
		{"auto on a terminal", logFlags{format: logAuto}, true, []string{
			"liveiso: serving /mnt/image.iso",
			"liveiso: warning: the image will not boot on BIOS: no isolinux.bin (path=/usr/lib/ISOLINUX)",
			"liveiso: error: build failed; still serving the last good generation: read etc/shadow: permission denied (generation=3)",
		}},
		{"human -v", logFlags{format: logHuman, verbose: true}, false, []string{
			"liveiso: serving /mnt/image.iso",
			"liveiso: packed initrd (entries=35)",
			"liveiso: warning: the image will not boot on BIOS: no isolinux.bin (path=/usr/lib/ISOLINUX)",
			"liveiso: error: build failed;",
		}},
		{"human --quiet", logFlags{format: logHuman, quiet: true}, false, []string{
			"liveiso: error: build failed;",
		}},
		{"auto off a terminal", logFlags{format: logAuto}, false, []string{
			`level=INFO msg="packed initrd" entries=35`,
			`level=WARN msg="the image will not boot on BIOS" path=/usr/lib/ISOLINUX err="no isolinux.bin"`,
			`level=ERROR msg="build failed; still serving the last good generation" generation=3`,
		}},
		{"json", logFlags{format: logJSON}, true, []string{
			`"level":"INFO","msg":"packed initrd","entries":35}`,
			`"level":"WARN"`,
			`"level":"ERROR"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			o, err := tc.flags.outputTo(&buf, tc.autoHuman)
			if err != nil {
				t.Fatal(err)
			}
			o.say("serving %s", "/mnt/image.iso")
			o.log.Debug("newer edit, restarting build", "paths", 1)
			o.log.Info("packed initrd", "entries", 35)
			o.log.Warn("the image will not boot on BIOS", "path", "/usr/lib/ISOLINUX", "err", errors.New("no isolinux.bin"))
			o.log.Error("build failed; still serving the last good generation", "generation", 3, "err", errors.New("read etc/shadow: permission denied"))
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if tc.flags.verbose != strings.Contains(buf.String(), "newer edit") {
				t.Errorf("debug record shown: %v, want %v:\n%s", !tc.flags.verbose, tc.flags.verbose, buf.String())
			}
			if tc.flags.verbose {
				lines = lines[:1+copy(lines[1:], lines[2:])] // without the debug line
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), buf.String())
			}
			for i, want := range tc.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d: %q, want it to hold %q", i+1, lines[i], want)
				}
			}
		})
	}
	if _, err := (&logFlags{format: "yaml"}).outputTo(&bytes.Buffer{}, false); err == nil {
		t.Error("--log-format yaml accepted")
	}
}

// The daemon's report says each generation in a line for people, and each
// warning once, with its source, until a generation comes without it.
func TestReportWarningsOnce(t *testing.T) {
	var buf bytes.Buffer
	o, err := (&logFlags{format: logText}).outputTo(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	boot := generation.Warning{Source: generation.WarningBoot, Message: "kernel vmlinuz is not signed for shim's chain: it will not boot with Secure Boot enforcing"}
	sock := generation.Warning{Source: generation.WarningRootfs, Message: "skipped socket run/x.sock"}
	r := newReport(o, true)
	for i, ws := range [][]generation.Warning{{boot}, {boot, sock}, {boot}, {boot, sock}} {
		r.generation(&live.Snapshot{Generation: uint64(i + 1), Status: live.Status{Generation: uint64(i + 1), Warnings: ws}})
	}
	got := buf.String()
	if n := strings.Count(got, "will not boot with Secure Boot enforcing"); n != 1 {
		t.Errorf("the boot warning logged %d times over four generations that have it, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "skipped socket"); n != 2 {
		t.Errorf("the socket warning logged %d times (it came, went and came back), want 2:\n%s", n, got)
	}
	if !strings.Contains(got, "source=boot generation=1") || !strings.Contains(got, "source=rootfs generation=2") {
		t.Errorf("the warnings do not say their source and generation:\n%s", got)
	}

	buf.Reset()
	o.human = true
	newReport(o, true).generation(&live.Snapshot{Generation: 2, Status: live.Status{Generation: 2, BuildMs: 33, ChunksRebuilt: 1, ChunksTotal: 2}})
	if want := "liveiso: generation 2 ready in 33 ms (1 of 2 chunks)\n"; buf.String() != want {
		t.Errorf("human line %q, want %q", buf.String(), want)
	}
}
