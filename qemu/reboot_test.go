package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BootAgain stops the guest, calls moveOn while it is stopped, lets
// system_reset reset (under RebootStops QEMU would turn it into a stop),
// and continues only after the RESET event, restoring the reboot action.
func TestBootAgain(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, rebootStops := range []bool{false, true} {
		log := filepath.Join(t.TempDir(), "qmp.log")
		t.Setenv(fakeQEMUEnv, "1")
		t.Setenv(fakeQEMULogEnv, log)
		m := Machine{Accel: TCG, MemoryMB: 64, QMP: filepath.Join(t.TempDir(), "qmp.sock"), NoShutdown: true, RebootStops: rebootStops}
		p, err := Start(context.Background(), exe, m, IO{})
		if err != nil {
			t.Fatal(err)
		}
		var atMoveOn string
		if err := p.BootAgain(context.Background(), func() {
			b, _ := os.ReadFile(log)
			atMoveOn = string(b)
		}); err != nil {
			t.Errorf("BootAgain: %v", err)
		}
		p.Stop(context.Background(), 5*time.Second)
		b, _ := os.ReadFile(log)
		got := strings.Split(strings.TrimSpace(string(b)), "\n")
		got = got[1:] // qmp_capabilities
		want := []string{"stop <nil>", "set-action map[reboot:reset]", "system_reset <nil>", "cont <nil>", "quit <nil>"}
		if rebootStops {
			want = []string{"stop <nil>", "set-action map[reboot:reset]", "system_reset <nil>", "set-action map[reboot:shutdown]", "cont <nil>", "quit <nil>"}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("RebootStops %v: QMP commands\n%s\nwant\n%s", rebootStops, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.HasSuffix(strings.TrimSpace(atMoveOn), "stop <nil>") {
			t.Errorf("RebootStops %v: moveOn ran after\n%s\nwant right after stop", rebootStops, atMoveOn)
		}
	}
}
