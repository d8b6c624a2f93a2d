// Package live keeps the image current: it turns the watcher's batches of
// changed paths into new generations, publishes each one with a single
// atomic swap once it is complete, and answers the FUSE layer's questions
// (which snapshot is current, how big image.iso is, what status.json says).
//
// The current pointer holds a reference to its generation and lets go of it
// when the next is published; readers take their own with Acquire (see
// Snapshot), so an old generation's files close when its last reader is
// done.
//
// A failed build is never published: the last good generation stays served
// and the error goes to the log and to status.json. Retrying is live's: the
// paths of a build that did not succeed stay pending for the next one.
//
// While idle, the daemon settles the current generation's racy chunks
// (settle.go): they get cached without a new generation.
package live
