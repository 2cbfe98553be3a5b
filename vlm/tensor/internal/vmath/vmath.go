// Package vmath holds the vectorized float32 elementwise kernels of the
// tensor engine: the exponential of a slice and the shifted
// exponential-with-sum at the heart of softmax, log-sum-exp, cross-entropy
// and attention.
//
// Every kernel computes exactly what the scalar [Expf] computes, element by
// element: the AVX-512 (16 lanes) and AVX2 (8 lanes) assembly on amd64
// repeats its operations in the same order, without FMA, so the results are
// bit-identical on every machine, special values included. Other platforms,
// and builds with the purego tag, run the scalar Go code.
package vmath

import (
	"fmt"
	"math"
	"sync/atomic"
)

// Lanes is the number of partial sums [ExpShifted] accumulates: element i
// goes to partial sum i mod Lanes.
const Lanes = 16

// kernel is one implementation of the kernels (see expBlocks and
// expShiftedBlocks for the dispatch).
type kernel struct {
	name string
	// step is the block the code works in: the kernels take a multiple of
	// step elements, and Exp and ExpShifted pad the remainder to one more
	// block. It is 1 for the scalar code.
	step int
}

var genericKernel = &kernel{name: "generic", step: 1}

var (
	kernels []*kernel // available on this machine, best first; filled by init
	current atomic.Pointer[kernel]
)

func init() {
	kernels = append(archKernels(), genericKernel)
	current.Store(kernels[0])
}

// Kernel reports the name of the implementation in use: "avx512" or "avx2"
// on amd64, or "generic" (portable Go).
func Kernel() string { return current.Load().name }

// Kernels lists the implementations this machine can run, fastest first.
func Kernels() []string {
	names := make([]string, len(kernels))
	for i, k := range kernels {
		names[i] = k.name
	}
	return names
}

// SetKernel forces the implementation named name (one of Kernels()) and
// returns a function that restores the previous one. It exists for tests
// and benchmarks: it must not be called while other goroutines are inside
// this package.
func SetKernel(name string) (restore func(), err error) {
	for _, k := range kernels {
		if k.name == name {
			prev := current.Swap(k)
			return func() { current.Store(prev) }, nil
		}
	}
	return nil, fmt.Errorf("vmath: kernel %q not available (have %v)", name, Kernels())
}

// Exp sets dst[i] = Expf(src[i]) for every i < len(src). dst must be at
// least as long as src; it may be src itself but must not overlap it
// otherwise. The results are bit-identical to Expf's.
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	k := current.Load()
	n := len(src) &^ (k.step - 1)
	if n > 0 {
		expBlocks(k, &dst[0], &src[0], n)
	}
	if n == len(src) {
		return
	}
	var buf [Lanes]float32
	copy(buf[:], src[n:])
	expBlocks(k, &buf[0], &buf[0], k.step)
	copy(dst[n:], buf[:])
}

// ExpShifted sets dst[i] = e^(src[i]−m) for every i < len(src) and returns
// their sum. dst may be nil (sum only), or src itself, or at least as long
// as src and not overlapping it. It requires src[i] ≤ m up to rounding (m a
// maximum or a log-sum-exp), which lets it skip the overflow handling:
// arguments are clamped to ≤ 0, those below about −87.3 (and −Inf) give
// exactly 0, and NaN gives NaN. The polynomial is [Expf]'s, and each dst[i]
// is bit-identical to the scalar formula.
//
// The sum is accumulated in [Lanes] partial sums, element i into partial
// sum i mod Lanes in index order, and the partial sums are then added
// pairwise (i and i+8, then i and i+4, ...). This order is the same for
// every implementation, so the sum is bit-identical across machines too,
// but it differs from a left-to-right sum by a few ulps.
func ExpShifted(dst, src []float32, m float32) float32 {
	var acc [Lanes]float32
	var dp *float32
	if dst != nil {
		dst = dst[:len(src)]
	}
	k := current.Load()
	n := len(src) &^ (k.step - 1)
	if n > 0 {
		if dst != nil {
			dp = &dst[0]
		}
		expShiftedBlocks(k, dp, &src[0], n, m, &acc)
	}
	if n < len(src) {
		// Pad with −Inf: e^−Inf is exactly 0, which leaves every partial
		// sum unchanged.
		var buf [Lanes]float32
		for i := range buf {
			buf[i] = float32(math.Inf(-1))
		}
		copy(buf[:], src[n:])
		if dst != nil {
			dp = &buf[0]
		}
		expShiftedBlocks(k, dp, &buf[0], k.step, m, &acc)
		if dst != nil {
			copy(dst[n:], buf[:])
		}
	}
	for w := Lanes / 2; w > 0; w /= 2 {
		for i := range w {
			acc[i] += acc[i+w]
		}
	}
	return acc[0]
}
