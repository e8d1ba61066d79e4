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

// func lifMemAVX(u, up, x *float32, n int, tau, vth float32)
//
// Recomputes a step's membranes along H over n lanes (n a multiple of 8):
// u = float32(tau·c) + x with c the carry of the previous membranes up (0
// where they fired, up elsewhere).
TEXT ·lifMemAVX(SB), NOSPLIT, $0-40
	MOVQ         u+0(FP), DI
	MOVQ         up+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS tau+32(FP), Y14
	VBROADCASTSS vth+36(FP), Y15
	VXORPS       Y13, Y13, Y13
	SHRQ         $3, CX
	JZ           memdone

memloop:
	VMOVUPS   (DX), Y0
	VSUBPS    Y0, Y15, Y1
	VBLENDVPS Y1, Y13, Y0, Y2
	VMULPS    Y2, Y14, Y2
	VADDPS    (SI), Y2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $32, DI
	ADDQ      $32, DX
	ADDQ      $32, SI
	DECQ      CX
	JNZ       memloop

memdone:
	VZEROUPPER
	RET

// func lifBackStepAVX(du, gx, u, up, gy *float32, accTau, accVth *float64, n int, tau, vth float32, flags int)
//
// One step of the backward scan along H over n lanes (n a multiple of 8),
// for membranes u and output gradients gy: du = gy where u fired, tau·du
// elsewhere; accVth += gy where u did not fire; with flags&1, gx += du;
// with flags&2, accTau += du·c in float64, c the carry of the previous
// membranes up.
TEXT ·lifBackStepAVX(SB), NOSPLIT, $0-80
	MOVQ         du+0(FP), DI
	MOVQ         gx+8(FP), R8
	MOVQ         u+16(FP), SI
	MOVQ         up+24(FP), R9
	MOVQ         gy+32(FP), DX
	MOVQ         accTau+40(FP), R10
	MOVQ         accVth+48(FP), R11
	MOVQ         n+56(FP), CX
	VBROADCASTSS tau+64(FP), Y14
	VBROADCASTSS vth+68(FP), Y15
	MOVQ         flags+72(FP), AX
	VXORPS       Y13, Y13, Y13
	SHRQ         $3, CX
	JZ           bkdone

bkloop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y0, Y15, Y1        // fired where negative
	VMOVUPS      (DX), Y2           // g
	VMULPS       (DI), Y14, Y3      // tau·du
	VBLENDVPS    Y1, Y2, Y3, Y4     // du
	VMOVUPS      Y4, (DI)
	VBLENDVPS    Y1, Y13, Y2, Y5    // g where it did not fire
	VCVTPS2PD    X5, Y6
	VEXTRACTF128 $1, Y5, X7
	VCVTPS2PD    X7, Y7
	VADDPD       (R11), Y6, Y6
	VADDPD       32(R11), Y7, Y7
	VMOVUPD      Y6, (R11)
	VMOVUPD      Y7, 32(R11)
	TESTQ        $1, AX
	JZ           bknogx
	VADDPS       (R8), Y4, Y8
	VMOVUPS      Y8, (R8)

bknogx:
	TESTQ        $2, AX
	JZ           bknext
	VMOVUPS      (R9), Y9
	VSUBPS       Y9, Y15, Y10
	VBLENDVPS    Y10, Y13, Y9, Y11  // carry of the previous membranes
	VCVTPS2PD    X4, Y6
	VCVTPS2PD    X11, Y7
	VMULPD       Y7, Y6, Y6
	VADDPD       (R10), Y6, Y6
	VMOVUPD      Y6, (R10)
	VEXTRACTF128 $1, Y4, X8
	VEXTRACTF128 $1, Y11, X9
	VCVTPS2PD    X8, Y8
	VCVTPS2PD    X9, Y9
	VMULPD       Y9, Y8, Y8
	VADDPD       32(R10), Y8, Y8
	VMOVUPD      Y8, 32(R10)

bknext:
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $32, DX
	ADDQ $64, R10
	ADDQ $64, R11
	DECQ CX
	JNZ  bkloop

bkdone:
	VZEROUPPER
	RET

