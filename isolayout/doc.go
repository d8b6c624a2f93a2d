// Package isolayout places a file tree in the sectors of a bootable ISO 9660
// image (ECMA-119 with Rock Ridge and El Torito) without writing it anywhere.
//
// It sits between the packer (which produces the initrd) and the readers of
// the image (liveiso build, the FUSE mount): Plan takes a tree of Nodes whose
// file contents are io.ReaderAt sources and returns a Layout, an ordered list
// of extents. The generated structures (volume descriptors, path tables,
// directories, Rock Ridge continuation areas, the boot catalog, the patched
// loader) are small byte slices built at Plan time; file data is read from
// its source only when that range of the image is read. Planning does no I/O.
//
// Plan works in passes, one file each: input.go checks the input, tree.go
// orders the tree (ISO names, path table numbers, inode numbers),
// eltorito_plan.go finds the boot files and adds the boot catalog as a
// file of the tree, records.go lays out directory records and Rock Ridge
// continuation areas, sectors.go assigns sectors as a pure function of
// sizes, and encode.go (with hybrid.go for the system area) fills in the
// bytes once every LBA is known.
//
// Sector map, in order:
//
//	0-15      system area: zeros, or with Input.Hybrid an isohybrid MBR
//	          and the primary GPT (see Hybrid)
//	16        primary volume descriptor
//	17        El Torito boot record volume descriptor (when bootable)
//	next      Joliet supplementary volume descriptor (with Input.Joliet)
//	next      volume descriptor set terminator
//	          L path table, M path table, then Joliet's L and M
//	          directory extents, in path table order, then Joliet's
//	          Rock Ridge continuation areas
//	          boot catalog, boot loader, EFI System Partition image
//	          other file data, in directory order
//	          file data of Volatile nodes (the initrd)
//	last      with Input.Hybrid and an EFI image: the backup GPT, ending
//	          at the image's last 512-byte LBA
//
// Everything before the volatile data depends only on the tree's structure,
// names, metadata and non-volatile file sizes, so a new initrd changes only
// its own extent, its directory record (size, location, TF times), the
// volume space size in the primary (and Joliet) volume descriptor, the
// initrd's Joliet record and, in a hybrid
// image, the sizes in the MBR and GPT (sector 0) and the backup GPT.
//
// ISO 9660 names: d-characters only (A-Z, 0-9, _), at most 30 characters of
// file name plus extension and 31 for directories (the level 2 limits),
// version ";1", made unique within each directory. The real names, modes,
// owners, times and symlinks travel in Rock Ridge (RRIP 1.12). Files of
// 4 GiB or more are recorded as multi-extent files (ISO 9660 level 3), so
// the image is level 3.
//
// Joliet (Input.Joliet): a second hierarchy whose records point at the
// same extents, with names in UCS-2 (at most 64 characters, or 103), as
// Windows and macOS read them. joliet_names.go maps names as xorriso
// does: forbidden characters and characters outside UCS-2 become "_", a
// long name is cut keeping its extension, and names that then collide
// are numbered; each changed name is a Layout warning. Symlinks and
// special files are Rock Ridge's alone.
package isolayout
