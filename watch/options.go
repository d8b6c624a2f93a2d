package watch

import "time"

// Defaults for the zero values of Options.
const (
	// DefaultSettle ends a lone edit: the few events of one save come back
	// to back (microseconds apart), so a few milliseconds of quiet are
	// enough, and they are all the watcher adds to its edit-to-ready. An
	// event after it only makes the daemon abandon the build it started and
	// begin again.
	DefaultSettle = 2 * time.Millisecond
	// DefaultDebounce outlasts the longest pause inside a burst of cp -a,
	// tar x or rm -rf, so such a burst is one batch (figures: MEASUREMENTS.md,
	// watch). A lone edit does not wait for it (Options.Settle).
	DefaultDebounce = 50 * time.Millisecond
	// DefaultMaxDelay bounds how long a never-ending stream of writes can hold
	// a batch back.
	DefaultMaxDelay = 2 * time.Second
	// DefaultPollInterval is the period of Full batches once inotify watches
	// ran out.
	DefaultPollInterval = 2 * time.Second
)

// Options tune the Watcher; zero values mean the defaults.
//
// A batch is due after Settle of quiet while it looks like a lone edit: at
// most a few dozen events, the first after at least 4×Debounce of quiet.
// Otherwise it is a burst, due after Debounce of quiet: dpkg unpacking a
// package and git checkout write file after file, far more than a few dozen
// events with pauses shorter than Debounce. A burst that starts with a few
// events and a pause (dpkg touches its database, then reads the archive)
// costs one early batch; its build is cheap, or cancelled by the next batch
// (figures: MEASUREMENTS.md, watch).
type Options struct {
	Settle       time.Duration // quiet time that ends a lone edit; 0 means DefaultSettle; at least Debounce turns it off
	Debounce     time.Duration // quiet time that ends a burst; 0 means DefaultDebounce
	MaxDelay     time.Duration // a batch is emitted at the latest this long after its first event; 0 means DefaultMaxDelay
	PollInterval time.Duration // full-rescan period after falling back from inotify; 0 means DefaultPollInterval
}

// withDefaults returns o with its zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Settle <= 0 {
		o.Settle = DefaultSettle
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	return o
}
