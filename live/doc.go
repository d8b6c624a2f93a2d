// Package live keeps the image current: it turns the watcher's batches of
// changed paths into new generations, publishes each one with a single
// atomic swap once it is complete, and answers the FUSE layer's questions
// (which snapshot is current, how big image.iso is, what status.json says).
//
// A failed build is never published: the last good generation stays served
// and the error goes to the log and to status.json.
package live
