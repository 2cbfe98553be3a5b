//go:build (!amd64 && !arm64) || purego

package gemm

// archKernels returns no assembly kernels on this platform: only the
// portable generic kernel is used.
func archKernels() []*kernel { return nil }
