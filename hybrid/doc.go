// Package hybrid encodes the partition tables that make an ISO 9660 image
// bootable when it is written to a disk (an "isohybrid" image): a Master
// Boot Record with isolinux's isohybrid boot code, and a GUID Partition
// Table (UEFI 2.10 chapter 5) exposing the EFI System Partition.
//
// It only encodes: isolayout decides where things are and places the bytes
// in the image's system area (sectors 0-15, where ECMA-119 leaves room for
// exactly this) and, for the backup GPT, at the image's end. Sectors here
// are the 512-byte logical blocks of a disk, not ISO 9660's 2048-byte ones.
package hybrid
