//go:build amd64 && !purego

package gemm

import (
	"golang.org/x/sys/cpu"

	"github.com/vstgo/vst/vlm/tensor/half"
)

//go:noescape
func transPack512(dst, src *float32, ld, w, rows, kb int, mask uint64, scale float32)

//go:noescape
func cvtBF16(dst *float32, src *uint16, n int)

//go:noescape
func cvtF16(dst *float32, src *uint16, n int)

var (
	hasAVX2 = cpu.X86.HasAVX2
	hasF16C = cpu.X86.HasAVX2 && cpu.X86.HasF16C
)

// bf16ToF32 widens src into dst[:len(src)].
func bf16ToF32(dst []float32, src []uint16) {
	n := 0
	if hasAVX2 {
		n = len(src) &^ 7
		if n > 0 {
			_ = dst[len(src)-1]
			cvtBF16(&dst[0], &src[0], n)
		}
	}
	half.BF16ToFloat32s(dst[n:], src[n:])
}

// f16ToF32 widens src into dst[:len(src)].
func f16ToF32(dst []float32, src []uint16) {
	n := 0
	if hasF16C {
		n = len(src) &^ 7
		if n > 0 {
			_ = dst[len(src)-1]
			cvtF16(&dst[0], &src[0], n)
		}
	}
	half.F16ToFloat32s(dst[n:], src[n:])
}

// transPanel packs one full w-wide panel (w = 14 or 32 rows of a row-major
// float32 source whose rows run along k): dst[p*w+i] = scale*src[i*ld+p].
// Blocks of 16 k steps are transposed in AVX-512 registers, the k remainder
// in Go. It reports false when it cannot (then the caller packs in Go).
func transPanel(dst, src []float32, ld, w, h, kc int, scale float32) bool {
	if h != w || (w != 14 && w != 32) || kc < 16 {
		return false
	}
	_ = dst[kc*w-1]
	_ = src[(h-1)*ld+kc-1]
	kb := kc / 16
	if w == 14 {
		transPack512(&dst[0], &src[0], ld, w, 14, kb, 1<<14-1, scale)
	} else {
		transPack512(&dst[0], &src[0], ld, w, 16, kb, 1<<16-1, scale)
		transPack512(&dst[16], &src[16*ld], ld, w, 16, kb, 1<<16-1, scale)
	}
	for i := range h {
		row := src[i*ld : i*ld+kc]
		for p := kb * 16; p < kc; p++ {
			dst[p*w+i] = scale * row[p]
		}
	}
	return true
}
