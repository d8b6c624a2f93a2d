// Package isoread is a strict, test-only ISO 9660 + Rock Ridge + El Torito
// reader. It exists to check isolayout's images independently of the code
// that wrote them, so it shares none of it: every offset here is read from
// the specifications (ECMA-119, SUSP/RRIP 1.12, El Torito 1.0) again.
package isoread

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

const sectorSize = 2048

// Image is what the reader found.
type Image struct {
	VolumeID        string
	ApplicationID   string
	VolumeSpaceSize uint32
	Created         string // the 17-byte date's 16 digits
	CatalogLBA      uint32 // 0 when there is no El Torito boot record
	Catalog         []byte // 32-byte validation entry and default entry
	Root            *File
	PathTable       []PathEntry
	Dirs            int
	r               io.ReaderAt
}

// PathEntry is one path table record.
type PathEntry struct {
	Ident  string
	LBA    uint32
	Parent uint16
}

// Extent is a data extent of a file.
type Extent struct {
	LBA uint32
	Len uint32
}

// File is a directory record (or the records of a multi-extent file)
// with its Rock Ridge fields.
type File struct {
	ISOName  string
	Name     string // NM, or ISOName without version when there is no NM
	HasRR    bool
	Mode     uint32
	Nlink    uint32
	UID, GID uint32
	Ino      uint32
	Mtime    time.Time // TF modify
	Atime    time.Time
	Recorded time.Time // ECMA-119 9.1.5
	Size     int64
	Extents  []Extent
	Target   string
	Dev      [2]uint32
	HasPN    bool
	Children []*File
	IsDir    bool
}

// Read parses the image.
func Read(r io.ReaderAt, size int64) (*Image, error) {
	img := &Image{r: r}
	if size%sectorSize != 0 {
		return nil, fmt.Errorf("size %d not whole sectors", size)
	}
	var root []byte
	var lPath, mPath, ptSize uint32
	// Until the PVD says otherwise, the volume space is the image.
	img.VolumeSpaceSize = uint32(min(size/sectorSize, 0xFFFFFFFF))
	for lba := int64(16); ; lba++ {
		s, err := img.sector(uint32(lba))
		if err != nil {
			return nil, err
		}
		if string(s[1:6]) != "CD001" || s[6] != 1 {
			return nil, fmt.Errorf("sector %d: not a volume descriptor", lba)
		}
		switch s[0] {
		case 255:
			if !allZero(s[7:]) {
				return nil, errors.New("terminator: nonzero bytes")
			}
			goto done
		case 0:
			if string(bytes.TrimRight(s[7:39], "\x00")) != "EL TORITO SPECIFICATION" {
				return nil, errors.New("boot record: not El Torito")
			}
			img.CatalogLBA = binary.LittleEndian.Uint32(s[71:])
		case 1:
			if lba != 16 {
				return nil, errors.New("PVD not at 16")
			}
			var err error
			if img.VolumeSpaceSize, err = both32(s[80:88]); err != nil {
				return nil, fmt.Errorf("volume space size: %w", err)
			}
			if int64(img.VolumeSpaceSize)*sectorSize != size {
				return nil, fmt.Errorf("volume space size %d sectors, image %d bytes", img.VolumeSpaceSize, size)
			}
			for _, f := range [][]byte{s[120:124], s[124:128]} {
				if v, err := both16(f); err != nil || v != 1 {
					return nil, fmt.Errorf("volume set size/sequence: %d %v", v, err)
				}
			}
			if v, err := both16(s[128:132]); err != nil || v != sectorSize {
				return nil, fmt.Errorf("logical block size %d %v", v, err)
			}
			if ptSize, err = both32(s[132:140]); err != nil {
				return nil, err
			}
			lPath = binary.LittleEndian.Uint32(s[140:])
			mPath = binary.BigEndian.Uint32(s[148:])
			if s[156] != 34 {
				return nil, errors.New("root record length")
			}
			root = append([]byte(nil), s[156:190]...)
			img.VolumeID = string(bytes.TrimRight(s[40:72], " "))
			img.ApplicationID = string(bytes.TrimRight(s[574:702], " "))
			img.Created = string(s[813:829])
			if s[881] != 1 {
				return nil, errors.New("file structure version")
			}
		default:
			return nil, fmt.Errorf("sector %d: volume descriptor type %d", lba, s[0])
		}
	}
done:
	if root == nil {
		return nil, errors.New("no PVD")
	}
	if img.CatalogLBA != 0 {
		s, err := img.sector(img.CatalogLBA)
		if err != nil {
			return nil, err
		}
		img.Catalog = s[:64]
	}
	rec, err := parseRecord(root)
	if err != nil {
		return nil, fmt.Errorf("root record: %w", err)
	}
	img.Root = &File{ISOName: "\x00", Name: "", IsDir: true, Extents: rec.extents, Size: int64(rec.dataLen)}
	dirsByLBA := map[uint32]*File{}
	if err := img.readDir(img.Root, img.Root, true, dirsByLBA); err != nil {
		return nil, err
	}
	img.Dirs = len(dirsByLBA)
	if err := img.readPathTables(lPath, mPath, ptSize, dirsByLBA); err != nil {
		return nil, err
	}
	return img, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func both16(b []byte) (uint16, error) {
	l, m := binary.LittleEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if l != m {
		return 0, fmt.Errorf("both-endian mismatch %d/%d", l, m)
	}
	return l, nil
}

func both32(b []byte) (uint32, error) {
	l, m := binary.LittleEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if l != m {
		return 0, fmt.Errorf("both-endian mismatch %d/%d", l, m)
	}
	return l, nil
}

// read reads n bytes at off, which must lie inside the volume space: a
// length read from the image is never trusted to size an allocation.
func (img *Image) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > int64(img.VolumeSpaceSize)*sectorSize {
		return nil, fmt.Errorf("bytes %d+%d beyond volume space of %d sectors", off, n, img.VolumeSpaceSize)
	}
	b := make([]byte, n)
	if _, err := img.r.ReadAt(b, off); err != nil && !(err == io.EOF) {
		return nil, err
	}
	return b, nil
}

