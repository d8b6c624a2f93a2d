package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"

	"github.com/liveiso/liveiso/internal/testenv"
)

// liveMount is a running `liveiso mount` of a fixture.
type liveMount struct {
	dir      string // the mount point
	cmd      *exec.Cmd
	logPath  string
	exited   chan struct{}
	cacheDir string
}

// startMount starts liveiso mount of fx on a fresh mount point (or on dir,
// if given) and waits for its first generation.
func startMount(t *testing.T, fx fixture, appendArgs, dir, cacheDir string, more ...string) *liveMount {
	t.Helper()
	bin, err := liveisoBin()
	if err != nil {
		t.Fatalf("build liveiso: %v", err)
	}
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "mnt")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if cacheDir == "" {
		cacheDir = filepath.Join(t.TempDir(), "cache")
	}
	m := &liveMount{dir: dir, logPath: filepath.Join(t.TempDir(), "mount.log"), exited: make(chan struct{}), cacheDir: cacheDir}
	args := append([]string{"mount"}, fx.imageArgs(t, appendArgs)...)
	args = append(args, "--cache-dir", cacheDir, "--verbose")
	args = append(args, more...)
	m.cmd = exec.Command(bin, append(args, dir)...)
	logf, err := os.Create(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.cmd.Wait(); close(m.exited) }()
	// Cleanups run last first: the daemon is stopped (and unmounts), then
	// anything it left mounted is cleared.
	testenv.CleanupUnmount(t, dir)
	t.Cleanup(func() {
		m.stop(t)
		if t.Failed() {
			t.Logf("liveiso mount log (last lines):\n%s", m.logTail(30))
		}
	})
	m.waitFor(t, "the first generation", 2*time.Minute, func(s live.Status) bool { return s.Generation >= 1 })
	return m
}

// stop asks the daemon to unmount and exit, as a user's Ctrl-C does.
func (m *liveMount) stop(t *testing.T) { stopDaemon(t, "liveiso mount", m.cmd, m.exited) }

// stopDaemon sends a liveiso daemon SIGTERM, as a user's Ctrl-C does, and
// kills it when it has not exited 30 s later. A daemon already gone is left.
func stopDaemon(t *testing.T, name string, cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not exit 30 s after SIGTERM", name)
		cmd.Process.Kill()
		<-exited
	}
}

func (m *liveMount) image() string { return filepath.Join(m.dir, "image.iso") }

func (m *liveMount) logTail(n int) string { return fileTail(m.logPath, n) }

