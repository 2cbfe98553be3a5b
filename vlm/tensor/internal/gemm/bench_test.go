package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vstgo/vst/vlm/tensor/half"
)

type benchShape struct {
	name           string
	batch, m, n, k int
	ta, tb         bool
	sa, sb         bool // shared (stride 0) operands
	bf16B          bool
}

var benchShapes = []benchShape{
	{name: "1024x1024x1024", batch: 1, m: 1024, n: 1024, k: 1024},
	{name: "256x2048x2048", batch: 1, m: 256, n: 2048, k: 2048},
	{name: "256x2048x2048_BT", batch: 1, m: 256, n: 2048, k: 2048, tb: true},
	{name: "256x2048x2048_BT_bf16", batch: 1, m: 256, n: 2048, k: 2048, tb: true, bf16B: true},
	{name: "attn_QKt_16x256x256x64", batch: 16, m: 256, n: 256, k: 64, tb: true},
	{name: "attn_PV_16x256x64x256", batch: 16, m: 256, n: 64, k: 256},
	{name: "gemv_1x2048x2048", batch: 1, m: 1, n: 2048, k: 2048},
	{name: "gemv_1x2048x2048_BT", batch: 1, m: 1, n: 2048, k: 2048, tb: true},
	{name: "gemv_1x2048x2048_BT_bf16", batch: 1, m: 1, n: 2048, k: 2048, tb: true, bf16B: true},
	{name: "small_64x64x64", batch: 1, m: 64, n: 64, k: 64},
}

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func benchGemm(b *testing.B, s benchShape) {
	rng := rand.New(rand.NewPCG(1, 1))
	na, nb := s.batch, s.batch
	if s.sa {
		na = 1
	}
	if s.sb {
		nb = 1
	}
	lda, ldb := s.k, s.n
	if s.ta {
		lda = s.m
	}
	if s.tb {
		ldb = s.k
	}
	a := Operand{F32: randF32(rng, na*s.m*s.k), LD: lda, Trans: s.ta}
	bv := randF32(rng, nb*s.k*s.n)
	bo := Operand{F32: bv, LD: ldb, Trans: s.tb}
	if s.bf16B {
		bo.F32 = nil
		bo.BF16 = make([]uint16, len(bv))
		half.BF16FromFloat32s(bo.BF16, bv)
	}
	sa, sb := s.m*s.k, s.k*s.n
	if s.sa {
		sa = 0
	}
	if s.sb {
		sb = 0
	}
	c := make([]float32, s.batch*s.m*s.n)
	GemmBatched(s.batch, s.m, s.n, s.k, 1, a, sa, bo, sb, 0, c, s.m*s.n, s.n)
	b.ResetTimer()
	for b.Loop() {
		GemmBatched(s.batch, s.m, s.n, s.k, 1, a, sa, bo, sb, 0, c, s.m*s.n, s.n)
	}
	flops := 2 * float64(s.batch) * float64(s.m) * float64(s.n) * float64(s.k)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemm measures the default (best) kernel.
func BenchmarkGemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchGemm(b, s) })
	}
}

// BenchmarkGemmKernel measures every kernel available on this machine.
func BenchmarkGemmKernel(b *testing.B) {
	for _, name := range Kernels() {
		shapes := []benchShape{benchShapes[0], benchShapes[1], benchShapes[4]}
		if name == "generic" { // too slow for the large shapes
			shapes = []benchShape{{name: "256x256x256", batch: 1, m: 256, n: 256, k: 256}}
		}
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%s", name, s.name), func(b *testing.B) {
				restore, err := SetKernel(name)
				if err != nil {
					b.Fatal(err)
				}
				defer restore()
				benchGemm(b, s)
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, name := range Kernels() {
		b.Run(name+"/4096", func(b *testing.B) {
			restore, _ := SetKernel(name)
			defer restore()
			rng := rand.New(rand.NewPCG(1, 1))
			x, y := randF32(rng, 4096), randF32(rng, 4096)
			var s float32
			for b.Loop() {
				s += Dot(x, y)
			}
			_ = s
			b.ReportMetric(2*4096*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, name := range Kernels() {
		b.Run(name+"/4096", func(b *testing.B) {
			restore, _ := SetKernel(name)
			defer restore()
			rng := rand.New(rand.NewPCG(1, 1))
			x, y := randF32(rng, 4096), randF32(rng, 4096)
			for b.Loop() {
				Axpy(1e-3, x, y)
			}
			b.ReportMetric(2*4096*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMicro measures one micro-kernel call on cache-resident packed
// panels (the compute roof of each kernel, single thread).
func BenchmarkMicro(b *testing.B) {
	for _, name := range Kernels() {
		b.Run(name, func(b *testing.B) {
			restore, _ := SetKernel(name)
			defer restore()
			ker := active()
			const kc = 256
			rng := rand.New(rand.NewPCG(1, 1))
			ap := randF32(rng, kc*ker.mr)
			bp := randF32(rng, kc*ker.nr)
			c := make([]float32, ker.mr*ker.nr)
			for b.Loop() {
				ker.micro(kc, &ap[0], &bp[0], &c[0], ker.nr, 1)
			}
			flops := 2 * float64(kc*ker.mr*ker.nr)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
