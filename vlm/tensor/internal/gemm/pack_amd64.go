//go:build amd64 && !purego

package gemm

import (
	"golang.org/x/sys/cpu"

	"github.com/vstgo/vst/vlm/tensor/half"
)

//go:noescape
func gatherPack512(dst, src *float32, ld, w, kc int, masks uint64, scale float32)

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

// gatherPanel packs one w-wide panel (h ≤ w valid rows, w ≤ 32) from a
// row-major float32 source whose rows run along k: dst[p*w+i] =
// scale*src[i*ld+p], zero for i ≥ h. It reports false when it cannot (then
// the caller packs in Go).
func gatherPanel(dst, src []float32, ld, w, h, kc int, scale float32) bool {
	if w > 32 || h < 1 || kc < 1 || int64(ld)*32+int64(kc) >= 1<<31 {
		return false
	}
	_ = dst[kc*w-1]
	_ = src[(h-1)*ld+kc-1]
	lanes := func(n int) uint64 { return (uint64(1) << min(max(n, 0), 16)) - 1 }
	masks := lanes(h) | lanes(h-16)<<16 | lanes(w)<<32 | lanes(w-16)<<48
	gatherPack512(&dst[0], &src[0], ld, w, kc, masks, scale)
	return true
}
