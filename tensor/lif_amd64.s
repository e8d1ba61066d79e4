//go:build !noasm

#include "textflag.h"

// LIFSTEP fires the membranes u (a register): d = vth − u; the output is u
// where d < 0 (u > vth) and vth elsewhere; the carried membrane is 0 where
// it fired and u elsewhere. Y15 holds vth and Y13 zero; Y8 is clobbered.
#define LIFSTEP(u, out, carry) \
	VSUBPS    u, Y15, Y8        \
	VBLENDVPS Y8, u, Y15, out   \
	VBLENDVPS Y8, Y13, u, carry

// func lifRowAVX(y, c, x *float32, n int, tau, vth float32, first int)
//
// One step of the scan along H over n lanes (n a multiple of 8): the
// membrane is u = x when first, else u = tau·c + x (a product rounded to
// float32, then a sum, as the Go loop); y and c receive the output and the
// carried membrane.
TEXT ·lifRowAVX(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         c+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS tau+32(FP), Y14
	VBROADCASTSS vth+36(FP), Y15
	MOVQ         first+40(FP), AX
	VXORPS       Y13, Y13, Y13
	SHRQ         $3, CX
	JZ           rowdone

rowloop:
	VMOVUPS (SI), Y0
	TESTQ   AX, AX
	JNZ     rowstep // the first step: a fresh membrane, u = x
	VMULPS  (DX), Y14, Y1
	VADDPS  Y0, Y1, Y0

rowstep:
	LIFSTEP(Y0, Y1, Y2)
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, (DX)
	ADDQ    $32, DI
	ADDQ    $32, DX
	ADDQ    $32, SI
	DECQ    CX
	JNZ     rowloop

rowdone:
	VZEROUPPER
	RET

// func lifGroups4AVX(y, x *float32, blocks int, tau, vth float32)
//
// The scan along W with groups of 4 over blocks of 32 values (8 groups):
// the block is transposed so that each register holds one step of the 8
// groups (lanes in group order 0 2 4 6 | 1 3 5 7), the 4 steps run as
// vectors, and the outputs are transposed back. Every step computes
// u = tau·c + x with c = 0 at the first, as the Go loop.
TEXT ·lifGroups4AVX(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         blocks+16(FP), CX
	VBROADCASTSS tau+24(FP), Y14
	VBROADCASTSS vth+28(FP), Y15
	VXORPS       Y13, Y13, Y13
	VMULPS       Y13, Y14, Y12 // tau·0, the first step's product
	TESTQ        CX, CX
	JZ           grpdone

grploop:
	VMOVUPS   (SI), Y0
	VMOVUPS   32(SI), Y1
	VMOVUPS   64(SI), Y2
	VMOVUPS   96(SI), Y3
	VUNPCKLPS Y1, Y0, Y4
	VUNPCKHPS Y1, Y0, Y5
	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VSHUFPS   $0x44, Y6, Y4, Y0 // step 0 of the 8 groups
	VSHUFPS   $0xEE, Y6, Y4, Y1 // step 1
	VSHUFPS   $0x44, Y7, Y5, Y2 // step 2
	VSHUFPS   $0xEE, Y7, Y5, Y3 // step 3

	VADDPS Y0, Y12, Y10
	LIFSTEP(Y10, Y4, Y9)
	VMULPS Y9, Y14, Y10
	VADDPS Y1, Y10, Y10
	LIFSTEP(Y10, Y5, Y9)
	VMULPS Y9, Y14, Y10
	VADDPS Y2, Y10, Y10
	LIFSTEP(Y10, Y6, Y9)
	VMULPS Y9, Y14, Y10
	VADDPS Y3, Y10, Y10
	LIFSTEP(Y10, Y7, Y9)

	VUNPCKLPS Y5, Y4, Y0
	VUNPCKLPS Y7, Y6, Y1
	VUNPCKHPS Y5, Y4, Y2
	VUNPCKHPS Y7, Y6, Y3
	VSHUFPS   $0x44, Y1, Y0, Y8
	VSHUFPS   $0xEE, Y1, Y0, Y9
	VSHUFPS   $0x44, Y3, Y2, Y10
	VSHUFPS   $0xEE, Y3, Y2, Y11
	VMOVUPS   Y8, (DI)
	VMOVUPS   Y9, 32(DI)
	VMOVUPS   Y10, 64(DI)
	VMOVUPS   Y11, 96(DI)
	ADDQ      $128, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       grploop

grpdone:
	VZEROUPPER
	RET
