package fat

import "encoding/binary"

// encodeFAT returns the used prefix of the FAT: entries 0 and 1, then one
// chain per node (consecutive clusters, the last one end-of-chain). Entries
// from next on are free (zero) and are not stored.
func encodeFAT(t Type, nodes []*node, next uint32) []byte {
	eoc := t.endOfChain()
	entries := make([]uint32, next)
	entries[0] = eoc&^0xFF | mediaFixed // the media byte in the low 8 bits
	entries[1] = eoc                    // clean shutdown, no hard error
	for _, n := range nodes {
		for i := range n.nclus {
			c := n.cluster + i
			if i == n.nclus-1 {
				entries[c] = eoc
			} else {
				entries[c] = c + 1
			}
		}
	}
	switch t {
	case FAT12:
		b := make([]byte, (len(entries)*3+1)/2)
		for i, e := range entries {
			off := i + i/2
			if i%2 == 0 {
				b[off] = byte(e)
				b[off+1] = b[off+1]&0xF0 | byte(e>>8)&0x0F
			} else {
				b[off] = b[off]&0x0F | byte(e<<4)
				b[off+1] = byte(e >> 4)
			}
		}
		return b
	case FAT16:
		b := make([]byte, 0, 2*len(entries))
		for _, e := range entries {
			b = binary.LittleEndian.AppendUint16(b, uint16(e))
		}
		return b
	}
	b := make([]byte, 0, 4*len(entries))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b
}
