package seg

import (
	"fmt"
	"image"
	"image/png"
	"os"
)

// ReadLabelPNG reads a label map: an 8-bit paletted or grayscale PNG (the
// palette index or gray level is the class, as PIL's "P" and "L" modes give
// mmseg) or a 16-bit grayscale PNG. It returns the values row-major.
func ReadLabelPNG(path string) (labels []int32, width, height int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("seg: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("seg: %s: %w", path, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]int32, 0, w*h)
	switch im := img.(type) {
	case *image.Paletted:
		for y := 0; y < h; y++ {
			for _, v := range im.Pix[y*im.Stride : y*im.Stride+w] {
				out = append(out, int32(v))
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			for _, v := range im.Pix[y*im.Stride : y*im.Stride+w] {
				out = append(out, int32(v))
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := im.Pix[y*im.Stride : y*im.Stride+2*w]
			for x := 0; x < w; x++ {
				out = append(out, int32(row[2*x])<<8|int32(row[2*x+1]))
			}
		}
	default:
		return nil, 0, 0, fmt.Errorf("seg: %s: a %T PNG is not a label map; want 8-bit paletted or grayscale, or 16-bit grayscale", path, img)
	}
	return out, w, h, nil
}
