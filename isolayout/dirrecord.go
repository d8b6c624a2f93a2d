package isolayout

import "time"

// ECMA-119 9.1 Directory Record: field sizes and limits.
const (
	dirRecordFixedLen = 33  // BP 1 to 33, before the File Identifier
	maxDirRecordLen   = 254 // the length field is one byte and records are kept at even lengths
)

// File Flags (ECMA-119 9.1.6).
const (
	fileFlagExistence   = 1 << 0 // "hidden"
	fileFlagDirectory   = 1 << 1
	fileFlagAssociated  = 1 << 2
	fileFlagRecord      = 1 << 3
	fileFlagProtection  = 1 << 4
	fileFlagMultiExtent = 1 << 7 // not the final directory record of the file
)

// File identifiers of the first two records of every directory (ECMA-119 6.8.2.2).
var (
	identifierCurrent = []byte{0x00}
	identifierParent  = []byte{0x01}
)

// dirRecord is ECMA-119 9.1 Directory Record. Extended attribute records,
// interleaving and multi-volume sets are not used: those fields are zero, the
// volume sequence number is 1.
type dirRecord struct {
	ExtentLBA  uint32
	DataLength uint32
	Recorded   time.Time
	Flags      byte
	Identifier []byte
	SystemUse  []byte // SUSP entries (SUSP 1.12 4)
}

// fixedLen is the length of the record up to and including the Padding Field
// (ECMA-119 9.1.12), that is where the System Use field starts.
func (r *dirRecord) fixedLen() int {
	return dirRecordFixedLen + len(r.Identifier) + (1 - len(r.Identifier)%2)
}

// systemUseRoom is how many bytes of System Use fit in a record with this
// identifier.
func systemUseRoom(identifierLen int) int {
	return maxDirRecordLen - (dirRecordFixedLen + identifierLen + (1 - identifierLen%2))
}

// encodedLen is the Length of Directory Record (ECMA-119 9.1.1), kept even
// so that the next record starts on an even byte as SUSP 1.12 5 expects.
func (r *dirRecord) encodedLen() int {
	n := r.fixedLen() + len(r.SystemUse)
	return n + n%2
}

// appendTo appends the encoded record.
func (r *dirRecord) appendTo(dst []byte) []byte {
	n := r.encodedLen()
	dst = append(dst, byte(n), 0) // Length of Directory Record, Extended Attribute Record Length
	dst = appendBoth32(dst, r.ExtentLBA)
	dst = appendBoth32(dst, r.DataLength)
	dst = appendRecordingTime(dst, r.Recorded)
	dst = append(dst, r.Flags, 0, 0) // File Flags, File Unit Size, Interleave Gap Size
	dst = appendBoth16(dst, 1)       // Volume Sequence Number
	dst = append(dst, byte(len(r.Identifier)))
	dst = append(dst, r.Identifier...)
	if len(r.Identifier)%2 == 0 {
		dst = append(dst, 0) // Padding Field
	}
	dst = append(dst, r.SystemUse...)
	if (r.fixedLen()+len(r.SystemUse))%2 == 1 {
		dst = append(dst, 0)
	}
	return dst
}
