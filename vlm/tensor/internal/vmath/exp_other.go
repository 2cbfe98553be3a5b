//go:build !amd64 || purego

package vmath

// archKernels returns no assembly kernels on this platform: only the
// portable scalar code is used.
func archKernels() []*kernel { return nil }

func expBlocks(_ *kernel, dst, src *float32, n int) { expGeneric(dst, src, n) }

func expShiftedBlocks(_ *kernel, dst, src *float32, n int, m float32, acc *[Lanes]float32) {
	expShiftedGeneric(dst, src, n, m, acc)
}
