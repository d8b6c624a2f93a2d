package fat

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
)

// dirEntry is a short (8.3) directory entry (fatgen103, "FAT Directory
// Structure").
type dirEntry struct {
	Name     [11]byte // DIR_Name: 8 + 3, padded with spaces
	Attr     byte
	Time     time.Time // creation, access and write date
	Cluster  uint32
	FileSize uint32
}

func (e *dirEntry) appendTo(dst []byte) []byte {
	var b [dirEntrySize]byte
	copy(b[0:11], e.Name[:])
	b[11] = e.Attr
	d, t := dosDateTime(e.Time)
	binary.LittleEndian.PutUint16(b[14:], t) // DIR_CrtTime
	binary.LittleEndian.PutUint16(b[16:], d) // DIR_CrtDate
	binary.LittleEndian.PutUint16(b[18:], d) // DIR_LstAccDate
	binary.LittleEndian.PutUint16(b[20:], uint16(e.Cluster>>16))
	binary.LittleEndian.PutUint16(b[22:], t) // DIR_WrtTime
	binary.LittleEndian.PutUint16(b[24:], d) // DIR_WrtDate
	binary.LittleEndian.PutUint16(b[26:], uint16(e.Cluster))
	binary.LittleEndian.PutUint32(b[28:], e.FileSize)
	return append(dst, b[:]...)
}

// dosDateTime encodes t (UTC) as a FAT date and time: years from 1980,
// 2-second resolution. Dates outside 1980-2107 are clamped.
func dosDateTime(t time.Time) (date, tod uint16) {
	t = t.UTC()
	switch {
	case t.Year() < 1980:
		return 0<<9 | 1<<5 | 1, 0
	case t.Year() > 2107:
		return 127<<9 | 12<<5 | 31, 23<<11 | 59<<5 | 29
	}
	date = uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	tod = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	return date, tod
}

// shortNameChecksum is the checksum of a short name that every long-name
// entry of the same file carries (fatgen103, "ChkSum").
func shortNameChecksum(name [11]byte) byte {
	var sum byte
	for _, c := range name {
		sum = (sum&1)<<7 + sum>>1 + c
	}
	return sum
}

// appendLongEntries appends the long-name entries (fatgen103, "FAT Long
// Directory Entries") of name, last part first as they are stored, each
// with the checksum of the short name they belong to.
func appendLongEntries(dst []byte, name string, short [11]byte) []byte {
	u := utf16.Encode([]rune(name))
	n := (len(u) + lfnChars - 1) / lfnChars
	sum := shortNameChecksum(short)
	for ord := n; ord >= 1; ord-- {
		var b [dirEntrySize]byte
		b[0] = byte(ord)
		if ord == n {
			b[0] |= lastLongEntry
		}
		b[11] = attrLongName
		b[13] = sum
		// LDIR_Name1 at 1 (5 characters), LDIR_Name2 at 14 (6), LDIR_Name3
		// at 28 (2); after the name one 0x0000, then 0xFFFF padding.
		for i := range lfnChars {
			pos := (ord-1)*lfnChars + i
			var c uint16
			switch {
			case pos < len(u):
				c = u[pos]
			case pos == len(u):
				c = 0
			default:
				c = 0xFFFF
			}
			off := lfnCharOffset(i)
			binary.LittleEndian.PutUint16(b[off:], c)
		}
		dst = append(dst, b[:]...)
	}
	return dst
}

func lfnCharOffset(i int) int {
	switch {
	case i < 5:
		return 1 + 2*i
	case i < 11:
		return 14 + 2*(i-5)
	}
	return 28 + 2*(i-11)
}

// longEntryCount is how many long-name entries name needs.
func longEntryCount(name string) int {
	return (len(utf16.Encode([]rune(name))) + lfnChars - 1) / lfnChars
}
