package datasets

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	_ "image/gif" // registers GIF with image.Decode
	"image/jpeg"
	_ "image/png" // registers PNG with image.Decode
	"io"
	"os"

	_ "golang.org/x/image/bmp"  // registers BMP with image.Decode
	_ "golang.org/x/image/tiff" // registers TIFF with image.Decode
	_ "golang.org/x/image/webp" // registers WebP with image.Decode
)

// ReadImage reads and decodes the image file at path into RGB, honouring the
// EXIF orientation of JPEG files as OpenCV's IMREAD_COLOR (mmcv's default)
// does. Errors name the file.
func ReadImage(path string) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FormatError{Pkg: "datasets", File: path, Msg: "cannot read image", Err: unwrapPath(err)}
	}
	return DecodeImage(data, path, true)
}

// DecodeImage decodes an encoded JPEG, PNG, GIF, BMP, TIFF or WebP image into
// RGB. Grayscale, CMYK, paletted and 16-bit images are converted; alpha is
// dropped without compositing, as OpenCV does. With orient set, the EXIF
// orientation tag of a JPEG is applied. name is used in errors only.
func DecodeImage(data []byte, name string, orient bool) (*Image, error) {
	m, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, err)
	}
	img := ToRGB(m)
	if orient && format == "jpeg" {
		if o := jpegOrientation(data); o > 1 {
			img = img.Orient(o)
		}
	}
	return img, nil
}

// ReadPlane reads a single-channel label image (a palette PNG such as VOC's
// SegmentationClass, or an 8-bit grayscale PNG such as ADE20K's annotations)
// and returns its raw indices, not the palette colours.
func ReadPlane(path string) (*Plane, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FormatError{Pkg: "datasets", File: path, Msg: "cannot read label map", Err: unwrapPath(err)}
	}
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(path, err)
	}
	b := m.Bounds()
	p := NewPlane(b.Dx(), b.Dy())
	switch m := m.(type) {
	case *image.Paletted:
		copyRows(p.Pix, p.W, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), p.H)
	case *image.Gray:
		copyRows(p.Pix, p.W, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), p.H)
	default:
		return nil, &UnsupportedError{Pkg: "datasets", File: path,
			Msg: "label map must be a palette or 8-bit grayscale image, got " + colorModelName(m.ColorModel())}
	}
	return p, nil
}

func copyRows(dst []uint8, w int, src []uint8, stride, off, h int) {
	for y := 0; y < h; y++ {
		copy(dst[y*w:(y+1)*w], src[off+y*stride:])
	}
}

func colorModelName(m color.Model) string {
	switch m {
	case color.RGBAModel, color.NRGBAModel:
		return "8-bit colour"
	case color.RGBA64Model, color.NRGBA64Model:
		return "16-bit colour"
	case color.Gray16Model:
		return "16-bit grayscale"
	case color.YCbCrModel:
		return "YCbCr (JPEG)"
	case color.CMYKModel:
		return "CMYK"
	}
	return "another colour model"
}

func decodeError(name string, err error) error {
	msg := "cannot decode image"
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		msg = "truncated image"
	case errors.Is(err, image.ErrFormat):
		msg = "not a JPEG, PNG, GIF, BMP, TIFF or WebP image"
	}
	var ue jpeg.UnsupportedError
	if errors.As(err, &ue) {
		return &UnsupportedError{Pkg: "datasets", File: name, Msg: "image feature", Err: err}
	}
	return &FormatError{Pkg: "datasets", File: name, Msg: msg, Err: err}
}