func (img *Image) sector(lba uint32) ([]byte, error) {
	return img.read(int64(lba)*sectorSize, sectorSize)
}

type rawRecord struct {
	extents  []Extent
	dataLen  uint32
	flags    byte
	ident    string
	su       []byte
	recorded time.Time
}

func parseRecord(b []byte) (*rawRecord, error) {
	n := int(b[0])
	if n < 34 || n > len(b) {
		return nil, fmt.Errorf("record length %d", n)
	}
	if n%2 != 0 {
		return nil, fmt.Errorf("odd record length %d", n)
	}
	b = b[:n]
	if b[1] != 0 {
		return nil, errors.New("extended attribute record")
	}
	lba, err := both32(b[2:10])
	if err != nil {
		return nil, err
	}
	dl, err := both32(b[10:18])
	if err != nil {
		return nil, err
	}
	if v, err := both16(b[28:32]); err != nil || v != 1 {
		return nil, fmt.Errorf("volume sequence number %d %v", v, err)
	}
	if b[26] != 0 || b[27] != 0 {
		return nil, errors.New("interleaved")
	}
	il := int(b[32])
	end := 33 + il
	if il%2 == 0 {
		if end >= n || b[end] != 0 {
			return nil, errors.New("padding field missing")
		}
		end++
	}
	if end > n {
		return nil, errors.New("identifier beyond record")
	}
	t := b[18:25]
	rec := &rawRecord{
		extents:  []Extent{{lba, dl}},
		dataLen:  dl,
		flags:    b[25],
		ident:    string(b[33 : 33+il]),
		su:       b[end:],
		recorded: time.Date(1900+int(t[0]), time.Month(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5]), 0, time.FixedZone("", int(int8(t[6]))*15*60)),
	}
	return rec, nil
}

