//go:build amd64 && !purego

#include "textflag.h"

// Vector versions of Expf and expShiftedGeneric (scalar.go), bit-identical
// to them: the same float32 operations in the same order, no FMA. The macros
// take register names, so the AVX-512 (Z, 16 lanes) and AVX2 (Y, 8 lanes)
// code is the same text at two widths. Constants are read from expTab (16 lanes
// each, exp_amd64.go). Masks come from sign bits (VPSRAD $31) rather than
// compares, which write K registers on AVX-512 and vectors on AVX2.

#define HI ·expTab+0(SB)
#define LO ·expTab+64(SB)
#define LOG2E ·expTab+128(SB)
#define HALF ·expTab+192(SB)
#define LN2HI ·expTab+256(SB)
#define LN2LO ·expTab+320(SB)
#define P0 ·expTab+384(SB)
#define P1 ·expTab+448(SB)
#define P2 ·expTab+512(SB)
#define P3 ·expTab+576(SB)
#define P4 ·expTab+640(SB)
#define P5 ·expTab+704(SB)
#define ONE ·expTab+768(SB)
#define INF ·expTab+832(SB)
#define ABS ·expTab+896(SB)
#define NANBIAS ·expTab+960(SB)
#define BIAS ·expTab+1024(SB)

// REDUCE_POLY: R = (X − FN·ln2Hi) − FN·ln2Lo, then A = e^R = 1 + R + R²·P(R)
// (expReduce, expPoly). Z may be FN.
#define REDUCE_POLY(X, FN, R, A, Z) \
	VMULPS LN2HI, FN, A; \
	VSUBPS A, X, R; \
	VMULPS LN2LO, FN, A; \
	VSUBPS A, R, R; \
	VMULPS R, R, Z; \
	VMULPS P0, R, A; \
	VADDPS P1, A, A; \
	VMULPS R, A, A; \
	VADDPS P2, A, A; \
	VMULPS R, A, A; \
	VADDPS P3, A, A; \
	VMULPS R, A, A; \
	VADDPS P4, A, A; \
	VMULPS R, A, A; \
	VADDPS P5, A, A; \
	VMULPS Z, A, A; \
	VADDPS R, A, A; \
	VADDPS ONE, A, A

// POW2: N (int32 lanes) becomes the float32 2^N (pow2).
#define POW2(N) \
	VPADDD BIAS, N, N; \
	VPSLLD $23, N, N

// ZERO_BELOW_LO: R = 0 where X < lo (the sign of X − lo); T is clobbered.
#define ZERO_BELOW_LO(X, R, T) \
	VSUBPS LO, X, T; \
	VPSRAD $31, T, T; \
	VANDNPS R, T, R

// KEEP_NAN: R = X where X is NaN (|X| bits + 0x007fffff reach the sign bit
// exactly when |X| > +Inf); T is clobbered.
#define KEEP_NAN(X, R, T) \
	VANDPS ABS, X, T; \
	VPADDD NANBIAS, T, T; \
	VPSRAD $31, T, T; \
	VANDNPS R, T, R; \
	VANDPS X, T, T; \
	VORPS T, R, R

// EXPF: R = Expf(X); A, B, C are clobbered. In order: fx = x·log2e + 0.5;
// n = trunc(fx), less 1 where float(n) > fx (the sign of fx − float(n));
// A = e^r; n1 = n/2 truncated like Go's (n + (n>>>31)) >> 1, n2 = n − n1;
// R = A·2^n1·2^n2; then 0 below lo, +Inf from hi up, X where NaN.
#define EXPF(X, R, A, B, C) \
	VMULPS LOG2E, X, A; \
	VADDPS HALF, A, A; \
	VCVTTPS2DQ A, B; \
	VCVTDQ2PS B, C; \
	VSUBPS C, A, A; \
	VPSRAD $31, A, A; \
	VPADDD A, B, B; \
	VCVTDQ2PS B, C; \
	REDUCE_POLY(X, C, R, A, C); \
	VPSRLD $31, B, C; \
	VPADDD B, C, C; \
	VPSRAD $1, C, C; \
	VPSUBD C, B, B; \
	POW2(C); \
	VMULPS C, A, A; \
	POW2(B); \
	VMULPS B, A, R; \
	ZERO_BELOW_LO(X, R, A); \
	VSUBPS HI, X, A; \
	VPSRAD $31, A, A; \
	VANDPS A, R, R; \
	VANDNPS INF, A, A; \
	VORPS A, R, R; \
	KEEP_NAN(X, R, A)

// EXPSHIFTED: R = e^min(D, 0) as expShiftedGeneric computes it, given
// D = v − m and ZERO = 0. X = min(D, 0) (VMINPS returns its first Go operand
// when either is NaN, or both are zeros, as Go's min does here);
// n = trunc(x·log2e − 0.5); R = e^r·2^n; then 0 below lo, X where NaN.
// D, A and B are clobbered.
#define EXPSHIFTED(D, ZERO, X, R, A, B) \
	VMINPS D, ZERO, X; \
	VMULPS LOG2E, X, A; \
	VSUBPS HALF, A, A; \
	VCVTTPS2DQ A, B; \
	VCVTDQ2PS B, D; \
	REDUCE_POLY(X, D, R, A, D); \
	POW2(B); \
	VMULPS B, A, R; \
	ZERO_BELOW_LO(X, R, A); \
	KEEP_NAN(X, R, A)

// func exp512(dst, src *float32, n int)
TEXT ·exp512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VMOVUPS (SI), Z0
	EXPF(Z0, Z1, Z2, Z3, Z4)
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     loop
	VZEROUPPER
	RET

// func exp256(dst, src *float32, n int)
TEXT ·exp256(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VMOVUPS (SI), Y0
	EXPF(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     loop
	VZEROUPPER
	RET

// func expShifted512(dst, src *float32, n int, m float32, acc *[16]float32)
// The partial sums live in Z9.
TEXT ·expShifted512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Z8
	MOVQ         acc+32(FP), R8
	VMOVUPS      (R8), Z9
	VXORPS       Z10, Z10, Z10

loop:
	VMOVUPS (SI), Z0
	VSUBPS  Z8, Z0, Z0
	EXPSHIFTED(Z0, Z10, Z1, Z2, Z3, Z4)
	VADDPS  Z2, Z9, Z9
	TESTQ   DI, DI
	JZ      next
	VMOVUPS Z2, (DI)
	ADDQ    $64, DI

next:
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  loop
	VMOVUPS Z9, (R8)
	VZEROUPPER
	RET

// func expShifted256(dst, src *float32, n int, m float32, acc *[16]float32)
// The partial sums live in Y9 (lanes 0-7) and Y11 (lanes 8-15).
TEXT ·expShifted256(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Y8
	MOVQ         acc+32(FP), R8
	VMOVUPS      (R8), Y9
	VMOVUPS      32(R8), Y11
	VXORPS       Y10, Y10, Y10

loop:
	VMOVUPS (SI), Y0
	VSUBPS  Y8, Y0, Y0
	EXPSHIFTED(Y0, Y10, Y1, Y2, Y3, Y4)
	VADDPS  Y2, Y9, Y9
	VMOVUPS 32(SI), Y5
	VSUBPS  Y8, Y5, Y5
	EXPSHIFTED(Y5, Y10, Y6, Y7, Y12, Y13)
	VADDPS  Y7, Y11, Y11
	TESTQ   DI, DI
	JZ      next
	VMOVUPS Y2, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ    $64, DI

next:
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  loop
	VMOVUPS Y9, (R8)
	VMOVUPS Y11, 32(R8)
	VZEROUPPER
	RET
