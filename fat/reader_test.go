package fat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// A small FAT reader, written from fatgen103 alone (it shares no code with
// the planner), that checks what it reads as it goes. The fuzz target
// compares what it reads with what was planned.

// readFile is a file as read back.
type readFile struct {
	data  []byte
	mtime time.Time
}

// readImage is a FAT file system as read back.
type readImage struct {
	typ      Type
	label    string // from the root's volume ID entry; "" without one
	bsLabel  string // BS_VolLab, trimmed
	volumeID uint32
	clusters uint32 // CountofClusters
	used     uint32 // clusters in some chain
	files    map[string]readFile
	dirs     map[string]bool
}

type fatReader struct {
	r           io.ReaderAt
	typ         Type
	spc         int64
	rootEntCnt  int64
	rootDirOff  int64 // FAT12/16
	rootClus    uint32
	dataOff     int64
	clusterSize int64
	clusters    uint32
	fat         []uint32
	owner       map[uint32]string // cluster -> path of the chain it is in
}

func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("read %d bytes at %d: %w", n, off, err)
	}
	return b, nil
}

// readFAT reads and checks the image of size bytes in r.
func readFAT(r io.ReaderAt, size int64) (*readImage, error) {
	bs, err := readAt(r, 0, 512)
	if err != nil {
		return nil, err
	}
	le16 := func(b []byte, off int) int64 { return int64(binary.LittleEndian.Uint16(b[off:])) }
	le32 := func(b []byte, off int) int64 { return int64(binary.LittleEndian.Uint32(b[off:])) }
	if bs[510] != 0x55 || bs[511] != 0xAA {
		return nil, fmt.Errorf("no boot signature")
	}
	if bs[0] != 0xEB || bs[2] != 0x90 {
		return nil, fmt.Errorf("BS_jmpBoot % x", bs[:3])
	}
	if b := le16(bs, 11); b != 512 {
		return nil, fmt.Errorf("BPB_BytsPerSec %d", b)
	}
	spc := int64(bs[13])
	if spc == 0 || spc&(spc-1) != 0 {
		return nil, fmt.Errorf("BPB_SecPerClus %d", spc)
	}
	rsvd := le16(bs, 14)
	if rsvd == 0 {
		return nil, fmt.Errorf("BPB_RsvdSecCnt 0")
	}
	if bs[16] != 2 {
		return nil, fmt.Errorf("BPB_NumFATs %d", bs[16])
	}
	rootEntCnt := le16(bs, 17)
	totSec := le16(bs, 19)
	if totSec == 0 {
		totSec = le32(bs, 32)
	} else if le32(bs, 32) != 0 {
		return nil, fmt.Errorf("both BPB_TotSec16 and BPB_TotSec32")
	}
	media := bs[21]
	fatSz := le16(bs, 22)
	if fatSz == 0 {
		fatSz = le32(bs, 36)
	}
	if totSec*512 != size {
		return nil, fmt.Errorf("%d sectors in an image of %d bytes", totSec, size)
	}

	// fatgen103, "FAT Type Determination".
	rootDirSectors := (rootEntCnt*32 + 511) / 512
	dataSec := totSec - (rsvd + 2*fatSz + rootDirSectors)
	if dataSec <= 0 {
		return nil, fmt.Errorf("no data sectors")
	}
	count := dataSec / spc
	fr := &fatReader{
		r: r, spc: spc, rootEntCnt: rootEntCnt, clusterSize: spc * 512,
		rootDirOff: (rsvd + 2*fatSz) * 512, dataOff: (rsvd + 2*fatSz + rootDirSectors) * 512,
		clusters: uint32(count), owner: map[uint32]string{},
	}
	switch {
	case count < 4085:
		fr.typ = FAT12
	case count < 65525:
		fr.typ = FAT16
	default:
		fr.typ = FAT32
	}
	ext := 36
	fsiFree := uint32(0) // FSI_Free_Count, FAT32 only
	if fr.typ == FAT32 {
		ext = 64
		if rootEntCnt != 0 || le16(bs, 19) != 0 || le16(bs, 22) != 0 {
			return nil, fmt.Errorf("FAT32 with FAT12/16 fields set")
		}
		fr.rootClus = uint32(le32(bs, 44))
		fsi, err := readAt(r, le16(bs, 48)*512, 512)
		if err != nil {
			return nil, err
		}
		if le32(fsi, 0) != 0x41615252 || le32(fsi, 484) != 0x61417272 || le32(fsi, 508) != 0xAA550000 {
			return nil, fmt.Errorf("FSInfo signatures")
		}
		backup, err := readAt(r, le16(bs, 50)*512, 512)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(backup, bs) {
			return nil, fmt.Errorf("the backup boot sector differs")
		}
		fsiFree = uint32(le32(fsi, 488))
	} else if rootEntCnt == 0 || rootEntCnt*32%512 != 0 {
		return nil, fmt.Errorf("BPB_RootEntCnt %d", rootEntCnt)
	}
	if bs[ext+2] != 0x29 {
		return nil, fmt.Errorf("BS_BootSig %#x", bs[ext+2])
	}

	fat1, err := readAt(r, rsvd*512, fatSz*512)
	if err != nil {
		return nil, err
	}
	fat2, err := readAt(r, (rsvd+fatSz)*512, fatSz*512)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(fat1, fat2) {
		return nil, fmt.Errorf("the two FATs differ")
	}
	fr.fat = make([]uint32, count+2)
	for n := range fr.fat {
		switch fr.typ {
		case FAT12:
			v := uint32(binary.LittleEndian.Uint16(fat1[n+n/2:]))
			if n%2 == 1 {
				v >>= 4
			}
			fr.fat[n] = v & 0xFFF
		case FAT16:
			fr.fat[n] = uint32(binary.LittleEndian.Uint16(fat1[2*n:]))
		default:
			fr.fat[n] = binary.LittleEndian.Uint32(fat1[4*n:]) & 0x0FFFFFFF
		}
	}
	if byte(fr.fat[0]) != media || !fr.eoc(fr.fat[1]) {
		return nil, fmt.Errorf("FAT[0] %#x FAT[1] %#x (media %#x)", fr.fat[0], fr.fat[1], media)
	}

	im := &readImage{
		typ: fr.typ, clusters: fr.clusters, volumeID: uint32(le32(bs, ext+3)),
		bsLabel: strings.TrimRight(string(bs[ext+7:ext+18]), " "),
		files:   map[string]readFile{}, dirs: map[string]bool{},
	}
	var root []byte
	if fr.typ == FAT32 {
		if root, err = fr.chain(fr.rootClus, -1, "/"); err != nil {
			return nil, err
		}
	} else if root, err = readAt(r, fr.rootDirOff, rootEntCnt*32); err != nil {
		return nil, err
	}
	if err := fr.walk(im, root, "", 0, 0); err != nil {
		return nil, err
	}
	for c := uint32(2); c < uint32(len(fr.fat)); c++ {
		if fr.fat[c] != 0 && fr.owner[c] == "" {
			return nil, fmt.Errorf("cluster %d is in no chain (FAT entry %#x)", c, fr.fat[c])
		}
	}
	im.used = fr.usedCount()
	if fr.typ == FAT32 && fsiFree != fr.clusters-im.used {
		return nil, fmt.Errorf("FSI_Free_Count %d, but %d of %d clusters are free", fsiFree, fr.clusters-im.used, fr.clusters)
	}
	return im, nil
}

