package vfs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// openImages are the open image.iso handles, each with the process that
// opened it, so that MoveOn can find a virtual machine's handles. A guest
// reads the generation it booted until the one who resets it says it boots
// again (promise 7): nothing it reads moves it on, since a running kernel
// reads everything firmware reads (sector 0, the volume descriptors, the
// boot catalog and loader in a copy of the whole medium).
type openImages struct {
	mu      sync.Mutex
	handles map[*imageHandle]int // handle → opening process (thread group id)
}

// add registers h, opened by the thread tid.
func (o *openImages) add(h *imageHandle, tid uint32) {
	pid := threadGroup(tid)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.handles == nil {
		o.handles = make(map[*imageHandle]int)
	}
	o.handles[h] = pid
}

func (o *openImages) remove(h *imageHandle) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.handles, h)
}

// of returns the handles process pid opened.
func (o *openImages) of(pid int) []*imageHandle {
	o.mu.Lock()
	defer o.mu.Unlock()
	var hs []*imageHandle
	for h, p := range o.handles {
		if p == pid {
			hs = append(hs, h)
		}
	}
	return hs
}

// MoveOn moves every image.iso handle that process pid holds open on to the
// newest snapshot, and returns how many moved. Call it for a virtual machine
// that is about to boot again (liveiso run does, with the guest stopped,
// before system_reset): its firmware then reads the newest generation,
// while every other reader of image.iso keeps its own.
func (s *Server) MoveOn(pid int) int {
	moved := 0
	for _, h := range s.images.of(pid) {
		if h.moveTo(s.current.Acquire()) {
			moved++
		}
	}
	if moved > 0 {
		s.log.Info("image.iso handles moved on to the newest generation", "pid", pid, "handles", moved)
	}
	return moved
}

// moveTo makes cur, with the reference the caller hands over, the
// handle's snapshot, unless cur is nil or already pinned, or the handle was
// released. Reads in flight keep the snapshot they hold (pinned.forRead).
func (h *imageHandle) moveTo(cur *live.Snapshot) bool {
	if cur == nil {
		return false
	}
	for {
		old := h.pin.p.Load()
		if old == nil || old == cur {
			cur.Release()
			return false
		}
		if h.pin.p.CompareAndSwap(old, cur) {
			old.Release()
			return true
		}
	}
}

// callerTID is the thread that made the FUSE request in ctx, 0 when unknown.
func callerTID(ctx context.Context) uint32 {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Pid
	}
	return 0
}

// threadGroup is the process (thread group) of thread tid: FUSE names the
// thread that made a request, and QEMU opens its drives from any of its
// threads. It is tid itself when /proc does not say.
func threadGroup(tid uint32) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return int(tid)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("Tgid:")); ok {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(v))); err == nil {
				return pid
			}
		}
	}
	return int(tid)
}
