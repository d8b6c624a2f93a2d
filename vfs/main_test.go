package vfs

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// helperEnv, set to a directory, makes the test binary a daemon that mounts
// there, says "mounted" and waits to be killed (TestStaleMountCleared).
const helperEnv = "LIVEISO_VFS_HELPER_MOUNT"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helperMount(dir))
	}
	os.Exit(m.Run())
}

func helperMount(dir string) int {
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	if _, err := mountSource(dir, src, Options{}, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(os.Stderr, "helper Mount: %v\n", err)
		return 1
	}
	fmt.Println("mounted")
	select {} // until SIGKILL
}
