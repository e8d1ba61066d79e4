package synth

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/densepred/dp/datasets"
	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/tensor"
)

// Classes are the shape classes of the detection and classification sets,
// indexed by label; Colors holds each class's RGB colour.
var (
	Classes = []string{"circle", "square", "triangle", "diamond"}
	Colors  = [][3]uint8{{225, 45, 45}, {40, 185, 70}, {45, 95, 230}, {235, 200, 35}}
)

// SegClasses are the segmentation classes after reduce_zero_label:
// background, then the shapes.
var SegClasses = append([]string{"background"}, Classes...)

// Options configure Generate.
type Options struct {
	// Task is "det", "seg" or "cls".
	Task string
	// Out is the output directory; it is created.
	Out string
	// Num is the number of training images; validation gets Num/4 (at
	// least 1). For cls, Num is per class. Default 64.
	Num int
	// Size is the long side of every image. Default 256.
	Size int
	// Seed makes the dataset; the same options give the same files.
	Seed uint64
	// Format is "coco" (default) or "voc" for det.
	Format string
	// ImageFormat is "png" (default) or "jpg" for COCO-layout images.
	ImageFormat string
}

// Generate writes the dataset described by opt.
func Generate(opt Options) error {
	if opt.Num <= 0 {
		opt.Num = 64
	}
	if opt.Size <= 0 {
		opt.Size = 256
	}
	if opt.Size < 64 {
		return fmt.Errorf("synth: size %d, want at least 64", opt.Size)
	}
	if opt.Out == "" {
		return fmt.Errorf("synth: no output directory")
	}
	if opt.Format == "" {
		opt.Format = "coco"
	}
	if opt.ImageFormat == "" {
		opt.ImageFormat = "png"
	}
	if opt.ImageFormat != "png" && opt.ImageFormat != "jpg" {
		return fmt.Errorf("synth: image format %q, want png or jpg", opt.ImageFormat)
	}
	switch opt.Task {
	case "det":
		switch opt.Format {
		case "coco":
			return writeCOCO(opt)
		case "voc":
			return writeVOC(opt)
		}
		return fmt.Errorf("synth: format %q, want coco or voc", opt.Format)
	case "seg":
		return writeADE(opt)
	case "cls":
		return writeFolders(opt)
	}
	return fmt.Errorf("synth: task %q, want det, seg or cls", opt.Task)
}

// splits returns the split names and image counts.
func splits(opt Options) [2]struct {
	name string
	n    int
} {
	return [2]struct {
		name string
		n    int
	}{{"train", opt.Num}, {"val", max(opt.Num/4, 1)}}
}

// mix derives a seed for one image (SplitMix64 finaliser).
func mix(vals ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// object is one drawn shape.
type object struct {
	class int
	poly  []float64 // polygon, image pixels
	crowd bool
	rle   mask.RLE // pixels painted for it (after nothing covers it)
}

// scene is one generated image with its objects and label map.
type scene struct {
	img  *datasets.Image
	seg  *datasets.Plane // ADE20K labels: 1 background, 2+k shape class k
	objs []object
}

// imageSize draws the size: square, landscape 4:3 or portrait 3:4.
func imageSize(rng *tensor.RNG, size int) (w, h int) {
	switch rng.Intn(3) {
	case 0:
		return size, size
	case 1:
		return size, size * 3 / 4
	}
	return size * 3 / 4, size
}

// background paints a muted, textured background: a gradient between two
// grey-brown tones, soft stripes and pixel noise.
func background(rng *tensor.RNG, w, h int) *datasets.Image {
	img := datasets.NewImage(w, h)
	var c0, c1 [3]float64
	for k := 0; k < 3; k++ {
		base := rng.Uniform(95, 160)
		c0[k] = base + rng.Uniform(-12, 12)
		c1[k] = base + rng.Uniform(-30, 30)
	}
	fx, fy := rng.Uniform(0.02, 0.12), rng.Uniform(0.02, 0.12)
	ph := rng.Uniform(0, 2*math.Pi)
	amp := rng.Uniform(6, 16)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			stripe := amp * math.Sin(fx*float64(x)+fy*float64(y)+ph)
			p := img.Pix[3*(y*w+x):]
			for k := 0; k < 3; k++ {
				v := c0[k]*(1-t) + c1[k]*t + stripe + rng.Uniform(-8, 8)
				p[k] = uint8(min(max(v, 0), 255))
			}
		}
	}
	return img
}

