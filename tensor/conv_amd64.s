//go:build !noasm

#include "textflag.h"

// TAPS4(n) runs the tap loops of a 4-row depthwise block, n ymm columns
// wide (n = 1 or 2): for each tap (i, j) it broadcasts w[i*kw+j] into Y15 and
// adds Y15 * x[(r+i*dh)*ldx + j*dw + 8c : +8] to accumulator Y(2r+c).
// Registers: SI w, BX x at row i, AX x at tap (i, j), R8 ldx bytes,
// R15 3*ldx bytes, R12 dh*ldx bytes, R13 dw bytes, R10 kh, R11 kw.

// func dwBlock4x16AVX2(kh, kw int, w, x *float32, ldx, dh, dw int, y *float32, ldy int)
//
//	for r := 0; r < 4; r++ {
//		for c := 0; c < 16; c++ {
//			s := y[r*ldy+c]
//			for i := 0; i < kh; i++ {
//				for j := 0; j < kw; j++ {
//					s += w[i*kw+j] * x[(r+i*dh)*ldx+c+j*dw]
//				}
//			}
//			y[r*ldy+c] = s
//		}
//	}
TEXT ·dwBlock4x16AVX2(SB), NOSPLIT, $0-72
	MOVQ kh+0(FP), R10
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), BX
	MOVQ ldx+32(FP), R8
	SHLQ $2, R8                 // ldx in bytes
	LEAQ (R8)(R8*2), R15        // 3*ldx bytes
	MOVQ dh+40(FP), R12
	IMULQ R8, R12               // dh*ldx bytes: from tap row i to i+1
	MOVQ dw+48(FP), R13
	SHLQ $2, R13                // dw bytes: from tap column j to j+1
	MOVQ y+56(FP), DX
	MOVQ ldy+64(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R14        // 3*ldy bytes

	VMOVUPS (DX), Y0            // Y0, Y1 = y[0][0:16]
	VMOVUPS 32(DX), Y1
	VMOVUPS (DX)(R9*1), Y2      // y[1]
	VMOVUPS 32(DX)(R9*1), Y3
	VMOVUPS (DX)(R9*2), Y4      // y[2]
	VMOVUPS 32(DX)(R9*2), Y5
	VMOVUPS (DX)(R14*1), Y6     // y[3]
	VMOVUPS 32(DX)(R14*1), Y7

rows16:
	MOVQ BX, AX
	MOVQ kw+8(FP), R11

cols16:
	VBROADCASTSS (SI), Y15      // w[i*kw+j]
	VFMADD231PS  (AX), Y15, Y0  // y[0][0:8] += w * x[i*dh][j*dw : +8]
	VFMADD231PS  32(AX), Y15, Y1
	VFMADD231PS  (AX)(R8*1), Y15, Y2
	VFMADD231PS  32(AX)(R8*1), Y15, Y3
	VFMADD231PS  (AX)(R8*2), Y15, Y4
	VFMADD231PS  32(AX)(R8*2), Y15, Y5
	VFMADD231PS  (AX)(R15*1), Y15, Y6
	VFMADD231PS  32(AX)(R15*1), Y15, Y7
	ADDQ         $4, SI
	ADDQ         R13, AX
	DECQ         R11
	JNZ          cols16
	ADDQ         R12, BX
	DECQ         R10
	JNZ          rows16

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(R9*1)
	VMOVUPS Y3, 32(DX)(R9*1)
	VMOVUPS Y4, (DX)(R9*2)
	VMOVUPS Y5, 32(DX)(R9*2)
	VMOVUPS Y6, (DX)(R14*1)
	VMOVUPS Y7, 32(DX)(R14*1)
	VZEROUPPER
	RET

// func dwBlock4x8AVX2(kh, kw int, w, x *float32, ldx, dh, dw int, y *float32, ldy int)
//
// dwBlock4x16AVX2 for 8 columns.
TEXT ·dwBlock4x8AVX2(SB), NOSPLIT, $0-72
	MOVQ kh+0(FP), R10
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), BX
	MOVQ ldx+32(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R15
	MOVQ dh+40(FP), R12
	IMULQ R8, R12
	MOVQ dw+48(FP), R13
	SHLQ $2, R13
	MOVQ y+56(FP), DX
	MOVQ ldy+64(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R14

	VMOVUPS (DX), Y0
	VMOVUPS (DX)(R9*1), Y2
	VMOVUPS (DX)(R9*2), Y4
	VMOVUPS (DX)(R14*1), Y6

rows8:
	MOVQ BX, AX
	MOVQ kw+8(FP), R11

cols8:
	VBROADCASTSS (SI), Y15
	VFMADD231PS  (AX), Y15, Y0
	VFMADD231PS  (AX)(R8*1), Y15, Y2
	VFMADD231PS  (AX)(R8*2), Y15, Y4
	VFMADD231PS  (AX)(R15*1), Y15, Y6
	ADDQ         $4, SI
	ADDQ         R13, AX
	DECQ         R11
	JNZ          cols8
	ADDQ         R12, BX
	DECQ         R10
	JNZ          rows8

	VMOVUPS Y0, (DX)
	VMOVUPS Y2, (DX)(R9*1)
	VMOVUPS Y4, (DX)(R9*2)
	VMOVUPS Y6, (DX)(R14*1)
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
//
// Σ x[i]*y[i] for i < n, n a multiple of 8: four 8-lane partial sums over
// blocks of 32, then one over the blocks of 8 left, then added pairwise.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   CX, R10
	SHRQ   $5, R10              // blocks of 32
	JZ     dot8

dot32:
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0    // s0 += x[0:8] * y[0:8]
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        R10
	JNZ         dot32

dot8:
	ANDQ $31, CX
	SHRQ $3, CX                 // blocks of 8 left
	JZ   dotsum

dot8loop:
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         dot8loop

dotsum:
	VADDPS       Y1, Y0, Y0     // (s0+s1) + (s2+s3)
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1     // high half + low half
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X1, X1     // lanes 2,3 onto 0,1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1         // lane 1 onto 0
	VADDSS       X1, X0, X0
	MOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
//
//	for i := 0; i < n; i++ { y[i] += alpha * x[i] }
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	MOVQ         CX, R10
	SHRQ         $5, R10        // blocks of 32
	JZ           axpy8

axpy32:
	VMOVUPS     (DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS (SI), Y15, Y0   // y[0:8] += alpha * x[0:8]
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        R10
	JNZ         axpy32

axpy8:
	ANDQ $31, CX
	MOVQ CX, R10
	SHRQ $3, R10                // blocks of 8 left
	JZ   axpy1

axpy8loop:
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        R10
	JNZ         axpy8loop

axpy1:
	ANDQ $7, CX                 // single values left
	JZ   axpydone

axpy1loop:
	VMOVSS      (DI), X0
	VFMADD231SS (SI), X15, X0
	VMOVSS      X0, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         axpy1loop

axpydone:
	VZEROUPPER
	RET

// func copyRowsWideAVX(dst *float32, ds int, src *float32, ss int, rows int, wide bool)
//
// Copies rows runs of 16 values (wide) or of 8.
TEXT ·copyRowsWideAVX(SB), NOSPLIT, $0-41
	MOVQ  dst+0(FP), DI
	MOVQ  ds+8(FP), R8
	SHLQ  $2, R8
	MOVQ  src+16(FP), SI
	MOVQ  ss+24(FP), R9
	SHLQ  $2, R9
	MOVQ  rows+32(FP), CX
	TESTQ CX, CX
	JZ    copydone
	MOVBQZX wide+40(FP), AX
	TESTQ AX, AX
	JZ    loop8

loop16:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R9, SI
	ADDQ    R8, DI
	DECQ    CX
	JNZ     loop16
	JMP     copydone

loop8:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ    R9, SI
	ADDQ    R8, DI
	DECQ    CX
	JNZ     loop8

copydone:
	VZEROUPPER
	RET
