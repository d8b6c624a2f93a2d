package isolayout

import (
	"io/fs"
	"strings"
	"time"
)

// System Use Sharing Protocol 1.12 (SUSP) and Rock Ridge Interchange
// Protocol 1.12 (RRIP) entries. Every entry starts with a two-letter
// signature, its length and its version (SUSP 1.12 4.1).
const (
	suspHeaderLen   = 4
	maxSUSPEntryLen = 255
	suspVersion     = 1

	spEntryLen = 7  // SUSP 5.3
	ceEntryLen = 28 // SUSP 5.1
	pxEntryLen = 44 // RRIP 1.12 4.1.1, with the file serial number
	pnEntryLen = 20 // RRIP 4.1.2

	spCheckByte1 = 0xBE
	spCheckByte2 = 0xEF
)

// RRIP 1.12 4.1.3 SL component flags, 4.1.4 NM flags, 4.1.3 SL flags.
const (
	slFlagContinue = 1 << 0 // the link continues in the next SL entry

	componentContinue = 1 << 0
	componentCurrent  = 1 << 1
	componentParent   = 1 << 2
	componentRoot     = 1 << 3

	nmFlagContinue = 1 << 0
	nmFlagCurrent  = 1 << 1
	nmFlagParent   = 1 << 2
)

// RRIP 1.12 4.1.6 TF flags: which time stamps follow, in this order.
const (
	tfCreation   = 1 << 0
	tfModify     = 1 << 1
	tfAccess     = 1 << 2
	tfAttributes = 1 << 3
	tfBackup     = 1 << 4
	tfExpiration = 1 << 5
	tfEffective  = 1 << 6
	tfLongForm   = 1 << 7
)

// The extension reference for RRIP 1.12 (RRIP 1.12 5.3 and its appendix).
const (
	rripID         = "RRIP_1991A"
	rripDescriptor = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
	rripSource     = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
	rripVersion    = 1
)

// POSIX file mode bits as RRIP PX records them (st_mode of POSIX.1 5.6.1).
const (
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sISUID  = 0o4000
	sISGID  = 0o2000
	sISVTX  = 0o1000
)

func appendSUSPHeader(dst []byte, sig string, length int) []byte {
	return append(dst, sig[0], sig[1], byte(length), suspVersion)
}

// spEntry is SUSP 1.12 5.3 SP, the first entry of the root's "." record.
type spEntry struct{}

func (spEntry) appendTo(dst []byte) []byte {
	dst = appendSUSPHeader(dst, "SP", spEntryLen)
	return append(dst, spCheckByte1, spCheckByte2, 0) // LEN_SKP 0
}

// ceEntry is SUSP 1.12 5.1 CE: where the system use entries continue.
type ceEntry struct {
	BlockLBA uint32
	Offset   uint32
	Length   uint32
}

func (e *ceEntry) appendTo(dst []byte) []byte {
	dst = appendSUSPHeader(dst, "CE", ceEntryLen)
	dst = appendBoth32(dst, e.BlockLBA)
	dst = appendBoth32(dst, e.Offset)
	return appendBoth32(dst, e.Length)
}

// erEntry is SUSP 1.12 5.5 ER, the extension reference.
type erEntry struct {
	ID, Descriptor, Source string
	Version                byte
}

func (e *erEntry) appendTo(dst []byte) []byte {
	n := suspHeaderLen + 4 + len(e.ID) + len(e.Descriptor) + len(e.Source)
	dst = appendSUSPHeader(dst, "ER", n)
	dst = append(dst, byte(len(e.ID)), byte(len(e.Descriptor)), byte(len(e.Source)), e.Version)
	dst = append(dst, e.ID...)
	dst = append(dst, e.Descriptor...)
	return append(dst, e.Source...)
}

// pxEntry is RRIP 1.12 4.1.1 PX, POSIX file attributes.
type pxEntry struct {
	Mode   uint32
	Links  uint32
	UID    uint32
	GID    uint32
	Serial uint32 // file serial number (inode)
}

func (e *pxEntry) appendTo(dst []byte) []byte {
	dst = appendSUSPHeader(dst, "PX", pxEntryLen)
	dst = appendBoth32(dst, e.Mode)
	dst = appendBoth32(dst, e.Links)
	dst = appendBoth32(dst, e.UID)
	dst = appendBoth32(dst, e.GID)
	return appendBoth32(dst, e.Serial)
}

// pnEntry is RRIP 1.12 4.1.2 PN, the device number of a device node
// (Linux reads High as the major and Low as the minor number).
type pnEntry struct {
	High, Low uint32
}

func (e *pnEntry) appendTo(dst []byte) []byte {
	dst = appendSUSPHeader(dst, "PN", pnEntryLen)
	dst = appendBoth32(dst, e.High)
	return appendBoth32(dst, e.Low)
}

// tfEntry is RRIP 1.12 4.1.6 TF with the modify, access and attributes
// times in the short (ECMA-119 9.1.5) form.
type tfEntry struct {
	Modify, Access, Attributes time.Time
}

const tfEntryLen = suspHeaderLen + 1 + 3*recordingTimeLen

func (e *tfEntry) appendTo(dst []byte) []byte {
	dst = appendSUSPHeader(dst, "TF", tfEntryLen)
	dst = append(dst, tfModify|tfAccess|tfAttributes)
	dst = appendRecordingTime(dst, e.Modify)
	dst = appendRecordingTime(dst, e.Access)
	return appendRecordingTime(dst, e.Attributes)
}

// nmEntries is RRIP 1.12 4.1.4 NM, the alternate name, split into as many
// NM entries as it needs, each but the last flagged CONTINUE.
type nmEntries struct {
	Name string
}

