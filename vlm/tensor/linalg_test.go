package tensor

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveMatMul is the float64 reference for MatMul, reading both operands
// element by element through At, with NumPy batch broadcasting.
func naiveMatMul(a, b *Tensor) ([]int, []float64) {
	na, nb := a.Dims(), b.Dims()
	m, k, n := a.shape[na-2], a.shape[na-1], b.shape[nb-1]
	batch := broadcastShape("ref", a.shape[:na-2], b.shape[:nb-2])
	shape := append(slices.Clone(batch), m, n)
	out := make([]float64, numelOf(shape))
	bidx := make([]int, len(batch))
	pick := func(t *Tensor, i, j int) float64 {
		nt := t.Dims()
		idx := make([]int, nt)
		off := len(batch) - (nt - 2)
		for d := range nt - 2 {
			if t.shape[d] != 1 {
				idx[d] = bidx[off+d]
			}
		}
		idx[nt-2], idx[nt-1] = i, j
		return float64(t.At(idx...))
	}
	for bi := range numelOf(batch) {
		r := bi
		for d := len(batch) - 1; d >= 0; d-- {
			bidx[d] = r % batch[d]
			r /= batch[d]
		}
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					s += pick(a, i, p) * pick(b, p, j)
				}
				out[(bi*m+i)*n+j] = s
			}
		}
	}
	return shape, out
}

func requireClose(t *testing.T, want []float64, got []float32, tol float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.Abs(want[i]-float64(got[i])) > tol*(1+math.Abs(want[i])) {
			require.Failf(t, "mismatch", "element %d: want %g, got %g", i, want[i], got[i])
		}
	}
}

// strided returns a non-GEMM-able view: every other element of a row.
func strided(t *Tensor, rows, cols int) *Tensor {
	return t.view([]int{rows, cols}, []int{2 * cols, 2}, 0)
}

func TestMatMulValues(t *testing.T) {
	rng := testRNG()
	kv := Randn(rng, 2, 7, 3, 8) // [B, S, H, D]
	q := Randn(rng, 2, 5, 3, 8)
	for _, tc := range []struct {
		name string
		a, b *Tensor
	}{
		{"2d", Randn(rng, 5, 7), Randn(rng, 7, 9)},
		{"2d big odd", Randn(rng, 37, 41), Randn(rng, 41, 133)},
		{"batch", Randn(rng, 3, 5, 7), Randn(rng, 3, 7, 4)},
		{"shared b", Randn(rng, 2, 3, 5, 7), Randn(rng, 7, 6)},
		{"shared a", Randn(rng, 5, 7), Randn(rng, 2, 7, 6)},
		{"broadcast both", Randn(rng, 2, 1, 5, 7), Randn(rng, 1, 3, 7, 6)},
		{"transposed a", Transpose(nil, Randn(rng, 7, 5), 0, 1), Randn(rng, 7, 6)},
		{"transposed b", Randn(rng, 4, 5, 7), Transpose(nil, Randn(rng, 4, 6, 7), -1, -2)},
		{"q kT on permuted views", Permute(nil, q, 0, 2, 1, 3), Permute(nil, kv, 0, 2, 3, 1)},
		{"attn v on permuted views", Randn(rng, 2, 3, 5, 7), Permute(nil, kv, 0, 2, 1, 3)},
		{"narrowed rows", Narrow(nil, Randn(rng, 5, 12), 1, 3, 7), Randn(rng, 7, 4)},
		{"non-gemmable strides", strided(Randn(rng, 5, 14), 5, 7), strided(Randn(rng, 7, 8), 7, 4)},
		{"bf16 b", Randn(rng, 3, 5, 16), Randn(rng, 16, 9).ToHalf(BFloat16)},
		{"f16 b transposed", Randn(rng, 5, 16), Transpose(nil, Randn(rng, 9, 16).ToHalf(Float16), 0, 1)},
		{"bf16 a", Randn(rng, 5, 16).ToHalf(BFloat16), Randn(rng, 16, 9)},
		{"k=1", Randn(rng, 4, 1), Randn(rng, 1, 3)},
		{"m=1", Randn(rng, 2, 1, 9), Randn(rng, 2, 9, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape, want := naiveMatMul(tc.a, tc.b)
			got := MatMul(nil, tc.a, tc.b)
			require.Equal(t, shape, got.Shape())
			requireClose(t, want, got.Float32s(), 1e-4)
		})
	}
}

