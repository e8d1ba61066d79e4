package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// dataOrNil returns v's values, or nil for a nil v.
func dataOrNil(v *Var) []float32 {
	if v == nil {
		return nil
	}
	return v.Data()
}

// gradDataOrNil returns the buffer to accumulate v's gradient into, or nil
// when v is nil or needs none.
func gradDataOrNil(v *Var) []float32 {
	if g := GradOf(v); g != nil {
		return g.Data()
	}
	return nil
}

func checkAffineShape(op string, v *Var, want []int) {
	if v != nil && !tensor.SameShape(v.Shape(), want) {
		panic(fmt.Sprintf("%s: %s affine parameter %v, want %v", errShape, op, v.Shape(), want))
	}
}

// BatchNorm2dOp normalises x (N×C×... , usually N×C×H×W) per channel, as
// PyTorch's F.batch_norm:
//
//	y = (x - mean[c]) / sqrt(var[c] + eps) · weight[c] + bias[c]
//
// In training mode mean and var are the batch's statistics over N and the
// spatial positions (var biased), and runningMean and runningVar (length C,
// may be nil) are updated in place:
//
//	running_mean = (1 - momentum)·running_mean + momentum·mean
//	running_var  = (1 - momentum)·running_var  + momentum·var·M/(M-1),  M = N·H·W
//
// Otherwise runningMean and runningVar are the statistics and must not be
// nil. weight and bias ([C]) may be nil. PyTorch's defaults are momentum 0.1
// and eps 1e-5. It panics when training on a single value per channel.
func BatchNorm2dOp(x, weight, bias *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	s := x.Shape()
	if len(s) < 2 {
		panic(fmt.Sprintf("%s: BatchNorm2d needs N×C×..., got %v", errShape, s))
	}
	n, c := s[0], s[1]
	hw := tensor.Numel(s[2:])
	checkAffineShape("BatchNorm2d", weight, []int{c})
	checkAffineShape("BatchNorm2d", bias, []int{c})
	for _, r := range []*tensor.Tensor{runningMean, runningVar} {
		if r != nil && r.Len() != c {
			panic(fmt.Sprintf("%s: BatchNorm2d running statistic %v for %d channels", errShape, r.Shape(), c))
		}
	}
	out := Output(s, x, weight, bias)
	tp := out.tape
	var mean, variance []float32
	if training {
		m := n * hw
		if m <= 1 {
			panic(fmt.Sprintf("%s: BatchNorm2d training needs more than one value per channel, input %v", errArg, s))
		}
		mean, variance = tp.NewTensorDirty(c).Data(), tp.NewTensorDirty(c).Data()
		tensor.BatchNormStats(n, c, hw, x.Data(), mean, variance)
		unbias := float32(float64(m) / float64(m-1))
		if runningMean != nil {
			rm := runningMean.Data()
			for i := range rm {
				rm[i] = (1-momentum)*rm[i] + momentum*mean[i]
			}
		}
		if runningVar != nil {
			rv := runningVar.Data()
			for i := range rv {
				rv[i] = (1-momentum)*rv[i] + momentum*variance[i]*unbias
			}
		}
	} else {
		if runningMean == nil || runningVar == nil {
			panic(errArg + ": BatchNorm2d in evaluation mode needs running statistics")
		}
		// Copy: the running statistics may change before backward runs.
		mean, variance = tp.NewTensorDirty(c).Data(), tp.NewTensorDirty(c).Data()
		copy(mean, runningMean.Data())
		copy(variance, runningVar.Data())
	}
	invstd := tp.NewTensorDirty(c).Data()
	tensor.BatchNormForward(n, c, hw, x.Data(), mean, variance, dataOrNil(weight), dataOrNil(bias), eps, invstd, out.Data())
	Record("BatchNorm2d", out, func() {
		tensor.BatchNormBackward(n, c, hw, x.Data(), out.Grad.Data(), mean, invstd, dataOrNil(weight), training,
			gradDataOrNil(x), gradDataOrNil(weight), gradDataOrNil(bias))
	})
	return out
}

// GroupNormOp normalises x (N×C×...) over each sample's groups of C/groups
// consecutive channels and all spatial positions, then applies a
// per-channel affine map, as PyTorch's F.group_norm:
//
//	y = (x - mean[n,g]) / sqrt(var[n,g] + eps) · weight[c] + bias[c]
//
// (var biased). weight and bias ([C]) may be nil. PyTorch's default eps is
// 1e-5. It panics unless groups divides C.
func GroupNormOp(x, weight, bias *Var, groups int, eps float32) *Var {
	s := x.Shape()
	if len(s) < 2 || groups < 1 || s[1]%groups != 0 {
		panic(fmt.Sprintf("%s: GroupNorm of %v into %d groups (groups must divide the channels)", errArg, s, groups))
	}
	n, c := s[0], s[1]
	hw := tensor.Numel(s[2:])
	checkAffineShape("GroupNorm", weight, []int{c})
	checkAffineShape("GroupNorm", bias, []int{c})
	out := Output(s, x, weight, bias)
	mean, invstd := out.tape.NewTensorDirty(n*groups).Data(), out.tape.NewTensorDirty(n*groups).Data()
	tensor.GroupNormForward(n, c, hw, groups, x.Data(), dataOrNil(weight), dataOrNil(bias), eps, mean, invstd, out.Data())
	Record("GroupNorm", out, func() {
		tensor.GroupNormBackward(n, c, hw, groups, x.Data(), out.Grad.Data(), mean, invstd, dataOrNil(weight),
			gradDataOrNil(x), gradDataOrNil(weight), gradDataOrNil(bias))
	})
	return out
}

// LayerNormOp normalises x over its trailing dimensions, which must equal
// normalizedShape, then applies an elementwise affine map, as PyTorch's
// F.layer_norm:
//
//	y = (x - mean) / sqrt(var + eps) · weight + bias
//
// with mean and (biased) var over the trailing dimensions of each leading
// index. weight and bias (of normalizedShape) may be nil. PyTorch's default
// eps is 1e-5.
func LayerNormOp(x, weight, bias *Var, normalizedShape []int, eps float32) *Var {
	s := x.Shape()
	k := len(normalizedShape)
	if k == 0 || len(s) < k || !tensor.SameShape(s[len(s)-k:], normalizedShape) {
		panic(fmt.Sprintf("%s: LayerNorm over %v of an input %v", errShape, normalizedShape, s))
	}
	checkAffineShape("LayerNorm", weight, normalizedShape)
	checkAffineShape("LayerNorm", bias, normalizedShape)
	d := tensor.Numel(normalizedShape)
	rows := tensor.Numel(s[:len(s)-k])
	out := Output(s, x, weight, bias)
	mean, invstd := out.tape.NewTensorDirty(rows).Data(), out.tape.NewTensorDirty(rows).Data()
	tensor.LayerNormForward(rows, d, x.Data(), dataOrNil(weight), dataOrNil(bias), eps, mean, invstd, out.Data())
	Record("LayerNorm", out, func() {
		tensor.LayerNormBackward(rows, d, x.Data(), out.Grad.Data(), mean, invstd, dataOrNil(weight),
			gradDataOrNil(x), gradDataOrNil(weight), gradDataOrNil(bias))
	})
	return out
}
