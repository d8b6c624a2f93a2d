// Package live keeps the image current: it turns the watcher's batches of
// changed paths into new generations, publishes each one with a single
// atomic swap once it is complete, and hands it to its outlets: the FUSE
// mount (vfs), the HTTP server (httpserve), run. Each outlet subscribes
// (Daemon.Subscribe) and is called with every new snapshot (Snapshot: the
// one view of a generation every outlet serves), holding a reference of
// its own, so that it keeps what it serves for as long as it serves it and
// no longer. status.json (Status, StatusJSON) changes after the outlets
// were told.
//
// The daemon's current pointer (Current) holds a reference to its
// generation and lets go of it when the next is published; readers take
// their own with Acquire, so an old generation's files close when its last
// reader, in whichever outlet, is done.
//
// A failed build is never published: the last good generation stays served
// and the error goes to the log and to status.json. Retrying is live's: the
// paths of a build that did not succeed stay pending for the next one.
//
// While idle, the daemon settles the current generation's racy chunks
// (settle.go): they get cached without a new generation.
package live
