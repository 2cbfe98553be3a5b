//go:build amd64 && !purego

#include "textflag.h"

DATA lanes<>+0(SB)/4, $0
DATA lanes<>+4(SB)/4, $1
DATA lanes<>+8(SB)/4, $2
DATA lanes<>+12(SB)/4, $3
DATA lanes<>+16(SB)/4, $4
DATA lanes<>+20(SB)/4, $5
DATA lanes<>+24(SB)/4, $6
DATA lanes<>+28(SB)/4, $7
DATA lanes<>+32(SB)/4, $8
DATA lanes<>+36(SB)/4, $9
DATA lanes<>+40(SB)/4, $10
DATA lanes<>+44(SB)/4, $11
DATA lanes<>+48(SB)/4, $12
DATA lanes<>+52(SB)/4, $13
DATA lanes<>+56(SB)/4, $14
DATA lanes<>+60(SB)/4, $15
GLOBL lanes<>(SB), RODATA|NOPTR, $64

// func gatherPack512(dst, src *float32, ld, w, kc int, masks uint64, scale float32)
// For p < kc and lane i < w (w <= 32): dst[p*w+i] = scale*src[i*ld+p].
// masks holds four 16-bit lane masks: bits 0-15 gather lanes 0-15, 16-31
// gather lanes 16-31, 32-47 store lanes 0-15, 48-63 store lanes 16-31.
// Lanes that are stored but not gathered are written as zero.
TEXT ·gatherPack512(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), AX
	MOVQ w+24(FP), BX
	MOVQ kc+32(FP), CX
	MOVQ masks+40(FP), DX
	VBROADCASTSS scale+48(FP), Z7
	VPBROADCASTD AX, Z1
	VMOVDQU32 lanes<>(SB), Z2
	VPMULLD Z2, Z1, Z5          // lane*ld
	SHLQ $4, AX
	VPBROADCASTD AX, Z3
	VPADDD Z3, Z5, Z6           // (lane+16)*ld
	MOVQ DX, R10                // gather mask lo
	MOVQ DX, R11
	SHRQ $16, R11               // gather mask hi
	MOVQ DX, R12
	SHRQ $32, R12               // store mask lo
	MOVQ DX, R13
	SHRQ $48, R13               // store mask hi
	ANDQ $0xffff, R10
	ANDQ $0xffff, R11
	ANDQ $0xffff, R12
	SHLQ $2, BX                 // w in bytes
	TESTQ R13, R13
	JNZ gp2
gp1loop:
	VPXORD Z0, Z0, Z0
	KMOVW R10, K1
	VGATHERDPS (SI)(Z5*4), K1, Z0
	VMULPS Z7, Z0, Z0
	KMOVW R12, K2
	VMOVUPS Z0, K2, (DI)
	ADDQ $4, SI
	ADDQ BX, DI
	DECQ CX
	JNZ gp1loop
	VZEROUPPER
	RET
gp2:
gp2loop:
	VPXORD Z0, Z0, Z0
	VPXORD Z4, Z4, Z4
	KMOVW R10, K1
	VGATHERDPS (SI)(Z5*4), K1, Z0
	KMOVW R11, K3
	VGATHERDPS (SI)(Z6*4), K3, Z4
	VMULPS Z7, Z0, Z0
	VMULPS Z7, Z4, Z4
	KMOVW R12, K2
	VMOVUPS Z0, K2, (DI)
	KMOVW R13, K4
	VMOVUPS Z4, K4, 64(DI)
	ADDQ $4, SI
	ADDQ BX, DI
	DECQ CX
	JNZ gp2loop
	VZEROUPPER
	RET

// func cvtBF16(dst *float32, src *uint16, n int)
// n must be a multiple of 8 (AVX2).
TEXT ·cvtBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JLT cb8
cb32:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPMOVZXWD 32(SI), Y2
	VPMOVZXWD 48(SI), Y3
	VPSLLD $16, Y0, Y0
	VPSLLD $16, Y1, Y1
	VPSLLD $16, Y2, Y2
	VPSLLD $16, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE cb32
cb8:
	TESTQ CX, CX
	JZ cbdone
cb8loop:
	VPMOVZXWD (SI), Y0
	VPSLLD $16, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ cb8loop
cbdone:
	VZEROUPPER
	RET

// func cvtF16(dst *float32, src *uint16, n int)
// n must be a multiple of 8 (F16C).
TEXT ·cvtF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JLT ch8
ch32:
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VCVTPH2PS 32(SI), Y2
	VCVTPH2PS 48(SI), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE ch32
ch8:
	TESTQ CX, CX
	JZ chdone
ch8loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ ch8loop
chdone:
	VZEROUPPER
	RET
