//go:build amd64 && !purego

package vmath

import (
	"math"

	"golang.org/x/sys/cpu"
)

// exp512 and exp256 set dst[i] = Expf(src[i]) for i < n, a multiple of 16
// (exp256 works in 8s); dst may be src.
//
//go:noescape
func exp512(dst, src *float32, n int)

//go:noescape
func exp256(dst, src *float32, n int)

// expShifted512 and expShifted256 are expShiftedGeneric for n a multiple
// of 16; dst may be nil or src.
//
//go:noescape
func expShifted512(dst, src *float32, n int, m float32, acc *[Lanes]float32)

//go:noescape
func expShifted256(dst, src *float32, n int, m float32, acc *[Lanes]float32)

var (
	avx512Kernel = &kernel{name: "avx512", step: Lanes}
	avx2Kernel   = &kernel{name: "avx2", step: Lanes}
)

func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, avx2Kernel)
	}
	return ks
}

func expBlocks(k *kernel, dst, src *float32, n int) {
	switch k {
	case avx512Kernel:
		exp512(dst, src, n)
	case avx2Kernel:
		exp256(dst, src, n)
	default:
		expGeneric(dst, src, n)
	}
}

func expShiftedBlocks(k *kernel, dst, src *float32, n int, m float32, acc *[Lanes]float32) {
	switch k {
	case avx512Kernel:
		expShifted512(dst, src, n, m, acc)
	case avx2Kernel:
		expShifted256(dst, src, n, m, acc)
	default:
		expShiftedGeneric(dst, src, n, m, acc)
	}
}

// expTab holds the constants of the assembly kernels, each repeated in 16
// lanes so that AVX-512 and AVX2 instructions read them from memory alike.
// The offsets are named in exp_amd64.s.
var expTab = [...][Lanes]uint32{
	splat32(expHi), splat32(expLo), splat32(log2e), splat32(0.5),
	splat32(ln2Hi), splat32(ln2Lo),
	splat32(expP0), splat32(expP1), splat32(expP2), splat32(expP3), splat32(expP4), splat32(expP5),
	splat32(1), splat32(math.Inf(1)),
	splat(0x7fffffff), // |x| mask
	splat(0x007fffff), // added to |x| bits, sets the sign bit exactly for NaN
	splat(127),        // exponent bias
}

func splat32(v float64) [Lanes]uint32 { return splat(math.Float32bits(float32(v))) }

func splat(bits uint32) [Lanes]uint32 {
	var l [Lanes]uint32
	for i := range l {
		l[i] = bits
	}
	return l
}
