package live

import (
	"time"

	"github.com/liveiso/liveiso/generation"
)

// Publishing: a generation that built becomes the current snapshot, every
// outlet gets it (Subscribe), then status.json says so. The capacity of
// image.iso is decided here, at each publication.

// Subscribe makes fn an outlet of the daemon: it is called with the current
// snapshot, if there is one, and then with every snapshot published, in
// order, each with a reference that fn owns and must Release (at once, or
// when it lets go of the snapshot). fn runs on the publishing goroutine
// and must not block: it stores a pointer, tells the kernel, sends on a
// buffered channel.
func (d *Daemon) Subscribe(fn func(*Snapshot)) {
	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	d.subs = append(d.subs, fn)
	if s := d.current.Acquire(); s != nil {
		fn(s)
	}
}

// publish makes g the current generation, taking over the caller's
// reference to it.
func (d *Daemon) publish(g *generation.Generation) {
	size := g.Image.Size()
	capacity := d.capacity.Load()
	switch {
	case capacity == 0 && d.opts.CapacityBytes > 0:
		capacity = d.opts.CapacityBytes
		if capacity < size {
			capacity = autoCapacity(size)
			d.log.Warn("--capacity is smaller than the image; using the automatic capacity instead",
				"requested", d.opts.CapacityBytes, "image_size", size, "capacity", capacity)
		}
	case capacity == 0:
		capacity = autoCapacity(size)
	case size > capacity:
		grown := autoCapacity(size)
		d.log.Warn("image outgrew its capacity; image.iso grows, and readers that opened it before (QEMU, loop devices) must reopen it to see the new size",
			"generation", g.Number, "image_size", size, "old_capacity", capacity, "capacity", grown)
		capacity = grown
		d.st.CapacityGrown++
	}
	d.capacity.Store(capacity)

	s := g.Stats
	d.st = Status{
		Generation:        g.Number,
		State:             StateReady,
		ImageSize:         size,
		Capacity:          capacity,
		CapacityGrown:     d.st.CapacityGrown,
		InitrdSize:        g.Initrd.Size(),
		InitrdUnpacked:    s.BytesIn,
		ChunksTotal:       s.ChunksTotal,
		ChunksRebuilt:     s.ChunksRebuilt,
		ChunksRacy:        s.ChunksRacy,
		BytesCompressed:   s.BytesCompressed,
		Entries:           s.Entries,
		Files:             g.Files,
		BuildMs:           g.Took.Milliseconds(),
		Rootfs:            d.opts.Rootfs,
		Warnings:          g.Warnings,
		SecureBoot:        g.SecureBoot,
		Joliet:            g.Joliet,
		Arch:              string(g.Arch),
		BuildCounts:       d.st.BuildCounts,
		Compression:       string(g.Compression.Compression),
		CompressionReason: g.Compression.Reason,
	}
	d.st.Published++
	snap := &Snapshot{
		Generation:  g.Number,
		Image:       g.Image,
		ImageSize:   size,
		Capacity:    capacity,
		Initrd:      g.Initrd,
		InitrdSize:  g.Initrd.Size(),
		InitrdParts: g.Initrd.Parts(),
		Kernel:      g.Kernel,
		KernelSize:  g.KernelSize,
		Published:   time.Now(),
		Holds:       g, // Build's reference
	}
	if g.UKI != nil { // a nil *uki.Layout is not a nil io.ReaderAt
		snap.UKI, snap.UKISize = g.UKI, g.UKI.Size()
	}
	if g.Squashfs != nil {
		snap.Squashfs, snap.SquashfsSize = g.Squashfs, g.Squashfs.Size()
	}
	d.st.UKISize = snap.UKISize
	d.st.ReadyAt = snap.Published.UTC().Format(time.RFC3339Nano)
	snap.Status = d.st
	d.settleDue = s.ChunksRacy > 0

	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	// The outlets first, then status.json: a reader that sees the new
	// generation in status.json finds it in every outlet.
	d.current.Replace(snap)
	for _, fn := range d.subs {
		snap.Retain()
		fn(snap)
	}
	d.publishStatus()
	d.log.Info("generation ready", "generation", g.Number, "ms", g.Took.Milliseconds(),
		"chunks_rebuilt", s.ChunksRebuilt, "chunks_total", s.ChunksTotal, "chunks_racy", s.ChunksRacy,
		"image_size", size, "initrd_size", g.Initrd.Size())
}

// fail records a build failure. The current generation stays.
func (d *Daemon) fail(err error) {
	d.st.Failed++
	// The builder's last pack may be this failed build's, not the served
	// generation's: nothing to settle for the one served.
	d.settleDue = false
	d.st.State = StateError
	d.st.Error = err.Error()
	d.publishStatus()
	if d.st.Generation == 0 {
		d.log.Error("build failed", "err", err)
		return
	}
	d.log.Error("build failed; still serving the last good generation", "generation", d.st.Generation, "err", err)
}

// autoCapacity is the default size of image.iso for an image of size bytes.
func autoCapacity(size int64) int64 {
	c := max(2*size, size+headroomBytes)
	return (c + MiB - 1) / MiB * MiB
}
