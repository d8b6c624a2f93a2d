package httpserve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/liveiso/liveiso/live"
)

// chunkPrefix + KEY is a chunk's URL: KEY is the SHA-256 of its bytes, so
// the URL names the same bytes in every generation and every run of the
// daemon, and a cache in front keeps a chunk once whatever the number of
// generations (and machines) that use it.
const chunkPrefix = "/c/"

// Chunk is one part of a generation's initrd (a member or the trailer) at
// a content address.
type Chunk struct {
	Key       string // hex SHA-256 of the bytes
	SizeBytes int64
	Data      io.ReaderAt
}

// ChunkNamer names chunks by their content. A generation shares most of
// its members with the one before, as the same readers: those are hashed
// once, and only what a build changed is read again.
type ChunkNamer struct {
	mu   sync.Mutex
	last map[io.ReaderAt]string // the keys of the last call's readers
}

// Name fills in the Key of each chunk (Data and SizeBytes set), reading the
// chunks it has not seen in the last call.
func (n *ChunkNamer) Name(chunks []Chunk) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	next := make(map[io.ReaderAt]string, len(chunks))
	for i := range chunks {
		c := &chunks[i]
		// Only a comparable reader (a pointer, in practice) can be
		// remembered; anything else is hashed every time.
		memo := c.Data != nil && reflect.TypeOf(c.Data).Comparable()
		if k, ok := n.last[c.Data]; memo && ok {
			c.Key = k
		} else {
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(c.Data, 0, c.SizeBytes)); err != nil {
				return fmt.Errorf("hash initrd part %d: %w", i, err)
			}
			c.Key = hex.EncodeToString(h.Sum(nil))
		}
		if memo {
			next[c.Data] = c.Key
		}
	}
	n.last = next
	return nil
}

// maxIndexed is how many of the newest generations the chunk index knows:
// more than any Keep holds by default, so that every kept generation's
// chunks are found.
const maxIndexed = 4 * DefaultKeep

// chunkIndex finds a chunk's bytes by key in the generations published
// (Server.Published names and indexes each one before it becomes current).
type chunkIndex struct {
	mu    sync.Mutex
	seen  uint64       // the newest generation indexed
	gens  []indexedGen // the newest maxIndexed generations indexed, oldest first
	where map[string][]chunkAt
}

// indexedGen is what the index remembers of a generation: numbers and
// keys, no reader (a dropped generation's bytes must not stay reachable).
type indexedGen struct {
	view genView
	// keys are the initrd's parts' keys, then the kernel's (when
	// kernel): chunk i of the snapshot is its part i, or its kernel for
	// i == len(InitrdParts).
	keys   []string
	kernel bool
}

// chunkAt is chunk i of generation n.
type chunkAt struct {
	n uint64
	i int
}

// add indexes g with its chunks' keys if it is newer than every
// generation indexed.
func (x *chunkIndex) add(g *live.Snapshot, keys []string, kernel bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if g.Generation <= x.seen {
		return
	}
	x.seen = g.Generation
	x.gens = append(x.gens, indexedGen{viewOf(g), keys, kernel})
	if len(x.gens) > maxIndexed {
		x.gens = slices.Delete(x.gens, 0, len(x.gens)-maxIndexed)
	}
	x.where = make(map[string][]chunkAt)
	for j := len(x.gens) - 1; j >= 0; j-- { // newest first
		for i, k := range x.gens[j].keys {
			x.where[k] = append(x.where[k], chunkAt{x.gens[j].view.Number, i})
		}
	}
}

// lookup returns where the chunk key is, newest generation first.
func (x *chunkIndex) lookup(key string) []chunkAt {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]chunkAt(nil), x.where[key]...)
}

// keysOf returns generation n's initrd keys and its kernel's ("": none);
// ok is false when n was not indexed.
func (x *chunkIndex) keysOf(n uint64) (initrd []string, kernel string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, g := range x.gens {
		if g.view.Number == n {
			initrd = g.keys
			if g.kernel {
				initrd, kernel = g.keys[:len(g.keys)-1], g.keys[len(g.keys)-1]
			}
			return initrd, kernel, true
		}
	}
	return nil, "", false
}

// Published is the HTTP side's part of a publication: it names g's initrd
// parts and kernel by content and indexes them. Call it before the
// snapshot becomes current (the outlet calls it, then Keep.Publish), so
// that every script names chunks the server can find. The first
// generation's parts are all read; later ones only what changed.
func (s *Server) Published(g *live.Snapshot) {
	chunks := make([]Chunk, 0, len(g.InitrdParts)+1)
	for _, p := range g.InitrdParts {
		chunks = append(chunks, Chunk{SizeBytes: p.SizeBytes, Data: p.Data})
	}
	kernel := g.Kernel != nil
	if kernel {
		chunks = append(chunks, Chunk{SizeBytes: g.KernelSize, Data: g.Kernel})
	}
	if err := s.namer.Name(chunks); err != nil {
		// Without keys /boot.ipxe loads the whole initrd.img.
		s.log.Error("HTTP: cannot name the initrd's chunks; boot.ipxe loads the whole initrd.img", "generation", g.Generation, "err", err)
		chunks, kernel = nil, false
	}
	keys := make([]string, len(chunks))
	for i, c := range chunks {
		keys[i] = c.Key
	}
	s.chunks.add(g, keys, kernel)
}

// validKey accepts a key as ChunkNamer writes it: 64 lower-case hex digits.
func validKey(k string) bool {
	if len(k) != 2*sha256.Size {
		return false
	}
	for _, c := range k {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// serveChunk answers /c/KEY from the newest kept generation that has it.
func (s *Server) serveChunk(w http.ResponseWriter, r *http.Request, key string) {
	if !validKey(key) {
		httpError(w, http.StatusNotFound, "not found\n")
		return
	}
	for _, at := range s.chunks.lookup(key) {
		g, release, ok := s.gens.Acquire(at.n)
		if !ok {
			continue
		}
		defer release()
		c, ok := chunkOf(g, at.i)
		if !ok {
			continue // cannot happen: generations are immutable
		}
		tagGeneration(w, g.Generation)
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("ETag", `"`+key+`"`)
		h.Set("Cache-Control", immutable)
		http.ServeContent(bodyWriter{w, http.NewResponseController(w), s.stall}, withoutBadRange(r), "", time.Time{}, io.NewSectionReader(c.Data, 0, c.SizeBytes))
		return
	}
	httpError(w, http.StatusNotFound, "no kept generation has this chunk\n")
}

// indexed returns the generations indexed, newest first.
func (x *chunkIndex) indexed() []genView {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]genView, 0, len(x.gens))
	for i := len(x.gens) - 1; i >= 0; i-- {
		out = append(out, x.gens[i].view)
	}
	return out
}

// chunkOf is chunk i of g: its initrd part i, or its kernel for
// i == len(g.InitrdParts).
func chunkOf(g *live.Snapshot, i int) (Chunk, bool) {
	switch {
	case i < len(g.InitrdParts):
		p := g.InitrdParts[i]
		return Chunk{SizeBytes: p.SizeBytes, Data: p.Data}, true
	case i == len(g.InitrdParts) && g.Kernel != nil:
		return Chunk{SizeBytes: g.KernelSize, Data: g.Kernel}, true
	}
	return Chunk{}, false
}