func TestMatMulEmpty(t *testing.T) {
	got := MatMul(nil, New(3, 0), New(0, 2))
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0}, got.Float32s())
	require.Equal(t, []int{0, 2}, MatMul(nil, New(0, 4), New(4, 2)).Shape())
}

func TestMatMulErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"inner", func() { MatMul(nil, New(2, 3), New(4, 5)) }, "matmul: shapes [2 3] and [4 5]: inner dimensions 3 and 4 differ"},
		{"batch", func() { MatMul(nil, New(2, 3, 4), New(3, 4, 5)) }, "shapes [2] and [3] cannot be broadcast"},
		{"rank", func() { MatMul(nil, New(3), New(3, 4)) }, "at least 2 dimensions, got [3] and [3 4]"},
		{"int", func() { MatMul(nil, FromInt32([]int32{1}, 1, 1), New(1, 1)) }, "a [1 1] is I32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, Catch(func() error { tc.f(); return nil }), tc.msg)
		})
	}
}

func TestMatMulGradients(t *testing.T) {
	rng := testRNG()
	mm := func(c *Ctx, in []*Tensor) *Tensor { return MatMul(c, in[0], in[1]) }
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"2d", mm, []*Tensor{Randn(rng, 3, 4), Randn(rng, 4, 5)}},
		{"batch", mm, []*Tensor{Randn(rng, 2, 3, 4), Randn(rng, 2, 4, 5)}},
		{"shared b", mm, []*Tensor{Randn(rng, 2, 3, 3, 4), Randn(rng, 4, 5)}},
		{"shared a", mm, []*Tensor{Randn(rng, 3, 4), Randn(rng, 2, 4, 5)}},
		{"broadcast both", mm, []*Tensor{Randn(rng, 2, 1, 3, 4), Randn(rng, 1, 3, 4, 2)}},
		{"q kT views", func(c *Ctx, in []*Tensor) *Tensor {
			q := Permute(c, in[0], 0, 2, 1, 3)
			k := Permute(c, in[1], 0, 2, 3, 1)
			return MatMul(c, q, k)
		}, []*Tensor{Randn(rng, 2, 3, 2, 4), Randn(rng, 2, 5, 2, 4)}},
		{"transposed a", func(c *Ctx, in []*Tensor) *Tensor {
			return MatMul(c, Transpose(c, in[0], 0, 1), in[1])
		}, []*Tensor{Randn(rng, 4, 3), Randn(rng, 4, 2)}},
		{"strided", func(c *Ctx, in []*Tensor) *Tensor {
			return MatMul(c, Narrow(c, in[0], 1, 1, 3), in[1])
		}, []*Tensor{Randn(rng, 3, 5), Randn(rng, 3, 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

// naiveLinear is the float64 reference x·wᵀ + bias for 2-D x.
func naiveLinear(x, w, bias *Tensor) []float64 {
	xr := Reshape(nil, x.Detach(), -1, x.Dim(-1))
	m, in, out := xr.shape[0], w.shape[1], w.shape[0]
	res := make([]float64, m*out)
	for i := range m {
		for j := range out {
			var s float64
			for p := range in {
				s += float64(xr.At(i, p)) * float64(w.At(j, p))
			}
			if bias != nil {
				s += float64(bias.At(j))
			}
			res[i*out+j] = s
		}
	}
	return res
}

func TestLinearValues(t *testing.T) {
	rng := testRNG()
	w := Randn(rng, 11, 19)
	bias := Randn(rng, 11)
	for _, tc := range []struct {
		name    string
		x, w, b *Tensor
	}{
		{"f32 2d", Randn(rng, 6, 19), w, bias},
		{"f32 3d no bias", Randn(rng, 2, 3, 19), w, nil},
		{"bf16", Randn(rng, 5, 19), w.ToHalf(BFloat16), bias},
		{"f16", Randn(rng, 2, 4, 19), w.ToHalf(Float16), bias.ToHalf(Float16)},
		{"narrowed x", Narrow(nil, Randn(rng, 2, 4, 40), 2, 5, 19), w, bias},
		{"transposed x", Transpose(nil, Randn(rng, 19, 7), 0, 1), w, bias},
		{"transposed w", Randn(rng, 3, 19), Transpose(nil, Randn(rng, 19, 11), 0, 1), nil},
		{"row slice of w", Randn(rng, 4, 19), Narrow(nil, Randn(rng, 30, 19), 0, 7, 11), bias},
		{"1d x", Randn(rng, 19), w, bias},
		{"big", Randn(rng, 33, 70), Randn(rng, 129, 70).ToHalf(BFloat16), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Linear(nil, tc.x, tc.w, tc.b)
			want := append(slices.Clone(tc.x.shape[:tc.x.Dims()-1]), tc.w.shape[0])
			require.Equal(t, want, got.Shape())
			requireClose(t, naiveLinear(tc.x, tc.w, tc.b), got.Float32s(), 1e-4)
		})
	}
}

func TestLinearErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"in", func() { Linear(nil, New(2, 5), New(3, 4), nil) }, "linear: input [2 5] does not match weight [3 4]: last dimension must be 4"},
		{"bias", func() { Linear(nil, New(2, 4), New(3, 4), New(4)) }, "bias [4] does not match weight [3 4]"},
		{"weight rank", func() { Linear(nil, New(2, 4), New(4), nil) }, "weight must be [out, in], got [4]"},
		{"lora", func() { LinearLoRA(nil, New(2, 4), New(3, 4), nil, &LoRA{A: New(2, 5), B: New(3, 2)}) }, "lora A [2 5] and B [3 2] do not fit weight [3 4]"},
		{"conv3d", func() { Conv3DPatch(nil, New(4, 10), New(8, 3, 2, 2, 2)) }, "pixels [4 10] do not match weight [8 3 2 2 2]: want [N, 24]"},
		{"im2col", func() { Im2Col(nil, New(3, 10, 12), 4) }, "image [3 10 12] is not divisible into 4×4 patches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, Catch(func() error { tc.f(); return nil }), tc.msg)
		})
	}
}

