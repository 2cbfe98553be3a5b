package tensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func testRNG() *rand.Rand { return rand.New(rand.NewPCG(42, 42)) }

func TestBinaryBroadcastValues(t *testing.T) {
	a := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromFloat32([]float32{10, 20, 30}, 3)
	col := FromFloat32([]float32{100, 200}, 2, 1)
	for _, tc := range []struct {
		name string
		got  *Tensor
		want []float32
	}{
		{"add row", Add(nil, a, b), []float32{11, 22, 33, 14, 25, 36}},
		{"sub col", Sub(nil, a, col), []float32{-99, -98, -97, -196, -195, -194}},
		{"mul same", Mul(nil, a, a), []float32{1, 4, 9, 16, 25, 36}},
		{"div row", Div(nil, b, b), []float32{1, 1, 1}},
		{"add transposed view", Add(nil, Transpose(nil, a, 0, 1), FromFloat32([]float32{1, 1}, 2)), []float32{2, 5, 3, 6, 4, 7}},
		{"outer", Mul(nil, col, b), []float32{1000, 2000, 3000, 2000, 4000, 6000}},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, tc.got.Float32s()) })
	}
}

func TestBroadcastMismatchIsError(t *testing.T) {
	err := Catch(func() error {
		Add(nil, New(2, 3), New(4))
		return nil
	})
	require.ErrorContains(t, err, "shapes [2 3] and [4] cannot be broadcast")
}

