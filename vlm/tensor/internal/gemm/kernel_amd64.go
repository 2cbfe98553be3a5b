//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func kern512(kc int, a, b, c *float32, ldc int, beta float32)

//go:noescape
func kern256(kc int, a, b, c *float32, ldc int, beta float32)

//go:noescape
func dot512(x, y *float32, n int) float32

//go:noescape
func axpy512(alpha float32, x, y *float32, n int)

//go:noescape
func dot256(x, y *float32, n int) float32

//go:noescape
func axpy256(alpha float32, x, y *float32, n int)

func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		ks = append(ks, &kernel{
			name: "avx512", mr: 14, nr: 32, kc: 256, mc: 168, nc: 4096,
			micro: kern512, gather: true, dot: dotAVX512, axpy: axpyAVX512,
		})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{
			name: "avx2", mr: 6, nr: 16, kc: 256, mc: 96, nc: 4096,
			micro: kern256, dot: dotAVX2, axpy: axpyAVX2,
		})
	}
	return ks
}

func dotAVX512(x, y []float32) float32 {
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = dot512(&x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		s += x[i] * y[i]
	}
	return s
}

func axpyAVX512(alpha float32, x, y []float32) {
	n := len(x) &^ 15
	if n > 0 {
		axpy512(alpha, &x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

func dotAVX2(x, y []float32) float32 {
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = dot256(&x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		s += x[i] * y[i]
	}
	return s
}

func axpyAVX2(alpha float32, x, y []float32) {
	n := len(x) &^ 7
	if n > 0 {
		axpy256(alpha, &x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}
