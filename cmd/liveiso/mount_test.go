package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// After Ctrl-C, a mount whose image is still open (QEMU) waits for it to be
// closed; a second Ctrl-C must end the daemon instead of being swallowed.
func TestMountSecondSignalExits(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and /dev/fuse")
	}
	root := t.TempDir()
	for _, d := range []string{"etc", "sbin", "dev"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "sbin/init"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte(strings.Repeat("k", 5000)), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	done := make(chan error, 1)
	go func() {
		cli := newRootCommand()
		cli.SetArgs([]string{"mount", "--rootfs", root, "--kernel", kernel, "--cache-dir", t.TempDir(), "--quiet", mnt})
		_, err := cli.ExecuteC()
		done <- err
	}()
	var f *os.File
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if f, err = os.Open(filepath.Join(mnt, "image.iso")); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("mount ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("image.iso never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer f.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("mount ended with image.iso still open: %v", err)
	case <-time.After(time.Second):
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second interrupt did not end the mount")
	}
}
