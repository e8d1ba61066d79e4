package nn

import (
	"fmt"

	"github.com/densepred/dp/tensor"
)

// MatMul returns a·b for a of shape [..., m, k] and b of shape [k, n] or
// [..., k, n] with the same leading (batch) dimensions as a.
//
//	out[..., i, j] = Σ_p a[..., i, p] · b[..., p, j]
func MatMul(a, b *Var) *Var {
	as, bs := a.Shape(), b.Shape()
	if len(as) < 2 || len(bs) < 2 {
		panic(fmt.Sprintf("%s: MatMul needs matrices, got %v and %v", errShape, as, bs))
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	batch := tensor.Numel(as[:len(as)-2])
	shared := len(bs) == 2 // b is one matrix for every batch entry
	if k != k2 || (!shared && (len(bs) != len(as) || tensor.Numel(bs[:len(bs)-2]) != batch)) {
		panic(fmt.Sprintf("%s: MatMul %v · %v", errShape, as, bs))
	}
	shape := append(append([]int(nil), as[:len(as)-2]...), m, n)
	out := Output(shape, a, b)
	ad, bd, od := a.Data(), b.Data(), out.Data()
	if shared {
		// Fold the batch into the rows: one GEMM.
		tensor.Gemm(false, false, batch*m, n, k, 1, ad, max(k, 1), bd, max(n, 1), 0, od, max(n, 1))
	} else {
		for i := 0; i < batch; i++ {
			tensor.Gemm(false, false, m, n, k, 1, ad[i*m*k:], max(k, 1), bd[i*k*n:], max(n, 1), 0, od[i*m*n:], max(n, 1))
		}
	}
	Record("MatMul", out, func() {
		gd := out.Grad.Data()
		if ga := GradOf(a); ga != nil { // dA = dY · Bᵀ
			gad := ga.Data()
			if shared {
				tensor.Gemm(false, true, batch*m, k, n, 1, gd, max(n, 1), bd, max(n, 1), 1, gad, max(k, 1))
			} else {
				for i := 0; i < batch; i++ {
					tensor.Gemm(false, true, m, k, n, 1, gd[i*m*n:], max(n, 1), bd[i*k*n:], max(n, 1), 1, gad[i*m*k:], max(k, 1))
				}
			}
		}
		if gb := GradOf(b); gb != nil { // dB = Aᵀ · dY
			gbd := gb.Data()
			if shared {
				tensor.Gemm(true, false, k, n, batch*m, 1, ad, max(k, 1), gd, max(n, 1), 1, gbd, max(n, 1))
			} else {
				for i := 0; i < batch; i++ {
					tensor.Gemm(true, false, k, n, m, 1, ad[i*m*k:], max(k, 1), gd[i*m*n:], max(n, 1), 1, gbd[i*k*n:], max(n, 1))
				}
			}
		}
	})
	return out
}

// LinearOp returns x·wᵀ + bias for x of shape [..., in], w of shape
// [out, in] (PyTorch's Linear layout) and bias of shape [out] or nil.
func LinearOp(x, w, bias *Var) *Var {
	xs, ws := x.Shape(), w.Shape()
	if len(ws) != 2 || len(xs) == 0 || xs[len(xs)-1] != ws[1] || (bias != nil && (bias.Value.Len() != ws[0])) {
		var bsh []int
		if bias != nil {
			bsh = bias.Shape()
		}
		panic(fmt.Sprintf("%s: Linear x %v, weight %v, bias %v", errShape, xs, ws, bsh))
	}
	in, outF := ws[1], ws[0]
	rows := tensor.Numel(xs[:len(xs)-1])
	shape := append(append([]int(nil), xs[:len(xs)-1]...), outF)
	out := Output(shape, x, w, bias)
	xd, wd, od := x.Data(), w.Data(), out.Data()
	tensor.Gemm(false, true, rows, outF, in, 1, xd, max(in, 1), wd, max(in, 1), 0, od, max(outF, 1))
	if bias != nil {
		bd := bias.Data()
		for r := 0; r < rows; r++ {
			row := od[r*outF : (r+1)*outF]
			for j := range row {
				row[j] += bd[j]
			}
		}
	}
	Record("Linear", out, func() {
		gd := out.Grad.Data()
		if gx := GradOf(x); gx != nil { // dX = dY · W
			tensor.Gemm(false, false, rows, in, outF, 1, gd, max(outF, 1), wd, max(in, 1), 1, gx.Data(), max(in, 1))
		}
		if gw := GradOf(w); gw != nil { // dW = dYᵀ · X
			tensor.Gemm(true, false, outF, in, rows, 1, gd, max(outF, 1), xd, max(in, 1), 1, gw.Data(), max(in, 1))
		}
		if gb := GradOf(bias); gb != nil {
			gbd := gb.Data()
			for r := 0; r < rows; r++ {
				for j, v := range gd[r*outF : (r+1)*outF] {
					gbd[j] += v
				}
			}
		}
	})
	return out
}
