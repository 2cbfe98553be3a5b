package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveAttention is the float64 reference: q [S,Hq,D], k/v [T,Hkv,D].
func naiveAttention(q, k, v []float64, S, T, Hq, Hkv, D int, scale float64, causal bool, cu []int) []float64 {
	out := make([]float64, S*Hq*D)
	type seg struct{ q0, q1, k0, k1, off int }
	segs := []seg{{0, S, 0, T, T - S}}
	if cu != nil {
		segs = nil
		for i := 0; i+1 < len(cu); i++ {
			segs = append(segs, seg{cu[i], cu[i+1], cu[i], cu[i+1], 0})
		}
	}
	grp := Hq / Hkv
	for _, sg := range segs {
		for h := range Hq {
			kh := h / grp
			for i := sg.q0; i < sg.q1; i++ {
				var sc []float64
				m := math.Inf(-1)
				for j := sg.k0; j < sg.k1; j++ {
					if causal && j-sg.k0 > i-sg.q0+sg.off {
						sc = append(sc, math.Inf(-1))
						continue
					}
					var d float64
					for x := range D {
						d += q[(i*Hq+h)*D+x] * k[(j*Hkv+kh)*D+x]
					}
					sc = append(sc, d*scale)
					m = math.Max(m, d*scale)
				}
				var z float64
				for jj := range sc {
					sc[jj] = math.Exp(sc[jj] - m)
					z += sc[jj]
				}
				for jj, p := range sc {
					j := sg.k0 + jj
					for x := range D {
						out[(i*Hq+h)*D+x] += p / z * v[(j*Hkv+kh)*D+x]
					}
				}
			}
		}
	}
	return out
}

type attnCase struct {
	name             string
	S, T, Hq, Hkv, D int
	opts             AttnOptions
}

var attnCases = []attnCase{
	{"mha full", 5, 5, 2, 2, 4, AttnOptions{}},
	{"mha causal", 6, 6, 2, 2, 4, AttnOptions{Causal: true}},
	{"gqa causal", 5, 5, 4, 2, 4, AttnOptions{Causal: true}},
	{"gqa 4:1 causal offset", 3, 7, 4, 1, 8, AttnOptions{Causal: true}},
	{"decode one token", 1, 9, 4, 2, 8, AttnOptions{Causal: true}},
	{"cross non-square", 4, 6, 2, 1, 4, AttnOptions{Scale: 0.3}},
	{"cu_seqlens", 8, 8, 2, 2, 4, AttnOptions{CuSeqlens: []int{0, 3, 3, 7, 8}}},
	{"cu_seqlens causal gqa", 8, 8, 4, 2, 4, AttnOptions{Causal: true, CuSeqlens: []int{0, 5, 8}}},
	{"multi block causal", 150, 150, 2, 1, 8, AttnOptions{Causal: true}},
	{"multi block offset", 130, 200, 2, 2, 8, AttnOptions{Causal: true}},
	{"multi block segments", 200, 200, 2, 1, 8, AttnOptions{CuSeqlens: []int{0, 70, 71, 200}}},
}

func TestAttentionValues(t *testing.T) {
	rng := testRNG()
	for _, tc := range attnCases {
		t.Run(tc.name, func(t *testing.T) {
			q, k, v := Randn(rng, tc.S, tc.Hq, tc.D), Randn(rng, tc.T, tc.Hkv, tc.D), Randn(rng, tc.T, tc.Hkv, tc.D)
			scale := float64(tc.opts.Scale)
			if scale == 0 {
				scale = 1 / math.Sqrt(float64(tc.D))
			}
			want := naiveAttention(nnF64s(q), nnF64s(k), nnF64s(v), tc.S, tc.T, tc.Hq, tc.Hkv, tc.D, scale, tc.opts.Causal, tc.opts.CuSeqlens)
			got := Attention(nil, q, k, v, tc.opts)
			require.Equal(t, []int{tc.S, tc.Hq, tc.D}, got.Shape())
			nnRequireClose(t, want, got.Float32s(), 2e-5)
			// Same through an arena, and from BF16 keys.
			a := NewArena()
			nnRequireClose(t, want, Attention(Inference(a), q, k, v, tc.opts).Float32s(), 2e-5)
			kb := k.ToHalf(BFloat16)
			want = naiveAttention(nnF64s(q), nnF64s(kb), nnF64s(v), tc.S, tc.T, tc.Hq, tc.Hkv, tc.D, scale, tc.opts.Causal, tc.opts.CuSeqlens)
			nnRequireClose(t, want, Attention(nil, q, kb, v, tc.opts).Float32s(), 2e-5)
		})
	}
}

