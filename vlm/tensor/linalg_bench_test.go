package tensor

import (
	"testing"
)

// benchLinear times Linear(x [m, in], w [out, in]) and reports GFLOP/s.
func benchLinear(b *testing.B, m, in, out int, d DType) {
	rng := testRNG()
	x := Randn(rng, m, in)
	w := Randn(rng, out, in)
	if d != Float32 {
		w = w.ToHalf(d)
	}
	a := NewArena()
	c := Inference(a)
	b.ResetTimer()
	for b.Loop() {
		_ = Linear(c, x, w, nil)
		a.Reset()
	}
	flops := 2 * float64(m) * float64(in) * float64(out)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkLinear(b *testing.B) {
	for _, d := range []DType{Float32, BFloat16} {
		b.Run("256x1024x2816/"+d.String(), func(b *testing.B) { benchLinear(b, 256, 1024, 2816, d) })
	}
	b.Run("decode1x1024x2816/BF16", func(b *testing.B) { benchLinear(b, 1, 1024, 2816, BFloat16) })
}

// BenchmarkAttentionScores times Q·Kᵀ on permuted views [B, H, S, D].
func BenchmarkAttentionScores(b *testing.B) {
	const bs, s, h, d = 1, 256, 16, 64
	rng := testRNG()
	q := Permute(nil, Randn(rng, bs, s, h, d), 0, 2, 1, 3)
	k := Permute(nil, Randn(rng, bs, s, h, d), 0, 2, 3, 1)
	a := NewArena()
	c := Inference(a)
	for b.Loop() {
		_ = MatMul(c, q, k)
		a.Reset()
	}
	flops := 2 * float64(bs*h*s*s*d)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkLinearRawGemm is the GEMM alone on BenchmarkLinear's f32 shape,
// to show Linear's own overhead.
func BenchmarkLinearRawGemm(b *testing.B) {
	const m, in, out = 256, 1024, 2816
	rng := testRNG()
	x, w := Randn(rng, m, in), Randn(rng, out, in)
	y := make([]float32, m*out)
	for b.Loop() {
		gemmCall(m, out, in, 1, rowMajor(x.f32, in), transposed(w.f32, in), 0, y, out)
	}
	b.ReportMetric(2*m*in*out*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
