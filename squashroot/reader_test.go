package squashroot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/liveiso/liveiso/squashfs"
)

// A small squashfs reader for tests, written from squashfs_fs.h: it walks
// an image from the root inode and checks the kernel's rules as it goes
// (inode numbers unique in 1..Inodes, at most DirCount entries per
// directory header, names sorted, stored sizes within the image).

type readEntry struct {
	Type     uint16 // basic type
	Mode     uint16
	UID, GID uint32
	Mtime    uint32
	Number   uint32
	Nlink    uint32
	Size     uint64
	SHA      string
	Target   string
	Rdev     uint32
}

type reader struct {
	t       testing.TB
	img     []byte
	sb      squashfs.Superblock
	comp    squashfs.Compression
	ids     []uint32
	inodes  []byte
	iblocks map[uint32]int // block start -> index
	dirs    []byte
	dblocks map[uint32]int
	seen    map[uint32]bool
	out     map[string]readEntry
}

var le = binary.LittleEndian

func readImage(t testing.TB, img []byte) map[string]readEntry {
	t.Helper()
	r := &reader{t: t, img: img, seen: map[uint32]bool{}, out: map[string]readEntry{}}
	if len(img) < squashfs.SuperblockSize || le.Uint32(img) != squashfs.Magic {
		t.Fatalf("no squashfs superblock")
	}
	s := &r.sb
	s.Inodes, s.BlockSize, s.Compressor, s.IDs = le.Uint32(img[4:]), le.Uint32(img[12:]), le.Uint16(img[20:]), le.Uint16(img[26:])
	if le.Uint16(img[28:]) != 4 || le.Uint16(img[30:]) != 0 || 1<<le.Uint16(img[22:]) != s.BlockSize || squashfs.CheckBlockSize(s.BlockSize) != nil {
		t.Fatalf("bad version or block size % x", img[:32])
	}
	s.RootInode = squashfs.InodeRef(le.Uint64(img[32:]))
	s.BytesUsed, s.IDTableStart = le.Uint64(img[40:]), le.Uint64(img[48:])
	s.InodeTableStart, s.DirectoryTableStart = le.Uint64(img[64:]), le.Uint64(img[72:])
	if s.BytesUsed > uint64(len(img)) || s.IDs == 0 {
		t.Fatalf("bytes used %d of %d, %d ids", s.BytesUsed, len(img), s.IDs)
	}
	r.comp = squashfs.Gzip
	if s.Compressor == squashfs.CompressorZstd {
		r.comp = squashfs.Zstd
	}
	// The id table: its blocks end where its index begins.
	nIdx := (int(s.IDs)*4 + squashfs.MetadataSize - 1) / squashfs.MetadataSize
	first := le.Uint64(img[s.IDTableStart:])
	idBytes, _ := r.metadata(first, s.IDTableStart)
	for i := range int(s.IDs) {
		r.ids = append(r.ids, le.Uint32(idBytes[4*i:]))
	}
	if s.IDTableStart+uint64(8*nIdx) != s.BytesUsed {
		t.Fatalf("id index ends at %d, bytes used %d", s.IDTableStart+uint64(8*nIdx), s.BytesUsed)
	}
	r.inodes, r.iblocks = r.metadata(s.InodeTableStart, s.DirectoryTableStart)
	r.dirs, r.dblocks = r.metadata(s.DirectoryTableStart, first)
	r.walk(".", s.RootInode)
	if len(r.seen) != int(s.Inodes) {
		t.Fatalf("%d inodes reachable, superblock says %d", len(r.seen), s.Inodes)
	}
	return r.out
}

// metadata reads the metadata blocks in [start, end).
func (r *reader) metadata(start, end uint64) ([]byte, map[uint32]int) {
	var data []byte
	blocks := map[uint32]int{}
	for off := start; off < end; {
		h := le.Uint16(r.img[off:])
		n := uint64(h &^ squashfs.MetadataUncompressed)
		b := r.img[off+2 : off+2+n]
		if h&squashfs.MetadataUncompressed == 0 {
			b = r.decompress(b)
		}
		if len(b) > squashfs.MetadataSize || (len(blocks) > 0 && len(data)%squashfs.MetadataSize != 0) {
			r.t.Fatalf("metadata block at %d: %d bytes after %d", off, len(b), len(data))
		}
		blocks[uint32(off-start)] = len(blocks)
		data = append(data, b...)
		off += 2 + n
	}
	return data, blocks
}

func (r *reader) decompress(b []byte) []byte {
	var out []byte
	var err error
	switch r.comp {
	case squashfs.Zstd:
		var d *zstd.Decoder
		// The kernel sets its decompressor up for max(block size, metadata size).
		d, err = zstd.NewReader(nil, zstd.WithDecoderMaxWindow(uint64(max(r.sb.BlockSize, squashfs.MetadataSize))))
		if err == nil {
			out, err = d.DecodeAll(b, nil)
			d.Close()
		}
	default:
		var z io.ReadCloser
		z, err = zlib.NewReader(bytes.NewReader(b))
		if err == nil {
			out, err = io.ReadAll(z)
		}
	}
	if err != nil {
		r.t.Fatalf("decompress %d bytes: %v", len(b), err)
	}
	return out
}

func at(blocks map[uint32]int, block uint32, off uint16) int {
	return blocks[block]*squashfs.MetadataSize + int(off)
}