func TestAttentionGradients(t *testing.T) {
	rng := testRNG()
	for _, tc := range attnCases {
		t.Run(tc.name, func(t *testing.T) {
			f := func(c *Ctx, in []*Tensor) *Tensor { return Attention(c, in[0], in[1], in[2], tc.opts) }
			in := []*Tensor{Randn(rng, tc.S, tc.Hq, tc.D), Randn(rng, tc.T, tc.Hkv, tc.D), Randn(rng, tc.T, tc.Hkv, tc.D)}
			require.NoError(t, GradCheck(f, in, GradCheckConfig{MaxPerInput: 48}))
		})
	}
	// Views as inputs (q, k, v split from one fused projection), with only
	// some inputs requiring gradients.
	t.Run("fused qkv views", func(t *testing.T) {
		f := func(c *Ctx, in []*Tensor) *Tensor {
			qkv := Reshape(c, in[0], 6, 3, 2, 4)
			q, k, v := Select(c, qkv, 1, 0), Select(c, qkv, 1, 1), Select(c, qkv, 1, 2)
			return Attention(c, q, k, v, AttnOptions{Causal: true})
		}
		require.NoError(t, GradCheck(f, []*Tensor{Randn(rng, 6, 24)}, GradCheckConfig{}))
	})
	t.Run("frozen k v", func(t *testing.T) {
		k, v := Randn(rng, 5, 1, 4), Randn(rng, 5, 1, 4)
		f := func(c *Ctx, in []*Tensor) *Tensor { return Attention(c, in[0], k, v, AttnOptions{Causal: true}) }
		require.NoError(t, GradCheck(f, []*Tensor{Randn(rng, 5, 2, 4)}, GradCheckConfig{}))
	})
}

func TestAttentionErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		q, k, v *Tensor
		opts    AttnOptions
		msg     []string
	}{
		{"rank", New(4, 8), New(4, 1, 8), New(4, 1, 8), AttnOptions{}, []string{"q [4 8]"}},
		{"k v differ", New(4, 2, 8), New(4, 1, 8), New(5, 1, 8), AttnOptions{}, []string{"v [5 1 8]"}},
		{"head dim", New(4, 2, 8), New(4, 1, 4), New(4, 1, 4), AttnOptions{}, []string{"[4 2 8]", "[4 1 4]"}},
		{"groups", New(4, 3, 8), New(4, 2, 8), New(4, 2, 8), AttnOptions{}, []string{"multiple of Hkv"}},
		{"causal S > T", New(5, 2, 8), New(4, 2, 8), New(4, 2, 8), AttnOptions{Causal: true}, []string{"at least as many keys"}},
		{"cu needs S == T", New(5, 2, 8), New(4, 2, 8), New(4, 2, 8), AttnOptions{CuSeqlens: []int{0, 5}}, []string{"cu_seqlens"}},
		{"cu end", New(5, 2, 8), New(5, 2, 8), New(5, 2, 8), AttnOptions{CuSeqlens: []int{0, 4}}, []string{"end at 5"}},
		{"cu decreasing", New(5, 2, 8), New(5, 2, 8), New(5, 2, 8), AttnOptions{CuSeqlens: []int{0, 3, 2, 5}}, []string{"decreases"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nnRequireOpError(t, func() { Attention(nil, tc.q, tc.k, tc.v, tc.opts) }, append([]string{"attention"}, tc.msg...)...)
		})
	}
}

