package qwen25vl

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor"
)

// refVision is an independent float64 formulation of the vision tower: it
// never permutes patches into windows. Instead every attention row is masked
// to the patches of its own window (windowed blocks) or its own frame (full
// blocks), with rotary angles from each patch's true (row, col). Attention is
// invariant to key order and the merger groups the same 2×2 blocks either
// way, so this must equal the windowed implementation.
func refVision(m *VisionTower, pixels []float64, grids []GridTHW) []float64 {
	v := m.cfg
	d, heads, merge := v.HiddenSize, v.NumHeads, v.SpatialMergeSize
	hd := d / heads
	win := v.WindowSize / v.PatchSize // window side in patches
	type key struct{ img, t, wr, wc int }
	var frame, window []key
	var rows, cols []int
	for gi, g := range grids {
		for t := range g.T {
			for br := range g.H / merge {
				for bc := range g.W / merge {
					for i := range merge {
						for j := range merge {
							r, c := br*merge+i, bc*merge+j
							rows, cols = append(rows, r), append(cols, c)
							frame = append(frame, key{gi, t, 0, 0})
							window = append(window, key{gi, t, r / win, c / win})
						}
					}
				}
			}
		}
	}
	n := len(rows)
	f64 := func(t *tensor.Tensor) []float64 {
		out := make([]float64, t.Numel())
		for i, x := range t.Float32s() {
			out[i] = float64(x)
		}
		return out
	}
	linear := func(x []float64, rowsN, in int, l Linear) []float64 {
		w := f64(l.W)
		out := w[:0:0]
		outN := l.W.Dim(0)
		var b []float64
		if l.B != nil {
			b = f64(l.B)
		}
		for r := range rowsN {
			for o := range outN {
				s := 0.0
				if b != nil {
					s = b[o]
				}
				for k := range in {
					s += x[r*in+k] * w[o*in+k]
				}
				out = append(out, s)
			}
		}
		return out
	}
	rms := func(x []float64, w *tensor.Tensor) []float64 {
		wv := f64(w)
		out := make([]float64, len(x))
		for r := range len(x) / d {
			ss := 0.0
			for k := range d {
				ss += x[r*d+k] * x[r*d+k]
			}
			inv := 1 / math.Sqrt(ss/float64(d)+visionEps)
			for k := range d {
				out[r*d+k] = x[r*d+k] * inv * wv[k]
			}
		}
		return out
	}
	rotate := func(vec []float64, r, c int) {
		q := hd / 4
		tmp := slices.Clone(vec)
		for j := range hd / 2 {
			pos := r
			if j >= q {
				pos = c
			}
			ang := float64(pos) / math.Pow(visionTheta, float64(2*(j%q))/float64(hd/2))
			cs, sn := math.Cos(ang), math.Sin(ang)
			vec[j] = tmp[j]*cs - tmp[j+hd/2]*sn
			vec[j+hd/2] = tmp[j+hd/2]*cs + tmp[j]*sn
		}
	}
	in := m.PatchEmbed.Dim(1)
	x := linear(pixels, n, in, Linear{W: m.PatchEmbed})
	for bi := range m.Blocks {
		blk := &m.Blocks[bi]
		full := slices.Contains(v.FullAttBlockIndexes, bi)
		qkv := linear(rms(x, blk.Norm1), n, d, blk.QKV)
		att := make([]float64, n*d)
		for h := range heads {
			q := make([][]float64, n)
			k := make([][]float64, n)
			for p := range n {
				q[p] = slices.Clone(qkv[p*3*d+h*hd : p*3*d+(h+1)*hd])
				k[p] = slices.Clone(qkv[p*3*d+d+h*hd : p*3*d+d+(h+1)*hd])
				rotate(q[p], rows[p], cols[p])
				rotate(k[p], rows[p], cols[p])
			}
			for p := range n {
				var ws []float64
				var idx []int
				mx := math.Inf(-1)
				for o := range n {
					if (full && frame[o] != frame[p]) || (!full && window[o] != window[p]) {
						continue
					}
					s := 0.0
					for e := range hd {
						s += q[p][e] * k[o][e]
					}
					s /= math.Sqrt(float64(hd))
					ws, idx = append(ws, s), append(idx, o)
					mx = max(mx, s)
				}
				z := 0.0
				for i := range ws {
					ws[i] = math.Exp(ws[i] - mx)
					z += ws[i]
				}
				for i, o := range idx {
					for e := range hd {
						att[p*d+h*hd+e] += ws[i] / z * qkv[o*3*d+2*d+h*hd+e]
					}
				}
			}
		}
		proj := linear(att, n, d, blk.Proj)
		for i := range x {
			x[i] += proj[i]
		}
		h := rms(x, blk.Norm2)
		g, u := linear(h, n, d, blk.Gate), linear(h, n, d, blk.Up)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		down := linear(g, n, v.IntermediateSize, blk.Down)
		for i := range x {
			x[i] += down[i]
		}
	}
	unit := merge * merge
	h := linear(rms(x, m.MergerNorm), n/unit, unit*d, m.Merger1)
	for i, a := range h {
		h[i] = 0.5 * a * (1 + math.Erf(a/math.Sqrt2))
	}
	return linear(h, n/unit, unit*d, m.Merger2)
}

func TestVisionWindowsMatchMaskedReference(t *testing.T) {
	m := loadTiny(t)
	for _, tc := range []struct {
		name  string
		grids []GridTHW
	}{
		{"140x224 image, 2x2 windows with padding", []GridTHW{{1, 10, 16}}},
		{"224x224 image, grid a multiple of the window", []GridTHW{{1, 16, 16}}},
		{"two images", []GridTHW{{1, 4, 4}, {1, 10, 6}}},
		{"video of two temporal patches", []GridTHW{{2, 6, 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			n := 0
			for _, g := range tc.grids {
				n += g.Patches()
			}
			cols := m.Vision.PatchEmbed.Dim(1)
			px := make([]float32, n*cols)
			ref := make([]float64, len(px))
			for i := range px {
				px[i] = float32(rng.NormFloat64())
				ref[i] = float64(px[i])
			}
			got, err := m.Vision.Forward(nil, tensor.FromFloat32(px, n, cols), tc.grids, nil)
			require.NoError(t, err)
			want := refVision(m.Vision, ref, tc.grids)
			w32 := make([]float32, len(want))
			for i, v := range want {
				w32[i] = float32(v)
			}
			requireClose(t, w32, got.Float32s(), goldenTol, tc.name)
		})
	}
}

func TestVisionRejectsBadGrids(t *testing.T) {
	m := loadTiny(t)
	cols := m.Vision.PatchEmbed.Dim(1)
	_, err := m.Vision.Forward(nil, tensor.New(16, cols), []GridTHW{{1, 4, 3}}, nil)
	require.ErrorContains(t, err, "multiples of 2")
	_, err = m.Vision.Forward(nil, tensor.New(15, cols), []GridTHW{{1, 4, 4}}, nil)
	require.ErrorContains(t, err, "do not match grids")
}