// TOSTEPS transposes the 32 values at ptr (8 groups of 4, in order) into
// Y0..Y3, one register per step of the groups (lanes in group order
// 0 2 4 6 | 1 3 5 7), through Y4..Y7.
#define TOSTEPS(ptr) \
	VMOVUPS   (ptr), Y0          \
	VMOVUPS   32(ptr), Y1        \
	VMOVUPS   64(ptr), Y2        \
	VMOVUPS   96(ptr), Y3        \
	VUNPCKLPS Y1, Y0, Y4         \
	VUNPCKHPS Y1, Y0, Y5         \
	VUNPCKLPS Y3, Y2, Y6         \
	VUNPCKHPS Y3, Y2, Y7         \
	VSHUFPS   $0x44, Y6, Y4, Y0  \
	VSHUFPS   $0xEE, Y6, Y4, Y1  \
	VSHUFPS   $0x44, Y7, Y5, Y2  \
	VSHUFPS   $0xEE, Y7, Y5, Y3

// TOCOLUMNS transposes the steps in Y4..Y7 back to column order in
// Y8..Y11, through Y0..Y3.
#define TOCOLUMNS \
	VUNPCKLPS Y5, Y4, Y0         \
	VUNPCKLPS Y7, Y6, Y1         \
	VUNPCKHPS Y5, Y4, Y2         \
	VUNPCKHPS Y7, Y6, Y3         \
	VSHUFPS   $0x44, Y1, Y0, Y8  \
	VSHUFPS   $0xEE, Y1, Y0, Y9  \
	VSHUFPS   $0x44, Y3, Y2, Y10 \
	VSHUFPS   $0xEE, Y3, Y2, Y11

// ACC8 adds the 8 float32 values of reg (xreg its low half), as float64,
// to the 8 values at off(R) and clobbers Y0, Y1.
#define ACC8(reg, xreg, R, off) \
	VCVTPS2PD    xreg, Y0        \
	VEXTRACTF128 $1, reg, X1     \
	VCVTPS2PD    X1, Y1          \
	VADDPD       off(R), Y0, Y0  \
	VADDPD       off+32(R), Y1, Y1 \
	VMOVUPD      Y0, off(R)      \
	VMOVUPD      Y1, off+32(R)

// PROD8 adds du·c, as float64, for the 8 columns at offset off of the
// frame's du (0(SP)) and carry (128(SP)) rows, to the 8 values at
// 2·off(R10); it clobbers Y0..Y3.
#define PROD8(off) \
	VCVTPS2PD    off(SP), Y0      \
	VCVTPS2PD    off+128(SP), Y1  \
	VMULPD       Y1, Y0, Y0       \
	VADDPD       2*off(R10), Y0, Y0 \
	VMOVUPD      Y0, 2*off(R10)   \
	VCVTPS2PD    off+16(SP), Y2   \
	VCVTPS2PD    off+144(SP), Y3  \
	VMULPD       Y3, Y2, Y2       \
	VADDPD       2*off+32(R10), Y2, Y2 \
	VMOVUPD      Y2, 2*off+32(R10)

// func lifBackGroups4AVX(gx, x, gy *float32, accTau, accVth *float64, blocks int, tau, vth float32, hasGx int)
//
// The backward scan along W with groups of 4 over blocks of 32 values, as
// the Go loop computes it: membranes recomputed, du = gy where fired and
// tau·du elsewhere, from the last step back; gx += du (when hasGx);
// accVth += gy where not fired and accTau += du·c (c the previous step's
// carry, 0 at the first step), per column in float64.
//
// Frame: 0 du by column, 128 carries by column, 256 u by step, 384 the
// steps' carries c0..c2, 480 the Vth terms by step.
TEXT ·lifBackGroups4AVX(SB), $608-64
	MOVQ         gx+0(FP), R8
	MOVQ         x+8(FP), SI
	MOVQ         gy+16(FP), DX
	MOVQ         accTau+24(FP), R10
	MOVQ         accVth+32(FP), R11
	MOVQ         blocks+40(FP), CX
	VBROADCASTSS tau+48(FP), Y14
	VBROADCASTSS vth+52(FP), Y15
	MOVQ         hasGx+56(FP), AX
	VXORPS       Y13, Y13, Y13
	VMULPS       Y13, Y14, Y12 // tau·0
	TESTQ        CX, CX
	JZ           bgdone

