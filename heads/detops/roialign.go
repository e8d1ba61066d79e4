package detops

import (
	"fmt"
	"math"

	"github.com/densepred/dp/nn"
	"github.com/densepred/dp/tensor"
)

// RoI is a region of interest on image Batch of a feature batch.
type RoI struct {
	Batch int
	Box   Box
}

// RoIAlignOptions configure RoIAlign (mmcv's names; torchvision's semantics).
type RoIAlignOptions struct {
	OutH, OutW    int     // output size, e.g. 7×7 for boxes and 14×14 for masks
	SpatialScale  float32 // 1/stride of the feature map
	SamplingRatio int     // samples per bin side; 0 = adaptive ceil(roi size / out size)
	Aligned       bool    // shift by half a pixel (mmcv default true)
}

// RoIAlign pools each RoI of feat [N, C, H, W] into [R, C, OutH, OutW] by
// averaging bilinear samples on a regular grid in each bin, exactly as
// torchvision.ops.roi_align (and mmcv's RoIAlign with pool_mode "avg"):
// samples outside [-1, size] contribute zero, samples in [-1, 0] are clamped
// to 0, and the average divides by the full sample count.
//
// Its gradient scatters each output gradient to the four neighbours of each
// sample with the same bilinear weights.
func RoIAlign(feat *nn.Var, rois []RoI, o RoIAlignOptions) *nn.Var {
	fs := feat.Shape()
	if len(fs) != 4 || o.OutH <= 0 || o.OutW <= 0 {
		panic(fmt.Sprintf("detops: RoIAlign needs NCHW features and a positive output size, got %v and %dx%d", fs, o.OutH, o.OutW))
	}
	n, c, h, w := fs[0], fs[1], fs[2], fs[3]
	for i, r := range rois {
		if r.Batch < 0 || r.Batch >= n {
			panic(fmt.Sprintf("detops: RoIAlign: roi %d names image %d of %d", i, r.Batch, n))
		}
	}
	out := nn.Output([]int{len(rois), c, o.OutH, o.OutW}, feat)
	fd, od := feat.Data(), out.Data()
	bins := o.OutH * o.OutW
	tensor.Parallel(len(rois), 1, func(lo, hi int) {
		var samples []sample
		for ri := lo; ri < hi; ri++ {
			samples = roiSamples(samples[:0], rois[ri].Box, h, w, o)
			base := rois[ri].Batch * c * h * w
			for ch := 0; ch < c; ch++ {
				plane := fd[base+ch*h*w : base+(ch+1)*h*w]
				dst := od[(ri*c+ch)*bins : (ri*c+ch+1)*bins]
				clear(dst)
				for _, s := range samples {
					if s.w == [4]float32{} {
						continue
					}
					dst[s.bin] += s.w[0]*plane[s.i[0]] + s.w[1]*plane[s.i[1]] + s.w[2]*plane[s.i[2]] + s.w[3]*plane[s.i[3]]
				}
				if len(samples) > 0 {
					inv := samples[0].inv
					for b := range dst {
						dst[b] *= inv
					}
				}
			}
		}
	})
	nn.Record("RoIAlign", out, func() {
		gf := nn.GradOf(feat)
		if gf == nil {
			return
		}
		gd, god := gf.Data(), out.Grad.Data()
		// Each channel's plane is written by one goroutine, RoIs in order:
		// deterministic.
		all := make([][]sample, len(rois))
		for ri, r := range rois {
			all[ri] = roiSamples(nil, r.Box, h, w, o)
		}
		tensor.Parallel(c, 1, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				for ri, r := range rois {
					plane := gd[(r.Batch*c+ch)*h*w : (r.Batch*c+ch+1)*h*w]
					g := god[(ri*c+ch)*bins : (ri*c+ch+1)*bins]
					for _, s := range all[ri] {
						v := g[s.bin] * s.inv
						plane[s.i[0]] += v * s.w[0]
						plane[s.i[1]] += v * s.w[1]
						plane[s.i[2]] += v * s.w[2]
						plane[s.i[3]] += v * s.w[3]
					}
				}
			}
		})
	})
	return out
}

// sample is one bilinear sample: its output bin, the four flat neighbour
// indices and weights (all zero when the point is outside the map), and
// 1/count, the same for every sample of an RoI.
type sample struct {
	bin int
	i   [4]int
	w   [4]float32
	inv float32
}

// roiSamples lists the bilinear samples of one RoI, following torchvision's
// roi_align_forward_kernel_impl arithmetic in float32.
func roiSamples(dst []sample, b Box, h, w int, o RoIAlignOptions) []sample {
	var off float32
	if o.Aligned {
		off = 0.5
	}
	x1, y1 := b[0]*o.SpatialScale-off, b[1]*o.SpatialScale-off
	x2, y2 := b[2]*o.SpatialScale-off, b[3]*o.SpatialScale-off
	rw, rh := x2-x1, y2-y1
	if !o.Aligned {
		rw, rh = max(rw, 1), max(rh, 1)
	}
	bh, bw := rh/float32(o.OutH), rw/float32(o.OutW)
	gh, gw := o.SamplingRatio, o.SamplingRatio
	if o.SamplingRatio <= 0 {
		gh = int(math.Ceil(float64(rh / float32(o.OutH))))
		gw = int(math.Ceil(float64(rw / float32(o.OutW))))
	}
	count := max(gh*gw, 1)
	inv := 1 / float32(count)
	for ph := 0; ph < o.OutH; ph++ {
		for pw := 0; pw < o.OutW; pw++ {
			bin := ph*o.OutW + pw
			for iy := 0; iy < gh; iy++ {
				y := y1 + float32(ph)*bh + (float32(iy)+0.5)*bh/float32(gh)
				for ix := 0; ix < gw; ix++ {
					x := x1 + float32(pw)*bw + (float32(ix)+0.5)*bw/float32(gw)
					s := sample{bin: bin, inv: inv}
					bilinear(&s, y, x, h, w)
					dst = append(dst, s)
				}
			}
		}
	}
	return dst
}

func bilinear(s *sample, y, x float32, h, w int) {
	if y < -1 || y > float32(h) || x < -1 || x > float32(w) {
		return
	}
	y, x = max(y, 0), max(x, 0)
	yl, xl := int(y), int(x)
	var yh, xh int
	if yl >= h-1 {
		yl, yh = h-1, h-1
		y = float32(yl)
	} else {
		yh = yl + 1
	}
	if xl >= w-1 {
		xl, xh = w-1, w-1
		x = float32(xl)
	} else {
		xh = xl + 1
	}
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	s.i = [4]int{yl*w + xl, yl*w + xh, yh*w + xl, yh*w + xh}
	s.w = [4]float32{hy * hx, hy * lx, ly * hx, ly * lx}
}
