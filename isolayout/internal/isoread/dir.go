package isoread

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Directory records (ECMA-119 9.1) and directories (6.8, 9.3).

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

// dirRecords reads the records of dir's extent, the same way for the
// primary and the Joliet hierarchy: a directory extent read once (dirs), no
// record across a sector. Each record's offset in the extent is in offs.
func (img *Image) dirRecords(dir *File, dirs map[uint32]*File) (recs []*rawRecord, offs []int, err error) {
	lba, size := dir.Extents[0].LBA, dir.Extents[0].Len
	if size%sectorSize != 0 || size == 0 {
		return nil, nil, fmt.Errorf("%s: directory size %d", dir.Name, size)
	}
	if _, dup := dirs[lba]; dup {
		return nil, nil, fmt.Errorf("directory extent %d twice", lba)
	}
	dirs[lba] = dir
	data, err := img.read(int64(lba)*sectorSize, int(size))
	if err != nil {
		return nil, nil, err
	}
	for off := 0; off < len(data); {
		if data[off] == 0 {
			off = (off/sectorSize + 1) * sectorSize
			continue
		}
		n := int(data[off])
		if off%sectorSize+n > sectorSize {
			return nil, nil, fmt.Errorf("%s: record at %d crosses a sector", dir.Name, off)
		}
		rec, err := parseRecord(data[off:])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: record at %d: %w", dir.Name, off, err)
		}
		recs, offs = append(recs, rec), append(offs, off)
		off += n
	}
	return recs, offs, nil
}

// readDir reads the records of dir's extent.
func (img *Image) readDir(dir, parent *File, isRoot bool, dirs map[uint32]*File) error {
	recs, _, err := img.dirRecords(dir, dirs)
	if err != nil {
		return err
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