func TestElementwiseGradients(t *testing.T) {
	rng := testRNG()
	pos := Uniform(rng, 0.5, 2, 3, 4)
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"add broadcast", func(c *Ctx, in []*Tensor) *Tensor { return Add(c, in[0], in[1]) }, []*Tensor{Randn(rng, 3, 4), Randn(rng, 4)}},
		{"sub broadcast col", func(c *Ctx, in []*Tensor) *Tensor { return Sub(c, in[0], in[1]) }, []*Tensor{Randn(rng, 3, 4), Randn(rng, 3, 1)}},
		{"mul broadcast", func(c *Ctx, in []*Tensor) *Tensor { return Mul(c, in[0], in[1]) }, []*Tensor{Randn(rng, 2, 3, 4), Randn(rng, 3, 1)}},
		{"div", func(c *Ctx, in []*Tensor) *Tensor { return Div(c, in[0], in[1]) }, []*Tensor{Randn(rng, 3, 4), pos}},
		{"exp", func(c *Ctx, in []*Tensor) *Tensor { return Exp(c, in[0]) }, []*Tensor{Randn(rng, 5)}},
		{"log", func(c *Ctx, in []*Tensor) *Tensor { return Log(c, in[0]) }, []*Tensor{pos}},
		{"sqrt", func(c *Ctx, in []*Tensor) *Tensor { return Sqrt(c, in[0]) }, []*Tensor{pos}},
		{"tanh", func(c *Ctx, in []*Tensor) *Tensor { return Tanh(c, in[0]) }, []*Tensor{Randn(rng, 7)}},
		{"sigmoid", func(c *Ctx, in []*Tensor) *Tensor { return Sigmoid(c, in[0]) }, []*Tensor{Randn(rng, 7)}},
		{"silu", func(c *Ctx, in []*Tensor) *Tensor { return SiLU(c, in[0]) }, []*Tensor{Randn(rng, 9)}},
		{"gelu", func(c *Ctx, in []*Tensor) *Tensor { return GELU(c, in[0]) }, []*Tensor{Randn(rng, 9)}},
		{"square", func(c *Ctx, in []*Tensor) *Tensor { return Square(c, in[0]) }, []*Tensor{Randn(rng, 9)}},
		{"scale", func(c *Ctx, in []*Tensor) *Tensor { return Scale(c, in[0], -3) }, []*Tensor{Randn(rng, 4)}},
		{"add scalar", func(c *Ctx, in []*Tensor) *Tensor { return AddScalar(c, in[0], 2) }, []*Tensor{Randn(rng, 4)}},
		{"sum", func(c *Ctx, in []*Tensor) *Tensor { return Sum(c, in[0]) }, []*Tensor{Randn(rng, 3, 2)}},
		{"mean", func(c *Ctx, in []*Tensor) *Tensor { return Mean(c, in[0]) }, []*Tensor{Randn(rng, 3, 2)}},
		{"sum axis 1", func(c *Ctx, in []*Tensor) *Tensor { return SumAxis(c, in[0], 1, false) }, []*Tensor{Randn(rng, 2, 3, 4)}},
		{"mean axis -1 keep", func(c *Ctx, in []*Tensor) *Tensor { return MeanAxis(c, in[0], -1, true) }, []*Tensor{Randn(rng, 2, 3, 4)}},
		{"views", func(c *Ctx, in []*Tensor) *Tensor {
			x := Transpose(c, Reshape(c, in[0], 4, 6), 0, 1)
			return Mul(c, Narrow(c, x, 0, 1, 3), Select(c, x, 0, 5))
		}, []*Tensor{Randn(rng, 2, 3, 4)}},
		{"permute unsqueeze", func(c *Ctx, in []*Tensor) *Tensor {
			return Add(c, Permute(c, in[0], 2, 0, 1), Unsqueeze(c, in[1], 0))
		}, []*Tensor{Randn(rng, 2, 3, 4), Randn(rng, 2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestGradCheckCatchesWrongGradient(t *testing.T) {
	wrong := &unaryFn{"wrong", func(x float32) float32 { return x * x }, func(x, _ float32) float32 { return x }}
	err := GradCheck(func(c *Ctx, in []*Tensor) *Tensor { return unary(c, wrong, in[0]) }, []*Tensor{Randn(testRNG(), 5)}, GradCheckConfig{})
	require.ErrorContains(t, err, "gradcheck: input 0")
}

func TestGradientAccumulatesAndNoGrad(t *testing.T) {
	w := FromFloat32([]float32{1, 2, 3}, 3).SetRequiresGrad(true)
	x := FromFloat32([]float32{4, 5, 6}, 3)
	for range 2 {
		require.NoError(t, Backward(Sum(nil, Mul(nil, w, x)), nil))
	}
	require.Equal(t, []float32{8, 10, 12}, w.Grad().Float32s())
	w.ZeroGrad()
	y := Mul(Inference(nil), w, x)
	require.False(t, y.RequiresGrad())
	require.ErrorContains(t, Backward(Sum(nil, y), nil), "does not require gradients")
	frozen := FromFloat32([]float32{1, 1, 1}, 3)
	require.False(t, Mul(nil, frozen, x).RequiresGrad())
}

func TestArenaSteadyStateDoesNotAllocate(t *testing.T) {
	a := NewArena()
	c := Inference(a)
	x := Randn(testRNG(), 64, 64)
	step := func() {
		h := SiLU(c, Add(c, x, x))
		_ = Sum(c, Mul(c, h, h)).Item()
		a.Reset()
	}
	step()
	fresh := a.Fresh()
	allocs := testing.AllocsPerRun(10, step)
	require.Equal(t, fresh, a.Fresh(), "arena allocated new buffers in steady state")
	require.LessOrEqual(t, allocs, 40.0)
}

func TestHasNaNOrInf(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3}, 3)
	require.False(t, x.HasNaNOrInf())
	require.True(t, Div(nil, x, New(3)).HasNaNOrInf())
}

func TestHalfStorageRoundTrip(t *testing.T) {
	x := FromFloat32([]float32{1, -2.5, 0.375, 1024}, 2, 2)
	for _, d := range []DType{BFloat16, Float16} {
		h := x.ToHalf(d)
		require.Equal(t, d, h.DType())
		require.Equal(t, x.Float32s(), h.Float32s())
		require.Equal(t, float32(-2.5), h.At(0, 1))
	}
}