// unwrapPath strips the *os.PathError wrapper whose path the caller already
// reports.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ToRGB converts any image to an Image. The common decoder outputs
// (YCbCr, Gray, RGBA, NRGBA, Paletted, CMYK, 16-bit) are read from their
// pixel buffers directly; other types go through the generic colour model.
func ToRGB(m image.Image) *Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewImage(w, h)
	dst := out.Pix
	switch m := m.(type) {
	case *image.YCbCr:
		ycbcrToRGB(dst, m)
	case *image.Gray:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			d := dst[3*y*w:][:3*w]
			for x, v := range src {
				d[3*x], d[3*x+1], d[3*x+2] = v, v, v
			}
		}
	case *image.RGBA:
		// The decoders return RGBA only for fully opaque images, so
		// premultiplied and straight values agree.
		rgbaToRGB(dst, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h)
	case *image.NRGBA:
		rgbaToRGB(dst, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h)
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			lut[i] = [3]uint8{n.R, n.G, n.B}
		}
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			d := dst[3*y*w:][:3*w]
			for x, v := range src {
				c := lut[v]
				d[3*x], d[3*x+1], d[3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			d := dst[3*y*w:][:3*w]
			for x := 0; x < w; x++ {
				d[3*x], d[3*x+1], d[3*x+2] = color.CMYKToRGB(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			d := dst[3*y*w:][:3*w]
			for x := 0; x < w; x++ {
				v := src[2*x] // high byte of the big-endian sample
				d[3*x], d[3*x+1], d[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA64:
		rgba64ToRGB(dst, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h)
	case *image.RGBA64:
		rgba64ToRGB(dst, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h)
	default:
		// Slow generic path for image types no decoder in use returns.
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
				dst[i], dst[i+1], dst[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return out
}

func rgbaToRGB(dst, pix []uint8, stride, off, w, h int) {
	for y := 0; y < h; y++ {
		src := pix[off+y*stride:][:4*w]
		d := dst[3*y*w:][:3*w]
		for x := 0; x < w; x++ {
			d[3*x], d[3*x+1], d[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
		}
	}
}

func rgba64ToRGB(dst, pix []uint8, stride, off, w, h int) {
	for y := 0; y < h; y++ {
		src := pix[off+y*stride:][:8*w]
		d := dst[3*y*w:][:3*w]
		for x := 0; x < w; x++ {
			d[3*x], d[3*x+1], d[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
		}
	}
}

// ycbcrToRGB converts with the chroma planes' subsampling expressed as
// shifts, which covers 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1 and 4:1:0.
func ycbcrToRGB(dst []uint8, m *image.YCbCr) {
	var sx, sy uint
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		sx = 1
	case image.YCbCrSubsampleRatio420:
		sx, sy = 1, 1
	case image.YCbCrSubsampleRatio440:
		sy = 1
	case image.YCbCrSubsampleRatio411:
		sx = 2
	case image.YCbCrSubsampleRatio410:
		sx, sy = 2, 1
	}
	b := m.Rect
	w := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		yrow := m.Y[(y-b.Min.Y)*m.YStride:][:w]
		crow := (y>>sy - b.Min.Y>>sy) * m.CStride
		cx0 := b.Min.X >> sx
		d := dst[3*(y-b.Min.Y)*w:][:3*w]
		for i := 0; i < w; i++ {
			ci := crow + (b.Min.X+i)>>sx - cx0
			p := d[3*i : 3*i+3 : 3*i+3]
			p[0], p[1], p[2] = yccToRGB(yrow[i], m.Cb[ci], m.Cr[ci])
		}
	}
}

// yccToRGB is color.YCbCrToRGB written so the compiler inlines it: the
// same 16.16 fixed-point JFIF conversion, bit for bit.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy1 + 91881*cr1
	if uint32(r)&0xff000000 == 0 {
		r >>= 16
	} else {
		r = ^(r >> 31)
	}
	g := yy1 - 22554*cb1 - 46802*cr1
	if uint32(g)&0xff000000 == 0 {
		g >>= 16
	} else {
		g = ^(g >> 31)
	}
	b := yy1 + 116130*cb1
	if uint32(b)&0xff000000 == 0 {
		b >>= 16
	} else {
		b = ^(b >> 31)
	}
	return uint8(r), uint8(g), uint8(b)
}

// ToNRGBA converts img to an *image.NRGBA (opaque), the type
// disintegration/imaging works in.
func (img *Image) ToNRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	n := img.W * img.H
	for i := 0; i < n; i++ {
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2], 255
	}
	return out
}
