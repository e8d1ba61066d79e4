package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// grad is the test picture of testdata/make_images.py:
// R = 40x, G = 60y, B = 200 − 20x on a 6×4 image.
func grad(x, y int) (r, g, b uint8) { return uint8(40 * x), uint8(60 * y), uint8(200 - 20*x) }

func gradNRGBA() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			r, g, b := grad(x, y)
			m.SetNRGBA(x, y, color.NRGBA{r, g, b, 255})
		}
	}
	return m
}

func encode(t *testing.T, m image.Image, format string) []byte {
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, m)
	case "jpeg":
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 100})
	case "bmp":
		err = bmp.Encode(&buf, m)
	case "tiff":
		err = tiff.Encode(&buf, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// maxDiff compares img with grad; tol allows for lossy formats.
func checkGrad(t *testing.T, name string, img *Image, tol int) {
	t.Helper()
	if img.W != 6 || img.H != 4 {
		t.Fatalf("%s: size %dx%d, want 6x4", name, img.W, img.H)
	}
	bad := 0
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			r, g, b := grad(x, y)
			p := img.Pix[3*(y*6+x):]
			for k, want := range []uint8{r, g, b} {
				if d := int(p[k]) - int(want); d > tol || d < -tol {
					if bad++; bad <= 10 {
						t.Errorf("%s: pixel (%d,%d) channel %d = %d, want %d±%d", name, x, y, k, p[k], want, tol)
					}
				}
			}
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	src := gradNRGBA()
	rgba := image.NewRGBA(src.Rect)
	copy(rgba.Pix, src.Pix) // opaque: the same bytes
	pal := image.NewPaletted(src.Rect, nil)
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			r, g, b := grad(x, y)
			pal.Palette = append(pal.Palette, color.RGBA{r, g, b, 255})
			pal.SetColorIndex(x, y, uint8(len(pal.Palette)-1))
		}
	}
	n64 := image.NewNRGBA64(src.Rect)
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			r, g, b := grad(x, y)
			n64.SetNRGBA64(x, y, color.NRGBA64{uint16(r)<<8 | 0x7f, uint16(g) << 8, uint16(b) << 8, 0xffff})
		}
	}
	cases := []struct {
		name string
		data []byte
		tol  int
	}{
		{"png nrgba", encode(t, src, "png"), 0},
		{"png paletted", encode(t, pal, "png"), 0},
		{"png 16-bit", encode(t, n64, "png"), 0},
		{"bmp", encode(t, rgba, "bmp"), 0},
		{"tiff", encode(t, src, "tiff"), 0},
		// Chroma subsampling blurs this tiny gradient; exactness of the
		// conversion is checked against the standard library below.
		{"jpeg 4:2:0", encode(t, src, "jpeg"), 60},
	}
	for _, c := range cases {
		img, err := DecodeImage(c.data, c.name, true)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkGrad(t, c.name, img, c.tol)
		checkSlow(t, c.name, c.data, img)
	}
	for _, c := range []struct {
		file string
		tol  int
	}{{"testdata/grad_lossless.webp", 0}, {"testdata/grad_cmyk.jpg", 8}} {
		img, err := ReadImage(c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		checkGrad(t, c.file, img, c.tol)
		data, _ := os.ReadFile(c.file)
		checkSlow(t, c.file, data, img)
	}
}

// checkSlow compares img with the standard library's per-pixel At of the
// same decoded data, converted to straight RGB.
func checkSlow(t *testing.T, name string, data []byte, img *Image) {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			p := img.Pix[3*((y-b.Min.Y)*img.W+x-b.Min.X):]
			if p[0] != c.R || p[1] != c.G || p[2] != c.B {
				t.Fatalf("%s: pixel (%d,%d) = %v, At gives %v", name, x, y, p[:3], c)
			}
		}
	}
}

func TestToRGBGrayAndSubImage(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 5, 3))
	for i := range g.Pix {
		g.Pix[i] = uint8(10 * i)
	}
	img := ToRGB(g.SubImage(image.Rect(1, 1, 4, 3)))
	if img.W != 3 || img.H != 2 {
		t.Fatalf("size %dx%d, want 3x2", img.W, img.H)
	}
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			want := uint8(10 * ((y+1)*5 + x + 1))
			p := img.Pix[3*(y*3+x):]
			if p[0] != want || p[1] != want || p[2] != want {
				t.Errorf("pixel (%d,%d) = %v, want gray %d", x, y, p[:3], want)
			}
		}
	}
	// YCbCr sub-image with odd origin against the standard library's At.
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		ycc := image.NewYCbCr(image.Rect(0, 0, 9, 7), ratio)
		for i := range ycc.Y {
			ycc.Y[i] = uint8(i * 7)
		}
		for i := range ycc.Cb {
			ycc.Cb[i], ycc.Cr[i] = uint8(i*13), uint8(255-i*11)
		}
		sub := ycc.SubImage(image.Rect(1, 1, 8, 6)).(*image.YCbCr)
		img := ToRGB(sub)
		for y := 0; y < 5; y++ {
			for x := 0; x < 7; x++ {
				c := color.RGBAModel.Convert(sub.At(x+1, y+1)).(color.RGBA)
				p := img.Pix[3*(y*7+x):]
				if p[0] != c.R || p[1] != c.G || p[2] != c.B {
					t.Fatalf("ratio %v pixel (%d,%d) = %v, want %v", ratio, x, y, p[:3], c)
				}
			}
		}
	}
}

