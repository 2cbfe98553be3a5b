package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// RoPE holds the rotary position embedding tables of one sequence: Cos and
// Sin have shape [S, Dim] (Dim the rotated head dimension), in the
// rotate_half layout of HF/Qwen, where frequency j in [0, Dim/2) is applied
// to the pair (j, j+Dim/2) and so appears at columns j and j+Dim/2 of the
// tables. Build one with NewRoPE (1-D text), NewMRoPE (Qwen2.5-VL
// multimodal) or NewVisionRoPE (Qwen2.5-VL vision tower), then rotate
// queries and keys with Apply. The tables are constants: no gradient flows
// into them.
type RoPE struct {
	Cos, Sin *Tensor
}

// RoPEInvFreq returns the rotary inverse frequencies
// 1/theta^(2j/dim) for j in [0, dim/2), rounded as HF computes them in
// float32 (exponent 2j/dim in float32, power, then 1/x in float32).
func RoPEInvFreq(dim int, theta float64) []float32 {
	if dim <= 0 || dim%2 != 0 {
		failf("rope", "rotary dimension %d must be positive and even", dim)
	}
	inv := make([]float32, dim/2)
	for j := range inv {
		e := float32(2*j) / float32(dim)
		inv[j] = 1 / float32(math.Pow(theta, float64(e)))
	}
	return inv
}

// ropeAngle returns cos and sin of pos·invFreq, with the product rounded to
// float32 first, as HF's float32 outer product does.
func ropeAngle(pos int64, inv float32) (float32, float32) {
	a := float64(float32(pos) * inv)
	return float32(math.Cos(a)), float32(math.Sin(a))
}

// NewRoPE builds 1-D rotary tables for the given token positions:
// cos/sin[s, j] = cos/sin(positions[s]·invFreq[j mod dim/2]) for the Qwen2
// text decoder (theta 1e6 for Qwen2.5) and most LLMs.
func NewRoPE(positions []int64, dim int, theta float64) *RoPE {
	return NewMRoPE([3][]int64{positions, positions, positions}, dim, theta, [3]int{dim / 2, 0, 0})
}

// NewMRoPE builds Qwen2.5-VL's multimodal rotary tables from position ids
// positions[axis][s] for the axes (t, h, w), each of length S (the rows of
// get_rope_index's [3, S] output). section is mrope_section [a, b, c] with
// a+b+c = dim/2: frequency index j takes its position from axis t for j < a,
// h for a ≤ j < a+b and w after, and the same for the second half (column
// j+dim/2), as HF's apply_multimodal_rotary_pos_emb selects from the
// per-axis tables.
func NewMRoPE(positions [3][]int64, dim int, theta float64, section [3]int) *RoPE {
	inv := RoPEInvFreq(dim, theta)
	half := dim / 2
	if section[0] < 0 || section[1] < 0 || section[2] < 0 || section[0]+section[1]+section[2] != half {
		failf("rope", "mrope_section %v must be non-negative and sum to dim/2 = %d", section, half)
	}
	S := len(positions[0])
	if len(positions[1]) != S || len(positions[2]) != S {
		failf("rope", "position ids per axis have lengths %d, %d, %d", S, len(positions[1]), len(positions[2]))
	}
	r := &RoPE{Cos: New(S, dim), Sin: New(S, dim)}
	for s := range S {
		cr, sr := r.Cos.f32[s*dim:(s+1)*dim], r.Sin.f32[s*dim:(s+1)*dim]
		for j := range half {
			axis := 2
			switch {
			case j < section[0]:
				axis = 0
			case j < section[0]+section[1]:
				axis = 1
			}
			cv, sv := ropeAngle(positions[axis][s], inv[j])
			cr[j], cr[j+half] = cv, cv
			sr[j], sr[j+half] = sv, sv
		}
	}
	return r
}

// NewVisionRoPE builds the 2-D rotary tables of Qwen2.5-VL's vision tower
// for patches at (rows[n], cols[n]) (the hpos/wpos ids of rot_pos_emb, in
// the order the patches are fed to the blocks). As HF's
// Qwen2_5_VisionRotaryEmbedding(head_dim/2): inv_freq has head_dim/4
// entries 1/theta^(2j/(head_dim/2)); per patch the angles are
// [rows·inv_freq, cols·inv_freq] (head_dim/2 values), duplicated to
// head_dim for the rotate_half layout. theta is 10000 in Qwen2.5-VL.
func NewVisionRoPE(rows, cols []int64, headDim int, theta float64) *RoPE {
	if headDim <= 0 || headDim%4 != 0 {
		failf("rope", "vision head dimension %d must be a positive multiple of 4", headDim)
	}
	if len(rows) != len(cols) {
		failf("rope", "%d row ids but %d column ids", len(rows), len(cols))
	}
	inv := RoPEInvFreq(headDim/2, theta)
	q, half := len(inv), headDim/2
	N := len(rows)
	r := &RoPE{Cos: New(N, headDim), Sin: New(N, headDim)}
	for n := range N {
		cr, sr := r.Cos.f32[n*headDim:(n+1)*headDim], r.Sin.f32[n*headDim:(n+1)*headDim]
		for j, f := range inv {
			cv, sv := ropeAngle(rows[n], f)
			cr[j], cr[j+half], sr[j], sr[j+half] = cv, cv, sv, sv
			cv, sv = ropeAngle(cols[n], f)
			cr[q+j], cr[q+j+half], sr[q+j], sr[q+j+half] = cv, cv, sv, sv
		}
	}
	return r
}