func (r *reader) walk(name string, ref squashfs.InodeRef) readEntry {
	t := r.t
	if _, ok := r.iblocks[ref.Block()]; !ok {
		t.Fatalf("%s: inode block %d is no block start", name, ref.Block())
	}
	b := r.inodes[at(r.iblocks, ref.Block(), ref.Offset()):]
	typ := le.Uint16(b)
	e := readEntry{Mode: le.Uint16(b[2:]), UID: r.ids[le.Uint16(b[4:])], GID: r.ids[le.Uint16(b[6:])], Mtime: le.Uint32(b[8:]), Number: le.Uint32(b[12:])}
	if e.Number < 1 || e.Number > r.sb.Inodes {
		t.Fatalf("%s: inode number %d outside 1..%d", name, e.Number, r.sb.Inodes)
	}
	if prev, ok := r.out[name]; ok {
		t.Fatalf("%s seen twice (%+v)", name, prev)
	}
	hard := r.seen[e.Number]
	r.seen[e.Number] = true
	b = b[squashfs.InodeHeaderSize:]
	e.Type = typ
	if typ >= squashfs.TypeLDir {
		e.Type = typ - (squashfs.TypeLDir - squashfs.TypeDir)
	}
	switch typ {
	case squashfs.TypeDir, squashfs.TypeLDir:
		var start, size uint32
		var off uint16
		if typ == squashfs.TypeDir {
			start, e.Nlink, size, off = le.Uint32(b), le.Uint32(b[4:]), uint32(le.Uint16(b[8:])), le.Uint16(b[10:])
		} else {
			e.Nlink, size, start, off = le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint16(b[18:])
		}
		if hard {
			t.Fatalf("directory %s has inode %d twice", name, e.Number)
		}
		r.out[name] = e
		pos := at(r.dblocks, start, off)
		listing := r.dirs[pos : pos+int(size)-3]
		prevName := ""
		subdirs := uint32(0)
		for len(listing) > 0 {
			count, block, base := le.Uint32(listing)+1, le.Uint32(listing[4:]), le.Uint32(listing[8:])
			listing = listing[squashfs.DirHeaderSize:]
			if count > squashfs.DirCount {
				t.Fatalf("%s: directory header of %d entries", name, count)
			}
			for range count {
				ioff, diff, etyp, n := le.Uint16(listing), int16(le.Uint16(listing[2:])), le.Uint16(listing[4:]), int(le.Uint16(listing[6:]))+1
				child := string(listing[squashfs.DirEntrySize : squashfs.DirEntrySize+n])
				listing = listing[squashfs.DirEntrySize+n:]
				if child <= prevName {
					t.Fatalf("%s: %q after %q", name, child, prevName)
				}
				prevName = child
				path := child
				if name != "." {
					path = name + "/" + child
				}
				ce := r.walk(path, squashfs.MakeInodeRef(block, ioff))
				if ce.Type != etyp || ce.Number != uint32(int64(base)+int64(diff)) {
					t.Fatalf("%s: entry says type %d inode %d, inode is %d %d", path, etyp, int64(base)+int64(diff), ce.Type, ce.Number)
				}
				if etyp == squashfs.TypeDir {
					subdirs++
				}
			}
		}
		if e.Nlink != 2+subdirs {
			t.Fatalf("%s: nlink %d with %d subdirectories", name, e.Nlink, subdirs)
		}
		return e
	case squashfs.TypeReg, squashfs.TypeLReg:
		var start uint64
		frag := uint32(0)
		if typ == squashfs.TypeReg {
			start, frag, e.Size = uint64(le.Uint32(b)), le.Uint32(b[4:]), uint64(le.Uint32(b[12:]))
			e.Nlink = 1
			b = b[16:]
		} else {
			start, e.Size, e.Nlink, frag = le.Uint64(b), le.Uint64(b[8:]), le.Uint32(b[24:]), le.Uint32(b[28:])
			b = b[40:]
		}
		if frag != squashfs.InvalidFragment {
			t.Fatalf("%s: fragment %d", name, frag)
		}
		h := sha256.New()
		pos := start
		for remain := e.Size; remain > 0; {
			n := min(remain, uint64(r.sb.BlockSize))
			size := le.Uint32(b)
			b = b[4:]
			stored := uint64(size &^ squashfs.BlockUncompressed)
			var blk []byte
			switch {
			case size == 0:
				blk = make([]byte, n)
			case pos+stored > r.sb.InodeTableStart:
				t.Fatalf("%s: data block at %d+%d beyond the data area", name, pos, stored)
			case size&squashfs.BlockUncompressed != 0:
				blk = r.img[pos : pos+stored]
			default:
				blk = r.decompress(r.img[pos : pos+stored])
			}
			if uint64(len(blk)) != n {
				t.Fatalf("%s: block of %d bytes, want %d", name, len(blk), n)
			}
			h.Write(blk)
			pos += stored
			remain -= n
		}
		e.SHA = fmt.Sprintf("%x", h.Sum(nil))
	case squashfs.TypeSymlink, squashfs.TypeLSymlink:
		e.Nlink = le.Uint32(b)
		n := le.Uint32(b[4:])
		e.Target = string(b[8 : 8+n])
	case squashfs.TypeBlkDev, squashfs.TypeChrDev, squashfs.TypeLBlkDev, squashfs.TypeLChrDev:
		e.Nlink, e.Rdev = le.Uint32(b), le.Uint32(b[4:])
	case squashfs.TypeFIFO, squashfs.TypeSocket, squashfs.TypeLFIFO, squashfs.TypeLSocket:
		e.Nlink = le.Uint32(b)
	default:
		t.Fatalf("%s: inode type %d", name, typ)
	}
	r.out[name] = e
	return e
}