bgloop:
	// Membranes u0..u3 and carries c0..c2.
	TOSTEPS(SI)
	VADDPS    Y0, Y12, Y0
	VSUBPS    Y0, Y15, Y8
	VBLENDVPS Y8, Y13, Y0, Y4
	VMULPS    Y4, Y14, Y9
	VADDPS    Y1, Y9, Y1
	VSUBPS    Y1, Y15, Y8
	VBLENDVPS Y8, Y13, Y1, Y5
	VMULPS    Y5, Y14, Y9
	VADDPS    Y2, Y9, Y2
	VSUBPS    Y2, Y15, Y8
	VBLENDVPS Y8, Y13, Y2, Y6
	VMULPS    Y6, Y14, Y9
	VADDPS    Y3, Y9, Y3
	VMOVUPS   Y0, 256(SP)
	VMOVUPS   Y1, 288(SP)
	VMOVUPS   Y2, 320(SP)
	VMOVUPS   Y3, 352(SP)
	VMOVUPS   Y4, 384(SP)
	VMOVUPS   Y5, 416(SP)
	VMOVUPS   Y6, 448(SP)

	// Output gradients by step in Y0..Y3; du by step into Y7..Y4.
	TOSTEPS(DX)
	VMOVUPS   352(SP), Y9
	VSUBPS    Y9, Y15, Y8
	VBLENDVPS Y8, Y3, Y12, Y7
	VBLENDVPS Y8, Y13, Y3, Y11
	VMOVUPS   Y11, 576(SP)
	VMOVUPS   320(SP), Y9
	VSUBPS    Y9, Y15, Y8
	VMULPS    Y7, Y14, Y10
	VBLENDVPS Y8, Y2, Y10, Y6
	VBLENDVPS Y8, Y13, Y2, Y11
	VMOVUPS   Y11, 544(SP)
	VMOVUPS   288(SP), Y9
	VSUBPS    Y9, Y15, Y8
	VMULPS    Y6, Y14, Y10
	VBLENDVPS Y8, Y1, Y10, Y5
	VBLENDVPS Y8, Y13, Y1, Y11
	VMOVUPS   Y11, 512(SP)
	VMOVUPS   256(SP), Y9
	VSUBPS    Y9, Y15, Y8
	VMULPS    Y5, Y14, Y10
	VBLENDVPS Y8, Y0, Y10, Y4
	VBLENDVPS Y8, Y13, Y0, Y11
	VMOVUPS   Y11, 480(SP)

	// du by column: into the frame and onto gx.
	TOCOLUMNS
	VMOVUPS Y8, 0(SP)
	VMOVUPS Y9, 32(SP)
	VMOVUPS Y10, 64(SP)
	VMOVUPS Y11, 96(SP)
	TESTQ   AX, AX
	JZ      bgnogx
	VADDPS  (R8), Y8, Y8
	VADDPS  32(R8), Y9, Y9
	VADDPS  64(R8), Y10, Y10
	VADDPS  96(R8), Y11, Y11
	VMOVUPS Y8, (R8)
	VMOVUPS Y9, 32(R8)
	VMOVUPS Y10, 64(R8)
	VMOVUPS Y11, 96(R8)

bgnogx:
	// The previous step's carries (0 at the first step) by column.
	VMOVAPS Y13, Y4
	VMOVUPS 384(SP), Y5
	VMOVUPS 416(SP), Y6
	VMOVUPS 448(SP), Y7
	TOCOLUMNS
	VMOVUPS Y8, 128(SP)
	VMOVUPS Y9, 160(SP)
	VMOVUPS Y10, 192(SP)
	VMOVUPS Y11, 224(SP)

	// The Vth terms by column, added to accVth.
	VMOVUPS 480(SP), Y4
	VMOVUPS 512(SP), Y5
	VMOVUPS 544(SP), Y6
	VMOVUPS 576(SP), Y7
	TOCOLUMNS
	ACC8(Y8, X8, R11, 0)
	ACC8(Y9, X9, R11, 64)
	ACC8(Y10, X10, R11, 128)
	ACC8(Y11, X11, R11, 192)

	// du·c added to accTau.
	PROD8(0)
	PROD8(32)
	PROD8(64)
	PROD8(96)

	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, R8
	ADDQ $256, R10
	ADDQ $256, R11
	DECQ CX
	JNZ  bgloop

bgdone:
	VZEROUPPER
	RET
