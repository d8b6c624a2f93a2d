package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestBurstIsOneBatch(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "usr/share/keep")
	w, _ := start(t, root, Options{}, hooks{}) // the default timings are what is tested

	var files []string
	for d := range 20 {
		for f := range 100 {
			dir := "usr/share/pkg" // existing and new directories both
			if d%2 == 1 {
				dir = fmt.Sprintf("usr/lib/pkg%02d", d)
			}
			files = append(files, fmt.Sprintf("%s/%02d-%03d", dir, d, f))
		}
	}
	began := time.Now()
	mkfiles(t, root, files...)
	wrote := time.Since(began)
	bs := await(t, w, 20*time.Second, false, files...)
	drain(w, time.Second)
	t.Logf("2000 files written in %v: %d batches", wrote, len(bs))
	// One batch, or a few when the machine is so loaded that the writes took
	// longer than MaxDelay: never one per file.
	if limit := 3 + int(wrote/DefaultMaxDelay); len(bs) > limit {
		t.Errorf("%d batches for a burst of 2000 files written in %v, want at most %d", len(bs), wrote, limit)
	}
}

// Past the path cap a batch turns Full instead of growing without bound.
func TestManyPathsTurnFull(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, fast, hooks{maxPaths: 100})
	var files []string
	for i := range 150 {
		files = append(files, fmt.Sprintf("f%03d", i))
	}
	mkfiles(t, root, files...)
	bs := await(t, w, 5*time.Second, false, files...)
	if !bs[len(bs)-1].Full {
		t.Errorf("150 paths with a cap of 100 gave %d batches, the last not Full", len(bs))
	}
}

func TestContinuousWritesStillEmit(t *testing.T) {
	root := t.TempDir()
	opts := Options{Debounce: 200 * time.Millisecond, MaxDelay: 500 * time.Millisecond}
	w, _ := start(t, root, opts, hooks{})

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				os.WriteFile(filepath.Join(root, "log"), []byte(fmt.Sprint(i)), 0o644)
			}
		}
	}()
	var during int
	deadline := time.After(3 * time.Second)
loop:
	for {
		select {
		case b := <-w.Batches():
			checkBatch(t, b)
			during++
		case <-deadline:
			break loop
		}
	}
	close(stop)
	<-done
	// A write every 50 ms never leaves the 200 ms of quiet the debounce waits
	// for; only MaxDelay lets batches out: about 6 in 3 s, at least 2 even on
	// a loaded machine.
	if during < 2 {
		t.Errorf("%d batches during 3 s of writes every 50 ms with MaxDelay 500ms, want at least 2", during)
	}
	t.Logf("%d batches during 3 s of continuous writes", during)
	await(t, w, 5*time.Second, true, "log")
}

// TestLoneEditSkipsDebounce: with a debounce of a minute, a lone edit on a
// quiet tree is still a batch at once (after Settle), while an edit right
// after it waits for the debounce, as inside a burst.
func TestLoneEditSkipsDebounce(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, Options{Debounce: time.Minute, MaxDelay: time.Hour}, hooks{})
	mkfiles(t, root, "etc/hostname")
	select {
	case b := <-w.Batches():
		if !slices.Contains(b.Paths, "etc/hostname") && !slices.Contains(b.Paths, "etc") {
			t.Errorf("lone edit: batch %+v, want etc/hostname", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a lone edit waited for the one-minute debounce")
	}
	mkfiles(t, root, "etc/hosts")
	select {
	case b := <-w.Batches():
		t.Errorf("an edit right after another came out as %+v before the debounce", b)
	case <-time.After(300 * time.Millisecond):
	}
}