// fileTail is the last n lines of the file at path (a daemon's log).
func fileTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// status reads status.json; ok is false while it cannot be read (the mount
// is not up yet).
func (m *liveMount) status() (live.Status, bool) {
	var s live.Status
	b, err := os.ReadFile(filepath.Join(m.dir, "status.json"))
	if err != nil || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

func (m *liveMount) waitFor(t *testing.T, what string, timeout time.Duration, cond func(live.Status) bool) live.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, ok := m.status()
		if ok && cond(s) {
			return s
		}
		select {
		case <-m.exited:
			t.Fatalf("liveiso mount exited while waiting for %s:\n%s", what, m.logTail(30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; status %+v", timeout, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNext waits for a ready generation newer than gen.
func (m *liveMount) waitNext(t *testing.T, gen uint64) live.Status {
	t.Helper()
	return m.waitFor(t, fmt.Sprintf("a generation after %d", gen), 2*time.Minute, func(s live.Status) bool {
		return s.Generation > gen && s.State == live.StateReady
	})
}

// writeAtomic replaces path's content in one rename, as editors and package
// managers do.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// QEMU boots the fixture from the live MOUNTPOINT/image.iso.
func TestMountBoots(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "live boot "+time.Now().Format(time.RFC3339Nano))
	m := startMount(t, fx, "", "", "")
	vm := bootToMarker(t, testenv.VMOptions{CDROM: m.image(), NoReboot: true}, fx.marker)
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "guest did not power off: %v", err)
	}
}

// QEMU keeps running; the rootfs changes (a new marker and a few MB more, so
// the initrd grows); after the new generation is ready, the README's
// monitor recipe (a fresh open of the CD, then a reset) boots it.
func TestMountLiveReboot(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "before the edit")
	m := startMount(t, fx, testenv.ArgWait, "", "")
	vm := bootToMarker(t, testenv.VMOptions{CDROM: m.image()}, fx.marker)
	if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
		t.Fatal(err)
	}
	for i, marker := range []string{"after the first edit", "after the second edit"} {
		before, _ := m.status()
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
		writeAtomic(t, filepath.Join(fx.rootfs, fmt.Sprintf("payload-%d.bin", i)), randomBytes(t, 3<<20))
		// The two writes may become two generations (a lone edit is built
		// at once): wait for the one that holds the payload too.
		s := m.waitFor(t, "the generation with both edits", 2*time.Minute, func(s live.Status) bool {
			return s.State == live.StateReady && s.Generation > before.Generation && s.InitrdSize > before.InitrdSize
		})
		if s.Capacity != before.Capacity {
			t.Errorf("image.iso's size changed from %d to %d: QEMU would not see it", before.Capacity, s.Capacity)
		}
		t.Logf("generation %d ready in %d ms (%d of %d chunks rebuilt); resetting the guest", s.Generation, s.BuildMs, s.ChunksRebuilt, s.ChunksTotal)
		if err := vm.BootNewestCD(m.image()); err != nil {
			t.Fatal(err)
		}
		if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
			t.Fatalf("after reset %d: %v", i+1, err)
		}
	}
}

// The rootfs is edited continuously while the guest boots again and again
// (the README's monitor recipe: a fresh open of the CD, then a reset):
// every boot succeeds and prints a marker that existed as a whole.
func TestMountNoTornBoots(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "edit-0")
	m := startMount(t, fx, testenv.ArgWait, "", "")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			// The marker and a payload whose size changes every time, so
			// the initrd's length and every later byte move.
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(fmt.Sprintf("edit-%d\n", i)))
			writeAtomic(t, filepath.Join(fx.rootfs, "payload.bin"), randomBytes(t, 100_000+i*7919))
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: m.image()})
	whole := regexp.MustCompile(`^` + regexp.QuoteMeta(testenv.MarkerPrefix) + `edit-\d+$`)
	any := regexp.MustCompile(`^` + regexp.QuoteMeta(testenv.MarkerPrefix))
	for boot := 1; boot <= 3; boot++ {
		line, err := vm.WaitForLine(any, bootTimeout)
		if err != nil {
			t.Fatalf("boot %d: %v", boot, err)
		}
		if !whole.MatchString(line) {
			vm.Fatalf(t, "boot %d printed a marker that never existed: %q", boot, line)
		}
		if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
			t.Fatalf("boot %d: %v", boot, err)
		}
		s, _ := m.status()
		t.Logf("boot %d: %s (daemon at generation %d)", boot, line, s.Generation)
		if err := vm.BootNewestCD(m.image()); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := m.status()
	if s.Generation < 3 {
		t.Errorf("only %d generations during the test: the edits did not reach the image", s.Generation)
	}
}

