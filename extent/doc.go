// Package extent is the shared primitive of isolayout, fat and cache: the
// image is an io.ReaderAt over extents.
//
// A planner (isolayout.Plan, fat.Plan, cache.Assemble) places byte ranges
// and hands them to New once: generated structures as byte slices, file
// data and initrd members as io.ReaderAt sources. The resulting List is
// immutable; reading it is a binary search for the first extent, then
// delegated reads, with zeros for the gaps between extents. It does no I/O
// of its own: only a source's ReadAt touches the disk.
package extent
