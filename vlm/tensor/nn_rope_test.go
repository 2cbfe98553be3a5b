package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveRotateHalf applies out = x·cos + rotate_half(x)·sin in float64 for x
// [rows, H, dh] with table rows r mod S.
func naiveRotateHalf(x, cos, sin []float64, S, H, dh int) []float64 {
	out := make([]float64, len(x))
	h := dh / 2
	for r := 0; r < len(x)/(H*dh); r++ {
		s := r % S
		for hd := range H {
			b := (r*H + hd) * dh
			for i := range dh {
				var rot float64
				if i < h {
					rot = -x[b+i+h]
				} else {
					rot = x[b+i-h]
				}
				out[b+i] = x[b+i]*cos[s*dh+i] + rot*sin[s*dh+i]
			}
		}
	}
	return out
}

func TestRoPETablesText(t *testing.T) {
	pos := []int64{0, 1, 5, 17, 1000}
	r := NewRoPE(pos, 8, 10000)
	require.Equal(t, []int{5, 8}, r.Cos.Shape())
	for s, p := range pos {
		for i := range 8 {
			j := i % 4
			ang := float64(p) / math.Pow(10000, float64(2*j)/8)
			require.InDelta(t, math.Cos(ang), float64(r.Cos.At(s, i)), 2e-4*(1+float64(p)/100), "s=%d i=%d", s, i)
			require.InDelta(t, math.Sin(ang), float64(r.Sin.At(s, i)), 2e-4*(1+float64(p)/100), "s=%d i=%d", s, i)
		}
	}
}

func TestMRoPESections(t *testing.T) {
	// Dh=16, mrope_section [2,3,3]: columns [0:2) from t, [2:5) from h,
	// [5:8) from w, and the same for [8:16).
	tpos := []int64{0, 3, 3, 3, 9}
	hpos := []int64{0, 3, 4, 5, 10}
	wpos := []int64{0, 3, 7, 8, 11}
	m := NewMRoPE([3][]int64{tpos, hpos, wpos}, 16, 1e6, [3]int{2, 3, 3})
	axes := [3]*RoPE{NewRoPE(tpos, 16, 1e6), NewRoPE(hpos, 16, 1e6), NewRoPE(wpos, 16, 1e6)}
	for s := range 5 {
		for i := range 16 {
			a := 2
			switch j := i % 8; {
			case j < 2:
				a = 0
			case j < 5:
				a = 1
			}
			require.Equal(t, axes[a].Cos.At(s, i), m.Cos.At(s, i), "s=%d i=%d", s, i)
			require.Equal(t, axes[a].Sin.At(s, i), m.Sin.At(s, i), "s=%d i=%d", s, i)
		}
	}
	nnRequireOpError(t, func() { NewMRoPE([3][]int64{tpos, hpos, wpos}, 16, 1e6, [3]int{2, 3, 2}) }, "mrope_section [2 3 2]", "8")
	nnRequireOpError(t, func() { NewMRoPE([3][]int64{tpos, hpos[:2], wpos}, 16, 1e6, [3]int{2, 3, 3}) }, "lengths 5, 2, 5")
}

// TestMRoPEGolden checks the per-axis tables against HF's text.rope_cos /
// text.rope_sin ([3, 1, L, 16], before section selection) for the
// position_ids of golden case A (theta 1e6, head_dim 16).
func TestMRoPEGolden(t *testing.T) {
	g := nnReadSafetensors(t, "testdata/qwen25vl_tiny_case_a_text.safetensors")
	pid, cos, sin := g["position_ids"], g["text.rope_cos"], g["text.rope_sin"]
	require.Equal(t, []int{3, 1, 14, 16}, cos.shape)
	L := pid.shape[2]
	var pos [3][]int64
	for a := range 3 {
		for s := range L {
			pos[a] = append(pos[a], int64(pid.data[a*L+s]))
		}
		r := NewRoPE(pos[a], 16, 1e6)
		nnRequireClose(t, cos.data[a*L*16:(a+1)*L*16], r.Cos.Float32s(), 1e-6, "cos axis", a)
		nnRequireClose(t, sin.data[a*L*16:(a+1)*L*16], r.Sin.Float32s(), 1e-6, "sin axis", a)
	}
	// The selected M-RoPE table picks each column from its axis' table.
	m := NewMRoPE(pos, 16, 1e6, [3]int{2, 3, 3})
	for s := range L {
		for i := range 16 {
			a := [8]int{0, 0, 1, 1, 1, 2, 2, 2}[i%8]
			require.InDelta(t, cos.data[(a*L+s)*16+i], float64(m.Cos.At(s, i)), 1e-6)
			require.InDelta(t, sin.data[(a*L+s)*16+i], float64(m.Sin.At(s, i)), 1e-6)
		}
	}
}