func validISOIdent(id string, dir bool) error {
	name := id
	if !dir {
		i := bytes.IndexByte([]byte(id), ';')
		if i < 0 || id[i:] != ";1" {
			return fmt.Errorf("file identifier %q without ;1", id)
		}
		name = id[:i]
		dot := bytes.IndexByte([]byte(name), '.')
		if dot < 0 || bytes.Count([]byte(name), []byte(".")) != 1 {
			return fmt.Errorf("file identifier %q needs exactly one '.'", id)
		}
		if len(name)-1 > 30 || len(name) == 1 {
			return fmt.Errorf("file identifier %q: length", id)
		}
		name = name[:dot] + name[dot+1:]
	} else if len(name) > 31 || len(name) == 0 {
		return fmt.Errorf("directory identifier %q: length", id)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("identifier %q: not a d-character %q", id, c)
		}
	}
	return nil
}

// readDir reads the records of dir's extent.
func (img *Image) readDir(dir, parent *File, isRoot bool, dirs map[uint32]*File) error {
	lba, size := dir.Extents[0].LBA, dir.Extents[0].Len
	if size%sectorSize != 0 || size == 0 {
		return fmt.Errorf("%s: directory size %d", dir.Name, size)
	}
	if _, dup := dirs[lba]; dup {
		return fmt.Errorf("directory extent %d twice", lba)
	}
	dirs[lba] = dir
	data, err := img.read(int64(lba)*sectorSize, int(size))
	if err != nil {
		return err
	}
	var recs []*rawRecord
	for off := 0; off < len(data); {
		if data[off] == 0 {
			off = (off/sectorSize + 1) * sectorSize
			continue
		}
		n := int(data[off])
		if off%sectorSize+n > sectorSize {
			return fmt.Errorf("%s: record at %d crosses a sector", dir.Name, off)
		}
		rec, err := parseRecord(data[off:])
		if err != nil {
			return fmt.Errorf("%s: record at %d: %w", dir.Name, off, err)
		}
		recs = append(recs, rec)
		off += n
	}
	if len(recs) < 2 || recs[0].ident != "\x00" || recs[1].ident != "\x01" {
		return fmt.Errorf("%s: no . and .. records", dir.Name)
	}
	if recs[0].extents[0] != dir.Extents[0] {
		return fmt.Errorf("%s: . record %v, directory %v", dir.Name, recs[0].extents[0], dir.Extents[0])
	}
	if recs[1].extents[0] != parent.Extents[0] {
		return fmt.Errorf("%s: .. record %v, parent %v", dir.Name, recs[1].extents[0], parent.Extents[0])
	}
	if recs[0].flags&2 == 0 || recs[1].flags&2 == 0 {
		return fmt.Errorf("%s: . or .. not a directory", dir.Name)
	}
	self, err := img.systemUse(recs[0].su, isRoot, true)
	if err != nil {
		return fmt.Errorf("%s/.: %w", dir.Name, err)
	}
	if isRoot && !self.sp {
		return errors.New("root: no SP")
	}
	if isRoot && !self.er {
		return errors.New("root: no ER")
	}
	name := dir.Name
	self.applyTo(dir)
	dir.Name = name // the name comes from the parent's record
	dir.Recorded = recs[0].recorded
	if _, err := img.systemUse(recs[1].su, false, false); err != nil {
		return fmt.Errorf("%s/..: %w", dir.Name, err)
	}
	var prevKey string
	names := map[string]bool{}
	for i := 2; i < len(recs); i++ {
		rec := recs[i]
		f := &File{ISOName: rec.ident, IsDir: rec.flags&2 != 0, Recorded: rec.recorded}
		if err := validISOIdent(rec.ident, f.IsDir); err != nil {
			return fmt.Errorf("%s: %w", dir.Name, err)
		}
		f.Extents = rec.extents
		f.Size = int64(rec.dataLen)
		for rec.flags&0x80 != 0 {
			if rec.dataLen%sectorSize != 0 {
				return fmt.Errorf("%s: multi-extent part not whole sectors", rec.ident)
			}
			i++
			if i == len(recs) || recs[i].ident != rec.ident {
				return fmt.Errorf("%s: multi-extent file without final record", rec.ident)
			}
			rec = recs[i]
			f.Extents = append(f.Extents, rec.extents...)
			f.Size += int64(rec.dataLen)
		}
		key := sortKey(f.ISOName, f.IsDir)
		if key <= prevKey && i > 2 {
			return fmt.Errorf("%s: records out of order: %q after %q", dir.Name, f.ISOName, prevKey)
		}
		prevKey = key
		su, err := img.systemUse(rec.su, false, false)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", dir.Name, f.ISOName, err)
		}
		su.applyTo(f)
		if !su.nm {
			f.Name = f.ISOName
		}
		if names[f.Name] {
			return fmt.Errorf("%s: duplicate name %q", dir.Name, f.Name)
		}
		names[f.Name] = true
		dir.Children = append(dir.Children, f)
		if f.IsDir {
			if err := img.readDir(f, dir, false, dirs); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortKey pads name and extension as ECMA-119 9.3 compares them.
func sortKey(id string, dir bool) string {
	name, ext := id, ""
	if !dir {
		name = id[:bytes.IndexByte([]byte(id), ';')]
		d := bytes.IndexByte([]byte(name), '.')
		name, ext = name[:d], name[d+1:]
	}
	return fmt.Sprintf("%-31s%-31s", name, ext)
}

type rr struct {
	sp, er, nm, px, tf, pn bool
	name                   []byte
	target                 []byte
	mode, nlink, uid, gid  uint32
	ino                    uint32
	mtime, atime           time.Time
	dev                    [2]uint32
}

func (r *rr) applyTo(f *File) {
	f.HasRR = r.px
	f.Name = string(r.name)
	f.Mode, f.Nlink, f.UID, f.GID, f.Ino = r.mode, r.nlink, r.uid, r.gid, r.ino
	f.Mtime, f.Atime = r.mtime, r.atime
	f.Target = string(r.target)
	f.Dev, f.HasPN = r.dev, r.pn
}

func shortTime(t []byte) time.Time {
	return time.Date(1900+int(t[0]), time.Month(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5]), 0, time.FixedZone("", int(int8(t[6]))*15*60))
}

// systemUse parses SUSP entries, following CE continuation areas.
func (img *Image) systemUse(su []byte, rootSelf, self bool) (*rr, error) {
	r := &rr{}
	first := true
	nmCont, slCont, compCont := false, false, false
	hops := 0
	for {
		var ce []byte
		for len(su) >= 4 {
			sig, n, ver := string(su[:2]), int(su[2]), su[3]
			if n < 4 || n > len(su) {
				return nil, fmt.Errorf("entry %q length %d of %d", sig, n, len(su))
			}
			if ver != 1 {
				return nil, fmt.Errorf("entry %q version %d", sig, ver)
			}
			e := su[:n]
			su = su[n:]
			if first && rootSelf && sig != "SP" {
				return nil, errors.New("root . does not start with SP")
			}
			first = false
			switch sig {
			case "SP":
				if !rootSelf || n != 7 || e[4] != 0xBE || e[5] != 0xEF || e[6] != 0 {
					return nil, errors.New("bad SP")
				}
				r.sp = true
			case "CE":
				if n != 28 || ce != nil {
					return nil, errors.New("bad CE")
				}
				ce = e
			case "ER":
				if n < 8 {
					return nil, errors.New("bad ER length")
				}
				li, ld, ls := int(e[4]), int(e[5]), int(e[6])
				if 8+li+ld+ls != n {
					return nil, errors.New("bad ER length")
				}
				if string(e[8:8+li]) != "RRIP_1991A" {
					return nil, fmt.Errorf("ER id %q", e[8:8+li])
				}
				r.er = true
			case "PX":
				if n != 44 {
					return nil, fmt.Errorf("PX length %d", n)
				}
				var vals [5]uint32
				for i := range vals {
					v, err := both32(e[4+8*i:])
					if err != nil {
						return nil, fmt.Errorf("PX: %w", err)
					}
					vals[i] = v
				}
				r.mode, r.nlink, r.uid, r.gid, r.ino = vals[0], vals[1], vals[2], vals[3], vals[4]
				r.px = true
			case "PN":
				if n != 20 {
					return nil, errors.New("bad PN")
				}
				h, err1 := both32(e[4:])
				l, err2 := both32(e[12:])
				if err1 != nil || err2 != nil {
					return nil, errors.New("bad PN")
				}
				r.dev, r.pn = [2]uint32{h, l}, true
			case "TF":
				if n < 5 {
					return nil, errors.New("TF short")
				}
				flags := e[4]
				if flags&0x80 != 0 {
					return nil, errors.New("long form TF unexpected")
				}
				p := e[5:]
				var times []time.Time
				for bit := 0; bit < 7; bit++ {
					if flags&(1<<bit) != 0 {
						if len(p) < 7 {
							return nil, errors.New("TF short")
						}
						times = append(times, shortTime(p))
						p = p[7:]
					} else {
						times = append(times, time.Time{})
					}
				}
				if len(p) != 0 {
					return nil, errors.New("TF long")
				}
				r.mtime, r.atime, r.tf = times[1], times[2], true
			case "NM":
				if self {
					return nil, errors.New("NM in . or .. record")
				}
				if n < 5 {
					return nil, errors.New("NM short")
				}
				if r.nm && !nmCont {
					return nil, errors.New("second NM without CONTINUE")
				}
				if e[4]&^1 != 0 {
					return nil, fmt.Errorf("NM flags %#x", e[4])
				}
				r.name = append(r.name, e[5:]...)
				nmCont = e[4]&1 != 0
				r.nm = true
			case "SL":
				if n < 5 {
					return nil, errors.New("SL short")
				}
				if r.target != nil && !slCont {
					return nil, errors.New("second SL without CONTINUE")
				}
				if r.target == nil {
					r.target = []byte{}
				}
				p := e[5:]
				for len(p) > 0 {
					if len(p) < 2 || 2+int(p[1]) > len(p) {
						return nil, errors.New("SL component beyond entry")
					}
					fl, cl := p[0], int(p[1])
					text := p[2 : 2+cl]
					p = p[2+cl:]
					if !compCont && len(r.target) > 0 && r.target[len(r.target)-1] != '/' {
						r.target = append(r.target, '/')
					}
					switch fl &^ 1 {
					case 0:
						r.target = append(r.target, text...)
					case 2:
						r.target = append(r.target, '.')
					case 4:
						r.target = append(r.target, ".."...)
					case 8:
						r.target = append(r.target, '/')
					default:
						return nil, fmt.Errorf("SL component flags %#x", fl)
					}
					if fl&^1 != 0 && cl != 0 {
						return nil, errors.New("SL special component with text")
					}
					compCont = fl&1 != 0
				}
				slCont = e[4]&1 != 0
			case "ST":
				su = nil
			default:
				return nil, fmt.Errorf("unknown entry %q", sig)
			}
		}
		if len(su) != 0 && !allZero(su) {
			return nil, fmt.Errorf("%d trailing bytes", len(su))
		}
		if ce == nil {
			break
		}
		hops++
		if hops > 32 {
			return nil, errors.New("CE loop")
		}
		lba, err1 := both32(ce[4:])
		off, err2 := both32(ce[12:])
		ln, err3 := both32(ce[20:])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, errors.New("CE fields")
		}
		if uint64(off)+uint64(ln) > sectorSize {
			return nil, errors.New("continuation area crosses a sector")
		}
		s, err := img.sector(lba)
		if err != nil {
			return nil, err
		}
		su = s[off : off+ln]
	}
	if nmCont || slCont || compCont {
		return nil, errors.New("CONTINUE flag on the last NM/SL")
	}
	if !r.px || !r.tf {
		return nil, errors.New("no PX or TF")
	}
	return r, nil
}