// TestKVCacheDecoding checks that prefill plus token-by-token decoding with
// the cache gives the rows of one causal attention over the whole sequence.
func TestKVCacheDecoding(t *testing.T) {
	rng := testRNG()
	const T, Hq, Hkv, D = 9, 4, 2, 8
	q, k, v := Randn(rng, T, Hq, D), Randn(rng, T, Hkv, D), Randn(rng, T, Hkv, D)
	full := Attention(nil, q, k, v, AttnOptions{Causal: true}).Float32s()
	kc := NewKVCache(2, 16, Hkv, D)
	require.Equal(t, 2, kc.Layers())
	c := Inference(nil)
	step := func(lo, hi int) []float32 {
		K, V := kc.Layer(1).Append(Narrow(nil, k, 0, lo, hi-lo), Narrow(nil, v, 0, lo, hi-lo))
		require.Equal(t, []int{hi, Hkv, D}, K.Shape())
		return Attention(c, Narrow(nil, q, 0, lo, hi-lo), K, V, AttnOptions{Causal: true}).Float32s()
	}
	var got []float32
	got = append(got, step(0, 5)...) // prefill
	for i := 5; i < T; i++ {
		got = append(got, step(i, i+1)...)
	}
	nnRequireClose(t, nnF64s(FromFloat32(full, T, Hq, D)), got, 1e-6)
	require.Equal(t, T, kc.Layer(1).Len())
	require.Equal(t, 0, kc.Len()) // layer 0 untouched
	K, _ := kc.Layer(1).View()
	require.Equal(t, k.Float32s(), K.Float32s())

	kc.Truncate(4)
	require.Equal(t, 4, kc.Layer(1).Len())
	nnRequireOpError(t, func() { kc.Layer(1).Append(New(13, Hkv, D), New(13, Hkv, D)) }, "kv_cache", "capacity 16")
	nnRequireOpError(t, func() { kc.Layer(1).Append(New(1, 3, D), New(1, 3, D)) }, "kv_cache", "[s, 2, 8]")
	nnRequireOpError(t, func() { kc.Layer(2) }, "layer 2 out of range")
	kc.Reset()
	require.Equal(t, 0, kc.Layer(1).Len())
}

func benchAttnInputs(S, H, D int) (q, k, v *Tensor) {
	rng := testRNG()
	return Randn(rng, S, H, D), Randn(rng, S, H, D), Randn(rng, S, H, D)
}

// BenchmarkAttention: S=256, 16 heads, Dh=64, causal.
func BenchmarkAttention(b *testing.B) {
	const S, H, D = 256, 16, 64
	q, k, v := benchAttnInputs(S, H, D)
	// Causal attention FLOPs: 2 GEMMs of 2·S·S·D per head, halved by the mask.
	flops := float64(2 * 2 * S * S * D * H / 2)
	b.Run("forward", func(b *testing.B) {
		a := NewArena()
		c := Inference(a)
		for b.Loop() {
			Attention(c, q, k, v, AttnOptions{Causal: true})
			a.Reset()
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("forward+backward", func(b *testing.B) {
		qg, kg, vg := q.Clone(nil).SetRequiresGrad(true), k.Clone(nil).SetRequiresGrad(true), v.Clone(nil).SetRequiresGrad(true)
		gout := Randn(testRNG(), S, H, D)
		for b.Loop() {
			out := Attention(nil, qg, kg, vg, AttnOptions{Causal: true})
			if err := Backward(out, gout); err != nil {
				b.Fatal(err)
			}
			qg.ZeroGrad()
			kg.ZeroGrad()
			vg.ZeroGrad()
		}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	x, w := Randn(testRNG(), 256, 2048), Uniform(testRNG(), 0.5, 1.5, 2048)
	a := NewArena()
	c := Inference(a)
	b.SetBytes(int64(2 * 4 * x.Numel()))
	for b.Loop() {
		RMSNorm(c, x, w, 1e-6)
		a.Reset()
	}
}

func BenchmarkSoftmax(b *testing.B) {
	x := Randn(testRNG(), 16*256, 256)
	a := NewArena()
	c := Inference(a)
	b.SetBytes(int64(2 * 4 * x.Numel()))
	for b.Loop() {
		Softmax(c, x)
		a.Reset()
	}
}
