// Package fat plans a FAT file system image (FAT12, FAT16 or FAT32, as the
// cluster count demands) without writing it anywhere: the EFI System
// Partition of liveiso's image.
//
// It sits beside isolayout: the caller lists files whose contents are
// io.ReaderAt sources, Plan places them and returns an Image, an ordered
// list of extents. The boot sector (with FSInfo and the backup boot sector
// on FAT32), the FATs and the directories are small byte slices built at
// Plan time; file data is read from its source only when that range of the
// image is read. Free space is not stored: it reads as zeros.
//
// Sector map, in order (Microsoft FAT specification, "fatgen103"):
//
//	0         boot sector with the BPB
//	1, 6, 7   FAT32: FSInfo, backup boot sector, backup FSInfo
//	reserved  then NumFATs copies of the FAT
//	          FAT12/16: the fixed root directory
//	          data clusters from cluster 2: directories (FAT32: the root
//	          first), then files, each contiguous
//
// Names: a name that is a valid upper-case 8.3 name is stored as a short
// entry only; any other name gets VFAT long-name entries and a generated
// unique short name (BASIS~N.EXT), as the specification describes.
package fat
