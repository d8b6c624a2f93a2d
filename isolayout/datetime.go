package isolayout

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Field sizes of the two date formats of ECMA-119.
const (
	recordingTimeLen = 7  // ECMA-119 9.1.5
	volumeTimeLen    = 17 // ECMA-119 8.4.26.1
)

// appendRecordingTime appends t in the 7-byte format of ECMA-119 9.1.5
// (Recording Date and Time), also used by RRIP 1.12 TF in its short form.
// Times are recorded in UTC (offset 0) so images do not depend on the
// planner's time zone. The year field counts from 1900 in one byte, so times
// outside 1900..2155 are clamped.
func appendRecordingTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year := t.Year() - 1900
	switch {
	case year < 0:
		return append(dst, 0, 1, 1, 0, 0, 0, 0)
	case year > 255:
		return append(dst, 255, 12, 31, 23, 59, 59, 0)
	}
	return append(dst, byte(year), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0)
}

// appendVolumeTime appends t in the 17-byte format of ECMA-119 8.4.26.1:
// 16 ASCII digits YYYYMMDDHHMMSScc and the offset from GMT in 15-minute
// units. The zero time means "not specified": 16 '0' digits and offset 0.
func appendVolumeTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "0000000000000000\x00"...)
	}
	t = t.UTC()
	year := min(max(t.Year(), 1), 9999)
	dst = fmt.Appendf(dst, "%04d%02d%02d%02d%02d%02d%02d", year, int(t.Month()), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/10_000_000)
	return append(dst, 0)
}

// Numerical value formats of ECMA-119 7.2 and 7.3.

// appendBoth16 appends v as ECMA-119 7.2.3 (both-byte orders, 16 bits).
func appendBoth16(dst []byte, v uint16) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, v)
	return binary.BigEndian.AppendUint16(dst, v)
}

// appendBoth32 appends v as ECMA-119 7.3.3 (both-byte orders, 32 bits).
func appendBoth32(dst []byte, v uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, v)
	return binary.BigEndian.AppendUint32(dst, v)
}
