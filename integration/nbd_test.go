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

// QEMU boots the fixture's live image over NBD, served from
// MOUNTPOINT/image.iso by qemu-nbd (one open of the file for all
// connections) and by nbdkit's file plugin held to one connection (it opens
// the file once per connection); after an edit, a reset boots the new
// marker, because the one open image.iso moves on at the volume
// descriptors, as QEMU's own does.
func TestNBDBoots(t *testing.T) {
	t.Parallel()
	servers := map[string]func(port, image string) []string{
		"qemu-nbd": func(port, image string) []string {
			return []string{"--read-only", "--persistent", "--shared=0", "-f", "raw", "-b", "127.0.0.1", "-p", port, image}
		},
		"nbdkit": func(port, image string) []string {
			return []string{"-f", "-i", "127.0.0.1", "-p", port, "--readonly", "--filter=multi-conn",
				"file", image, "multi-conn-mode=disable"}
		},
	}
	for name, args := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(name); err != nil {
				t.Fatalf("%s is not installed (scripts/setup.sh installs it): %v", name, err)
			}
			fx := newFixture(t, "nbd "+name)
			m := startMount(t, fx, testenv.ArgWait, "", "")
			port := freePort(t)
			startNBD(t, port, name, args(port, m.image())...)
			vm := bootToMarker(t, testenv.VMOptions{
				Drives: []string{"file=nbd://127.0.0.1:" + port + ",media=cdrom,readonly=on,format=raw"},
				Boot:   "d",
			}, fx.marker)
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
				t.Fatal(err)
			}
			before, _ := m.status()
			marker := "nbd " + name + " after the edit"
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
			s := m.waitNext(t, before.Generation)
			t.Logf("generation %d ready; resetting the guest", s.Generation)
			if err := vm.SystemReset(); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
		})
	}
}
