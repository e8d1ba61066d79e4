package roi

import (
	"fmt"
	"math"

	"github.com/densepred/dp/eval/mask"
	"github.com/densepred/dp/heads/detops"
	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// InstanceMask is a ground-truth instance mask in image pixels: polygons
// (COCO's flat x, y lists), or, when Polygons is nil, a row-major W×H
// bitmap of zeros and ones.
type InstanceMask struct {
	Polygons [][]float64
	Bitmap   []uint8
	W, H     int
}

// convModule holds a conv under the name "conv", as mmcv's ConvModule.
type convModule struct {
	nn.ModuleBase
	Conv *nn.Conv2d
}

// MaskHead is mmdet's FCNMaskHead. For 256-channel 14×14 RoI features and
// 80 classes, Forward maps [P, 256, 14, 14] to mask logits [P, 80, 28, 28].
type MaskHead struct {
	nn.ModuleBase
	Convs      []*nn.Conv2d        // convs.{i}.conv, 3×3 with ReLU
	Upsample   *nn.ConvTranspose2d // upsample, 2×2 stride 2, with ReLU
	ConvLogits *nn.Conv2d          // conv_logits, 1×1
	opts       MaskHeadOptions
}

// NewMaskHead builds the head, initialised as mmdet does: every conv and
// the deconv Kaiming-normal (fan_out, ReLU gain), zero biases.
func NewMaskHead(o MaskHeadOptions) (*MaskHead, error) {
	switch {
	case o.Type != "FCNMaskHead":
		return nil, fmt.Errorf("roi: mask_head type %q (want FCNMaskHead)", o.Type)
	case o.InChannels < 1 || o.ConvOutChannels < 1 || o.NumConvs < 0:
		return nil, fmt.Errorf("roi: mask_head in_channels %d, conv_out_channels %d, num_convs %d", o.InChannels, o.ConvOutChannels, o.NumConvs)
	case o.NumClasses < 1:
		return nil, fmt.Errorf("roi: mask_head num_classes %d (want >= 1)", o.NumClasses)
	case o.LossMask.Type != "CrossEntropyLoss" || !o.LossMask.UseMask:
		return nil, fmt.Errorf("roi: mask_head loss_mask %s with use_mask %v (want CrossEntropyLoss with use_mask true)", o.LossMask.Type, o.LossMask.UseMask)
	}
	rng := tensor.NewRNG(o.Seed)
	kaiming := nn.KaimingOptions{Mode: nn.FanOut, Nonlinearity: "relu"}
	m := &MaskHead{opts: o}
	convs := nn.NewModuleList()
	in := o.InChannels
	for i := 0; i < o.NumConvs; i++ {
		c := nn.NewConv2d(in, o.ConvOutChannels, [2]int{3, 3}, rng, nn.Conv2dOptions{Padding: [2]int{1, 1}})
		nn.KaimingNormal(c.Weight.Value, rng, kaiming)
		c.Bias.Value.Zero()
		cm := &convModule{Conv: c}
		cm.RegisterModule("conv", c)
		convs.Append(cm)
		m.Convs = append(m.Convs, c)
		in = o.ConvOutChannels
	}
	m.Upsample = nn.NewConvTranspose2d(in, o.ConvOutChannels, [2]int{2, 2}, rng, nn.Conv2dOptions{Stride: [2]int{2, 2}})
	nn.KaimingNormal(m.Upsample.Weight.Value, rng, kaiming)
	m.Upsample.Bias.Value.Zero()
	nout := o.NumClasses
	if o.ClassAgnostic {
		nout = 1
	}
	m.ConvLogits = nn.NewConv2d(o.ConvOutChannels, nout, [2]int{1, 1}, rng, nn.Conv2dOptions{})
	nn.KaimingNormal(m.ConvLogits.Weight.Value, rng, kaiming)
	m.ConvLogits.Bias.Value.Zero()
	m.RegisterModule("convs", convs)
	m.RegisterModule("upsample", m.Upsample)
	m.RegisterModule("conv_logits", m.ConvLogits)
	return m, nil
}

// Forward maps RoI features [P, C, S, S] to mask logits [P, K, 2S, 2S].
func (m *MaskHead) Forward(x *nn.Var) *nn.Var {
	for _, c := range m.Convs {
		x = nn.ReLU(c.Forward(x))
	}
	x = nn.ReLU(m.Upsample.Forward(x))
	return m.ConvLogits.Forward(x)
}

// channels returns the channel each row's class reads.
func (m *MaskHead) channels(labels []int) []int {
	if !m.opts.ClassAgnostic {
		return labels
	}
	return make([]int, len(labels))
}

// Loss returns the mean per-pixel sigmoid cross-entropy between each
// positive RoI's logits of its class (labels) and its target [P, S, S],
// times the loss weight, as mmdet's mask_cross_entropy. With no positives
// it is zero (and still connected to the logits).
func (m *MaskHead) Loss(logits *nn.Var, targets *tensor.Tensor, labels []int) *nn.Var {
	if len(labels) == 0 {
		return nn.Scale(nn.SumAll(logits), 0)
	}
	sel := selectChannels(logits, m.channels(labels))
	l := nn.BinaryCrossEntropyWithLogits(sel, sel.Tape().Input(targets), nn.BCEOptions{})
	return nn.Scale(l, float32(m.opts.LossMask.LossWeight))
}

// MaskTargets returns the S×S training targets [P, S, S] of positive RoIs
// boxes whose gt masks are masks[gtIdx[k]], as mmdet's mask_target_single:
// each box is clipped to the w×h (padded) image, and the gt mask cropped to
// it and resized to S×S. Polygons are shifted and scaled into the box and
// rasterised at S×S as the COCO API does (PolygonMasks.crop_and_resize);
// bitmaps are sampled with RoIAlign (aligned, adaptive sampling) and
// binarised at 0.5 (BitmapMasks.crop_and_resize).
func MaskTargets(boxes []detops.Box, gtIdx []int, masks []InstanceMask, w, h, size int) *tensor.Tensor {
	out := tensor.New(len(boxes), size, size)
	od := out.Data()
	bitmaps := map[int]*nn.Var{} // gt index → its bitmap as a [1, 1, H, W] float map
	for k, b := range boxes {
		b = b.Clip(float32(w), float32(h))
		gm := masks[gtIdx[k]]
		dst := od[k*size*size : (k+1)*size*size]
		if gm.Polygons == nil {
			src, ok := bitmaps[gtIdx[k]]
			if !ok {
				t := tensor.New(1, 1, gm.H, gm.W)
				for i, v := range gm.Bitmap {
					t.Data()[i] = float32(v)
				}
				src = nn.Constant(t)
				bitmaps[gtIdx[k]] = src
			}
			cropBitmap(dst, src, b, size)
			continue
		}
		bw := math.Max(float64(b[2]-b[0]), 1)
		bh := math.Max(float64(b[3]-b[1]), 1)
		ws, hs := float64(size)/math.Max(bw, 0.1), float64(size)/math.Max(bh, 0.1)
		polys := make([][]float64, len(gm.Polygons))
		for i, p := range gm.Polygons {
			q := make([]float64, len(p))
			for j := 0; j+1 < len(p); j += 2 {
				q[j] = (p[j] - float64(b[0])) * ws
				q[j+1] = (p[j+1] - float64(b[1])) * hs
			}
			polys[i] = q
		}
		bits := mask.FrPolys(polys, size, size).Decode()
		for i, v := range bits {
			dst[i] = float32(v)
		}
	}
	return out
}

// cropBitmap samples a bitmap ([1, 1, H, W]) inside b into dst
// (size×size) with RoIAlign and thresholds at 0.5.
func cropBitmap(dst []float32, src *nn.Var, b detops.Box, size int) {
	r := detops.RoIAlign(src, []detops.RoI{{Box: b}}, detops.RoIAlignOptions{
		OutH: size, OutW: size, SpatialScale: 1, Aligned: true})
	for i, v := range r.Data() {
		dst[i] = 0
		if v >= 0.5 {
			dst[i] = 1
		}
	}
}

// PasteMask pastes an S×S probability map (row-major) into an h×w image at
// box, as mmdet's _do_paste_mask with skip_empty (its CPU path): the pixels
// from floor(x1)-1 to ceil(x2)+1 (and likewise in y, clamped to the image)
// sample the map bilinearly (grid_sample, align_corners false, zeros
// outside), and the result is thresholded (>= thr) into a row-major 0/1
// bitmap; pixels outside that window are 0. Arithmetic is float32 in
// PyTorch's order so that pixels at the threshold agree.
func PasteMask(prob []float32, size int, box detops.Box, h, w int, thr float32) []uint8 {
	out := make([]uint8, h*w)
	pasteValues(prob, size, box, h, w, func(i int, v float32) {
		if v >= thr {
			out[i] = 1
		}
	})
	return out
}

// PasteMaskRLE is PasteMask encoded as COCO RLE, computed from the pasted
// window only (the rest of the image is zero), so its cost does not grow
// with the image.
func PasteMaskRLE(prob []float32, size int, box detops.Box, h, w int, thr float32) mask.RLE {
	x0, y0, x1, y1 := pasteWindow(box, h, w)
	ww := max(x1-x0, 0)
	win := make([]uint8, max(y1-y0, 0)*ww)
	pasteValues(prob, size, box, h, w, func(i int, v float32) {
		if v >= thr {
			win[(i/w-y0)*ww+i%w-x0] = 1
		}
	})
	// Runs in column-major order, the first counting zeros (maskApi.c
	// rleEncode).
	var counts []uint32
	var run uint32
	var prev uint8
	for x := 0; x < w; x++ {
		if x < x0 || x >= x1 {
			if prev != 0 {
				counts, run, prev = append(counts, run), 0, 0
			}
			run += uint32(h)
			continue
		}
		for y := 0; y < h; y++ {
			var v uint8
			if y >= y0 && y < y1 {
				v = win[(y-y0)*ww+x-x0]
			}
			if v != prev {
				counts, run, prev = append(counts, run), 0, v
			}
			run++
		}
	}
	return mask.RLE{H: h, W: w, Counts: append(counts, run)}
}

// pasteWindow returns the pixels _do_paste_mask samples for box in an h×w
// image: columns [x0, x1) and rows [y0, y1).
func pasteWindow(box detops.Box, h, w int) (x0, y0, x1, y1 int) {
	x0 = int(max(math.Floor(float64(box[0]))-1, 0))
	y0 = int(max(math.Floor(float64(box[1]))-1, 0))
	x1 = int(min(math.Ceil(float64(box[2]))+1, float64(w)))
	y1 = int(min(math.Ceil(float64(box[3]))+1, float64(h)))
	return x0, y0, x1, y1
}

// pasteValues calls set with the row-major index and the sampled value of
// every pixel of PasteMask's window.
func pasteValues(prob []float32, size int, box detops.Box, h, w int, set func(i int, v float32)) {
	x0, y0, x1, y1 := box[0], box[1], box[2], box[3]
	fx0, fy0, fx1, fy1 := pasteWindow(box, h, w)
	half := float32(size) / 2
	gridX := make([]float32, max(fx1-fx0, 0))
	for i := range gridX {
		gridX[i] = gridCoord(float32(fx0+i), x0, x1, half)
	}
	at := func(yy, xx int) float32 {
		if yy < 0 || yy >= size || xx < 0 || xx >= size {
			return 0
		}
		return prob[yy*size+xx]
	}
	for py := fy0; py < fy1; py++ {
		iy := gridCoord(float32(py), y0, y1, half)
		yn := float32(math.Floor(float64(iy)))
		n := iy - yn
		s := 1 - n
		yi := int(yn)
		for i, ix := range gridX {
			xw := float32(math.Floor(float64(ix)))
			we := ix - xw
			e := 1 - we
			xi := int(xw)
			nw, ne, sw, se := float32(s*e), float32(s*we), float32(n*e), float32(n*we)
			v := float32(at(yi, xi)*nw) + float32(at(yi, xi+1)*ne)
			v = float32(v + float32(at(yi+1, xi)*sw))
			v = float32(v + float32(at(yi+1, xi+1)*se))
			set(py*w+fx0+i, v)
		}
	}
}

// gridCoord maps pixel p of the image to the source coordinate in the
// S×S map for a box spanning [lo, hi]: the normalised grid value
// (p + 0.5 - lo)/(hi - lo)·2 - 1 (0 where infinite, as mmdet sets it), then
// grid_sample's unnormalisation (g + 1)·S/2 - 0.5.
func gridCoord(p, lo, hi, half float32) float32 {
	g := float32(p + 0.5)
	g = float32(g - lo)
	g = float32(g / float32(hi-lo))
	g = float32(g * 2)
	g = float32(g - 1)
	if math.IsInf(float64(g), 0) {
		g = 0
	}
	return float32(float32(g+1)*half) - 0.5
}
