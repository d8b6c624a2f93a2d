// Package store is the cache's disk store: the packer's members, kept
// across processes in a cache directory that several processes share.
//
//	cache (the packer) --Save/Load/Spill/Publish/Retain--> store
//	                                                       members/ pins/ procs/
//
// Its invariants are its own and the packer need not know them: a store
// file is written whole before it gets its name and checked (header and
// payload CRC-32C) before it is used (file.go); a member a live process
// uses is pinned by a hard link that no trim, by any process, removes,
// and a process that dies, SIGKILL included, loses its pins to the next
// trim (pins.go, the protocol); the directory is trimmed to a size, least
// recently used first (trim.go); members are read through a bounded cache
// of open files (openfiles.go).
//
// The packer gives the store keys, bytes and a compression code it does
// not interpret; it gets back bytes through ReadAt.
package store
