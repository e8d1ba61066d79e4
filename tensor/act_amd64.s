//go:build !noasm

#include "textflag.h"

// GELU_CORE computes, for the 8 values in Y0 (x) with the constant table in
// R8, z = x/√2 in Y1, erf(z) in Y14 and e^(-z²) in Y12. Clobbers Y2-Y15
// except as noted.
#define GELU_CORE \
	VMULPS      0(R8), Y0, Y1       /* z = x·(1/√2) */ \
	VANDPS      32(R8), Y1, Y2      /* |z| */ \
	VMOVUPS     256(R8), Y3 \
	VFMADD231PS 64(R8), Y2, Y3      /* 1 + p·|z| */ \
	VMOVUPS     256(R8), Y4 \
	VDIVPS      Y3, Y4, Y4          /* t = 1/(1 + p·|z|) */ \
	VMOVUPS     96(R8), Y5          /* q = a5 */ \
	VFMADD213PS 128(R8), Y4, Y5     /* q = q·t + a4 */ \
	VFMADD213PS 160(R8), Y4, Y5     /* q = q·t + a3 */ \
	VFMADD213PS 192(R8), Y4, Y5     /* q = q·t + a2 */ \
	VFMADD213PS 224(R8), Y4, Y5     /* q = q·t + a1 */ \
	VMULPS      Y4, Y5, Y5          /* q = q·t */ \
	VMULPS      Y1, Y1, Y6          /* z² */ \
	VXORPS      672(R8), Y6, Y6     /* v = -z² */ \
	VMAXPS      608(R8), Y6, Y6     /* v = max(v, -87.33654) */ \
	VMOVUPS     288(R8), Y7 \
	VFMADD231PS 320(R8), Y6, Y7     /* v·log2e + 0.5 */ \
	VROUNDPS    $1, Y7, Y7          /* n = floor(·) */ \
	VMOVAPS     Y6, Y9 \
	VFNMADD231PS 352(R8), Y7, Y9    /* r = v - n·ln2hi */ \
	VFNMADD231PS 384(R8), Y7, Y9    /* r = r - n·ln2lo */ \
	VMOVUPS     416(R8), Y10        /* p = c0 */ \
	VFMADD213PS 448(R8), Y9, Y10    /* p = p·r + c1 */ \
	VFMADD213PS 480(R8), Y9, Y10 \
	VFMADD213PS 512(R8), Y9, Y10 \
	VFMADD213PS 544(R8), Y9, Y10 \
	VFMADD213PS 576(R8), Y9, Y10    /* p = p·r + c5 */ \
	VMULPS      Y9, Y9, Y11         /* r² */ \
	VADDPS      256(R8), Y9, Y12    /* r + 1 */ \
	VFMADD231PS Y11, Y10, Y12       /* e^r = p·r² + r + 1 */ \
	VCVTPS2DQ   Y7, Y13             /* int n */ \
	VPADDD      640(R8), Y13, Y13   /* n + 127 */ \
	VPSLLD      $23, Y13, Y13       /* 2^n as float bits */ \
	VMULPS      Y13, Y12, Y12       /* e^(-z²) */ \
	VMOVUPS     256(R8), Y14 \
	VFNMADD231PS Y12, Y5, Y14       /* 1 - q·e^(-z²) = erf(|z|) */ \
	VANDPS      672(R8), Y1, Y15    /* sign of z */ \
	VXORPS      Y15, Y14, Y14       /* erf(z) */

// func geluAVX2(x, y *float32, n int, c *[22][8]uint32)
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), R8
	SHRQ $3, CX
	JZ   gdone

gloop:
	VMOVUPS (SI), Y0
	GELU_CORE
	VADDPS  256(R8), Y14, Y14 // 1 + erf
	VMULPS  288(R8), Y0, Y0   // x/2
	VMULPS  Y14, Y0, Y0       // y = x/2·(1 + erf)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gloop

gdone:
	VZEROUPPER
	RET

// func geluBackwardAVX2(x, dy, dx *float32, n int, c *[22][8]uint32)
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), DX
	MOVQ dx+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), R8
	SHRQ $3, CX
	JZ   bdone

bloop:
	VMOVUPS (SI), Y0
	GELU_CORE
	VADDPS      256(R8), Y14, Y14 // 1 + erf
	VMULPS      288(R8), Y14, Y14 // Φ = (1 + erf)/2
	VMULPS      Y12, Y0, Y12      // x·e^(-x²/2)
	VMULPS      bgelupdf<>(SB), Y12, Y12 // x·φ(x) = x·e^(-x²/2)/√(2π)
	VADDPS      Y12, Y14, Y14     // GELU'(x)
	VMOVUPS     (DI), Y1
	VFMADD231PS (DX), Y14, Y1     // dx += dy·GELU'(x)
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         bloop

bdone:
	VZEROUPPER
	RET

// 1/√(2π) = 0.3989422804, broadcast to 8 lanes.
DATA bgelupdf<>+0(SB)/4, $0x3ecc422a
DATA bgelupdf<>+4(SB)/4, $0x3ecc422a
DATA bgelupdf<>+8(SB)/4, $0x3ecc422a
DATA bgelupdf<>+12(SB)/4, $0x3ecc422a
DATA bgelupdf<>+16(SB)/4, $0x3ecc422a
DATA bgelupdf<>+20(SB)/4, $0x3ecc422a
DATA bgelupdf<>+24(SB)/4, $0x3ecc422a
DATA bgelupdf<>+28(SB)/4, $0x3ecc422a
GLOBL bgelupdf<>(SB), RODATA|NOPTR, $32
