package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/watch"
)

// Every subscriber is told of every generation from the one current when
// it subscribed, once and in order, with a reference of its own: a
// subscriber that holds generation 1 keeps it readable while ten newer ones
// pass, and its Release is what closes it.
func TestSubscribersGetEveryGenerationWithAReference(t *testing.T) {
	b, root, kernel := testBuilderKernel(t)
	d, batches := runDaemon(t, b, root)

	var mu sync.Mutex
	var early, late []*Snapshot
	d.Subscribe(func(s *Snapshot) { mu.Lock(); early = append(early, s); mu.Unlock() })
	for i := 2; i <= 6; i++ {
		write(t, filepath.Join(root, "etc/marker"), fmt.Sprintf("edit %d", i))
		batches <- watch.Batch{Paths: []string{"etc/marker"}}
		waitStatus(t, d, fmt.Sprintf("generation %d", i), func(s Status) bool { return s.Generation == uint64(i) && s.State == StateReady })
		if i == 3 {
			d.Subscribe(func(s *Snapshot) { mu.Lock(); late = append(late, s); mu.Unlock() })
		}
	}
	mu.Lock()
	defer mu.Unlock()
	numbers := func(ss []*Snapshot) []uint64 {
		var n []uint64
		for _, s := range ss {
			n = append(n, s.Generation)
		}
		return n
	}
	if got, want := numbers(early), []uint64{1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("the first subscriber was told of %v, want %v", got, want)
	}
	if got, want := numbers(late), []uint64{3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("a subscriber since generation 3 was told of %v, want %v", got, want)
	}
	// Each snapshot says how it was built, as status.json did.
	if st := early[5].Status; st.Generation != 6 || st.State != StateReady || st.ChunksTotal == 0 {
		t.Errorf("generation 6's snapshot says %+v", st)
	}
	// Generations 1..6 are held by the first subscriber, 3..6 by the
	// second, 6 by the daemon: one fd on the kernel each.
	if n := openFDs(t, kernel); n != 6 {
		t.Errorf("%d fds on the kernel with six generations held, want 6", n)
	}
	for _, s := range early {
		s.Release()
	}
	for _, s := range late[:3] {
		s.Release()
	}
	if n := openFDs(t, kernel); n != 1 {
		t.Errorf("%d fds on the kernel after the subscribers let go, want 1 (the current generation's)", n)
	}
	late[3].Release()
}

// Status is status.json as a value: the same document.
func TestStatusValueIsTheJSON(t *testing.T) {
	b, root := testBuilder(t)
	d, _ := runDaemon(t, b, root)
	var fromJSON Status
	if err := json.Unmarshal(d.StatusJSON(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); !reflect.DeepEqual(st, fromJSON) || st.Generation != 1 {
		t.Errorf("Status() = %+v\nstatus.json = %+v", st, fromJSON)
	}
}

// scriptedBuilder runs each build as its script says: "cancel" waits until
// the build is cancelled, "fail" fails at once; builds past the script are
// the inner builder's.
type scriptedBuilder struct {
	inner  Builder
	script []string
	calls  int
}

func (b *scriptedBuilder) Build(ctx context.Context, changed []string) (*generation.Generation, error) {
	b.calls++
	if b.calls <= len(b.script) {
		switch b.script[b.calls-1] {
		case "cancel":
			<-ctx.Done()
			return nil, ctx.Err()
		case "fail":
			return nil, errors.New("scripted failure")
		}
	}
	return b.inner.Build(ctx, changed)
}

func (b *scriptedBuilder) Settle(ctx context.Context) (cache.Settled, error) {
	return b.inner.Settle(ctx)
}

// After maxCancels cancellations in a row a build runs to its end; when it
// fails, that ends the row too: the next edit cancels the build after it
// again, as after a success.
func TestCancelsStartAgainAfterAFailedBuild(t *testing.T) {
	inner, root := testBuilder(t)
	// Build 1 is the first generation; 2 to 4 are cancelled by the next
	// edit; 5 runs to its end (maxCancels) and fails; 6 must be cancelled
	// by an edit again; 7 publishes.
	b := &scriptedBuilder{inner: inner, script: []string{"", "cancel", "cancel", "cancel", "fail", "cancel"}}
	d, batches := runDaemon(t, b, root)
	edit := func() { batches <- watch.Batch{Paths: []string{"etc/marker"}} }

	edit()
	for started := 3; started <= 5; started++ {
		waitStatus(t, d, fmt.Sprintf("build %d", started-1), func(s Status) bool { return s.Started == started-1 })
		edit()
	}
	s := waitStatus(t, d, "the failed build", func(s Status) bool { return s.State == StateError })
	if s.Cancelled != maxCancels || s.Started != 5 {
		t.Fatalf("after %d cancellations and a failure: %+v", maxCancels, s.BuildCounts)
	}
	edit()
	waitStatus(t, d, "build 6", func(s Status) bool { return s.Started == 6 })
	edit()
	s = waitStatus(t, d, "build 6 cancelled by an edit", func(s Status) bool { return s.Cancelled == maxCancels+1 })
	s = waitStatus(t, d, "generation 2", func(s Status) bool { return s.Generation == 2 && s.State == StateReady })
	if want := (BuildCounts{Started: 7, Cancelled: 4, Failed: 1, Published: 2}); s.BuildCounts != want {
		t.Errorf("build counts %+v, want %+v", s.BuildCounts, want)
	}
}