// cp of image.iso while the rootfs changes every 100 ms always yields an
// image whose initrd unpacks; a copy after the edits stop is byte-identical
// to liveiso build of the final tree.
func TestMountNoTornCopies(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "copies")
	m := startMount(t, fx, "", "", "")

	stopEdits := editContinuously(t, fx.rootfs, "copy", 100*time.Millisecond, 50_000)
	defer stopEdits()
	work := t.TempDir()
	gens := map[uint64]bool{}
	deadline := time.Now().Add(time.Minute)
	for i := 0; len(gens) < 4 && time.Now().Before(deadline); i++ {
		cp := filepath.Join(work, fmt.Sprintf("copy-%d.iso", i))
		if out, err := exec.Command("cp", m.image(), cp).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		s, _ := m.status()
		gens[s.Generation] = true
		checkInitrdUnpacks(t, cp)
		os.Remove(cp)
	}
	stopEdits()
	if len(gens) < 4 {
		t.Errorf("the copies saw only generations %v: the edits did not make new generations while copying", gens)
	}

	// Once quiet: the live image is what liveiso build writes, then zeros.
	final := m.waitFor(t, "the last edit's generation", 2*time.Minute, func(s live.Status) bool {
		time.Sleep(500 * time.Millisecond) // longer than the watcher's debounce
		s2, _ := m.status()
		return s.State == live.StateReady && s2.Generation == s.Generation
	})
	liveCopy := readFile(t, m.image())
	built := readFile(t, fx.build(t, ""))
	if int64(len(liveCopy)) != final.Capacity {
		t.Errorf("image.iso is %d bytes, capacity %d", len(liveCopy), final.Capacity)
	}
	if !bytes.Equal(liveCopy[:len(built)], built) {
		t.Fatalf("the live image (generation %d) differs from liveiso build of the same tree in %d sectors",
			final.Generation, len(diffSectors(liveCopy[:len(built)], built)))
	}
	if bytes.ContainsFunc(liveCopy[len(built):], func(r rune) bool { return r != 0 }) {
		t.Errorf("the headroom after the image is not all zeros")
	}
}

// checkInitrdUnpacks extracts the initrd from an image with xorriso and
// lists it with the host's gzip (or zstd) and cpio.
func checkInitrdUnpacks(t *testing.T, img string) {
	t.Helper()
	initrd := extractInitrd(t, img)
	out, err := exec.Command("sh", "-c", hostDecompressor(t, initrd)+" < '"+initrd+"' | cpio -it --quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("the initrd of a copy taken during edits does not unpack: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "etc/marker") {
		t.Errorf("the initrd of a copy lacks etc/marker:\n%s", out)
	}
}

// A generation that fails to build is never served: the last good image
// stays, status.json and the log say why, and the next good edit recovers.
func TestMountFailingGeneration(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "failing generation")
	m := startMount(t, fx, "", "", "")
	good, _ := m.status()
	goodBytes := readFile(t, m.image())

	// newc cannot store a file of 4 GiB: the build fails naming it.
	big := filepath.Join(fx.rootfs, "var-huge.img")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s := m.waitFor(t, "the error", time.Minute, func(s live.Status) bool { return s.State == live.StateError })
	if !strings.Contains(s.Error, "var-huge.img") || s.Generation != good.Generation {
		t.Errorf("status after the failed build: %+v", s)
	}
	if got := readFile(t, m.image()); !bytes.Equal(got, goodBytes) {
		t.Errorf("image.iso changed after a failed build")
	}
	if !strings.Contains(m.logTail(20), "var-huge.img") {
		t.Errorf("the log does not name the file:\n%s", m.logTail(20))
	}

	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	s = m.waitNext(t, good.Generation)
	if s.Error != "" {
		t.Errorf("after the fix: %+v", s)
	}
}

