module github.com/liveiso/liveiso

go 1.26.8

require (
	github.com/cavaliergopher/cpio v1.0.1
	github.com/fsnotify/fsnotify v1.10.1
	github.com/hanwen/go-fuse/v2 v2.12.1
	github.com/klauspost/compress v1.20.4
	github.com/klauspost/pgzip v1.3.0
)

require golang.org/x/sys v0.28.0