// shape returns the polygon of a class centred at (cx, cy) with size s,
// vertices rounded to 1/100 pixel so that the JSON file carries exactly
// the polygon that was painted.
func shape(class int, cx, cy, s float64, rng *tensor.RNG) []float64 {
	p := rawShape(class, cx, cy, s, rng)
	for k, v := range p {
		p[k] = round2(v)
	}
	return p
}

func rawShape(class int, cx, cy, s float64, rng *tensor.RNG) []float64 {
	r := s / 2
	switch class {
	case 0: // circle: a 32-gon
		p := make([]float64, 0, 64)
		for k := 0; k < 32; k++ {
			a := 2 * math.Pi * float64(k) / 32
			p = append(p, cx+r*math.Cos(a), cy+r*math.Sin(a))
		}
		return p
	case 1: // square, a little rectangular
		rw, rh := r*rng.Uniform(0.85, 1), r*rng.Uniform(0.85, 1)
		return []float64{cx - rw, cy - rh, cx + rw, cy - rh, cx + rw, cy + rh, cx - rw, cy + rh}
	case 2: // triangle, apex up
		return []float64{cx, cy - r, cx + r, cy + r, cx - r, cy + r}
	}
	// diamond
	rw := r * rng.Uniform(0.7, 0.9)
	return []float64{cx, cy - r, cx + rw, cy, cx, cy + r, cx - rw, cy}
}

// paint fills the polygon's pixels (as the COCO API rasterises it, so the
// mask annotation and the picture agree exactly) with the class colour
// plus a little noise, and returns the mask.
func paint(img *datasets.Image, poly []float64, col [3]uint8, rng *tensor.RNG) mask.RLE {
	r := mask.FrPoly(poly, img.H, img.W)
	bits := r.Decode()
	shade := rng.Uniform(-20, 20)
	for i, b := range bits {
		if b == 0 {
			continue
		}
		p := img.Pix[3*i:]
		n := shade + rng.Uniform(-6, 6)
		for k := 0; k < 3; k++ {
			p[k] = uint8(min(max(float64(col[k])+n, 0), 255))
		}
	}
	return r
}

// drawScene draws one image: 1–4 shapes that do not overlap (so each
// polygon is the visible mask), and with crowd set, a crowd region.
func drawScene(rng *tensor.RNG, size int, crowd bool) scene {
	w, h := imageSize(rng, size)
	img := background(rng, w, h)
	seg := datasets.NewPlane(w, h)
	for i := range seg.Pix {
		seg.Pix[i] = 1 // background, class 0 after reduce_zero_label
	}
	minS, maxS := 24*float64(size)/256, 96*float64(size)/256
	var boxes [][4]float64
	free := func(b [4]float64) bool {
		for _, o := range boxes {
			if b[0] < o[2]+4 && o[0] < b[2]+4 && b[1] < o[3]+4 && o[1] < b[3]+4 {
				return false
			}
		}
		return true
	}
	sc := scene{img: img, seg: seg}
	n := 1 + rng.Intn(4)
	for k, tries := 0, 0; k < n && tries < 50; tries++ {
		s := rng.Uniform(minS, maxS)
		cx, cy := rng.Uniform(s/2+1, float64(w)-s/2-1), rng.Uniform(s/2+1, float64(h)-s/2-1)
		b := [4]float64{cx - s/2, cy - s/2, cx + s/2, cy + s/2}
		if !free(b) {
			continue
		}
		boxes = append(boxes, b)
		class := rng.Intn(len(Classes))
		poly := shape(class, cx, cy, s, rng)
		r := paint(img, poly, Colors[class], rng)
		sc.objs = append(sc.objs, object{class: class, poly: poly, rle: r})
		k++
	}
	if crowd {
		// A cluster of 5–8 small shapes of one class, annotated once.
		class := rng.Intn(len(Classes))
		s := 3 * minS
		for tries := 0; tries < 50; tries++ {
			cx, cy := rng.Uniform(s/2+1, float64(w)-s/2-1), rng.Uniform(s/2+1, float64(h)-s/2-1)
			b := [4]float64{cx - s/2, cy - s/2, cx + s/2, cy + s/2}
			if !free(b) {
				continue
			}
			boxes = append(boxes, b)
			var parts []mask.RLE
			for m := 5 + rng.Intn(4); m > 0; m-- {
				ss := rng.Uniform(minS/3, minS/2)
				px, py := rng.Uniform(b[0]+ss/2, b[2]-ss/2), rng.Uniform(b[1]+ss/2, b[3]-ss/2)
				parts = append(parts, paint(img, shape(class, px, py, ss, rng), Colors[class], rng))
			}
			sc.objs = append(sc.objs, object{class: class, crowd: true, rle: mask.Merge(parts, false)})
			break
		}
	}
	for _, o := range sc.objs {
		bits := o.rle.Decode()
		for i, b := range bits {
			if b != 0 {
				seg.Pix[i] = uint8(2 + o.class)
			}
		}
	}
	return sc
}

