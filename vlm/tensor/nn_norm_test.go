package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func naiveRMSNorm(x []float64, w []float64, d int, eps float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/d; r++ {
		var ss float64
		for _, v := range x[r*d : (r+1)*d] {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(d)+eps)
		for i := range d {
			out[r*d+i] = x[r*d+i] * inv
			if w != nil {
				out[r*d+i] *= w[i]
			}
		}
	}
	return out
}

func naiveLayerNorm(x, w, b []float64, d int, eps float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		var mu, q float64
		for _, v := range row {
			mu += v
		}
		mu /= float64(d)
		for _, v := range row {
			q += (v - mu) * (v - mu)
		}
		inv := 1 / math.Sqrt(q/float64(d)+eps)
		for i, v := range row {
			y := (v - mu) * inv
			if w != nil {
				y *= w[i]
			}
			if b != nil {
				y += b[i]
			}
			out[r*d+i] = y
		}
	}
	return out
}

func TestNormValues(t *testing.T) {
	rng := testRNG()
	x := Randn(rng, 3, 5, 37)
	w := Uniform(rng, 0.5, 1.5, 37)
	b := Randn(rng, 37)
	big := Scale(nil, Randn(rng, 200, 64), 30) // many rows: parallel path
	wb := Uniform(rng, 0.5, 1.5, 64)
	for _, tc := range []struct {
		name string
		got  *Tensor
		want []float64
	}{
		{"rms", RMSNorm(nil, x, w, 1e-6), naiveRMSNorm(nnF64s(x), nnF64s(w), 37, 1e-6)},
		{"rms no weight", RMSNorm(nil, x, nil, 1e-5), naiveRMSNorm(nnF64s(x), nil, 37, 1e-5)},
		{"rms bf16 weight", RMSNorm(nil, x, w.ToHalf(BFloat16), 1e-6), naiveRMSNorm(nnF64s(x), nnF64s(w.ToHalf(BFloat16)), 37, 1e-6)},
		{"rms transposed input", RMSNorm(nil, Transpose(nil, big, 0, 1), nil, 1e-6),
			naiveRMSNorm(nnF64s(Transpose(nil, big, 0, 1)), nil, 200, 1e-6)},
		{"rms big", RMSNorm(nil, big, wb, 1e-6), naiveRMSNorm(nnF64s(big), nnF64s(wb), 64, 1e-6)},
		{"layer", LayerNorm(nil, x, w, b, 1e-5), naiveLayerNorm(nnF64s(x), nnF64s(w), nnF64s(b), 37, 1e-5)},
		{"layer no affine", LayerNorm(nil, x, nil, nil, 1e-6), naiveLayerNorm(nnF64s(x), nil, nil, 37, 1e-6)},
		{"layer offset", LayerNorm(nil, AddScalar(nil, big, 1000), wb, nil, 1e-6),
			naiveLayerNorm(nnF64s(AddScalar(nil, big, 1000)), nnF64s(wb), nil, 64, 1e-6)},
	} {
		t.Run(tc.name, func(t *testing.T) { nnRequireClose(t, tc.want, tc.got.Float32s(), 2e-5) })
	}
}

func TestNormGradients(t *testing.T) {
	rng := testRNG()
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"rms x w", func(c *Ctx, in []*Tensor) *Tensor { return RMSNorm(c, in[0], in[1], 1e-6) },
			[]*Tensor{Randn(rng, 4, 3, 8), Uniform(rng, 0.5, 1.5, 8)}},
		{"rms no weight", func(c *Ctx, in []*Tensor) *Tensor { return RMSNorm(c, in[0], nil, 1e-6) },
			[]*Tensor{Randn(rng, 5, 6)}},
		{"rms many rows", func(c *Ctx, in []*Tensor) *Tensor { return RMSNorm(c, in[0], in[1], 1e-6) },
			[]*Tensor{Randn(rng, 300, 16), Uniform(rng, 0.5, 1.5, 16)}},
		{"layer x w b", func(c *Ctx, in []*Tensor) *Tensor { return LayerNorm(c, in[0], in[1], in[2], 1e-5) },
			[]*Tensor{Randn(rng, 4, 3, 8), Uniform(rng, 0.5, 1.5, 8), Randn(rng, 8)}},
		{"layer no affine", func(c *Ctx, in []*Tensor) *Tensor { return LayerNorm(c, in[0], nil, nil, 1e-5) },
			[]*Tensor{Randn(rng, 3, 7)}},
		{"layer many rows", func(c *Ctx, in []*Tensor) *Tensor { return LayerNorm(c, in[0], in[1], in[2], 1e-5) },
			[]*Tensor{Randn(rng, 300, 16), Uniform(rng, 0.5, 1.5, 16), Randn(rng, 16)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestNormErrors(t *testing.T) {
	nnRequireOpError(t, func() { RMSNorm(nil, New(2, 4), New(5), 1e-6) }, "rms_norm", "weight [5]", "[2 4]")
	nnRequireOpError(t, func() { RMSNorm(nil, Scalar(1), nil, 1e-6) }, "rms_norm", "at least one axis")
	nnRequireOpError(t, func() { LayerNorm(nil, New(2, 4), New(4), New(4, 1), 1e-6) }, "layer_norm", "bias [4 1]")
}

func TestNormArenaSteadyState(t *testing.T) {
	a := NewArena()
	c := Inference(a)
	x, w := Randn(testRNG(), 16, 64), Uniform(testRNG(), 0.5, 1.5, 64)
	step := func() {
		_ = SwiGLU(c, RMSNorm(c, x, w, 1e-6), LayerNorm(c, x, w, w, 1e-6))
		_ = Softmax(c, x)
		a.Reset()
	}
	step()
	fresh := a.Fresh()
	testing.AllocsPerRun(5, step)
	require.Equal(t, fresh, a.Fresh())
}