// Len is the number of positions S of the tables.
func (r *RoPE) Len() int { return r.Cos.shape[0] }

// Apply rotates x ([..., S, H, Dim]) by the tables: ApplyRoPE(c, x, r.Cos,
// r.Sin).
func (r *RoPE) Apply(c *Ctx, x *Tensor) *Tensor { return ApplyRoPE(c, x, r.Cos, r.Sin) }

// ApplyRoPE applies rotary position embeddings in HF's rotate_half
// convention: out = x·cos + rotate_half(x)·sin, where rotate_half(x) =
// [−x[Dh/2:], x[:Dh/2]] over the last axis.
//
// Layout: x is [..., S, H, Dh] — sequence-major, heads second to last, the
// layout of a projection output reshaped to heads, and of Attention's q/k —
// with any leading (batch) axes. cos and sin are [S, Dh] and are shared
// by all heads and leading indices. x may be any dtype; the result is
// float32. Differentiable in x (the backward rotates by −θ); cos and sin get
// no gradient.
func ApplyRoPE(c *Ctx, x, cos, sin *Tensor) *Tensor {
	const op = "apply_rope"
	nd := len(x.shape)
	if nd < 3 {
		failf(op, "input %v must be [..., S, H, Dh]", x.shape)
	}
	S, H, dh := x.shape[nd-3], x.shape[nd-2], x.shape[nd-1]
	if dh%2 != 0 {
		failf(op, "head dimension %d of input %v is odd", dh, x.shape)
	}
	if len(cos.shape) != 2 || len(sin.shape) != 2 || cos.shape[0] != S || cos.shape[1] != dh || !SameShape(cos, sin) {
		failf(op, "cos %v / sin %v must both be [S, Dh] = [%d, %d] for input %v", cos.shape, sin.shape, S, dh, x.shape)
	}
	x = x.ToFloat32(c)
	cs, sn := cos.Detach().ToFloat32(nil).data32(), sin.Detach().ToFloat32(nil).data32()
	out := c.empty(x.shape)
	rows := x.Numel() / max(1, H*dh) // (leading·S) rows of H heads
	rotate(x.data32(), out.f32, cs, sn, rows, S, H, dh, false)
	if c.record(x) {
		c.link(out, op, []*Tensor{x}, func(g *Tensor) {
			gx := New(x.shape...)
			rotate(g.ToFloat32(nil).data32(), gx.f32, cs, sn, rows, S, H, dh, true)
			c.accum(x, gx, true)
		})
	}
	return out
}

// rotate applies the rotation (transpose=false) or its transpose (the
// backward map) to rows of H heads of width dh; row r uses table row r mod S.
//
// Forward, with h = dh/2 and i < h:
//
//	y[i]   = x[i]·cos[i]     − x[i+h]·sin[i]
//	y[i+h] = x[i+h]·cos[i+h] + x[i]·sin[i+h]
//
// Transpose:
//
//	gx[i]   = g[i]·cos[i]     + g[i+h]·sin[i+h]
//	gx[i+h] = g[i+h]·cos[i+h] − g[i]·sin[i]
func rotate(src, dst, cs, sn []float32, rows, S, H, dh int, transpose bool) {
	h := dh / 2
	parallel.For(rows, rowGrain(H*dh), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := r % S
			c, n := cs[s*dh:(s+1)*dh], sn[s*dh:(s+1)*dh]
			c1, c2, n1, n2 := c[:h], c[h:], n[:h], n[h:]
			for hd := range H {
				base := (r*H + hd) * dh
				x1, x2 := src[base:base+h], src[base+h:base+dh]
				y1, y2 := dst[base:base+h], dst[base+h:base+dh]
				x2, y1, y2 = x2[:h], y1[:h], y2[:h]
				if !transpose {
					for i := range x1 {
						a, b := x1[i], x2[i]
						y1[i] = a*c1[i] - b*n1[i]
						y2[i] = b*c2[i] + a*n2[i]
					}
				} else {
					for i := range x1 {
						a, b := x1[i], x2[i]
						y1[i] = a*c1[i] + b*n2[i]
						y2[i] = b*c2[i] - a*n1[i]
					}
				}
			}
		}
	})
}