// withOrientation inserts an EXIF APP1 segment with the given orientation
// right after a JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16, order binary.AppendByteOrder) []byte {
	var tiffHdr []byte
	if order == binary.AppendByteOrder(binary.LittleEndian) {
		tiffHdr = []byte("II*\x00")
	} else {
		tiffHdr = []byte("MM\x00*")
	}
	t := append([]byte(nil), tiffHdr...)
	t = order.AppendUint32(t, 8)
	t = order.AppendUint16(t, 2) // two entries: an unrelated tag first
	t = order.AppendUint16(t, 0x010f)
	t = order.AppendUint16(t, 2)
	t = order.AppendUint32(t, 4)
	t = append(t, 'd', 'p', 0, 0)
	t = order.AppendUint16(t, tagOrientation)
	t = order.AppendUint16(t, typeShort)
	t = order.AppendUint32(t, 1)
	t = order.AppendUint16(t, o)
	t = append(t, 0, 0)
	t = order.AppendUint32(t, 0)
	seg := append([]byte("Exif\x00\x00"), t...)
	out := []byte{0xff, markerSOI, 0xff, markerAPP1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	// A 3×2 gray image with distinct pixels 0..5 (×40) survives JPEG at
	// quality 100 within a few levels.
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range g.Pix {
		g.Pix[i] = uint8(40 * i)
	}
	jpg := encode(t, g, "jpeg")
	// want[o] lists the source pixel index of each output pixel, row by
	// row, for the source
	//	0 1 2
	//	3 4 5
	want := map[uint16]struct {
		w, h int
		idx  []int
	}{
		1: {3, 2, []int{0, 1, 2, 3, 4, 5}},
		2: {3, 2, []int{2, 1, 0, 5, 4, 3}},
		3: {3, 2, []int{5, 4, 3, 2, 1, 0}},
		4: {3, 2, []int{3, 4, 5, 0, 1, 2}},
		5: {2, 3, []int{0, 3, 1, 4, 2, 5}},
		6: {2, 3, []int{3, 0, 4, 1, 5, 2}},
		7: {2, 3, []int{5, 2, 4, 1, 3, 0}},
		8: {2, 3, []int{2, 5, 1, 4, 0, 3}},
	}
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := uint16(1); o <= 8; o++ {
			data := withOrientation(jpg, o, order)
			if got := jpegOrientation(data); got != int(o) {
				t.Errorf("%v orientation %d: parsed %d", order, o, got)
			}
			img, err := DecodeImage(data, "x.jpg", true)
			if err != nil {
				t.Fatal(err)
			}
			wt := want[o]
			if img.W != wt.w || img.H != wt.h {
				t.Fatalf("orientation %d: %dx%d, want %dx%d", o, img.W, img.H, wt.w, wt.h)
			}
			for i, src := range wt.idx {
				if d := int(img.Pix[3*i]) - 40*src; d > 4 || d < -4 {
					t.Errorf("orientation %d: pixel %d = %d, want source pixel %d (%d)", o, i, img.Pix[3*i], src, 40*src)
				}
			}
			raw, _ := DecodeImage(data, "x.jpg", false)
			if raw.W != 3 {
				t.Errorf("orientation %d ignored: width %d, want 3", o, raw.W)
			}
		}
	}
	if jpegOrientation(jpg) != 0 {
		t.Error("plain JPEG: orientation found")
	}
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	jpg := encode(t, gradNRGBA(), "jpeg")
	trunc := filepath.Join(dir, "trunc.jpg")
	os.WriteFile(trunc, jpg[:len(jpg)/2], 0o644)
	text := filepath.Join(dir, "notes.jpg")
	os.WriteFile(text, []byte("not an image"), 0o644)
	cases := []struct {
		path string
		msg  string
	}{
		{filepath.Join(dir, "missing.jpg"), "datasets: " + filepath.Join(dir, "missing.jpg") + ": cannot read image: no such file or directory"},
		{trunc, "datasets: " + trunc + ": truncated image: unexpected EOF"},
		{text, "datasets: " + text + ": not a JPEG, PNG, GIF, BMP, TIFF or WebP image: image: unknown format"},
	}
	for _, c := range cases {
		img, err := ReadImage(c.path)
		if img != nil {
			t.Errorf("%s: image returned with error", c.path)
		}
		if err == nil || err.Error() != c.msg {
			t.Errorf("%s:\n got %v\nwant %s", c.path, err, c.msg)
		}
		var fe *FormatError
		if !errors.As(err, &fe) || fe.File != c.path {
			t.Errorf("%s: not a FormatError naming the file: %#v", c.path, err)
		}
	}
	// A colour PNG is not a label map: an UnsupportedError.
	p := filepath.Join(dir, "rgb.png")
	os.WriteFile(p, encode(t, gradNRGBA(), "png"), 0o644)
	_, err := ReadPlane(p)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || err.Error() != "datasets: "+p+": unsupported: label map must be a palette or 8-bit grayscale image, got 8-bit colour" {
		t.Errorf("colour label map: %v", err)
	}
}

func TestReadPlanePalette(t *testing.T) {
	// A VOC-style palette PNG: indices, not colours, come back.
	pal := image.NewPaletted(image.Rect(0, 0, 4, 2), color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{128, 0, 0, 255}, color.RGBA{0, 128, 0, 255}})
	for len(pal.Palette) < 256 {
		pal.Palette = append(pal.Palette, color.RGBA{224, 224, 192, 255})
	}
	copy(pal.Pix, []uint8{0, 1, 2, 255, 255, 2, 1, 0})
	p := filepath.Join(t.TempDir(), "seg.png")
	os.WriteFile(p, encode(t, pal, "png"), 0o644)
	pl, err := ReadPlane(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pl.Pix, []uint8{0, 1, 2, 255, 255, 2, 1, 0}) {
		t.Errorf("indices %v", pl.Pix)
	}
}