// bbox returns an object's COCO box [x, y, w, h]: polygon extents, or the
// mask's box for a crowd region.
func (o object) bbox() [4]float64 {
	if o.crowd {
		return o.rle.ToBBox()
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for k := 0; k+1 < len(o.poly); k += 2 {
		x0, x1 = math.Min(x0, o.poly[k]), math.Max(x1, o.poly[k])
		y0, y1 = math.Min(y0, o.poly[k+1]), math.Max(y1, o.poly[k+1])
	}
	return [4]float64{x0, y0, x1 - x0, y1 - y0}
}

// forEach runs fn for i in [0, n) on two goroutines and returns the first
// error by index.
func forEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	const workers = 2
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				errs[i] = fn(i)
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func writeImage(path string, img image.Image, quality int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("synth: %v", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %v", err)
	}
	bw := bufio.NewWriter(f)
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(bw, img, &jpeg.Options{Quality: quality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(bw, img)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synth: writing %s: %v", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file and renames it to path.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("synth: %v", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("synth: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("synth: %v", err)
	}
	return nil
}

// COCO output structures.
type cocoImage struct {
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoAnn struct {
	ID           int        `json:"id"`
	ImageID      int        `json:"image_id"`
	CategoryID   int        `json:"category_id"`
	BBox         [4]float64 `json:"bbox"`
	Area         int        `json:"area"`
	IsCrowd      int        `json:"iscrowd"`
	Segmentation any        `json:"segmentation"`
}

type cocoCat struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory"`
}

type cocoRLE struct {
	Size   [2]int   `json:"size"`
	Counts []uint32 `json:"counts"`
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func writeCOCO(opt Options) error {
	var cats []cocoCat
	for i, c := range Classes {
		cats = append(cats, cocoCat{ID: i + 1, Name: c, Supercategory: "shape"})
	}
	for si, sp := range splits(opt) {
		scenes := make([]scene, sp.n)
		err := forEach(sp.n, func(i int) error {
			rng := tensor.NewRNG(mix(opt.Seed, uint64(si), uint64(i)))
			scenes[i] = drawScene(rng, opt.Size, rng.Intn(5) == 0)
			name := fmt.Sprintf("%06d.%s", i+1, opt.ImageFormat)
			return writeImage(filepath.Join(opt.Out, sp.name, name), scenes[i].img.ToNRGBA(), 95)
		})
		if err != nil {
			return err
		}
		doc := struct {
			Images      []cocoImage `json:"images"`
			Annotations []cocoAnn   `json:"annotations"`
			Categories  []cocoCat   `json:"categories"`
		}{Images: []cocoImage{}, Annotations: []cocoAnn{}, Categories: cats}
		for i, sc := range scenes {
			doc.Images = append(doc.Images, cocoImage{ID: i + 1, FileName: fmt.Sprintf("%06d.%s", i+1, opt.ImageFormat), Width: sc.img.W, Height: sc.img.H})
			for _, o := range sc.objs {
				a := cocoAnn{ID: len(doc.Annotations) + 1, ImageID: i + 1, CategoryID: o.class + 1, Area: o.rle.Area()}
				bb := o.bbox()
				for k := range bb {
					a.BBox[k] = round2(bb[k])
				}
				if o.crowd {
					a.IsCrowd = 1
					a.Segmentation = cocoRLE{Size: [2]int{o.rle.H, o.rle.W}, Counts: o.rle.Counts}
				} else {
					a.Segmentation = [][]float64{o.poly}
				}
				doc.Annotations = append(doc.Annotations, a)
			}
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("synth: %v", err)
		}
		if err := writeFileAtomic(filepath.Join(opt.Out, "annotations", "instances_"+sp.name+".json"), data); err != nil {
			return err
		}
	}
	return nil
}

// VOC output structures (VOC devkit doc section 2.1).
type vocAnnotation struct {
	XMLName  xml.Name    `xml:"annotation"`
	Folder   string      `xml:"folder"`
	Filename string      `xml:"filename"`
	Size     vocSize     `xml:"size"`
	Objects  []vocObject `xml:"object"`
}

type vocSize struct {
	Width  int `xml:"width"`
	Height int `xml:"height"`
	Depth  int `xml:"depth"`
}

type vocObject struct {
	Name      string `xml:"name"`
	Pose      string `xml:"pose"`
	Truncated int    `xml:"truncated"`
	Difficult int    `xml:"difficult"`
	BndBox    struct {
		XMin int `xml:"xmin"`
		YMin int `xml:"ymin"`
		XMax int `xml:"xmax"`
		YMax int `xml:"ymax"`
	} `xml:"bndbox"`
}

func writeVOC(opt Options) error {
	root := filepath.Join(opt.Out, "VOC2007")
	var all []string
	for si, sp := range splits(opt) {
		ids := make([]string, sp.n)
		err := forEach(sp.n, func(i int) error {
			rng := tensor.NewRNG(mix(opt.Seed, uint64(si), uint64(i)))
			sc := drawScene(rng, opt.Size, rng.Intn(5) == 0)
			id := fmt.Sprintf("%s_%06d", sp.name, i+1)
			ids[i] = id
			if err := writeImage(filepath.Join(root, "JPEGImages", id+".jpg"), sc.img.ToNRGBA(), 95); err != nil {
				return err
			}
			a := vocAnnotation{Folder: "VOC2007", Filename: id + ".jpg", Size: vocSize{sc.img.W, sc.img.H, 3}}
			for _, o := range sc.objs {
				bb := o.bbox()
				var vo vocObject
				vo.Name, vo.Pose = Classes[o.class], "Unspecified"
				if o.crowd {
					vo.Difficult = 1
				}
				// 1-based inclusive pixel coordinates of the covered pixels.
				vo.BndBox.XMin = int(math.Floor(bb[0])) + 1
				vo.BndBox.YMin = int(math.Floor(bb[1])) + 1
				vo.BndBox.XMax = min(int(math.Ceil(bb[0]+bb[2])), sc.img.W)
				vo.BndBox.YMax = min(int(math.Ceil(bb[1]+bb[3])), sc.img.H)
				a.Objects = append(a.Objects, vo)
			}
			data, err := xml.MarshalIndent(a, "", "\t")
			if err != nil {
				return fmt.Errorf("synth: %v", err)
			}
			return writeFileAtomic(filepath.Join(root, "Annotations", id+".xml"), append(data, '\n'))
		})
		if err != nil {
			return err
		}
		all = append(all, ids...)
		if err := writeFileAtomic(filepath.Join(root, "ImageSets", "Main", sp.name+".txt"), []byte(strings.Join(ids, "\n")+"\n")); err != nil {
			return err
		}
	}
	return writeFileAtomic(filepath.Join(root, "ImageSets", "Main", "trainval.txt"), []byte(strings.Join(all, "\n")+"\n"))
}

func writeADE(opt Options) error {
	root := filepath.Join(opt.Out, "ADEChallengeData2016")
	for si, sp := range splits(opt) {
		dir, prefix := "training", "ADE_train_"
		if sp.name == "val" {
			dir, prefix = "validation", "ADE_val_"
		}
		err := forEach(sp.n, func(i int) error {
			rng := tensor.NewRNG(mix(opt.Seed, uint64(si), uint64(i)))
			sc := drawScene(rng, opt.Size, false)
			name := fmt.Sprintf("%s%08d", prefix, i+1)
			if err := writeImage(filepath.Join(root, "images", dir, name+".jpg"), sc.img.ToNRGBA(), 95); err != nil {
				return err
			}
			g := &image.Gray{Pix: sc.seg.Pix, Stride: sc.seg.W, Rect: image.Rect(0, 0, sc.seg.W, sc.seg.H)}
			return writeImage(filepath.Join(root, "annotations", dir, name+".png"), g, 0)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFolders(opt Options) error {
	for si, sp := range splits(opt) {
		n := sp.n * len(Classes)
		err := forEach(n, func(i int) error {
			class := i % len(Classes)
			rng := tensor.NewRNG(mix(opt.Seed, uint64(si), uint64(i)))
			w, h := imageSize(rng, opt.Size)
			img := background(rng, w, h)
			lo := 0.3 * float64(min(w, h))
			s := rng.Uniform(lo, 0.8*float64(min(w, h)))
			cx, cy := rng.Uniform(s/2+1, float64(w)-s/2-1), rng.Uniform(s/2+1, float64(h)-s/2-1)
			paint(img, shape(class, cx, cy, s, rng), Colors[class], rng)
			name := fmt.Sprintf("%s_%06d.png", Classes[class], i/len(Classes)+1)
			return writeImage(filepath.Join(opt.Out, sp.name, Classes[class], name), img.ToNRGBA(), 0)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