func (img *Image) readPathTables(lLBA, mLBA, size uint32, dirs map[uint32]*File) error {
	read := func(lba uint32, order binary.ByteOrder) ([]PathEntry, error) {
		b, err := img.read(int64(lba)*sectorSize, int(size))
		if err != nil {
			return nil, err
		}
		var out []PathEntry
		for len(b) > 0 {
			if len(b) < 8 {
				return nil, errors.New("path table: short record")
			}
			n := int(b[0])
			rl := 8 + n + n%2
			if n == 0 || rl > len(b) {
				return nil, errors.New("path table: bad record")
			}
			out = append(out, PathEntry{Ident: string(b[8 : 8+n]), LBA: order.Uint32(b[2:]), Parent: order.Uint16(b[6:])})
			b = b[rl:]
		}
		return out, nil
	}
	l, err := read(lLBA, binary.LittleEndian)
	if err != nil {
		return err
	}
	m, err := read(mLBA, binary.BigEndian)
	if err != nil {
		return err
	}
	if fmt.Sprint(l) != fmt.Sprint(m) {
		return errors.New("path tables: type L and type M differ")
	}
	if len(l) != len(dirs) {
		return fmt.Errorf("path table has %d directories, tree %d", len(l), len(dirs))
	}
	if l[0].Ident != "\x00" || l[0].Parent != 1 || l[0].LBA != img.Root.Extents[0].LBA {
		return errors.New("path table: bad root")
	}
	level := map[int]int{1: 1}
	for i := 1; i < len(l); i++ {
		e, prev := l[i], l[i-1]
		if int(e.Parent) < 1 || int(e.Parent) > i {
			return fmt.Errorf("path table %d: parent %d", i+1, e.Parent)
		}
		level[i+1] = level[int(e.Parent)] + 1
		if level[i+1] < level[i] {
			return fmt.Errorf("path table %d: level order", i+1)
		}
		if level[i+1] == level[i] && i > 1 && (e.Parent < prev.Parent || e.Parent == prev.Parent && fmt.Sprintf("%-31s", e.Ident) <= fmt.Sprintf("%-31s", prev.Ident)) {
			return fmt.Errorf("path table %d: order", i+1)
		}
		d := dirs[e.LBA]
		if d == nil || d.ISOName != e.Ident {
			return fmt.Errorf("path table %d: %q at %d is no such directory", i+1, e.Ident, e.LBA)
		}
		pd := dirs[l[e.Parent-1].LBA]
		found := false
		for _, c := range pd.Children {
			found = found || c == d
		}
		if !found {
			return fmt.Errorf("path table %d: %q is not a child of entry %d", i+1, e.Ident, e.Parent)
		}
	}
	img.PathTable = l
	return nil
}

// Data reads a file's contents through its extents.
func (img *Image) Data(f *File) ([]byte, error) {
	var out []byte
	for _, e := range f.Extents {
		if e.Len == 0 {
			continue
		}
		if int64(e.LBA)*sectorSize+int64(e.Len) > int64(img.VolumeSpaceSize)*sectorSize {
			return nil, fmt.Errorf("%s: extent beyond volume", f.Name)
		}
		b, err := img.read(int64(e.LBA)*sectorSize, int(e.Len))
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// DataAt reads n bytes of a file's contents at offset off, through its
// extents: for files too large to read whole.
func (img *Image) DataAt(f *File, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > f.Size {
		return nil, fmt.Errorf("%s: bytes %d+%d of a %d-byte file", f.Name, off, n, f.Size)
	}
	out := make([]byte, 0, n)
	for _, e := range f.Extents {
		if len(out) == n {
			break
		}
		if off >= int64(e.Len) {
			off -= int64(e.Len)
			continue
		}
		k := min(int64(e.Len)-off, int64(n-len(out)))
		b, err := img.read(int64(e.LBA)*sectorSize+off, int(k))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, b...)
		off = 0
	}
	return out, nil
}
