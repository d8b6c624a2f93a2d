package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// freePort is a loopback port that nothing listened on a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// startNBD runs an NBD server command until the test ends and waits until
// its port accepts connections.
func startNBD(t *testing.T, port string, name string, args ...string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s output:\n%s", name, b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s %s exited:\n%s", name, strings.Join(args, " "), b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept connections on port %s after 30 s", name, port)
		}
	}
}

// nbdServers are the NBD servers the README names, with their arguments
// for an export of image on port.
var nbdServers = map[string]func(port, image string) []string{
	"qemu-nbd": func(port, image string) []string {
		return []string{"--read-only", "--persistent", "--shared=0", "-f", "raw", "-b", "127.0.0.1", "-p", port, image}
	},
	"nbdkit": func(port, image string) []string {
		return []string{"-f", "-i", "127.0.0.1", "-p", port, "--readonly", "--filter=multi-conn",
			"file", image, "multi-conn-mode=disable"}
	},
}

// QEMU boots the fixture's live image over NBD, served from
// MOUNTPOINT/image.iso by qemu-nbd (one open of the file for all
// connections) and by nbdkit's file plugin held to one connection (one open
// per connection). The guest probes its medium for 30 s while the rootfs
// changes every 0.5 s and reads the generation it booted throughout
// (promise 7). Then, as the README says: with qemu-nbd a reset boots the
// same generation again (its one open never moves on); with nbdkit, the
// monitor recipe (a fresh connection, then a reset) boots the newest.
func TestNBDPromise7(t *testing.T) {
	t.Parallel()
	for name, args := range nbdServers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(name); err != nil {
				t.Fatalf("%s is not installed (scripts/setup.sh installs it): %v", name, err)
			}
			fx := probeFixture(t, "nbd "+name, "wait")
			m := startMount(t, fx, probeArgs, "", "")
			port := freePort(t)
			startNBD(t, port, name, args(port, m.image())...)
			url := "nbd://127.0.0.1:" + port
			stopEdits := editContinuously(t, fx.rootfs, "edit", probeEditInterval, 50_000)
			defer stopEdits()
			vm := testenv.StartVM(t, testenv.VMOptions{
				Drives: []string{"file=" + url + ",media=cdrom,readonly=on,format=raw"},
				Boot:   "d",
			})
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
			finalEdit(t, fx, "nbd "+name+" final")
			m.waitNext(t, before.Generation)
			want := sha256File(t, filepath.Join(m.dir, "initrd.img"))

			if name == "qemu-nbd" {
				if err := vm.SystemReset(); err != nil {
					t.Fatal(err)
				}
				line, err := vm.WaitForLine(probeBootRe, bootTimeout)
				if err != nil {
					t.Fatal(err)
				}
				if got := probeBootRe.FindStringSubmatch(line)[2]; got != rep.boot {
					t.Errorf("after a reset the guest's initrd is %s, want the generation qemu-nbd opened (%s)", got, rep.boot)
				}
				return
			}
			if err := vm.BootNewestCD(url); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.WaitForLine(markerLine("nbd "+name+" final"), bootTimeout); err != nil {
				t.Fatal(err)
			}
			line, err := vm.WaitForLine(probeBootRe, bootTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if got := probeBootRe.FindStringSubmatch(line)[2]; got != want {
				t.Errorf("after a fresh connection and a reset the guest's initrd is %s, want the newest generation's %s", got, want)
			}
		})
	}
}