func TestLinearLoRAValues(t *testing.T) {
	rng := testRNG()
	x := Randn(rng, 2, 3, 10)
	w := Randn(rng, 7, 10).ToHalf(BFloat16)
	b := Randn(rng, 7)
	l := &LoRA{A: Randn(rng, 4, 10), B: Randn(rng, 7, 4), Scale: 0.5}
	got := LinearLoRA(nil, x, w, b, l)
	base := naiveLinear(x, w, b)
	h := naiveLinear(x, l.A, nil) // [6, 4]
	ht := FromFloat32(make([]float32, len(h)), 6, 4)
	for i, v := range h {
		ht.f32[i] = float32(v)
	}
	d := naiveLinear(ht, l.B, nil)
	want := make([]float64, len(base))
	for i := range want {
		want[i] = base[i] + 0.5*d[i]
	}
	require.Equal(t, []int{2, 3, 7}, got.Shape())
	requireClose(t, want, got.Float32s(), 1e-4)

	// With B zero (the init convention) the adapter is a no-op.
	l0 := &LoRA{A: Randn(rng, 4, 10), B: New(7, 4), Scale: 2}
	require.Equal(t, Linear(nil, x, w, b).Float32s(), LinearLoRA(nil, x, w, b, l0).Float32s())
}

func TestLinearGradients(t *testing.T) {
	rng := testRNG()
	frozen := Randn(rng, 5, 6).ToHalf(BFloat16)
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"x w b", func(c *Ctx, in []*Tensor) *Tensor { return Linear(c, in[0], in[1], in[2]) },
			[]*Tensor{Randn(rng, 2, 3, 6), Randn(rng, 5, 6), Randn(rng, 5)}},
		{"x w", func(c *Ctx, in []*Tensor) *Tensor { return Linear(c, in[0], in[1], nil) },
			[]*Tensor{Randn(rng, 4, 6), Randn(rng, 5, 6)}},
		{"frozen bf16 w", func(c *Ctx, in []*Tensor) *Tensor { return Linear(c, in[0], frozen, in[1]) },
			[]*Tensor{Randn(rng, 4, 6), Randn(rng, 5)}},
		{"narrowed x transposed w", func(c *Ctx, in []*Tensor) *Tensor {
			return Linear(c, Narrow(c, in[0], 1, 2, 6), Transpose(c, in[1], 0, 1), nil)
		}, []*Tensor{Randn(rng, 3, 9), Randn(rng, 6, 4)}},
		{"lora", func(c *Ctx, in []*Tensor) *Tensor {
			return LinearLoRA(c, in[0], frozen, in[1], &LoRA{A: in[2], B: in[3], Scale: 0.75})
		}, []*Tensor{Randn(rng, 2, 2, 6), Randn(rng, 5), Randn(rng, 3, 6), Randn(rng, 5, 3)}},
		{"lora trainable w", func(c *Ctx, in []*Tensor) *Tensor {
			return LinearLoRA(c, in[0], in[1], nil, &LoRA{A: in[2], B: in[3], Scale: 2})
		}, []*Tensor{Randn(rng, 3, 6), Randn(rng, 5, 6), Randn(rng, 2, 6), Randn(rng, 5, 2)}},
		{"conv3d patch", func(c *Ctx, in []*Tensor) *Tensor { return Conv3DPatch(c, in[0], in[1]) },
			[]*Tensor{Randn(rng, 3, 16), Randn(rng, 4, 2, 2, 2, 2)}},
		{"im2col", func(c *Ctx, in []*Tensor) *Tensor { return Im2Col(c, in[0], 2) },
			[]*Tensor{Randn(rng, 2, 4, 6)}},
		{"patch embed 2d batched", func(c *Ctx, in []*Tensor) *Tensor { return PatchEmbed2D(c, in[0], in[1], in[2]) },
			[]*Tensor{Randn(rng, 2, 3, 4, 4), Randn(rng, 5, 3, 2, 2), Randn(rng, 5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestLoRATrainsOnlyAdapter(t *testing.T) {
	rng := testRNG()
	w := Randn(rng, 5, 6).ToHalf(BFloat16)
	l := &LoRA{A: Randn(rng, 2, 6).SetRequiresGrad(true), B: New(5, 2).SetRequiresGrad(true), Scale: 1}
	y := LinearLoRA(nil, Randn(rng, 3, 6), w, nil, l)
	require.NoError(t, Backward(Sum(nil, y), nil))
	require.NotNil(t, l.B.Grad())
	require.NotNil(t, l.A.Grad()) // zero-valued while B is zero, but present
	require.Equal(t, make([]float32, 12), l.A.Grad().Float32s())
}

func TestConv3DPatchAndIm2Col(t *testing.T) {
	rng := testRNG()
	const ch, tt, p, d = 3, 2, 2, 5
	w := Randn(rng, d, ch, tt, p, p)
	pix := Randn(rng, 4, ch*tt*p*p)
	got := Conv3DPatch(nil, pix, w.ToHalf(BFloat16))
	requireClose(t, naiveLinear(pix, Reshape(nil, w.ToHalf(BFloat16), d, -1), nil), got.Float32s(), 1e-4)

	img := Randn(rng, ch, 4, 6)
	cols := Im2Col(nil, img, 2)
	require.Equal(t, []int{6, ch * 4}, cols.Shape())
	for gy := range 2 {
		for gx := range 3 {
			for c := range ch {
				for y := range 2 {
					for x := range 2 {
						require.Equal(t, img.At(c, gy*2+y, gx*2+x), cols.At(gy*3+gx, (c*2+y)*2+x))
					}
				}
			}
		}
	}
	batched := Im2Col(nil, Stack(nil, 0, img, img), 2)
	require.Equal(t, []int{2, 6, ch * 4}, batched.Shape())
	require.Equal(t, cols.Float32s(), Select(nil, batched, 0, 1).Float32s())
}

func TestLinearArenaSteadyState(t *testing.T) {
	rng := testRNG()
	a := NewArena()
	c := Inference(a)
	x, w, b := Randn(rng, 8, 32), Randn(rng, 16, 32).ToHalf(BFloat16), Randn(rng, 16)
	step := func() {
		_ = Linear(c, x, w, b)
		a.Reset()
	}
	step()
	fresh := a.Fresh()
	step()
	require.Equal(t, fresh, a.Fresh())
}
