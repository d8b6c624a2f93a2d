package isolayout

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/liveiso/liveiso/hybrid"
)

// Hybrid asks for a system area that makes the image boot when it is
// written to a disk (a USB stick) as well as from a CD:
//
//   - an MBR whose boot code is isolinux's isohybrid code (isohdpfx.bin)
//     patched with the 512-byte LBA of isolinux.bin, for BIOS;
//   - with an EFI image (ElTorito.EFIImagePath), a GPT at LBA 1 whose one
//     partition is that image, the EFI System Partition, with its backup
//     at the end of the image; the MBR is then a hybrid MBR: a 0xEE entry
//     from LBA 1 up to the ESP (GPT-aware firmware and tools read the GPT)
//     and an active 0xEF entry for the ESP itself (firmware that reads only
//     MBRs still finds the ESP; BIOSes that want an active partition find
//     one);
//   - without one, the classic isohybrid table: one active partition from
//     LBA 0 over the whole image.
//
// The ISO 9660 view is untouched: ECMA-119 reserves sectors 0-15 for this.
// The backup GPT must be in the disk's last LBA, which moves with the
// initrd's size, so it is the image's last sector (inside the volume
// space). A disk larger than the image (a USB stick, or the live mount
// padded to its capacity) has it short of the end, as every isohybrid image
// does: firmware finds it through the primary header's AlternateLBA, and
// partitioning tools offer to move it.
type Hybrid struct {
	// MBRCode is isohdpfx.bin (its first 432 bytes are used); nil writes
	// no boot code (a UEFI-only image). It needs the BIOS loader, which
	// must be an isohybrid-capable isolinux.bin with its boot-info-table.
	MBRCode []byte
	// Seed makes the disk signature and GUIDs, with the volume ID: the
	// same seed gives the same identifiers (reproducible images).
	Seed string
}

// backupGPTBytes is the trailing region: whole ISO sectors holding the
// backup GPT, which ends at the last 512-byte LBA.
const backupGPTBytes = (hybrid.TableSectors*hybrid.SectorSize + SectorSize - 1) / SectorSize * SectorSize

const lbaPerSector = SectorSize / hybrid.SectorSize

type systemAreaExtent struct {
	lba    uint32
	offset int64 // bytes into the sector at lba
	name   string
	data   []byte
}

// systemArea encodes the MBR, the primary GPT and the backup GPT (at
// backupAt) for an image of isoSectors sectors whose boot files are placed.
func systemArea(h *Hybrid, volumeID string, boot *bootPlan, isoSectors uint64, backupAt uint32) ([]systemAreaExtent, error) {
	disk := isoSectors * lbaPerSector
	sum := sha256.Sum256([]byte("liveiso hybrid\x00" + volumeID + "\x00" + h.Seed))
	mbr := hybrid.MBR{DiskSignature: binary.LittleEndian.Uint32(sum[:4])}
	if h.MBRCode != nil {
		et := boot.et
		if boot.loader == nil || !et.BootInfoTable {
			return nil, fmt.Errorf("%w: isohybrid MBR code needs the BIOS loader with its boot-info-table", ErrBootPath)
		}
		code, err := hybrid.IsohybridBootCode(h.MBRCode, et.Loader, uint64(boot.loader.lba)*lbaPerSector)
		if err != nil {
			return nil, fmt.Errorf("loader %s: %w", et.LoaderPath, err)
		}
		mbr.BootCode = code
	}
	if boot.esp == nil {
		mbr.Partitions[0] = hybrid.MBRPartition{Active: true, Type: hybrid.TypeEmpty, StartLBA: 0, Sectors: uint32(min(disk, 0xFFFFFFFF))}
		return []systemAreaExtent{{lba: 0, name: "system area: MBR", data: mbr.Encode()}}, nil
	}
	espStart := uint64(boot.esp.lba) * lbaPerSector
	espSectors := uint64(sectors(boot.esp.size)) * lbaPerSector
	if espStart+espSectors > 0xFFFFFFFF {
		return nil, fmt.Errorf("%w: the EFI image ends beyond the 2 TiB an MBR can address", ErrTooLarge)
	}
	mbr.Partitions[0] = hybrid.MBRPartition{Type: hybrid.TypeGPTProtective, StartLBA: 1, Sectors: uint32(espStart - 1)}
	mbr.Partitions[1] = hybrid.MBRPartition{Active: true, Type: hybrid.TypeEFISystem, StartLBA: uint32(espStart), Sectors: uint32(espSectors)}
	gpt := hybrid.GPT{
		DiskGUID:    hybrid.GUIDFromHash(sum[4:20]),
		DiskSectors: disk,
		Partitions: []hybrid.GPTPartition{{
			Type:     hybrid.EFISystemPartition,
			ID:       hybrid.GUIDFromHash(sum[16:32]),
			FirstLBA: espStart,
			LastLBA:  espStart + espSectors - 1,
			Name:     "EFI System Partition",
		}},
	}
	primary, err := gpt.Primary()
	if err != nil {
		return nil, err
	}
	backup, err := gpt.Backup()
	if err != nil {
		return nil, err
	}
	return []systemAreaExtent{
		{lba: 0, name: "system area: MBR and primary GPT", data: append(mbr.Encode(), primary...)},
		{lba: backupAt, offset: backupGPTBytes - int64(len(backup)), name: "backup GPT", data: backup},
	}, nil
}
