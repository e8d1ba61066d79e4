package nn

import (
	"fmt"
	"math"

	"github.com/densepred/dp/tensor"
)

// Reduction says how a loss combines its per-element values.
type Reduction int

const (
	// ReductionMean averages the elements; PyTorch's default and the zero
	// value. Losses with class weights or ignored targets document their
	// divisor.
	ReductionMean Reduction = iota
	// ReductionSum adds the elements.
	ReductionSum
	// ReductionNone returns the per-element losses.
	ReductionNone
)

// String returns PyTorch's name for r: "mean", "sum" or "none".
func (r Reduction) String() string {
	switch r {
	case ReductionMean:
		return "mean"
	case ReductionSum:
		return "sum"
	case ReductionNone:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// DefaultIgnoreIndex is PyTorch's default ignore_index for cross-entropy:
// a value no class label takes, so nothing is ignored.
const DefaultIgnoreIndex = -100

// CrossEntropyOptions are the options of CrossEntropy. The zero value gives
// PyTorch's defaults.
type CrossEntropyOptions struct {
	// IgnoreIndex is the target value that contributes neither loss nor
	// gradient and is left out of the mean. nil means DefaultIgnoreIndex
	// (-100, PyTorch's default); mmseg's decode heads use 255.
	IgnoreIndex *int
	// Weight holds one rescaling weight per class (length C); nil weighs
	// every class 1.
	Weight []float32
	// LabelSmoothing ε in [0, 1] mixes the one-hot target with the uniform
	// distribution: target = (1-ε)·onehot + ε/C. Default 0.
	LabelSmoothing float64
	// Reduction over the N·d1·... target positions; default mean.
	Reduction Reduction
}

// Label is the element type of a target-label slice: any integer type, or
// float32 holding whole numbers (the data of a label tensor).
type Label interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~float32
}

// CrossEntropy returns the cross-entropy between logits of shape [N, C] or
// [N, C, d1, ...] (class scores, unnormalised) and integer class labels of
// length N·d1·... (row-major over [N, d1, ...]), with PyTorch 1.13's exact
// semantics (torch.nn.functional.cross_entropy):
//
//	l_i = (1-ε) · w[y_i] · (-log p_i[y_i]) + ε/C · Σ_c w[c] · (-log p_i[c])
//	p_i = softmax over the class axis at position i
//
// with w = Weight (or 1) and ε = LabelSmoothing; l_i = 0 where y_i equals
// the ignore index. ReductionNone gives l with shape [N, d1, ...],
// ReductionSum Σ l_i, and ReductionMean Σ l_i / Σ w[y_i] over the positions
// not ignored (the count of them without weights); when every position is
// ignored the mean is NaN, as in PyTorch.
//
// It panics if the number of labels or of weights does not fit the logits,
// or if a label not ignored lies outside [0, C).
func CrossEntropy[L Label](logits *Var, target []L, opt CrossEntropyOptions) *Var {
	return crossEntropy(logits, len(target), func(i int) int {
		y := int(target[i])
		if L(y) != target[i] {
			panic(fmt.Sprintf("%s: CrossEntropy label %v at %d is not a whole number", errLabel, target[i], i))
		}
		return y
	}, opt)
}

// ceChunk is the number of spatial positions of one sample processed
// together: the class axis is strided by the spatial size, so each pass reads
// one class for a run of positions (contiguous) instead of every class for
// one position. The chunks also fix the order of the partial sums, so the
// result does not depend on the number of threads.
const ceChunk = 256

func crossEntropy(logits *Var, nt int, label func(i int) int, opt CrossEntropyOptions) *Var {
	shape := logits.Shape()
	if len(shape) < 2 {
		panic(fmt.Sprintf("%s: CrossEntropy logits %v, want [N, C, ...]", errShape, shape))
	}
	n, c := shape[0], shape[1]
	s := tensor.Numel(shape[2:])
	m := n * s
	if nt != m {
		panic(fmt.Sprintf("%s: CrossEntropy logits %v with %d labels, want %d", errShape, shape, nt, m))
	}
	if opt.Weight != nil && len(opt.Weight) != c {
		panic(fmt.Sprintf("%s: CrossEntropy logits %v with %d class weights", errShape, shape, len(opt.Weight)))
	}
	eps := opt.LabelSmoothing
	if !(eps >= 0 && eps <= 1) {
		panic(fmt.Sprintf("%s: CrossEntropy label smoothing %v outside [0, 1]", errArg, eps))
	}
	checkReduction("CrossEntropy", opt.Reduction)
	ignore := DefaultIgnoreIndex
	if opt.IgnoreIndex != nil {
		ignore = *opt.IgnoreIndex
	}
	w := func(k int) float64 { return 1 }
	wsum := float64(c)
	if opt.Weight != nil {
		w = func(k int) float64 { return float64(opt.Weight[k]) }
		wsum = 0
		for _, v := range opt.Weight {
			wsum += float64(v)
		}
	}
	// Labels are read once, checked and kept (as float32, exact below 2^24)
	// for the backward pass; ignored positions hold -1.
	tp := logits.tape
	labels := tp.NewTensorDirty(m).Data()
	for i := range labels {
		y := label(i)
		switch {
		case y == ignore:
			labels[i] = -1
		case y < 0 || y >= c:
			panic(fmt.Sprintf("%s: CrossEntropy label %d at position %d for %d classes (ignore index %d)", errLabel, y, i, c, ignore))
		default:
			labels[i] = float32(y)
		}
	}
	xd := logits.Data()
	lse := tp.NewTensorDirty(m).Data() // log Σ_c exp(z_c) per position
	// Unit u covers positions j0 ≤ j < j1 of sample u/chunks, whose class-k
	// scores are xd[base + k·s + j].
	chunks := (s + ceChunk - 1) / ceChunk
	units := n * chunks
	unit := func(u int) (base, i0, j0, j1 int) {
		sample := u / chunks
		j0 = (u % chunks) * ceChunk
		return sample * c * s, sample*s + j0, j0, min(s, j0+ceChunk)
	}
	grain := max(1, elemGrain/max(1, c*min(s, ceChunk)))
	// lossUnit computes the losses of unit u's positions into l (length
	// j1-j0) and returns the sum of w[y] over those not ignored.
	lossUnit := func(u int, l []float64) float64 {
		base, i0, j0, j1 := unit(u)
		cs := j1 - j0
		var mx, se, wx [ceChunk]float64
		for j := range cs {
			mx[j] = math.Inf(-1)
		}
		for k := 0; k < c; k++ {
			for j, v := range xd[base+k*s+j0 : base+k*s+j1] {
				mx[j] = max(mx[j], float64(v))
			}
		}
		for k := 0; k < c; k++ {
			wk := w(k)
			for j, v := range xd[base+k*s+j0 : base+k*s+j1] {
				se[j] += math.Exp(float64(v) - mx[j])
				wx[j] += wk * float64(v)
			}
		}
		wy := 0.0
		for j := range cs {
			lj := mx[j] + math.Log(se[j])
			lse[i0+j] = float32(lj)
			l[j] = 0
			if labels[i0+j] < 0 {
				continue
			}
			y := int(labels[i0+j])
			wy += w(y)
			// -log p[y] = lse - z_y;  Σ_k w_k (lse - z_k) = lse·Σw - Σ_k w_k z_k
			l[j] = (1 - eps) * w(y) * (lj - float64(xd[base+y*s+j0+j]))
			if eps > 0 {
				l[j] += eps / float64(c) * (lj*wsum - wx[j])
			}
		}
		return wy
	}
	var out *Var
	denom := 1.0
	if opt.Reduction == ReductionNone {
		out = Output(append([]int{n}, shape[2:]...), logits)
		od := out.Data()
		tensor.Parallel(units, grain, func(lo, hi int) {
			var l [ceChunk]float64
			for u := lo; u < hi; u++ {
				_, i0, j0, j1 := unit(u)
				lossUnit(u, l[:j1-j0])
				for j, v := range l[:j1-j0] {
					od[i0+j] = float32(v)
				}
			}
		})
	} else {
		part := make([][2]float64, units) // per unit: Σ l_i, Σ w[y_i]
		tensor.Parallel(units, grain, func(lo, hi int) {
			var l [ceChunk]float64
			for u := lo; u < hi; u++ {
				_, _, j0, j1 := unit(u)
				part[u][1] = lossUnit(u, l[:j1-j0])
				for _, v := range l[:j1-j0] {
					part[u][0] += v
				}
			}
		})
		total, wtot := 0.0, 0.0
		for _, p := range part {
			total += p[0]
			wtot += p[1]
		}
		if opt.Reduction == ReductionMean {
			denom = wtot
			total /= wtot
		}
		out = Output(nil, logits)
		out.Data()[0] = float32(total)
	}
	Record("CrossEntropy", out, func() {
		g := GradOf(logits)
		if g == nil {
			return
		}
		gd, god := g.Data(), out.Grad.Data()
		tensor.Parallel(units, grain, func(lo, hi int) {
			var a, b [ceChunk]float64
			var ys [ceChunk]int
			for u := lo; u < hi; u++ {
				base, i0, j0, j1 := unit(u)
				for j := range j1 - j0 {
					ys[j], a[j], b[j] = -1, 0, 0
					if labels[i0+j] < 0 {
						continue
					}
					gi := float64(god[0]) / denom
					if opt.Reduction == ReductionNone {
						gi = float64(god[i0+j])
					}
					ys[j] = int(labels[i0+j])
					a[j] = (1 - eps) * w(ys[j]) * gi
					b[j] = eps / float64(c) * gi
				}
				// ∂l/∂z_k = a·(p_k - [k = y]) + b·(p_k·Σw - w_k)
				for k := 0; k < c; k++ {
					wk := w(k)
					grow := gd[base+k*s+j0 : base+k*s+j1]
					for j, v := range xd[base+k*s+j0 : base+k*s+j1] {
						if ys[j] < 0 {
							continue
						}
						p := math.Exp(float64(v) - float64(lse[i0+j]))
						d := a[j]*p + b[j]*(p*wsum-wk)
						if k == ys[j] {
							d -= a[j]
						}
						grow[j] += float32(d)
					}
				}
			}
		})
	})
	return out
}

// pointLoss builds a loss whose element i (of a tensor of the given shape)
// is f(i), reduced by red. backward receives the upstream gradient of each
// element and must accumulate it times ∂l_i/∂inputs.
func pointLoss(op string, red Reduction, shape []int, in []*Var, f func(i int) float64, backward func(g func(i int) float64)) *Var {
	n := tensor.Numel(shape)
	var out *Var
	switch red {
	case ReductionNone:
		out = Output(shape, in...)
		od := out.Data()
		for i := range od {
			od[i] = float32(f(i))
		}
	case ReductionMean, ReductionSum:
		out = Output(nil, in...)
		s := 0.0
		for i := 0; i < n; i++ {
			s += f(i)
		}
		if red == ReductionMean {
			s /= float64(n)
		}
		out.Data()[0] = float32(s)
	default:
		panic(fmt.Sprintf("%s: %s reduction %v", errArg, op, red))
	}
	Record(op, out, func() {
		god := out.Grad.Data()
		switch red {
		case ReductionNone:
			backward(func(i int) float64 { return float64(god[i]) })
		case ReductionSum:
			backward(func(int) float64 { return float64(god[0]) })
		default:
			gm := float64(god[0]) / float64(n)
			backward(func(int) float64 { return gm })
		}
	})
	return out
}

func checkReduction(op string, r Reduction) {
	if r != ReductionMean && r != ReductionSum && r != ReductionNone {
		panic(fmt.Sprintf("%s: %s reduction %v", errArg, op, r))
	}
}

// broadcastsTo reports whether a tensor of shape from broadcasts to shape to
// without changing it.
func broadcastsTo(from, to []int) bool {
	if len(from) > len(to) {
		return false
	}
	for i, d := range from {
		if e := to[len(to)-len(from)+i]; d != 1 && d != e {
			return false
		}
	}
	return true
}

// gradData returns v's gradient buffer's data, or nil when v needs none.
func gradData(v *Var) []float32 {
	if g := GradOf(v); g != nil {
		return g.Data()
	}
	return nil
}

func sameShapes(op string, a, b *Var) {
	if !tensor.SameShape(a.Shape(), b.Shape()) {
		panic(fmt.Sprintf("%s: %s input %v and target %v", errShape, op, a.Shape(), b.Shape()))
	}
}

// L1Loss returns |input - target| reduced by red, as
// torch.nn.functional.l1_loss. input and target must have the same shape;
// both receive gradients (the subgradient at 0 is 0).
func L1Loss(input, target *Var, red Reduction) *Var {
	return SmoothL1Loss(input, target, 0, red)
}

// SmoothL1Loss returns the Huber-like loss of torch.nn.functional.smooth_l1_loss:
//
//	l = 0.5·d²/β   if |d| < β
//	l = |d| - 0.5·β otherwise,   d = input - target
//
// β = 0 gives L1Loss (mmdet's default β is 1.0, PyTorch's too). input and
// target must have the same shape; both receive gradients.
func SmoothL1Loss(input, target *Var, beta float64, red Reduction) *Var {
	op := "SmoothL1Loss"
	if beta == 0 {
		op = "L1Loss"
	}
	if beta < 0 {
		panic(fmt.Sprintf("%s: %s beta %v is negative", errArg, op, beta))
	}
	sameShapes(op, input, target)
	xd, td := input.Data(), target.Data()
	f := func(i int) float64 {
		d := math.Abs(float64(xd[i]) - float64(td[i]))
		if d < beta {
			return 0.5 * d * d / beta
		}
		return d - 0.5*beta
	}
	return pointLoss(op, red, input.Shape(), []*Var{input, target}, f, func(g func(int) float64) {
		gx, gt := gradData(input), gradData(target)
		for i := range xd {
			d := float64(xd[i]) - float64(td[i])
			var dl float64
			switch {
			case math.Abs(d) < beta:
				dl = d / beta
			case d > 0:
				dl = 1
			case d < 0:
				dl = -1
			}
			dl *= g(i)
			if gx != nil {
				gx[i] += float32(dl)
			}
			if gt != nil {
				gt[i] -= float32(dl)
			}
		}
	})
}

// BCEOptions are the options of BinaryCrossEntropyWithLogits; the zero
// value gives PyTorch's defaults.
type BCEOptions struct {
	// Weight rescales each element's loss; it must broadcast to the input's
	// shape. nil: 1.
	Weight *tensor.Tensor
	// PosWeight multiplies the positive term, typically one value per class
	// on the last axis; it must broadcast to the input's shape. nil: 1.
	PosWeight *tensor.Tensor
	// Reduction over all elements; default mean.
	Reduction Reduction
}

// BinaryCrossEntropyWithLogits returns the binary cross-entropy between
// sigmoid(logits) and target (probabilities in [0, 1], same shape), as
// torch.nn.functional.binary_cross_entropy_with_logits, computed stably
// from the logits x:
//
//	l = w · ((1-t)·x + (1 + (pw-1)·t) · softplus(-x)),   softplus(z) = log(1 + e^z)
//
// Both logits and target receive gradients.
func BinaryCrossEntropyWithLogits(logits, target *Var, opt BCEOptions) *Var {
	const op = "BinaryCrossEntropyWithLogits"
	sameShapes(op, logits, target)
	shape := logits.Shape()
	tp := tapeOf(logits, target)
	expand := func(name string, t *tensor.Tensor) []float32 {
		if t == nil {
			return nil
		}
		if !broadcastsTo(t.Shape(), shape) {
			panic(fmt.Sprintf("%s: %s %s %v does not broadcast to input %v", errBroadcast, op, name, t.Shape(), shape))
		}
		dst := tp.NewTensorDirty(shape...).Data()
		src := t.Data()
		broadcastLoop(shape, shape, t.Shape(), func(o, _, ib, n, _, sb int) {
			for i := 0; i < n; i++ {
				dst[o+i] = src[ib+i*sb]
			}
		})
		return dst
	}
	wd, pd := expand("weight", opt.Weight), expand("pos_weight", opt.PosWeight)
	xd, td := logits.Data(), target.Data()
	softplusNeg := func(x float64) float64 { return max(-x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	f := func(i int) float64 {
		x, t := float64(xd[i]), float64(td[i])
		lw := 1.0
		if pd != nil {
			lw = 1 + (float64(pd[i])-1)*t
		}
		l := (1-t)*x + lw*softplusNeg(x)
		if wd != nil {
			l *= float64(wd[i])
		}
		return l
	}
	return pointLoss(op, opt.Reduction, shape, []*Var{logits, target}, f, func(g func(int) float64) {
		gx, gt := gradData(logits), gradData(target)
		for i := range xd {
			x, t := float64(xd[i]), float64(td[i])
			pw := 1.0
			if pd != nil {
				pw = float64(pd[i])
			}
			gi := g(i)
			if wd != nil {
				gi *= float64(wd[i])
			}
			if gx != nil { // ∂l/∂x = (1-t) - (1+(pw-1)t)·σ(-x)
				gx[i] += float32(gi * ((1 - t) - (1+(pw-1)*t)*sigmoid(-x)))
			}
			if gt != nil { // ∂l/∂t = -x + (pw-1)·softplus(-x)
				gt[i] += float32(gi * (-x + (pw-1)*softplusNeg(x)))
			}
		}
	})
}

// IoULossMode selects how IoULoss turns the IoU into a loss, as mmdet's
// IoULoss mode.
type IoULossMode int

const (
	// IoULossLog is -log(IoU), mmdet's default mode ("log").
	IoULossLog IoULossMode = iota
	// IoULossLinear is 1 - IoU (mmdet's linear=True or mode "linear").
	IoULossLinear
	// IoULossSquare is 1 - IoU² (mode "square").
	IoULossSquare
)

// The box losses below take pred and target of shape [N, 4] holding
// (x1, y1, x2, y2) boxes, reduce the N per-box losses by red (the mean
// divides by N), and give gradients to both inputs. They follow mmdet 3.x's
// formulas (mmdet/models/losses/iou_loss.py and bbox_overlaps in
// mmdet/structures/bbox/bbox_overlaps.py) to the placement of eps; mmdet's
// loss classes default to eps = 1e-6. Where PyTorch's elementwise max or min
// meets a tie, the gradient is split evenly between both sides, and clamps
// pass the gradient at their bounds, as PyTorch's derivatives do.

// bboxOverlapsEps is the default eps of mmdet's bbox_overlaps, which
// iou_loss calls without passing its own eps.
const bboxOverlapsEps = 1e-6

// IoULoss returns mmdet's IoULoss for aligned boxes:
//
//	iou  = overlap / max(area_p + area_t - overlap, 1e-6), clamped below at eps
//	loss = -log(iou) | 1 - iou | 1 - iou²   (mode log, linear, square)
func IoULoss(pred, target *Var, mode IoULossMode, eps float64, red Reduction) *Var {
	if mode < IoULossLog || mode > IoULossSquare {
		panic(fmt.Sprintf("%s: IoULoss mode %d", errArg, mode))
	}
	return boxLoss("IoULoss", pred, target, red, func(b *[8]dual) dual {
		iou := clampMinD(boxOverlap(b, false, bboxOverlapsEps), eps)
		switch mode {
		case IoULossLinear:
			return constD(1).sub(iou)
		case IoULossSquare:
			return constD(1).sub(iou.mul(iou))
		}
		return iou.log().neg()
	})
}

// GIoULoss returns mmdet's GIoULoss, 1 - GIoU
// (https://arxiv.org/abs/1902.09630), with
//
//	union = max(area_p + area_t - overlap, eps),  iou = overlap / union
//	enclose = max(area of the smallest box holding both, eps)
//	giou = iou - (enclose - union) / enclose
func GIoULoss(pred, target *Var, eps float64, red Reduction) *Var {
	return boxLoss("GIoULoss", pred, target, red, func(b *[8]dual) dual {
		return constD(1).sub(boxOverlap(b, true, eps))
	})
}

// CIoULoss returns mmdet's CIoULoss, 1 - clamp(CIoU, -1, 1)
// (https://arxiv.org/abs/2005.03572), with eps placed as mmdet places it:
//
//	iou   = overlap / (area_p + area_t - overlap + eps)
//	c²    = enclose_w² + enclose_h² + eps
//	ρ²    = squared distance between the box centres
//	v     = 4/π² · (atan(w_t/(h_t+eps)) - atan(w_p/(h_p+eps)))²
//	α     = [iou > 0.5] · v / (1 - iou + v), held constant (no gradient)
//	CIoU  = iou - (ρ²/c² + α·v)
//
// NOTE: α is zero for IoU <= 0.5, as in mmdet and the CIoU authors' code;
// YOLOv5 uses v / (v - iou + 1 + eps) instead.
func CIoULoss(pred, target *Var, eps float64, red Reduction) *Var {
	return boxLoss("CIoULoss", pred, target, red, func(b *[8]dual) dual {
		px1, py1, px2, py2 := b[0], b[1], b[2], b[3]
		tx1, ty1, tx2, ty2 := b[4], b[5], b[6], b[7]
		w := clampMinD(minD(px2, tx2).sub(maxD(px1, tx1)), 0)
		h := clampMinD(minD(py2, ty2).sub(maxD(py1, ty1)), 0)
		overlap := w.mul(h)
		ap := px2.sub(px1).mul(py2.sub(py1))
		ag := tx2.sub(tx1).mul(ty2.sub(ty1))
		union := ap.add(ag).sub(overlap).addC(eps)
		iou := overlap.div(union)
		cw := clampMinD(maxD(px2, tx2).sub(minD(px1, tx1)), 0)
		ch := clampMinD(maxD(py2, ty2).sub(minD(py1, ty1)), 0)
		c2 := cw.mul(cw).add(ch.mul(ch)).addC(eps)
		w1, h1 := px2.sub(px1), py2.sub(py1).addC(eps)
		w2, h2 := tx2.sub(tx1), ty2.sub(ty1).addC(eps)
		dx := tx1.add(tx2).sub(px1.add(px2))
		dy := ty1.add(ty2).sub(py1.add(py2))
		rho2 := dx.mul(dx).scale(0.25).add(dy.mul(dy).scale(0.25))
		da := w2.div(h2).atan().sub(w1.div(h1).atan())
		v := da.mul(da).scale(4 / (math.Pi * math.Pi))
		alpha := 0.0
		if iou.v > 0.5 {
			alpha = v.v / (1 - iou.v + v.v)
		}
		ciou := iou.sub(rho2.div(c2).add(v.scale(alpha)))
		return constD(1).sub(clampD(ciou, -1, 1))
	})
}

// boxOverlap is mmdet's bbox_overlaps(pred, target, mode, is_aligned=True,
// eps) for one pair: the IoU, or the GIoU when giou is set.
func boxOverlap(b *[8]dual, giou bool, eps float64) dual {
	px1, py1, px2, py2 := b[0], b[1], b[2], b[3]
	tx1, ty1, tx2, ty2 := b[4], b[5], b[6], b[7]
	ap := px2.sub(px1).mul(py2.sub(py1))
	ag := tx2.sub(tx1).mul(ty2.sub(ty1))
	w := clampMinD(minD(px2, tx2).sub(maxD(px1, tx1)), 0)
	h := clampMinD(minD(py2, ty2).sub(maxD(py1, ty1)), 0)
	overlap := w.mul(h)
	union := maxD(ap.add(ag).sub(overlap), constD(eps))
	iou := overlap.div(union)
	if !giou {
		return iou
	}
	ew := clampMinD(maxD(px2, tx2).sub(minD(px1, tx1)), 0)
	eh := clampMinD(maxD(py2, ty2).sub(minD(py1, ty1)), 0)
	enclose := maxD(ew.mul(eh), constD(eps))
	return iou.sub(enclose.sub(union).div(enclose))
}

// boxLoss evaluates f on each pair of boxes with forward-mode derivatives
// with respect to the pair's 8 coordinates, and reduces by red.
func boxLoss(op string, pred, target *Var, red Reduction, f func(b *[8]dual) dual) *Var {
	ps, ts := pred.Shape(), target.Shape()
	if len(ps) != 2 || ps[1] != 4 || !tensor.SameShape(ps, ts) {
		panic(fmt.Sprintf("%s: %s pred %v and target %v, want [N, 4] each", errShape, op, ps, ts))
	}
	pd, td := pred.Data(), target.Data()
	eval := func(i int) dual {
		var b [8]dual
		for k := 0; k < 4; k++ {
			b[k] = seedD(float64(pd[4*i+k]), k)
			b[4+k] = seedD(float64(td[4*i+k]), 4+k)
		}
		return f(&b)
	}
	return pointLoss(op, red, ps[:1], []*Var{pred, target}, func(i int) float64 { return eval(i).v },
		func(g func(int) float64) {
			gp, gt := gradData(pred), gradData(target)
			for i := 0; i < ps[0]; i++ {
				l, gi := eval(i), g(i)
				for k := 0; k < 4; k++ {
					if gp != nil {
						gp[4*i+k] += float32(gi * l.d[k])
					}
					if gt != nil {
						gt[4*i+k] += float32(gi * l.d[4+k])
					}
				}
			}
		})
}

// dual is a value with its partial derivatives with respect to the 8
// coordinates of a box pair (forward-mode differentiation).
type dual struct {
	v float64
	d [8]float64
}

func constD(v float64) dual { return dual{v: v} }

func seedD(v float64, k int) dual {
	x := dual{v: v}
	x.d[k] = 1
	return x
}

func (a dual) add(b dual) dual {
	for k := range a.d {
		a.d[k] += b.d[k]
	}
	a.v += b.v
	return a
}

func (a dual) sub(b dual) dual {
	for k := range a.d {
		a.d[k] -= b.d[k]
	}
	a.v -= b.v
	return a
}

func (a dual) addC(c float64) dual { a.v += c; return a }

func (a dual) neg() dual { return a.scale(-1) }

func (a dual) scale(c float64) dual {
	for k := range a.d {
		a.d[k] *= c
	}
	a.v *= c
	return a
}

func (a dual) mul(b dual) dual {
	var r dual
	r.v = a.v * b.v
	for k := range r.d {
		r.d[k] = a.d[k]*b.v + a.v*b.d[k]
	}
	return r
}

func (a dual) div(b dual) dual {
	var r dual
	r.v = a.v / b.v
	for k := range r.d {
		r.d[k] = (a.d[k] - r.v*b.d[k]) / b.v
	}
	return r
}

// chain returns f(a) given f(a.v) and f'(a.v).
func (a dual) chain(fv, dfv float64) dual {
	r := dual{v: fv}
	for k := range r.d {
		r.d[k] = dfv * a.d[k]
	}
	return r
}

func (a dual) log() dual  { return a.chain(math.Log(a.v), 1/a.v) }
func (a dual) atan() dual { return a.chain(math.Atan(a.v), 1/(1+a.v*a.v)) }

// maxD is PyTorch's elementwise maximum: on a tie each side gets half the
// gradient.
func maxD(a, b dual) dual {
	switch {
	case a.v > b.v:
		return a
	case b.v > a.v:
		return b
	}
	return a.add(b).scale(0.5)
}

// minD is PyTorch's elementwise minimum, ties split as in maxD.
func minD(a, b dual) dual {
	switch {
	case a.v < b.v:
		return a
	case b.v < a.v:
		return b
	}
	return a.add(b).scale(0.5)
}

// clampMinD is max(a, lo) with PyTorch's clamp gradient: passed where a >= lo.
func clampMinD(a dual, lo float64) dual {
	if a.v >= lo {
		return a
	}
	return constD(lo)
}

// clampD clamps a to [lo, hi], passing the gradient inside the closed range.
func clampD(a dual, lo, hi float64) dual {
	switch {
	case a.v < lo:
		return constD(lo)
	case a.v > hi:
		return constD(hi)
	}
	return a
}
