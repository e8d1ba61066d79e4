//go:build !noasm

#include "textflag.h"

// Register use in sgemmKernel6x16AVX2:
//
//	Y0..Y11  accumulators: row r of the tile is Y(2r) (columns 0-7) and Y(2r+1) (columns 8-15)
//	Y12, Y13 the current row of the packed B panel (16 values)
//	Y14, Y15 a broadcast value of the packed A panel
//	SI a, DI b, CX k counter, DX c, R8 ldc in bytes, R9 scratch row pointer

// step computes one rank-1 update of the 6×16 tile from the A column at
// a+aoff and the B row at b+boff:
//
//	for r := 0; r < 6; r++ { for j := 0; j < 16; j++ { acc[r][j] += a[r] * b[j] } }
#define STEP(aoff, boff) \
	VMOVUPS      boff(DI), Y12 \
	VMOVUPS      boff+32(DI), Y13 \
	VBROADCASTSS aoff(SI), Y14 \
	VBROADCASTSS aoff+4(SI), Y15 \
	VFMADD231PS  Y12, Y14, Y0 \
	VFMADD231PS  Y13, Y14, Y1         \
	VFMADD231PS  Y12, Y15, Y2         \
	VFMADD231PS  Y13, Y15, Y3         \
	VBROADCASTSS aoff+8(SI), Y14 \
	VBROADCASTSS aoff+12(SI), Y15 \
	VFMADD231PS  Y12, Y14, Y4         \
	VFMADD231PS  Y13, Y14, Y5         \
	VFMADD231PS  Y12, Y15, Y6         \
	VFMADD231PS  Y13, Y15, Y7         \
	VBROADCASTSS aoff+16(SI), Y14 \
	VBROADCASTSS aoff+20(SI), Y15 \
	VFMADD231PS  Y12, Y14, Y8         \
	VFMADD231PS  Y13, Y14, Y9         \
	VFMADD231PS  Y12, Y15, Y10        \
	VFMADD231PS  Y13, Y15, Y11

// STOREBETA writes row r of the tile: c[0:16] = alpha*acc + beta*c[0:16], with
// alpha in Y12 and beta in Y13, and moves R9 to the next row.
#define STOREBETA(lo, hi) \
	VMULPS      Y12, lo, lo \
	VMULPS      Y12, hi, hi    \
	VFMADD231PS (R9), Y13, lo \
	VFMADD231PS 32(R9), Y13, hi \
	VMOVUPS     lo, (R9)       \
	VMOVUPS     hi, 32(R9)     \
	ADDQ        R8, R9

// STOREBIAS writes row r of the tile: c[0:16] = acc + bias[r], with bias[r]
// broadcast in Y12, and moves R9 to the next row.
#define STOREBIAS(lo, hi) \
	VADDPS  Y12, lo, lo \
	VADDPS  Y12, hi, hi \
	VMOVUPS lo, (R9)    \
	VMOVUPS hi, 32(R9)  \
	ADDQ    R8, R9

// STORE writes row r of the tile: c[0:16] = alpha*acc, with alpha in Y12.
#define STORE(lo, hi) \
	VMULPS  Y12, lo, lo \
	VMULPS  Y12, hi, hi \
	VMOVUPS lo, (R9)    \
	VMOVUPS hi, 32(R9)  \
	ADDQ    R8, R9

