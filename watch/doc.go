// Package watch turns edits of a rootfs directory into batches of changed
// paths. It sits at the head of the live pipeline: live reads Batches and hands
// each batch's paths, by way of generation, to cache.Packer.Pack, which re-lists
// the parent of every path, re-lstats the path and rescans the whole subtree of
// a path that is a directory. A Full batch means "rescan everything".
//
// Linux inotify is not recursive, so the Watcher holds one watch per directory
// of the rootfs, found by a walk that never follows a symlink and never leaves
// the root; a new directory gets its watches when it appears and is itself
// reported, because files may land in it before its watch exists and the
// packer's subtree rescan covers them. Events are debounced: a lone edit (a
// few events after a quiet tree) is a batch after Options.Settle of quiet; a
// burst of writes (apt-get install, rsync, tar x, git checkout) ends as one
// batch once the tree has been quiet for Options.Debounce, and a batch never
// waits longer than Options.MaxDelay after its first event, so an endless
// stream of writes still yields batches.
//
// When inotify cannot keep up (event queue overflow) the next batch is Full.
// When the kernel's watch limit is reached the Watcher gives its watches back
// and falls back to a Full batch every Options.PollInterval, says so once in the
// log, and tries inotify again on the next Rescan.
//
// Call New before the initial full scan: every change after New returns is
// either reported in a batch or covered by a later Full batch.
package watch
