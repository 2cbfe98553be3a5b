//go:build arm64 && !purego

package gemm

//go:noescape
func kernNEON(kc int, a, b, c *float32, ldc int, beta float32)

// archKernels returns the NEON kernel (Advanced SIMD is mandatory on arm64).
func archKernels() []*kernel {
	return []*kernel{{
		name: "neon", mr: 8, nr: 8, kc: 256, mc: 128, nc: 2048,
		micro: kernNEON, dot: dotGeneric, axpy: axpyGeneric,
	}}
}
