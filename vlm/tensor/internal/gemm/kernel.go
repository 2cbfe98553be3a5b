package gemm

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// microFn computes the mr×nr product of a packed A micro-panel (kc steps of mr
// floats) and a packed B micro-panel (kc steps of nr floats), then writes
// C = acc + beta*C for the full mr×nr tile at c with row stride ldc (elements).
// beta == +0 (bit pattern 0) means C is written without being read.
type microFn func(kc int, a, b, c *float32, ldc int, beta float32)

// kernel is one complete set of compute routines and the block sizes that suit it.
type kernel struct {
	name       string
	mr, nr     int // register tile
	kc, mc, nc int // cache blocks: kc depth, mc rows of packed A, nc columns of packed B
	micro      microFn
	gather     bool // pack transposing float32 panels with AVX-512 register transposes
	dot        func(x, y []float32) float32
	axpy       func(alpha float32, x, y []float32)
}

var (
	kernels []*kernel // available on this machine, best first; filled by init
	current atomic.Pointer[kernel]
)

func init() {
	kernels = append(archKernels(), genericKernel)
	current.Store(kernels[0])
}

func active() *kernel { return current.Load() }

// Kernel reports the name of the kernel in use: "avx512" or "avx2" on amd64,
// "neon" on arm64, or "generic" (portable Go).
func Kernel() string { return active().name }

// Kernels lists the kernels this machine can run, fastest first.
func Kernels() []string {
	names := make([]string, len(kernels))
	for i, k := range kernels {
		names[i] = k.name
	}
	return names
}

// SetKernel forces the kernel named name (one of Kernels()) and returns a
// function that restores the previous one. It exists for tests and
// benchmarks: it must not be called while other goroutines are inside this
// package.
func SetKernel(name string) (restore func(), err error) {
	for _, k := range kernels {
		if k.name == name {
			prev := current.Swap(k)
			return func() { current.Store(prev) }, nil
		}
	}
	return nil, fmt.Errorf("gemm: kernel %q not available (have %v)", name, Kernels())
}

// genericKernel is the portable pure-Go fallback: a 4×8 register tile.
var genericKernel = &kernel{
	name: "generic", mr: 4, nr: 8, kc: 256, mc: 64, nc: 1024,
	micro: microGeneric, dot: dotGeneric, axpy: axpyGeneric,
}

func microGeneric(kc int, ap, bp, cp *float32, ldc int, beta float32) {
	const mr, nr = 4, 8
	a := unsafe.Slice(ap, kc*mr)
	b := unsafe.Slice(bp, kc*nr)
	var acc [mr][nr]float32
	for p := 0; p < kc; p++ {
		av := a[p*mr : p*mr+mr : p*mr+mr]
		bv := b[p*nr : p*nr+nr : p*nr+nr]
		for i := range mr {
			ai := av[i]
			r := &acc[i]
			r[0] += ai * bv[0]
			r[1] += ai * bv[1]
			r[2] += ai * bv[2]
			r[3] += ai * bv[3]
			r[4] += ai * bv[4]
			r[5] += ai * bv[5]
			r[6] += ai * bv[6]
			r[7] += ai * bv[7]
		}
	}
	c := unsafe.Slice(cp, (mr-1)*ldc+nr)
	for i := range mr {
		row := c[i*ldc : i*ldc+nr : i*ldc+nr]
		if beta == 0 {
			copy(row, acc[i][:])
			continue
		}
		for j := range nr {
			row[j] = acc[i][j] + beta*row[j]
		}
	}
}

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Dot returns the inner product of x and y, which must have the same length.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("gemm.Dot: length mismatch %d != %d", len(x), len(y)))
	}
	return active().dot(x, y)
}

// Axpy computes y += alpha*x; x and y must have the same length. As in BLAS,
// alpha == 0 returns without touching y.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("gemm.Axpy: length mismatch %d != %d", len(x), len(y)))
	}
	if alpha == 0 {
		return
	}
	active().axpy(alpha, x, y)
}
