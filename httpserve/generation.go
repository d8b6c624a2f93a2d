package httpserve

import "github.com/liveiso/liveiso/live"

// Generations is what the server needs of the publisher: the live
// daemon's snapshots (live.Snapshot), as a retention policy such as Keep
// holds them. Methods are called concurrently from request goroutines and
// must not block on I/O or on a build.
type Generations interface {
	// Current is the newest ready generation, nil before the first. The
	// server only names it (in a redirect, a script); reading its bytes
	// goes through Acquire.
	Current() *live.Snapshot
	// Acquire holds generation n for one request: it stays readable until
	// release is called. ok is false when n is not (or no longer) kept.
	Acquire(n uint64) (g *live.Snapshot, release func(), ok bool)
}
