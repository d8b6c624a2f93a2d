package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unicode/utf16"
)

// AddHTTPBootOption adds a boot option to an OVMF variable store file
// (a private copy of OVMF_VARS*.fd) that boots uri with UEFI HTTP Boot,
// and puts it first in BootOrder: what a user does in the firmware's setup
// (Device Manager, HTTP Boot Configuration) or with efibootmgr. The option's
// device path is the short form edk2's boot manager expands for a URI: a
// single URI node (UEFI 2.10 10.3.5.23), which the HTTP Boot driver of any
// network interface takes, with an address from plain DHCP (no HTTPClient
// offer needed). Under QEMU's user networking, whose DHCP server offers no
// vendor class, this is the way to give OVMF a URL.
//
// The store is edk2's authenticated variable store in a firmware volume
// (MdeModulePkg/Include/Guid/VariableFormat.h): a volume header, the store
// header, then variables one after another, each 4-byte aligned, until
// free space (0xff). A replaced variable is marked deleted and a new one
// appended, as the firmware itself does.
func AddHTTPBootOption(varsPath, description, uri string) error {
	img, err := os.ReadFile(varsPath)
	if err != nil {
		return err
	}
	store, err := findVariableStore(img)
	if err != nil {
		return fmt.Errorf("%s: %w", varsPath, err)
	}
	var order []uint16
	off := store.first
	for binary.LittleEndian.Uint16(img[off:]) == varStartID {
		v := parseVariable(img, off)
		if v.state == varAdded && v.guid == efiGlobalVariable && v.name == "BootOrder" {
			for i := 0; i+1 < len(v.data); i += 2 {
				order = append(order, binary.LittleEndian.Uint16(v.data[i:]))
			}
			img[off+2] &= varDeleted // marked deleted: the firmware ignores it
		}
		off = v.next
	}
	const optionNumber = 0x0f00
	option := loadOption(description, uriDevicePath(uri))
	newOrder := binary.LittleEndian.AppendUint16(nil, optionNumber)
	for _, o := range order {
		if o != optionNumber {
			newOrder = binary.LittleEndian.AppendUint16(newOrder, o)
		}
	}
	for _, v := range []struct {
		name string
		data []byte
	}{{fmt.Sprintf("Boot%04X", optionNumber), option}, {"BootOrder", newOrder}} {
		rec := variableRecord(v.name, efiGlobalVariable, v.data)
		if off+len(rec) > store.end {
			return fmt.Errorf("%s: no room for %s in the variable store", varsPath, v.name)
		}
		copy(img[off:], rec)
		off += len(rec)
	}
	return os.WriteFile(varsPath, img, 0o600)
}

const (
	varStartID = 0x55aa
	varAdded   = 0x3f
	varDeleted = 0xfd // ANDed into State
	// The authenticated variable header: StartId, State, Reserved,
	// Attributes, MonotonicCount, TimeStamp (EFI_TIME), PubKeyIndex,
	// NameSize, DataSize, VendorGuid.
	authVarHeaderBytes = 60
	// Non-volatile, boot service and runtime access.
	attrNVBSRT = 0x7
)

var (
	// EFI_GLOBAL_VARIABLE 8BE4DF61-93CA-11D2-AA0D-00E098032B8C, as stored
	// (the first three fields little-endian).
	efiGlobalVariable = [16]byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}
	// gEfiAuthenticatedVariableGuid AAF32C78-947B-439A-A180-2E144EC37792.
	authVariableStore = [16]byte{0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92}
)

type variableStore struct{ first, end int }

// findVariableStore reads the firmware volume header (PI 1.8 vol. 3
// 3.2.1.1: "_FVH" at 40, HeaderLength at 48) and the variable store header
// after it (Signature GUID, Size, Format 0x5a, State 0xfe).
func findVariableStore(img []byte) (variableStore, error) {
	if len(img) < 64 || string(img[40:44]) != "_FVH" {
		return variableStore{}, errors.New("no firmware volume header")
	}
	h := int(binary.LittleEndian.Uint16(img[48:]))
	if len(img) < h+28 || !bytes.Equal(img[h:h+16], authVariableStore[:]) || img[h+20] != 0x5a || img[h+21] != 0xfe {
		return variableStore{}, errors.New("no authenticated variable store after the volume header")
	}
	size := int(binary.LittleEndian.Uint32(img[h+16:]))
	if h+size > len(img) {
		return variableStore{}, errors.New("variable store larger than the file")
	}
	return variableStore{first: h + 28, end: h + size}, nil
}

type variable struct {
	state byte
	guid  [16]byte
	name  string
	data  []byte
	next  int
}

func parseVariable(img []byte, off int) variable {
	nameSize := int(binary.LittleEndian.Uint32(img[off+36:]))
	dataSize := int(binary.LittleEndian.Uint32(img[off+40:]))
	v := variable{state: img[off+2]}
	copy(v.guid[:], img[off+44:off+60])
	name := img[off+authVarHeaderBytes : off+authVarHeaderBytes+nameSize]
	u := make([]uint16, 0, nameSize/2)
	for i := 0; i+1 < len(name); i += 2 {
		if c := binary.LittleEndian.Uint16(name[i:]); c != 0 {
			u = append(u, c)
		}
	}
	v.name = string(utf16.Decode(u))
	d := off + authVarHeaderBytes + nameSize
	v.data = img[d : d+dataSize]
	v.next = (d + dataSize + 3) &^ 3
	return v
}

// variableRecord is one variable as stored, padded to 4 bytes with 0xff
// (free space).
func variableRecord(name string, guid [16]byte, data []byte) []byte {
	n := ucs2z(name)
	b := binary.LittleEndian.AppendUint16(nil, varStartID)
	b = append(b, varAdded, 0)
	b = binary.LittleEndian.AppendUint32(b, attrNVBSRT)
	b = append(b, make([]byte, 8+16+4)...) // MonotonicCount, TimeStamp, PubKeyIndex
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, guid[:]...)
	b = append(b, n...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0xff)
	}
	return b
}

// loadOption is an EFI_LOAD_OPTION (UEFI 2.10 3.1.3): active, the
// description, the device path, no optional data.
func loadOption(description string, devicePath []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 1) // LOAD_OPTION_ACTIVE
	b = binary.LittleEndian.AppendUint16(b, uint16(len(devicePath)))
	b = append(b, ucs2z(description)...)
	return append(b, devicePath...)
}

// uriDevicePath is a URI device path node (messaging, subtype 24) and the
// end node.
func uriDevicePath(uri string) []byte {
	b := []byte{0x03, 24}
	b = binary.LittleEndian.AppendUint16(b, uint16(4+len(uri)))
	b = append(b, uri...)
	return append(b, 0x7f, 0xff, 0x04, 0x00)
}

func ucs2z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}