func (fr *fatReader) usedCount() uint32 { return uint32(len(fr.owner)) }

func (fr *fatReader) eoc(v uint32) bool {
	switch fr.typ {
	case FAT12:
		return v >= 0xFF8
	case FAT16:
		return v >= 0xFFF8
	}
	return v >= 0x0FFFFFF8
}

// chain reads the clusters from first on. With size >= 0 the chain must be
// exactly as long as size needs, and size bytes are returned.
func (fr *fatReader) chain(first uint32, size int64, path string) ([]byte, error) {
	var data []byte
	for c := first; ; {
		if c < 2 || c >= uint32(len(fr.fat)) {
			return nil, fmt.Errorf("%s: cluster %d out of range", path, c)
		}
		if o := fr.owner[c]; o != "" {
			return nil, fmt.Errorf("%s: cluster %d is also in %s", path, c, o)
		}
		fr.owner[c] = path
		b, err := readAt(fr.r, fr.dataOff+int64(c-2)*fr.clusterSize, fr.clusterSize)
		if err != nil {
			return nil, err
		}
		data = append(data, b...)
		next := fr.fat[c]
		if fr.eoc(next) {
			break
		}
		if next == 0 || size >= 0 && int64(len(data)) >= size {
			return nil, fmt.Errorf("%s: chain goes on past %d bytes (FAT[%d] = %#x)", path, len(data), c, next)
		}
		c = next
	}
	if size >= 0 {
		if int64(len(data)) < size || int64(len(data))-size >= fr.clusterSize {
			return nil, fmt.Errorf("%s: %d bytes of clusters for %d bytes", path, len(data), size)
		}
		data = data[:size]
	}
	return data, nil
}

// dosTime decodes a DOS date and time (UTC, as liveiso writes them).
func dosTime(date, tod uint16) time.Time {
	return time.Date(1980+int(date>>9), time.Month(date>>5&15), int(date&31),
		int(tod>>11), int(tod>>5&63), 2*int(tod&31), 0, time.UTC)
}