// appendTo appends the entries to es.
func (e nmEntries) appendTo(es *suspEntries) {
	const room = maxSUSPEntryLen - suspHeaderLen - 1
	name := e.Name
	for {
		n := min(len(name), room)
		var flags byte
		if n < len(name) {
			flags = nmFlagContinue
		}
		b := appendSUSPHeader(es.buf, "NM", suspHeaderLen+1+n)
		b = append(b, flags)
		es.buf = append(b, name[:n]...)
		es.end()
		name = name[n:]
		if name == "" {
			return
		}
	}
}

// slEntries is RRIP 1.12 4.1.3 SL, a symbolic link's target as component
// records, split into as many SL entries as needed: a component that does not
// fit is split with the component CONTINUE flag, and every SL entry but the
// last has the SL CONTINUE flag. Empty components ("a//b", a trailing "/")
// are dropped, as the kernel does when it resolves the link.
type slEntries struct {
	Target string
}

func (e slEntries) appendTo(es *suspEntries) {
	start := len(es.buf)
	es.buf = appendSUSPHeader(es.buf, "SL", 0)
	es.buf = append(es.buf, 0)
	closeEntry := func(cont bool) {
		es.buf[start+2] = byte(len(es.buf) - start)
		if cont {
			es.buf[start+4] = slFlagContinue
		}
		es.end()
	}
	addComponent := func(flags byte, text string) {
		for {
			room := maxSUSPEntryLen - (len(es.buf) - start) - 2
			if room < 0 || room == 0 && text != "" {
				closeEntry(true)
				start = len(es.buf)
				es.buf = appendSUSPHeader(es.buf, "SL", 0)
				es.buf = append(es.buf, 0)
				continue
			}
			n := min(len(text), room)
			f := flags
			if n < len(text) {
				f |= componentContinue
			}
			es.buf = append(es.buf, f, byte(n))
			es.buf = append(es.buf, text[:n]...)
			text = text[n:]
			if text == "" {
				return
			}
		}
	}
	target := e.Target
	if strings.HasPrefix(target, "/") {
		addComponent(componentRoot, "")
	}
	for c := range strings.SplitSeq(target, "/") {
		switch c {
		case "":
		case ".":
			addComponent(componentCurrent, "")
		case "..":
			addComponent(componentParent, "")
		default:
			addComponent(0, c)
		}
	}
	closeEntry(false)
}

// suspEntries is a list of encoded SUSP entries in one buffer.
type suspEntries struct {
	buf  []byte
	ends []int // end offset of each entry in buf
}

func (es *suspEntries) end() { es.ends = append(es.ends, len(es.buf)) }

// add appends one fixed entry.
func (es *suspEntries) add(e interface{ appendTo([]byte) []byte }) {
	es.buf = e.appendTo(es.buf)
	es.end()
}

// systemUse is how a record's SUSP entries are split between the record's
// System Use field and continuation areas (SUSP 1.12 5.1).
type systemUse struct {
	inline []byte   // entries in the record, without the CE entry
	pieces [][]byte // continuation areas in order, without their CE entries
	caOff  []int64  // offset of each piece within the continuation-area region
}

// splitSystemUse keeps as many entries in the record as fit in room bytes
// and moves the rest into continuation areas of at most one sector each
// (a continuation area never spans a logical block), reserving room for the
// CE entry that links to the next area.
func splitSystemUse(es *suspEntries, room int) systemUse {
	if len(es.buf) <= room {
		return systemUse{inline: es.buf}
	}
	i, start := 0, 0
	for i < len(es.ends) && es.ends[i]+ceEntryLen <= room {
		i++
	}
	if i > 0 {
		start = es.ends[i-1]
	}
	su := systemUse{inline: es.buf[:start]}
	pieceStart := start
	for ; i < len(es.ends); i++ {
		last := i == len(es.ends)-1
		limit := SectorSize - ceEntryLen
		if last {
			limit = SectorSize
		}
		if es.ends[i]-pieceStart > limit {
			su.pieces = append(su.pieces, es.buf[pieceStart:start])
			pieceStart = start
		}
		start = es.ends[i]
	}
	su.pieces = append(su.pieces, es.buf[pieceStart:start])
	return su
}

// pieceLen is the encoded length of piece i, with its CE entry if another
// piece follows.
func (su *systemUse) pieceLen(i int) int {
	n := len(su.pieces[i])
	if i < len(su.pieces)-1 {
		n += ceEntryLen
	}
	return n
}

// inlineLen is the length of the record's System Use field.
func (su *systemUse) inlineLen() int {
	if len(su.pieces) == 0 {
		return len(su.inline)
	}
	return len(su.inline) + ceEntryLen
}

// ce returns the CE entry pointing at piece i.
func (su *systemUse) ce(i int, caLBA uint32) *ceEntry {
	off := su.caOff[i]
	return &ceEntry{
		BlockLBA: caLBA + uint32(off/SectorSize),
		Offset:   uint32(off % SectorSize),
		Length:   uint32(su.pieceLen(i)),
	}
}

// posixMode converts m to the st_mode PX records.
func posixMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= sISUID
	}
	if m&fs.ModeSetgid != 0 {
		v |= sISGID
	}
	if m&fs.ModeSticky != 0 {
		v |= sISVTX
	}
	switch {
	case m.IsDir():
		v |= sIFDIR
	case m&fs.ModeSymlink != 0:
		v |= sIFLNK
	case m&fs.ModeNamedPipe != 0:
		v |= sIFIFO
	case m&fs.ModeSocket != 0:
		v |= sIFSOCK
	case m&fs.ModeCharDevice != 0:
		v |= sIFCHR
	case m&fs.ModeDevice != 0:
		v |= sIFBLK
	default:
		v |= sIFREG
	}
	return v
}