func TestVisionRoPE(t *testing.T) {
	// head_dim 16: rotary dim 8, inv_freq = 1/10000^([0,2,4,6]/8); per patch
	// [row·inv, col·inv] then duplicated.
	rows := []int64{0, 0, 1, 1, 2, 7}
	cols := []int64{0, 1, 0, 1, 5, 3}
	r := NewVisionRoPE(rows, cols, 16, 10000)
	require.Equal(t, []int{6, 16}, r.Cos.Shape())
	for n := range rows {
		var freqs []float64
		for _, p := range []int64{rows[n], cols[n]} {
			for j := range 4 {
				freqs = append(freqs, float64(p)/math.Pow(10000, float64(2*j)/8))
			}
		}
		freqs = append(freqs, freqs...)
		for i, f := range freqs {
			require.InDelta(t, math.Cos(f), float64(r.Cos.At(n, i)), 1e-6, "n=%d i=%d", n, i)
			require.InDelta(t, math.Sin(f), float64(r.Sin.At(n, i)), 1e-6, "n=%d i=%d", n, i)
		}
	}
	nnRequireOpError(t, func() { NewVisionRoPE(rows, cols, 18, 10000) }, "multiple of 4")
	nnRequireOpError(t, func() { NewVisionRoPE(rows, cols[:2], 16, 10000) }, "6 row ids but 2 column ids")
}

func TestApplyRoPEValues(t *testing.T) {
	rng := testRNG()
	r := NewMRoPE([3][]int64{{0, 1, 2, 3, 4, 5, 6}, {0, 1, 2, 2, 3, 3, 9}, {0, 1, 4, 5, 4, 5, 9}}, 16, 1e4, [3]int{2, 3, 3})
	x := Randn(rng, 2, 7, 3, 16) // [B, S, H, Dh]
	want := naiveRotateHalf(nnF64s(x), nnF64s(r.Cos), nnF64s(r.Sin), 7, 3, 16)
	nnRequireClose(t, want, r.Apply(nil, x).Float32s(), 1e-6)
	// BF16 input and a strided view give the same as their f32 copies.
	xb := x.ToHalf(BFloat16)
	nnRequireClose(t, nnF64s(r.Apply(nil, xb.ToFloat32(nil))), r.Apply(nil, xb).Float32s(), 0)
	// Rotation preserves the norm of every (i, i+Dh/2) pair.
	y := r.Apply(nil, x).Float32s()
	xs := x.Float32s()
	for b := 0; b < len(xs); b += 16 {
		for i := range 8 {
			n0 := math.Hypot(float64(xs[b+i]), float64(xs[b+i+8]))
			n1 := math.Hypot(float64(y[b+i]), float64(y[b+i+8]))
			require.InDelta(t, n0, n1, 1e-5)
		}
	}
	// Vision rotary on [N, H, Dh].
	v := NewVisionRoPE([]int64{0, 0, 1, 1}, []int64{0, 1, 0, 1}, 8, 10000)
	xv := Randn(rng, 4, 2, 8)
	nnRequireClose(t, naiveRotateHalf(nnF64s(xv), nnF64s(v.Cos), nnF64s(v.Sin), 4, 2, 8), v.Apply(nil, xv).Float32s(), 1e-6)
}

func TestApplyRoPEGradients(t *testing.T) {
	rng := testRNG()
	r := NewRoPE([]int64{3, 4, 5, 6, 7}, 8, 100)
	// An arbitrary (non-duplicated) table checks the exact transpose.
	cs, sn := Randn(rng, 5, 8), Randn(rng, 5, 8)
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"text", func(c *Ctx, in []*Tensor) *Tensor { return r.Apply(c, in[0]) }, []*Tensor{Randn(rng, 5, 2, 8)}},
		{"batched", func(c *Ctx, in []*Tensor) *Tensor { return r.Apply(c, in[0]) }, []*Tensor{Randn(rng, 3, 5, 2, 8)}},
		{"arbitrary tables", func(c *Ctx, in []*Tensor) *Tensor { return ApplyRoPE(c, in[0], cs, sn) }, []*Tensor{Randn(rng, 5, 3, 8)}},
		{"permuted input", func(c *Ctx, in []*Tensor) *Tensor {
			return r.Apply(c, Permute(c, in[0], 1, 0, 2))
		}, []*Tensor{Randn(rng, 2, 5, 8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestApplyRoPEErrors(t *testing.T) {
	r := NewRoPE([]int64{0, 1, 2}, 8, 100)
	nnRequireOpError(t, func() { r.Apply(nil, New(3, 8)) }, "apply_rope", "[3 8]")
	nnRequireOpError(t, func() { r.Apply(nil, New(4, 2, 8)) }, "apply_rope", "[3 8]", "[4 2 8]")
	nnRequireOpError(t, func() { r.Apply(nil, New(3, 2, 6)) }, "apply_rope", "[S, Dh] = [3, 6]")
	nnRequireOpError(t, func() { ApplyRoPE(nil, New(3, 2, 7), New(3, 7), New(3, 7)) }, "odd")
	nnRequireOpError(t, func() { NewRoPE([]int64{1}, 7, 100) }, "rope", "7")
}