// walk reads the directory entries in b of the directory at prefix (""
// for the root), whose own cluster is self and whose parent's is parent.
func (fr *fatReader) walk(im *readImage, b []byte, prefix string, self, parent uint32) error {
	var long []uint16
	wantOrd, sum := 0, byte(0)
	shorts := map[string]bool{}
	names := map[string]bool{}
	dots := 0
	for i := 0; i+32 <= len(b); i += 32 {
		e := b[i : i+32]
		if e[0] == 0 {
			break
		}
		if e[0] == 0xE5 {
			return fmt.Errorf("%s: a deleted entry", prefix)
		}
		attr := e[11]
		if attr&0x3F == 0x0F { // a long-name entry
			ord := int(e[0])
			if ord&0x40 != 0 {
				if wantOrd != 0 {
					return fmt.Errorf("%s: a long name starts inside another", prefix)
				}
				ord &^= 0x40
				long = make([]uint16, 13*ord)
				wantOrd, sum = ord, e[13]
			}
			if ord != wantOrd || ord == 0 || e[13] != sum {
				return fmt.Errorf("%s: long-name entry %d out of order (want %d) or checksum", prefix, ord, wantOrd)
			}
			for k, off := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
				long[(ord-1)*13+k] = binary.LittleEndian.Uint16(e[off:])
			}
			wantOrd--
			continue
		}
		var short [11]byte
		copy(short[:], e[:11])
		var name string
		if long != nil {
			if wantOrd != 0 {
				return fmt.Errorf("%s: a long name ends early", prefix)
			}
			var s byte
			for _, c := range short {
				s = (s&1)<<7 + s>>1 + c
			}
			if s != sum {
				return fmt.Errorf("%s: long-name checksum %#x, short name %q sums to %#x", prefix, sum, short, s)
			}
			n := 0
			for n < len(long) && long[n] != 0 {
				n++
			}
			for k := n + 1; k < len(long); k++ {
				if long[k] != 0xFFFF {
					return fmt.Errorf("%s: long name not padded with 0xFFFF", prefix)
				}
			}
			name = string(utf16.Decode(long[:n]))
			long = nil
		} else {
			base := strings.TrimRight(string(short[:8]), " ")
			ext := strings.TrimRight(string(short[8:]), " ")
			if e[12]&0x08 != 0 {
				base = strings.ToLower(base)
			}
			if e[12]&0x10 != 0 {
				ext = strings.ToLower(ext)
			}
			name = base
			if ext != "" {
				name += "." + ext
			}
		}
		if attr == 0x08 { // volume ID
			if prefix != "" || im.label != "" {
				return fmt.Errorf("%s: a volume label entry", prefix)
			}
			im.label = strings.TrimRight(string(short[:]), " ")
			continue
		}
		cluster := uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:]))
		size := int64(binary.LittleEndian.Uint32(e[28:]))
		mtime := dosTime(binary.LittleEndian.Uint16(e[24:]), binary.LittleEndian.Uint16(e[22:]))
		if name == "." || name == ".." {
			if prefix == "" || i != 32*dots || attr&0x10 == 0 {
				return fmt.Errorf("%s: %q out of place", prefix, name)
			}
			if want := map[string]uint32{".": self, "..": parent}[name]; cluster != want {
				return fmt.Errorf("%s: %q names cluster %d, want %d", prefix, name, cluster, want)
			}
			dots++
			continue
		}
		for _, c := range short {
			if c < 0x20 || strings.IndexByte("\"*+,./:;<=>?[\\]|", c) >= 0 || 'a' <= c && c <= 'z' {
				return fmt.Errorf("%s: short name %q has %q", prefix, short, c)
			}
		}
		if shorts[string(short[:])] {
			return fmt.Errorf("%s: short name %q twice", prefix, short)
		}
		shorts[string(short[:])] = true
		if names[strings.ToLower(name)] {
			return fmt.Errorf("%s: name %q twice", prefix, name)
		}
		names[strings.ToLower(name)] = true
		path := prefix + name
		if attr&0x10 != 0 {
			if size != 0 {
				return fmt.Errorf("%s: a directory of size %d", path, size)
			}
			d, err := fr.chain(cluster, -1, path+"/")
			if err != nil {
				return err
			}
			im.dirs[path] = true
			if err := fr.walk(im, d, path+"/", cluster, self); err != nil {
				return err
			}
			continue
		}
		var data []byte
		if size > 0 || cluster != 0 {
			var err error
			if data, err = fr.chain(cluster, size, path); err != nil {
				return err
			}
		}
		im.files[path] = readFile{data: data, mtime: mtime}
	}
	if long != nil {
		return fmt.Errorf("%s: a long name without its short entry", prefix)
	}
	if prefix != "" && dots != 2 {
		return fmt.Errorf("%s: %d of the entries . and ..", prefix, dots)
	}
	return nil
}
