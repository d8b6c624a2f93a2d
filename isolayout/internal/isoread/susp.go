package isoread

import (
	"errors"
	"fmt"
	"time"
)

// System Use entries (SUSP 1.12 and RRIP 1.12).

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
