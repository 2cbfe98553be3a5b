package vmath

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The kernels on each implementation ("generic" is the scalar code) at a
// short attention row, a softmax row and an MLP block; SetBytes counts the
// float32 inputs. Compare implementations with benchstat on the kernel
// sub-benchmark name.

var benchSizes = []int{64, 1024, 16384}

func benchInput(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	return x
}

// benchKernels runs body for every implementation and size.
func benchKernels(b *testing.B, body func(b *testing.B, src, dst []float32)) {
	for _, name := range Kernels() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				restore, err := SetKernel(name)
				if err != nil {
					b.Fatal(err)
				}
				defer restore()
				src, dst := benchInput(n), make([]float32, n)
				b.SetBytes(int64(4 * n))
				body(b, src, dst)
			})
		}
	}
}

func BenchmarkExp(b *testing.B) {
	benchKernels(b, func(b *testing.B, src, dst []float32) {
		for b.Loop() {
			Exp(dst, src)
		}
	})
}

func BenchmarkExpShifted(b *testing.B) {
	benchKernels(b, func(b *testing.B, src, dst []float32) {
		for b.Loop() {
			ExpShifted(dst, src, 16)
		}
	})
}
