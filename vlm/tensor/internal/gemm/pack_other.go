//go:build !amd64 || purego

package gemm

import "github.com/vstgo/vst/vlm/tensor/half"

func bf16ToF32(dst []float32, src []uint16) { half.BF16ToFloat32s(dst, src) }

func f16ToF32(dst []float32, src []uint16) { half.F16ToFloat32s(dst, src) }

func transPanel(dst, src []float32, ld, w, h, kc int, scale float32) bool { return false }
