package datasets

import "encoding/binary"

// JPEG markers (ITU T.81, table B.1) and the EXIF tag dp reads (EXIF 2.32,
// section 4.6.4 A, tag 0x0112 Orientation).
const (
	markerSOI  = 0xd8 // start of image
	markerEOI  = 0xd9 // end of image
	markerSOS  = 0xda // start of scan: entropy-coded data follows
	markerAPP1 = 0xe1 // application segment 1: EXIF
	markerTEM  = 0x01 // temporary, no length
	markerRST0 = 0xd0 // restart markers RST0..RST7 have no length
	markerRST7 = 0xd7

	tagOrientation = 0x0112
	typeShort      = 3
)

// jpegOrientation returns the EXIF orientation (1..8) stored in a JPEG's
// APP1 segment, or 0 if there is none or it cannot be parsed. A damaged EXIF
// block is not an error: the image is used as stored, as OpenCV does.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != markerSOI {
		return 0
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return 0
		}
		marker := data[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		if marker == markerTEM || (marker >= markerRST0 && marker <= markerRST7) {
			i += 2
			continue
		}
		if marker == markerSOS || marker == markerEOI {
			return 0
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0
		}
		seg := data[i+4 : i+2+n]
		if marker == markerAPP1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 0
}

// tiffOrientation reads the Orientation entry of IFD0 of a TIFF-structured
// EXIF block (TIFF 6.0, section 2: header, IFD entries of 12 bytes).
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
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != tagOrientation {
			continue
		}
		if bo.Uint16(t[e+2:]) != typeShort {
			return 0
		}
		v := int(bo.Uint16(t[e+8:]))
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}
	return 0
}

// Orient returns img transformed by EXIF orientation o so that it displays
// upright: 2 mirrors, 3 rotates 180°, 4 flips vertically, 5 transposes,
// 6 rotates 90° clockwise, 7 transverses, 8 rotates 90° counter-clockwise.
// Orientation 1 (or any other value) returns img itself.
func (img *Image) Orient(o int) *Image {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.W, img.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewImage(ow, oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			s := 3 * (sy*w + sx)
			d := 3 * (y*ow + x)
			out.Pix[d], out.Pix[d+1], out.Pix[d+2] = img.Pix[s], img.Pix[s+1], img.Pix[s+2]
		}
	}
	return out
}