// A daemon killed with SIGKILL leaves a stale mount; a new one on the same
// mount point clears it and, with the on-disk cache, serves its first
// generation without compressing anything.
func TestMountRestartAfterKill(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "restart")
	// Make the tree worth caching: a few MB of compressible data.
	var text bytes.Buffer
	for i := 0; text.Len() < 8<<20; i++ {
		fmt.Fprintf(&text, "line %d of a compressible file in the rootfs\n", i)
	}
	for i := 0; i < 4; i++ {
		if err := os.WriteFile(filepath.Join(fx.rootfs, fmt.Sprintf("usr-data-%d.txt", i)), text.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files changed within the last moments are "racy": their stat data
	// cannot vouch for their content yet, so the cache does not keep them
	// on disk. A restart is about a tree that has settled.
	time.Sleep(3 * time.Second)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	m := startMount(t, fx, "", "", cacheDir)
	cold, _ := m.status()
	firstBytes := readFile(t, m.image())

	m.cmd.Process.Kill()
	<-m.exited
	var st syscall.Stat_t
	if err := syscall.Stat(m.dir, &st); err != syscall.ENOTCONN {
		t.Logf("after SIGKILL, stat of the mount point: %v (expected ENOTCONN)", err)
	}

	m2 := startMount(t, fx, "", m.dir, cacheDir)
	warm, _ := m2.status()
	t.Logf("first generation: cold %d ms (%d chunks compressed), after restart %d ms (%d chunks compressed)",
		cold.BuildMs, cold.ChunksRebuilt, warm.BuildMs, warm.ChunksRebuilt)
	if warm.ChunksRebuilt != 0 {
		t.Errorf("after a restart on an unchanged tree, %d of %d chunks were compressed again", warm.ChunksRebuilt, warm.ChunksTotal)
	}
	if got := readFile(t, m2.image()); !bytes.Equal(got, firstBytes) {
		t.Errorf("the restarted daemon serves different bytes for the same tree")
	}
}

// A loop device attached to image.iso reads the same bytes as the file;
// it keeps reading that generation after a new one (its one open of
// image.iso is pinned, promise 7), even after `blockdev --flushbufs`; a
// loop device attached afresh reads the new generation (as the README
// says).
func TestMountLoopDevice(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "loop device")
	m := startMount(t, fx, "", "", "")
	attach := func() (string, *os.File) {
		t.Helper()
		out, err := exec.Command("losetup", "-r", "-f", "--show", m.image()).CombinedOutput()
		if err != nil {
			t.Fatalf("losetup -r -f --show: %v\n%s", err, out)
		}
		dev := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		// The holder keeps the loop device open, as a mount or a VM would.
		holder, err := os.Open(dev)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { holder.Close() })
		return dev, holder
	}
	check := func(when string, dev string, holder *os.File, want []byte) {
		t.Helper()
		got := make([]byte, len(want))
		if _, err := holder.ReadAt(got, 0); err != nil && err != io.EOF {
			t.Fatalf("%s: read %s: %v", when, dev, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s differs from the generation wanted in %d sectors", when, dev, len(diffSectors(got, want)))
		}
	}
	first := readFile(t, m.image())
	dev, holder := attach()
	check("first generation", dev, holder, first)

	before, _ := m.status()
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("loop device, second generation\n"))
	m.waitNext(t, before.Generation)
	second := readFile(t, m.image())
	if bytes.Equal(first, second) {
		t.Fatal("the second generation's image.iso is the first's")
	}
	if out, err := exec.Command("blockdev", "--flushbufs", dev).CombinedOutput(); err != nil {
		t.Fatalf("blockdev --flushbufs: %v\n%s", err, out)
	}
	check("the loop device attached before the new generation, after blockdev --flushbufs", dev, holder, first)
	dev2, holder2 := attach()
	check("a loop device attached after the new generation", dev2, holder2, second)
}

// editContinuously makes an edit of the rootfs every interval: etc/marker
// says PREFIX-i, and payload.bin is rewritten with payloadBytes+i*4099
// random bytes (so the initrd changes size), each in one rename. The
// returned stop ends the edits and waits for the last one; later calls do
// nothing.
func editContinuously(t *testing.T, rootfs, prefix string, interval time.Duration, payloadBytes int) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			select {
			case <-quit:
				return
			case <-time.After(interval):
			}
			writeAtomic(t, filepath.Join(rootfs, "etc/marker"), []byte(fmt.Sprintf("%s-%d\n", prefix, i)))
			writeAtomic(t, filepath.Join(rootfs, "payload.bin"), randomBytes(t, payloadBytes+i*4099))
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}
