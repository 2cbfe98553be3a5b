package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor/internal/vmath"
)

func naiveLogSoftmax(x []float64, d int) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		l := m + math.Log(s)
		for i, v := range row {
			out[r*d+i] = v - l
		}
	}
	return out
}

func expAll(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v)
	}
	return out
}

func TestSoftmaxValues(t *testing.T) {
	rng := testRNG()
	x := Randn(rng, 4, 3, 50)
	huge := Scale(nil, Randn(rng, 300, 33), 100)
	for _, tc := range []struct {
		name string
		got  *Tensor
		want []float64
		tol  float64
	}{
		{"softmax", Softmax(nil, x), expAll(naiveLogSoftmax(nnF64s(x), 50)), 1e-6},
		{"softmax large", Softmax(nil, huge), expAll(naiveLogSoftmax(nnF64s(huge), 33)), 1e-6},
		{"log softmax", LogSoftmax(nil, x), naiveLogSoftmax(nnF64s(x), 50), 1e-6},
		{"log softmax large", LogSoftmax(nil, huge), naiveLogSoftmax(nnF64s(huge), 33), 1e-6},
		{"softmax transposed", Softmax(nil, Transpose(nil, x, 1, 2)), expAll(naiveLogSoftmax(nnF64s(Transpose(nil, x, 1, 2)), 3)), 1e-6},
	} {
		t.Run(tc.name, func(t *testing.T) { nnRequireClose(t, tc.want, tc.got.Float32s(), tc.tol) })
	}
	// -Inf entries (masks) get probability 0.
	m := FromFloat32([]float32{0, float32(math.Inf(-1)), 0}, 1, 3)
	require.Equal(t, []float32{0.5, 0, 0.5}, Softmax(nil, m).Float32s())
}

func TestSwiGLUValues(t *testing.T) {
	rng := testRNG()
	g, u := Scale(nil, Randn(rng, 7, 300), 5), Randn(rng, 7, 300)
	gd, ud := nnF64s(g), nnF64s(u)
	want := make([]float64, len(gd))
	for i, x := range gd {
		want[i] = x / (1 + math.Exp(-x)) * ud[i]
	}
	nnRequireClose(t, want, SwiGLU(nil, g, u).Float32s(), 1e-6)
	nnRequireClose(t, nnF64s(Mul(nil, SiLU(nil, g), u)), SwiGLU(nil, g, u).Float32s(), 1e-6)
}

// TestSwiGLUMatchesScalar checks that SwiGLU, which takes e^−gate in
// vector blocks, gives bit for bit the scalar formulas with vmath.Expf,
// forward and backward, across block and worker boundaries and with either
// input alone needing its gradient.
func TestSwiGLUMatchesScalar(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		gateG, upG bool
	}{
		{"one block", 37, true, true},
		{"blocks", 2*expChunk + 5, true, true},
		{"workers", 3*grain/8 + 17, true, true},
		{"gate only", 2*expChunk + 5, true, false},
		{"up only", 2*expChunk + 5, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := testRNG()
			g, u, gout := Scale(nil, Randn(rng, tc.n), 6), Randn(rng, tc.n), Randn(rng, tc.n)
			g.SetRequiresGrad(tc.gateG)
			u.SetRequiresGrad(tc.upG)
			out := SwiGLU(nil, g, u)
			require.NoError(t, Backward(out, gout))
			gs, us, gd := g.Float32s(), u.Float32s(), gout.Float32s()
			want, wantG, wantU := make([]float32, tc.n), make([]float32, tc.n), make([]float32, tc.n)
			for i, x := range gs {
				s := 1 / (1 + vmath.Expf(-x))
				want[i] = x / (1 + vmath.Expf(-x)) * us[i]
				wantG[i] = gd[i] * us[i] * s * (1 + x*(1-s))
				wantU[i] = gd[i] * x * s
			}
			require.Equal(t, want, out.Float32s())
			if tc.gateG {
				require.Equal(t, wantG, g.Grad().Float32s())
			}
			if tc.upG {
				require.Equal(t, wantU, u.Grad().Float32s())
			}
		})
	}
}

func TestSoftmaxGradients(t *testing.T) {
	rng := testRNG()
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"softmax", func(c *Ctx, in []*Tensor) *Tensor { return Softmax(c, in[0]) }, []*Tensor{Randn(rng, 3, 4, 6)}},
		{"softmax many rows", func(c *Ctx, in []*Tensor) *Tensor { return Softmax(c, in[0]) }, []*Tensor{Randn(rng, 500, 9)}},
		{"log softmax", func(c *Ctx, in []*Tensor) *Tensor { return LogSoftmax(c, in[0]) }, []*Tensor{Randn(rng, 3, 4, 6)}},
		{"swiglu", func(c *Ctx, in []*Tensor) *Tensor { return SwiGLU(c, in[0], in[1]) }, []*Tensor{Randn(rng, 3, 8), Randn(rng, 3, 8)}},
		{"swiglu views", func(c *Ctx, in []*Tensor) *Tensor {
			return SwiGLU(c, Narrow(c, in[0], 1, 0, 4), Narrow(c, in[0], 1, 4, 4))
		}, []*Tensor{Randn(rng, 5, 8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestSoftmaxErrors(t *testing.T) {
	nnRequireOpError(t, func() { Softmax(nil, Scalar(2)) }, "softmax", "at least one axis")
	nnRequireOpError(t, func() { LogSoftmax(nil, Scalar(2)) }, "log_softmax")
	nnRequireOpError(t, func() { SwiGLU(nil, New(2, 3), New(3, 2)) }, "swiglu", "[2 3]", "[3 2]")
}
