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
	a.touch(t0.Add(time.Second))
	b := pending{}
	b.add("d", true, 10)
	b.add("d/y", false, 10)
	b.touch(t0)
	b.touch(t0.Add(3 * time.Second))
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
	p := pending{}
	p.touch(t0)
	if got := p.due(150*time.Millisecond, 2*time.Second); !got.Equal(t0.Add(150 * time.Millisecond)) {
		t.Errorf("due after one event = %v, want first+debounce", got.Sub(t0))
	}
	p.touch(t0.Add(1950 * time.Millisecond))
	if got := p.due(150*time.Millisecond, 2*time.Second); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("due in a long burst = %v, want first+maxDelay", got.Sub(t0))
	}
}
