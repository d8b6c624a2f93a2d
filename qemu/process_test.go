package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeQEMUEnv makes the test binary act as QEMU: it serves QMP on the
// socket of its -qmp argument until told to quit.
const fakeQEMUEnv = "LIVEISO_TEST_FAKE_QEMU"

// fakeQEMULogEnv, when set, names a file the fake QEMU appends each QMP
// command it gets to, with its arguments.
const fakeQEMULogEnv = "LIVEISO_TEST_FAKE_QEMU_LOG"

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

func TestMain(m *testing.M) {
	if os.Getenv(fakeQEMUEnv) == "1" {
		os.Exit(fakeQEMUMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeQEMUMain(args []string) int {
	if os.Getenv(fakeQEMUEnv+"_HANG") == "1" {
		select {} // a QEMU that never opens its QMP socket
	}
	var path string
	for i, a := range args {
		if a == "-qmp" && i+1 < len(args) {
			path = strings.TrimPrefix(strings.Split(args[i+1], ",")[0], "unix:")
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return 1
	}
	conn, err := l.Accept()
	if err != nil {
		return 1
	}
	enc := json.NewEncoder(conn)
	enc.Encode(map[string]any{"QMP": map[string]any{}})
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var cmd map[string]any
		json.Unmarshal(sc.Bytes(), &cmd)
		if log := os.Getenv(fakeQEMULogEnv); log != "" {
			appendLine(log, fmt.Sprint(cmd["execute"], " ", cmd["arguments"]))
		}
		if cmd["execute"] == "system_reset" {
			// As QEMU does: the event may come before the reply.
			enc.Encode(map[string]any{"event": "RESET", "data": map[string]any{"guest": false}})
		}
		enc.Encode(map[string]any{"return": map[string]any{}, "id": cmd["id"]})
		if cmd["execute"] == "quit" {
			return 0
		}
	}
	return 0
}

// QEMU dies with liveiso (Pdeathsig), but Pdeathsig follows the OS thread
// that forked it: QEMU must outlive the thread of the goroutine that
// called Start, which the runtime ends when that goroutine exits locked to
// it.
func TestProcessOutlivesTheStartingThread(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQEMUEnv, "1")
	m := Machine{Accel: TCG, MemoryMB: 64, QMP: filepath.Join(t.TempDir(), "qmp.sock")}
	started := make(chan *Process, 1)
	var start func()
	start = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if unix.Gettid() == os.Getpid() {
			// The main thread is never ended, only parked: try another.
			runtime.UnlockOSThread()
			go start()
			return
		}
		p, err := Start(t.Context(), exe, m, IO{})
		if err != nil {
			t.Error(err)
		}
		started <- p
	}
	go start()
	p := <-started
	if p == nil {
		t.FailNow()
	}
	defer p.Kill()
	time.Sleep(300 * time.Millisecond) // for the runtime to end the thread
	select {
	case <-p.Done():
		t.Fatalf("QEMU ended with the thread that started it: %v", p.Err())
	default:
	}
	if err := p.Reset(t.Context(), false); err != nil {
		t.Errorf("system_reset: %v", err)
	}
	p.Stop(t.Context(), 5*time.Second)
	if p.Err() != nil {
		t.Errorf("QEMU did not quit cleanly: %v", p.Err())
	}
}

// A cancelled ctx ends Start at once, QEMU killed, when QMP has not
// answered yet (a Ctrl-C while QEMU starts waits for nothing).
func TestStartCancelled(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQEMUEnv, "1")
	t.Setenv(fakeQEMUEnv+"_HANG", "1")
	m := Machine{Accel: TCG, MemoryMB: 64, QMP: filepath.Join(t.TempDir(), "qmp.sock")}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		p, err := Start(ctx, exe, m, IO{})
		if p != nil {
			p.Kill()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Start with its ctx cancelled: %v, want context.Canceled", err)
		}
	case <-time.After(qmpTimeout / 2):
		t.Fatalf("Start still waiting %v after its ctx was cancelled", qmpTimeout/2)
	}
}
