package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pair is a host client and a guest server over a socketpair, as the
// serial line would join them; garbage comes first, as from an earlier
// boot.
func pair(t *testing.T, serve func(rw io.ReadWriter) error) *Client {
	t.Helper()
	host, guest := net.Pipe()
	go func() {
		guest.Write([]byte("garbage of an earlier boot LIVEISO-AGENT/1"))
		serve(guest)
		guest.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Handshake(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func realServer(rw io.ReadWriter) error {
	return Serve(rw, 42, log.New(io.Discard, "", 0))
}

func TestExecStatusAndStreams(t *testing.T) {
	c := pair(t, realServer)
	if c.BootID != 42 {
		t.Errorf("boot id %d, want 42", c.BootID)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		cmd            string
		status         int
		stdout, stderr string
	}{
		{"echo out; echo err >&2; exit 7", 7, "out\n", "err\n"},
		{"kill -9 $$", 137, "", ""},
		{"read x; echo got $x", 0, "got input\n", ""},
	} {
		var stdout, stderr bytes.Buffer
		r, err := c.Do(ctx, Request{Op: OpExec, Shell: tc.cmd}, strings.NewReader("input\n"), &stdout, &stderr)
		if err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		if r.Status() != tc.status || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
			t.Errorf("%s: status %d stdout %q stderr %q, want %d %q %q", tc.cmd, r.Status(), stdout.String(), stderr.String(), tc.status, tc.stdout, tc.stderr)
		}
	}
	r, err := c.Do(ctx, Request{Op: OpExec, Argv: []string{"/nonexistent/command"}}, nil, nil, nil)
	if err != nil || r.Status() != 127 || !strings.Contains(r.Error, "/nonexistent/command") {
		t.Errorf("missing command: %+v %v, want status 127 naming it", r, err)
	}
}

// Output far beyond every window arrives whole and in order, on both
// streams at once, through a slow reader.
func TestExecLargeOutput(t *testing.T) {
	c := pair(t, realServer)
	const n = 8 << 20
	cmd := fmt.Sprintf("head -c %d /dev/zero | tr '\\0' a & head -c %d /dev/zero | tr '\\0' b >&2; wait", n, n/2)
	var stdout, stderr bytes.Buffer
	slow := &slowWriter{w: &stdout}
	r, err := c.Do(context.Background(), Request{Op: OpExec, Shell: cmd}, nil, slow, &stderr)
	if err != nil || r.Status() != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if stdout.Len() != n || strings.Trim(stdout.String(), "a") != "" {
		t.Errorf("stdout: %d bytes, want %d of a", stdout.Len(), n)
	}
	if stderr.Len() != n/2 || strings.Trim(stderr.String(), "b") != "" {
		t.Errorf("stderr: %d bytes, want %d of b", stderr.Len(), n/2)
	}
}

type slowWriter struct {
	w     io.Writer
	count int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	s.count++
	if s.count%64 == 0 {
		time.Sleep(time.Millisecond)
	}
	return s.w.Write(p)
}

// A killed request (its context ends) ends with SIGKILL.
func TestExecCancel(t *testing.T) {
	c := pair(t, realServer)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := c.Do(ctx, Request{Op: OpExec, Shell: "sleep 100"}, nil, nil, nil)
	if err != nil || r.Status() != 128+int(syscall.SIGKILL) {
		t.Errorf("%+v %v, want status 137", r, err)
	}
}

// A tree copied in and out again keeps its bytes, modes, symlinks and
// modification times.
func TestCopyRoundTrip(t *testing.T) {
	c := pair(t, realServer)
	src := filepath.Join(t.TempDir(), "tree")
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	must(t, os.MkdirAll(filepath.Join(src, "sub/deeper"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o640))
	must(t, os.WriteFile(filepath.Join(src, "sub/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "sub/deeper/big"), bytes.Repeat([]byte("0123456789"), 100000), 0o600))
	must(t, os.Symlink("../a.txt", filepath.Join(src, "sub/link")))
	must(t, os.Chmod(filepath.Join(src, "sub/deeper"), 0o700))
	for _, p := range []string{"a.txt", "sub/run.sh", "sub/deeper/big", "sub/deeper", "sub", "."} {
		must(t, os.Chtimes(filepath.Join(src, p), mtime, mtime))
	}
	guest := filepath.Join(t.TempDir(), "in-the-guest", "tree")
	ctx := context.Background()
	must(t, c.CopyIn(ctx, src, guest))
	out := t.TempDir()
	must(t, c.CopyOut(ctx, guest, out))
	if a, b := listTree(t, src), listTree(t, filepath.Join(out, "tree")); a != b {
		t.Errorf("copied tree differs:\n%s\nwant\n%s", b, a)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listTree lists path, mode, mtime, size and digest (or link target).
func listTree(t *testing.T, root string) string {
	var b strings.Builder
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		must(t, err)
		fi, err := d.Info()
		must(t, err)
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		if fi.Mode()&fs.ModeSymlink == 0 {
			fmt.Fprintf(&b, " %s", fi.ModTime().UTC().Format(time.RFC3339Nano))
		}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			must(t, err)
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", l)
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// fakeAgent answers every request with the archive of entries as its
// output.
func fakeAgent(entries []tar.Header) func(rw io.ReadWriter) error {
	return func(rw io.ReadWriter) error {
		br := newReaderForTest(rw)
		rw.Write(helloFrame(7))
		if _, err := huntHello(br); err != nil {
			return err
		}
		m := newMux(rw)
		m.onOpen = func(s *stream, _ []byte) {
			tw := tar.NewWriter(s.out[tStdout])
			for _, h := range entries {
				h.Size = int64(len("EVIL"))
				if h.Typeflag != tar.TypeReg {
					h.Size = 0
				}
				tw.WriteHeader(&h)
				if h.Size > 0 {
					tw.Write([]byte("EVIL"))
				}
			}
			tw.Close()
			s.out[tStdout].Close()
			s.out[tStderr].Close()
			b, _ := json.Marshal(Result{})
			s.m.send(tExit, s.id, b)
		}
		m.run(br)
		return nil
	}
}

// Whatever the guest sends, a copy out writes nothing outside HOST_DIR.
func TestCopyOutHostile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tar.Header
	}{
		{"dotdot", []tar.Header{{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "../escaped", Typeflag: tar.TypeReg, Mode: 0o644}}},
		{"nested dotdot", []tar.Header{{Name: "a/../../escaped", Typeflag: tar.TypeReg, Mode: 0o644}}},
		{"absolute", []tar.Header{{Name: "/tmp/escaped", Typeflag: tar.TypeReg, Mode: 0o644}}},
		{"symlink then through it", []tar.Header{
			{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "OUTSIDE"},
			{Name: "link/escaped", Typeflag: tar.TypeReg, Mode: 0o644},
		}},
		{"symlink replaced by file", []tar.Header{
			{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "f", Typeflag: tar.TypeSymlink, Linkname: "../../OUTSIDE/escaped"},
			{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644},
		}},
		{"hard link", []tar.Header{{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}},
		{"device", []tar.Header{{Name: ".", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "d", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			outside := filepath.Join(top, "OUTSIDE")
			hostDir := filepath.Join(top, "hostdir")
			must(t, os.Mkdir(outside, 0o755))
			must(t, os.Mkdir(hostDir, 0o755))
			// The symlink in the guest's archive is relative to
			// hostDir/results: point it at OUTSIDE from there too.
			for i, h := range tc.entries {
				if h.Linkname == "OUTSIDE" {
					tc.entries[i].Linkname = outside
				}
			}
			c := pair(t, fakeAgent(tc.entries))
			err := c.CopyOut(context.Background(), "/results", hostDir)
			if _, serr := os.Lstat(filepath.Join(outside, "escaped")); serr == nil {
				t.Errorf("a file was written outside %s", hostDir)
			}
			if _, serr := os.Lstat(filepath.Join(top, "escaped")); serr == nil {
				t.Errorf("a file was written beside %s", hostDir)
			}
			if _, serr := os.Lstat("/tmp/escaped"); serr == nil {
				t.Errorf("/tmp/escaped was written")
			}
			if tc.name == "symlink replaced by file" {
				// Allowed: the symlink is replaced, nothing goes through it.
				if err != nil {
					t.Errorf("err %v", err)
				}
				if b, _ := os.ReadFile(filepath.Join(hostDir, "results/f")); string(b) != "EVIL" {
					t.Errorf("results/f: %q", b)
				}
				return
			}
			if err == nil {
				t.Errorf("copy out of a hostile archive succeeded")
			} else if !errors.Is(err, ErrOutside) && !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR) && !strings.Contains(err.Error(), "only files, directories and symlinks") {
				t.Errorf("err %v, want a refusal", err)
			}
		})
	}
}

// Input that does not compress and input that does both arrive whole.
func TestExecInput(t *testing.T) {
	c := pair(t, realServer)
	random := make([]byte, 1<<20)
	if _, err := io.ReadFull(rand.Reader, random); err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{random, bytes.Repeat([]byte("compressible "), 100000)} {
		var stdout bytes.Buffer
		r, err := c.Do(context.Background(), Request{Op: OpExec, Argv: []string{"sha256sum"}}, bytes.NewReader(in), &stdout, nil)
		if err != nil || r.Status() != 0 {
			t.Fatalf("%+v %v", r, err)
		}
		if want := fmt.Sprintf("%x  -\n", sha256.Sum256(in)); stdout.String() != want {
			t.Errorf("sha256sum of the input in the guest: %q, want %q", stdout.String(), want)
		}
	}
}

// Output still on its way when the command exits is not cut off: a slow
// line drains for longer than the agent's idle wait.
func TestExecSlowDrain(t *testing.T) {
	c := pair(t, realServer)
	var stdout bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		time.Sleep(300 * time.Millisecond)
		return stdout.Write(p)
	})
	in := make([]byte, 512<<10)
	rand.Read(in)
	r, err := c.Do(context.Background(), Request{Op: OpExec, Argv: []string{"cat"}}, bytes.NewReader(in), w, nil)
	if err != nil || r.Status() != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if !bytes.Equal(stdout.Bytes(), in) {
		t.Errorf("got %d bytes of %d", stdout.Len(), len(in))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
