package imaging

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF orientation (1–8) of a JPEG, or 1 when
// there is none or the metadata is malformed. It reads only the APP1 "Exif"
// segment's IFD0 and bounds-checks every offset, so garbage never panics.
func exifOrientation(data []byte) int {
	o := 1
	jpegHeaderSegments(data, func(marker byte, seg []byte) bool {
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			if v := tiffOrientation(seg[6:]); v != 0 {
				o = v
				return false
			}
		}
		return true
	})
	return o
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure, returning
// 0 when it is absent or invalid.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[ifd:]))
	for k := range n {
		e := ifd + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value, stored inline
			return 0
		}
		if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}