// func sgemmKernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, bias *float32)
//
// a is a packed 6×kc panel (a[p*6+r]), b a packed kc×16 panel (b[p*16+j]) and c
// a 6×16 tile with row stride ldc. kc >= 1. When bias is not nil, alpha and
// beta are ignored and row r is written as acc + bias[r].
TEXT ·sgemmKernel6x16AVX2(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8 // ldc in bytes

	// Warm the tile of C while the loop runs.
	MOVQ       DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 60(R9)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, R10
	SHRQ $2, R10 // R10 = kc / 4
	ANDQ $3, CX  // CX = kc % 4
	TESTQ R10, R10
	JZ   tail

	PCALIGN $64 // a loop that starts on a cache line runs at the same speed in every build

loop4: // four k steps per iteration
	PREFETCHT0 384(SI)
	STEP(0, 0)
	STEP(24, 64)
	PREFETCHT0 512(DI)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI  // a += 4*6
	ADDQ $256, DI // b += 4*16
	DECQ R10
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    epilogue

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

epilogue:
	MOVQ         DX, R9
	MOVQ         bias+48(FP), AX
	TESTQ        AX, AX
	JNZ          withbias
	VBROADCASTSS alpha+40(FP), Y12
	MOVL         beta+44(FP), AX
	ANDL         $0x7fffffff, AX // beta == ±0: C is not read
	JZ           nobeta
	VBROADCASTSS beta+44(FP), Y13
	STOREBETA(Y0, Y1)
	STOREBETA(Y2, Y3)
	STOREBETA(Y4, Y5)
	STOREBETA(Y6, Y7)
	STOREBETA(Y8, Y9)
	STOREBETA(Y10, Y11)
	VZEROUPPER
	RET

nobeta:
	STORE(Y0, Y1)
	STORE(Y2, Y3)
	STORE(Y4, Y5)
	STORE(Y6, Y7)
	STORE(Y8, Y9)
	STORE(Y10, Y11)
	VZEROUPPER
	RET

withbias:
	VBROADCASTSS (AX), Y12
	STOREBIAS(Y0, Y1)
	VBROADCASTSS 4(AX), Y12
	STOREBIAS(Y2, Y3)
	VBROADCASTSS 8(AX), Y12
	STOREBIAS(Y4, Y5)
	VBROADCASTSS 12(AX), Y12
	STOREBIAS(Y6, Y7)
	VBROADCASTSS 16(AX), Y12
	STOREBIAS(Y8, Y9)
	VBROADCASTSS 20(AX), Y12
	STOREBIAS(Y10, Y11)
	VZEROUPPER
	RET

// LOAD8 loads the eight rows of 8 values at SI, SI+AX, ..., SI+7·AX (AX the
// row stride in bytes) into Y0..Y7. R11 is clobbered.
#define LOAD8 \
	MOVQ    SI, R11   \
	VMOVUPS (R11), Y0 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y1 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y2 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y3 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y4 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y5 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y6 \
	ADDQ    AX, R11   \
	VMOVUPS (R11), Y7

// TRANS8 transposes the 8×8 block in Y0..Y7 (row r in Yr) into Y8..Y15
// (column c in Y(8+c)), using Y0..Y7 as scratch.
#define TRANS8 \
	VUNPCKLPS  Y1, Y0, Y8          \
	VUNPCKHPS  Y1, Y0, Y9          \
	VUNPCKLPS  Y3, Y2, Y10         \
	VUNPCKHPS  Y3, Y2, Y11         \
	VUNPCKLPS  Y5, Y4, Y12         \
	VUNPCKHPS  Y5, Y4, Y13         \
	VUNPCKLPS  Y7, Y6, Y14         \
	VUNPCKHPS  Y7, Y6, Y15         \
	VSHUFPS    $0x44, Y10, Y8, Y0  \
	VSHUFPS    $0xEE, Y10, Y8, Y1  \
	VSHUFPS    $0x44, Y11, Y9, Y2  \
	VSHUFPS    $0xEE, Y11, Y9, Y3  \
	VSHUFPS    $0x44, Y14, Y12, Y4 \
	VSHUFPS    $0xEE, Y14, Y12, Y5 \
	VSHUFPS    $0x44, Y15, Y13, Y6 \
	VSHUFPS    $0xEE, Y15, Y13, Y7 \
	VPERM2F128 $0x20, Y4, Y0, Y8   \
	VPERM2F128 $0x20, Y5, Y1, Y9   \
	VPERM2F128 $0x20, Y6, Y2, Y10  \
	VPERM2F128 $0x20, Y7, Y3, Y11  \
	VPERM2F128 $0x31, Y4, Y0, Y12  \
	VPERM2F128 $0x31, Y5, Y1, Y13  \
	VPERM2F128 $0x31, Y6, Y2, Y14  \
	VPERM2F128 $0x31, Y7, Y3, Y15

// TRANSPOSE8 transposes the 8×8 block whose rows start at SI, SI+AX, ...,
// SI+7·AX into the rows DI, DI+64, ..., DI+7·64 (a packed 16-wide panel).
#define TRANSPOSE8 \
	LOAD8                     \
	TRANS8                    \
	VMOVUPS    Y8, (DI)       \
	VMOVUPS    Y9, 64(DI)     \
	VMOVUPS    Y10, 128(DI)   \
	VMOVUPS    Y11, 192(DI)   \
	VMOVUPS    Y12, 256(DI)   \
	VMOVUPS    Y13, 320(DI)   \
	VMOVUPS    Y14, 384(DI)   \
	VMOVUPS    Y15, 448(DI)

// STORE6 writes the first six values of Y(reg) to off(DI).
#define STORE6(reg, xreg, off) \
	VMOVUPS      xreg, off(DI)     \
	VEXTRACTF128 $1, reg, xreg     \
	VMOVSD       xreg, off+16(DI)

// func packBTrans16AVX(b *float32, ldb int, blocks int, dst *float32)
//
// For p < 8·blocks and j < 16: dst[p*16+j] = b[j*ldb+p].
TEXT ·packBTrans16AVX(SB), NOSPLIT, $0-32
	MOVQ  b+0(FP), SI
	MOVQ  ldb+8(FP), AX
	SHLQ  $2, AX
	MOVQ  blocks+16(FP), CX
	MOVQ  dst+24(FP), DI
	MOVQ  AX, DX
	SHLQ  $3, DX // DX = 8 rows of b in bytes
	TESTQ CX, CX
	JZ    done

loop:
	TRANSPOSE8 // columns 0-7 of the panel
	ADDQ DX, SI
	ADDQ $32, DI
	TRANSPOSE8 // columns 8-15
	SUBQ DX, SI
	ADDQ $32, SI  // next 8 values of k
	ADDQ $480, DI // next 8 rows of the panel: 512 bytes on from the first half
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packA6AVX(a *float32, lda int, blocks int, dst *float32)
//
// For p < 8·blocks and i < 6: dst[p*6+i] = a[i*lda+p].
TEXT ·packA6AVX(SB), NOSPLIT, $0-32
	MOVQ  a+0(FP), SI
	MOVQ  lda+8(FP), AX
	SHLQ  $2, AX
	MOVQ  blocks+16(FP), CX
	MOVQ  dst+24(FP), DI
	TESTQ CX, CX
	JZ    done6

loop6:
	MOVQ    SI, R11
	VMOVUPS (R11), Y0
	ADDQ    AX, R11
	VMOVUPS (R11), Y1
	ADDQ    AX, R11
	VMOVUPS (R11), Y2
	ADDQ    AX, R11
	VMOVUPS (R11), Y3
	ADDQ    AX, R11
	VMOVUPS (R11), Y4
	ADDQ    AX, R11
	VMOVUPS (R11), Y5
	VMOVAPS Y5, Y6 // rows 6 and 7 are not stored
	VMOVAPS Y5, Y7
	TRANS8
	STORE6(Y8, X8, 0)
	STORE6(Y9, X9, 24)
	STORE6(Y10, X10, 48)
	STORE6(Y11, X11, 72)
	STORE6(Y12, X12, 96)
	STORE6(Y13, X13, 120)
	STORE6(Y14, X14, 144)
	STORE6(Y15, X15, 168)
	ADDQ $32, SI  // next 8 values of k
	ADDQ $192, DI // 8 rows of 6
	DECQ CX
	JNZ  loop6

done6:
	VZEROUPPER
	RET
