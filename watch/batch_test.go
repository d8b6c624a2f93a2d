package watch

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPendingBatch(t *testing.T) {
	type change struct {
		rel string
		dir bool // appeared as a directory
	}
	tests := []struct {
		name    string
		changes []change
		want    []string
	}{
		{"dedup and sort", []change{{"b", false}, {"a", false}, {"b", false}, {".", false}}, []string{".", "a", "b"}},
		{"new dir swallows its subtree", []change{{"d/x", false}, {"d", true}, {"d/e/f", false}, {"dd", false}},
			[]string{"d", "dd"}},
		{"changed dir keeps its children", []change{{"etc", false}, {"etc/passwd", false}}, []string{"etc", "etc/passwd"}},
		{"new dir deep", []change{{"a/b", true}, {"a/b/c", true}, {"a/b/c/d", true}, {"a/b/c/d/f", false}, {"a/bc", false}},
			[]string{"a/b", "a/bc"}},
		{"dir flag survives a later plain event", []change{{"n", true}, {"n", false}, {"n/f", false}}, []string{"n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p pending
			for _, c := range tt.changes {
				p.add(c.rel, c.dir, maxBatchPaths)
			}
			got := p.batch()
			if got.Full || !slices.Equal(got.Paths, tt.want) {
				t.Errorf("batch = %+v, want paths %q", got, tt.want)
			}
		})
	}
}

func TestPendingCapTurnsFull(t *testing.T) {
	var p pending
	for i := range 101 {
		p.add(fmt.Sprintf("f%d", i), false, 100)
	}
	if b := p.batch(); !b.Full || b.Paths != nil {
		t.Errorf("101 paths with a cap of 100: batch = %d paths, full %v; want Full", len(b.Paths), b.Full)
	}
	p.add("more", false, 100)
	if b := p.batch(); !b.Full {
		t.Errorf("a Full batch stopped being Full")
	}
}

func TestPendingMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := pending{}
	a.add("x", false, 10)
	a.touch(t0.Add(time.Second), time.Time{})
	b := pending{}
	b.add("d", true, 10)
	b.add("d/y", false, 10)
	b.touch(t0, time.Time{})
	b.touch(t0.Add(3*time.Second), time.Time{})
	a.merge(&b, 10)
	if got := a.batch().Paths; !slices.Equal(got, []string{"d", "x"}) {
		t.Errorf("merged paths = %q, want [d x]", got)
	}
	if !a.first.Equal(t0) || !a.last.Equal(t0.Add(3*time.Second)) {
		t.Errorf("merged times = %v..%v, want %v..%v", a.first, a.last, t0, t0.Add(3*time.Second))
	}
	full := pending{full: true}
	a.merge(&full, 10)
	if !a.batch().Full {
		t.Errorf("merging a Full batch did not make it Full")
	}
}

func TestPendingDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tm := timing{settle: 5 * time.Millisecond, debounce: 150 * time.Millisecond, loneIdle: time.Second, maxDelay: 2 * time.Second}
	p := pending{}
	p.touch(t0, t0.Add(-time.Second))
	if got := p.due(tm); !got.Equal(t0.Add(5 * time.Millisecond)) {
		t.Errorf("due after one event on a quiet tree = %v, want first+settle", got.Sub(t0))
	}
	p.touch(t0.Add(1950*time.Millisecond), t0)
	if got := p.due(tm); !got.Equal(t0.Add(1955 * time.Millisecond)) {
		t.Errorf("due after two events on a quiet tree = %v, want last+settle", got.Sub(t0))
	}
	for i := range loneEvents {
		p.touch(t0.Add(1950*time.Millisecond+time.Duration(i)), t0)
	}
	if got := p.due(tm); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("due in a long burst = %v, want first+maxDelay", got.Sub(t0))
	}
}

// TestPendingDueLoneOrBurst: which quiet time ends a batch.
func TestPendingDueLoneOrBurst(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tm := timing{settle: 5 * time.Millisecond, debounce: 50 * time.Millisecond, loneIdle: 200 * time.Millisecond, maxDelay: 2 * time.Second}
	for _, tc := range []struct {
		name        string
		events      int
		quietBefore time.Duration // 0: no change before
		full        bool
		wait        time.Duration
	}{
		{"first change ever", 1, 0, false, tm.settle},
		{"editor save after a quiet tree", loneEvents, time.Second, false, tm.settle},
		{"a burst's first dozens of events", loneEvents + 1, time.Second, false, tm.debounce},
		{"a change soon after the last batch", 1, 199 * time.Millisecond, false, tm.debounce},
		{"a change just after the lone idle", 1, 200 * time.Millisecond, false, tm.settle},
		{"a full rescan", 1, time.Second, true, tm.debounce},
	} {
		var p pending
		var prev time.Time
		if tc.quietBefore > 0 {
			prev = t0.Add(-tc.quietBefore)
		}
		for i := range tc.events {
			p.touch(t0.Add(time.Duration(i)*time.Microsecond), prev)
			prev = t0.Add(time.Duration(i) * time.Microsecond)
		}
		if tc.full {
			p.setFull()
		}
		if got, want := p.due(tm), p.last.Add(tc.wait); !got.Equal(want) {
			t.Errorf("%s: due %v after the last change, want %v", tc.name, got.Sub(p.last), tc.wait)
		}
	}
}
