package nn

import (
	"fmt"
	"math"

	"github.com/densepred/dp/tensor"
)

// InterpMode selects how Interpolate samples its input.
type InterpMode int

const (
	// Nearest copies the input pixel at ⌊dst·in/out⌋ (PyTorch's mode
	// "nearest", not "nearest-exact").
	Nearest InterpMode = iota
	// Bilinear interpolates linearly along height and width.
	Bilinear
)

// String returns PyTorch's name of the mode.
func (m InterpMode) String() string {
	switch m {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	}
	return fmt.Sprintf("InterpMode(%d)", int(m))
}

// InterpolateOptions configures Interpolate. Exactly one of Size and
// ScaleFactor must be set.
type InterpolateOptions struct {
	// Size is the output (height, width).
	Size [2]int
	// ScaleFactor gives the output size as ⌊input·scale⌋ per axis; the
	// sampling ratio is then 1/scale, as PyTorch's default
	// recompute_scale_factor=None does.
	ScaleFactor [2]float64
	// Mode is Nearest (the default, as PyTorch's) or Bilinear.
	Mode InterpMode
	// AlignCorners maps the corner pixels' centres of input and output onto
	// each other (Bilinear only); default false, as PyTorch's.
	AlignCorners bool
}

// Interpolate resizes x (N×C×H×W) as PyTorch's F.interpolate does for the
// nearest and bilinear modes.
func Interpolate(x *Var, o InterpolateOptions) *Var {
	s := x.Shape()
	if len(s) != 4 || s[2] < 1 || s[3] < 1 {
		panic(fmt.Sprintf("%s: Interpolate needs a non-empty N×C×H×W input, got %v", errShape, s))
	}
	p := tensor.ResizeParams{N: s[0], C: s[1], H: s[2], W: s[3], AlignCorners: o.AlignCorners}
	hasSize, hasScale := o.Size != [2]int{}, o.ScaleFactor != [2]float64{}
	switch {
	case hasSize && !hasScale:
		p.OutH, p.OutW = o.Size[0], o.Size[1]
	case hasScale && !hasSize:
		p.ScaleH, p.ScaleW = o.ScaleFactor[0], o.ScaleFactor[1]
		p.OutH = int(math.Floor(float64(p.H) * p.ScaleH))
		p.OutW = int(math.Floor(float64(p.W) * p.ScaleW))
	default:
		panic(fmt.Sprintf("%s: Interpolate needs exactly one of Size %v and ScaleFactor %v", errArg, o.Size, o.ScaleFactor))
	}
	if p.OutH < 1 || p.OutW < 1 || p.ScaleH < 0 || p.ScaleW < 0 {
		panic(fmt.Sprintf("%s: Interpolate of %v to %dx%d (size %v, scale %v)", errArg, s, p.OutH, p.OutW, o.Size, o.ScaleFactor))
	}
	if o.Mode != Nearest && o.Mode != Bilinear {
		panic(fmt.Sprintf("%s: Interpolate mode %v", errArg, o.Mode))
	}
	if o.Mode == Nearest && o.AlignCorners {
		panic(errArg + ": Interpolate: AlignCorners applies to Bilinear only (PyTorch rejects it for nearest)")
	}
	out := Output([]int{p.N, p.C, p.OutH, p.OutW}, x)
	bilinear := o.Mode == Bilinear
	if bilinear {
		tensor.ResizeBilinear(p, x.Data(), out.Data())
	} else {
		tensor.ResizeNearest(p, x.Data(), out.Data())
	}
	Record("Interpolate", out, func() {
		if g := GradOf(x); g != nil {
			if bilinear {
				tensor.ResizeBilinearBackward(p, out.Grad.Data(), g.Data())
			} else {
				tensor.ResizeNearestBackward(p, out.Grad.Data(), g.Data())
			}
		}
	})
	return out
}
