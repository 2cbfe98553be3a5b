package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/gemm"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
	"github.com/vstgo/vst/vlm/tensor/internal/vmath"
)

// AttnOptions configures Attention.
type AttnOptions struct {
	// Scale multiplies the scores q·k. It defaults to 1/sqrt(Dh).
	Scale float32
	// Causal masks keys after the query. Without CuSeqlens the queries are
	// the last S of the T keys (a KV cache holding T−S earlier tokens):
	// query i sits at absolute position T−S+i and sees keys 0..T−S+i.
	// With CuSeqlens the mask applies within each segment. It defaults to
	// false (full attention).
	Causal bool
	// CuSeqlens, when set, splits the sequence into independent segments
	// (block-diagonal attention, as flash-attn's varlen cu_seqlens): the
	// rows [CuSeqlens[i], CuSeqlens[i+1]) of q attend only to the same rows
	// of k and v. It requires S == T and must start at 0, end at S and not
	// decrease (empty segments are allowed). Qwen2.5-VL's vision tower uses
	// it for windowed attention and per-image full attention; training also
	// uses it to pack several samples into one sequence. It defaults to nil:
	// one segment.
	CuSeqlens []int
}

// attnBlock is the number of query rows processed together; the score
// scratch of one worker is attnBlock × T floats.
const attnBlock = 64

// attnSeg is one independent segment: its query and key rows.
type attnSeg struct {
	q0, q1 int // query rows
	k0, k1 int // key rows
	off    int // causal offset: query row q0+i sees keys < k0 + i + 1 + off
}

// Attention computes scaled dot-product attention softmax(scale·q·kᵀ + mask)·v
// for one sequence:
//
//	q [S, Hq, Dh], k and v [T, Hkv, Dh] → out [S, Hq, Dh]
//
// (the layout of a projection output reshaped to heads; no transposes are
// needed). Hq must be a multiple of Hkv (grouped-query attention: query
// head h uses key/value head h/(Hq/Hkv), as HF's repeat_kv, without
// materialising the repetition). There is no batch axis: batches are
// packed along S with opts.CuSeqlens, or attended one sequence at a time.
// Inputs of any float dtype are converted to float32.
//
// The kernel works per (segment, head, block of 64 query rows) in parallel:
// scores = q·kᵀ by GEMM on the strided head views, a row softmax over only
// the unmasked prefix, then P·v by GEMM into the output. Rows whose keys are
// all masked cannot occur (causal requires T ≥ S).
//
// Differentiable in q, k and v. Memory: the forward pass keeps only the
// row log-sum-exps (Hq·S floats) besides its inputs and output; the
// backward pass recomputes the probabilities block by block (as
// FlashAttention), and, when Hq > Hkv, needs 2·Hq·T·Dh floats of per-head
// partial key/value gradients that it sums over each group.
func Attention(c *Ctx, q, k, v *Tensor, opts AttnOptions) *Tensor {
	const op = "attention"
	if len(q.shape) != 3 || len(k.shape) != 3 || !SameShape(k, v) {
		failf(op, "need q [S, Hq, Dh] and k, v [T, Hkv, Dh]; got q %v, k %v, v %v", q.shape, k.shape, v.shape)
	}
	S, Hq, dh := q.shape[0], q.shape[1], q.shape[2]
	T, Hkv := k.shape[0], k.shape[1]
	if k.shape[2] != dh || Hkv == 0 || Hq%Hkv != 0 {
		failf(op, "q %v and k %v: head dims must match and Hq be a multiple of Hkv", q.shape, k.shape)
	}
	segs := attnSegments(op, S, T, opts, q.shape, k.shape)
	scale := opts.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(dh)))
	}
	q, k, v = q.ToFloat32(c), k.ToFloat32(c), v.ToFloat32(c)
	out := c.empty(q.shape)
	rec := c.record(q, k, v)
	var lse []float32
	if rec {
		lse = make([]float32, Hq*S)
	}
	g := attnGeom{S: S, T: T, Hq: Hq, Hkv: Hkv, dh: dh, scale: scale, causal: opts.Causal}
	g.forward(c, q.data32(), k.data32(), v.data32(), out.f32, lse, segs)
	if rec {
		c.link(out, op, []*Tensor{q, k, v}, func(gr *Tensor) {
			dq, dk, dv := g.backward(q.data32(), k.data32(), v.data32(), out.f32, lse,
				gr.ToFloat32(nil).data32(), segs)
			c.accum(q, FromFloat32(dq, q.shape...), true)
			if k.requiresGrad {
				c.accum(k, FromFloat32(dk, k.shape...), true)
			}
			if v.requiresGrad {
				c.accum(v, FromFloat32(dv, v.shape...), true)
			}
		})
	}
	return out
}

// attnSegments validates the segment layout and returns the segments.
func attnSegments(op string, S, T int, opts AttnOptions, qs, ks []int) []attnSeg {
	if opts.CuSeqlens == nil {
		if opts.Causal && S > T {
			failf(op, "causal attention needs at least as many keys as queries: q %v, k %v", qs, ks)
		}
		return []attnSeg{{q0: 0, q1: S, k0: 0, k1: T, off: T - S}}
	}
	cu := opts.CuSeqlens
	if S != T {
		failf(op, "cu_seqlens needs as many keys as queries: q %v, k %v", qs, ks)
	}
	if len(cu) < 2 || cu[0] != 0 || cu[len(cu)-1] != S {
		failf(op, "cu_seqlens %v must start at 0 and end at %d (q %v)", cu, S, qs)
	}
	var segs []attnSeg
	for i := range len(cu) - 1 {
		a, b := cu[i], cu[i+1]
		if b < a {
			failf(op, "cu_seqlens %v decreases", cu)
		}
		if b > a {
			segs = append(segs, attnSeg{q0: a, q1: b, k0: a, k1: b})
		}
	}
	return segs
}

// attnGeom holds the sizes of one attention call.
type attnGeom struct {
	S, T, Hq, Hkv, dh int
	scale             float32
	causal            bool
}

// keys returns, for query row i of segment sg, the number of keys it sees
// counted from sg.k0.
func (g *attnGeom) keys(sg *attnSeg, i int) int {
	n := sg.k1 - sg.k0
	if g.causal {
		n = min(n, i-sg.q0+1+sg.off)
	}
	return n
}

// attnWork is one task: head h, query rows [q0, q1) of segment seg.
type attnWork struct {
	seg, h, q0, q1 int
}

func (g *attnGeom) forward(c *Ctx, q, k, v, out, lse []float32, segs []attnSeg) {
	var work []attnWork
	for si, sg := range segs {
		for h := range g.Hq {
			for q0 := sg.q0; q0 < sg.q1; q0 += attnBlock {
				work = append(work, attnWork{si, h, q0, min(q0+attnBlock, sg.q1)})
			}
		}
	}
	if len(work) == 0 {
		return
	}
	nc := parallel.Chunks(len(work), 1)
	maxKeys := 0
	for _, sg := range segs {
		maxKeys = max(maxKeys, sg.k1-sg.k0)
	}
	per := attnBlock * maxKeys
	scratch := c.empty([]int{nc * per})
	ldq, ldk := g.Hq*g.dh, g.Hkv*g.dh
	group := g.Hq / g.Hkv
	parallel.ForChunks(nc, func(ci int) {
		p := scratch.f32[ci*per : (ci+1)*per]
		lo, hi := parallel.Range(len(work), nc, ci)
		for _, w := range work[lo:hi] {
			sg := &segs[w.seg]
			m := w.q1 - w.q0
			n := g.keys(sg, w.q1-1) // keys seen by the last row: the widest
			kh := w.h / group
			qo, ko := w.q0*ldq+w.h*g.dh, sg.k0*ldk+kh*g.dh
			gemm.Gemm(m, n, g.dh, g.scale,
				gemm.Operand{F32: q[qo:], LD: ldq},
				gemm.Operand{F32: k[ko:], LD: ldk, Trans: true},
				0, p, n)
			for i := range m {
				row := p[i*n : (i+1)*n]
				lim := g.keys(sg, w.q0+i)
				l := softmaxRow(row[:lim], row[:lim])
				clear(row[lim:])
				if lse != nil {
					lse[w.h*g.S+w.q0+i] = l
				}
			}
			gemm.Gemm(m, g.dh, n, 1,
				gemm.Operand{F32: p, LD: n},
				gemm.Operand{F32: v[ko:], LD: ldk},
				0, out[qo:], ldq)
		}
	})
}

// backward returns the gradients of q, k and v given the upstream gradient
// gout of the output out.
func (g *attnGeom) backward(q, k, v, out, lse, gout []float32, segs []attnSeg) (dq, dk, dv []float32) {
	ldq, ldk := g.Hq*g.dh, g.Hkv*g.dh
	group := g.Hq / g.Hkv
	dq = make([]float32, len(q))
	dk, dv = make([]float32, len(k)), make([]float32, len(v))
	// Key/value gradients accumulate over the query heads of a group; with
	// groups, each query head gets a private [T, Dh] partial summed after.
	pk, pv, ldp := dk, dv, ldk
	partialAt := func(h, t int) int { return t*ldk + h*g.dh }
	if group > 1 {
		pk, pv, ldp = make([]float32, g.Hq*g.T*g.dh), make([]float32, g.Hq*g.T*g.dh), g.dh
		partialAt = func(h, t int) int { return (h*g.T + t) * g.dh }
	}
	type task struct{ seg, h int }
	var work []task
	for si := range segs {
		for h := range g.Hq {
			work = append(work, task{si, h})
		}
	}
	maxKeys := 0
	for _, sg := range segs {
		maxKeys = max(maxKeys, sg.k1-sg.k0)
	}
	nc := parallel.Chunks(len(work), 1)
	parallel.ForChunks(nc, func(ci int) {
		per := attnBlock * maxKeys
		p, dp := make([]float32, per), make([]float32, per)
		di := make([]float32, attnBlock)
		lo, hi := parallel.Range(len(work), nc, ci)
		for _, w := range work[lo:hi] {
			sg := &segs[w.seg]
			kh := w.h / group
			ko := sg.k0*ldk + kh*g.dh
			po := partialAt(w.h, sg.k0)
			for q0 := sg.q0; q0 < sg.q1; q0 += attnBlock {
				q1 := min(q0+attnBlock, sg.q1)
				m := q1 - q0
				n := g.keys(sg, q1-1)
				qo := q0*ldq + w.h*g.dh
				// P = exp(scale·q·kᵀ − lse) on the unmasked prefix, 0 after.
				gemm.Gemm(m, n, g.dh, g.scale,
					gemm.Operand{F32: q[qo:], LD: ldq},
					gemm.Operand{F32: k[ko:], LD: ldk, Trans: true},
					0, p, n)
				for i := range m {
					row := p[i*n : (i+1)*n]
					lim := g.keys(sg, q0+i)
					l := lse[w.h*g.S+q0+i]
					vmath.ExpShifted(row[:lim], row[:lim], l)
					clear(row[lim:])
					r := (q0+i)*ldq + w.h*g.dh
					di[i] = dot32(gout[r:r+g.dh], out[r:r+g.dh])
				}
				// dV += Pᵀ·dO
				gemm.Gemm(n, g.dh, m, 1,
					gemm.Operand{F32: p, LD: n, Trans: true},
					gemm.Operand{F32: gout[qo:], LD: ldq},
					1, pv[po:], ldp)
				// dP = dO·vᵀ; dS = P∘(dP − D)
				gemm.Gemm(m, n, g.dh, 1,
					gemm.Operand{F32: gout[qo:], LD: ldq},
					gemm.Operand{F32: v[ko:], LD: ldk, Trans: true},
					0, dp, n)
				for i := range m {
					pr, dr := p[i*n:(i+1)*n], dp[i*n:(i+1)*n]
					d := di[i]
					for j := range dr {
						dr[j] = pr[j] * (dr[j] - d)
					}
				}
				// dQ = scale·dS·k ; dK += scale·dSᵀ·q
				gemm.Gemm(m, g.dh, n, g.scale,
					gemm.Operand{F32: dp, LD: n},
					gemm.Operand{F32: k[ko:], LD: ldk},
					0, dq[qo:], ldq)
				gemm.Gemm(n, g.dh, m, g.scale,
					gemm.Operand{F32: dp, LD: n, Trans: true},
					gemm.Operand{F32: q[qo:], LD: ldq},
					1, pk[po:], ldp)
			}
		}
	})
	if group > 1 {
		parallel.For(g.T, rowGrain(ldk), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				for h := range g.Hq {
					kh := h / group
					dst := t*ldk + kh*g.dh
					src := partialAt(h, t)
					addRow(dk[dst:dst+g.dh], pk[src:src+g.dh])
					addRow(dv[dst:dst+g.dh], pv[src:src+g.dh])
				}
			}
		})
	}
	return dq, dk, dv
}

// addRow adds src into dst (equal lengths), serially.
func addRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// KVCache holds the keys and values of past tokens for incremental
// decoding: per layer, preallocated [MaxT, Hkv, Dh] float32 buffers and the
// number of rows filled. It is not differentiable and not safe for
// concurrent use.
type KVCache struct {
	layers       []KVLayer
	maxT, hkv, d int
}

// KVLayer is the cache of one decoder layer.
type KVLayer struct {
	k, v         []float32
	t            int
	maxT, hkv, d int
}

// NewKVCache allocates a cache for the given number of layers, each holding
// up to maxT positions of hkv heads of width headDim.
func NewKVCache(layers, maxT, hkv, headDim int) *KVCache {
	if layers < 0 || maxT < 0 || hkv <= 0 || headDim <= 0 {
		failf("kv_cache", "bad sizes: %d layers, maxT %d, %d heads of %d", layers, maxT, hkv, headDim)
	}
	kc := &KVCache{layers: make([]KVLayer, layers), maxT: maxT, hkv: hkv, d: headDim}
	n := numel("kv_cache", []int{maxT, hkv, headDim})
	for i := range kc.layers {
		kc.layers[i] = KVLayer{k: make([]float32, n), v: make([]float32, n), maxT: maxT, hkv: hkv, d: headDim}
	}
	return kc
}

// Layer returns the cache of layer i.
func (kc *KVCache) Layer(i int) *KVLayer {
	if i < 0 || i >= len(kc.layers) {
		failf("kv_cache", "layer %d out of range for %d layers", i, len(kc.layers))
	}
	return &kc.layers[i]
}

// Layers is the number of layers.
func (kc *KVCache) Layers() int { return len(kc.layers) }

// Len is the number of positions cached (that of layer 0; all layers agree
// after a full forward step).
func (kc *KVCache) Len() int {
	if len(kc.layers) == 0 {
		return 0
	}
	return kc.layers[0].t
}

// MaxLen is the capacity in positions.
func (kc *KVCache) MaxLen() int { return kc.maxT }

// Reset empties every layer (the buffers are kept).
func (kc *KVCache) Reset() { kc.Truncate(0) }

// Truncate drops cached positions beyond t in every layer (t ≥ the current
// length is a no-op).
func (kc *KVCache) Truncate(t int) {
	if t < 0 {
		failf("kv_cache", "negative length %d", t)
	}
	for i := range kc.layers {
		kc.layers[i].t = min(kc.layers[i].t, t)
	}
}

// Len is the number of positions cached in this layer.
func (l *KVLayer) Len() int { return l.t }

// Append copies k and v ([s, Hkv, Dh], any float dtype; their values only,
// no gradient) after the cached positions and returns views of all
// positions so far, [T, Hkv, Dh] with T = Len(), ready for Attention with
// Causal set. The views share the cache's storage: they stay valid until the
// rows they cover are overwritten (after Truncate or Reset).
func (l *KVLayer) Append(k, v *Tensor) (K, V *Tensor) {
	const op = "kv_cache"
	if len(k.shape) != 3 || !SameShape(k, v) || k.shape[1] != l.hkv || k.shape[2] != l.d {
		failf(op, "k %v and v %v must be [s, %d, %d]", k.shape, v.shape, l.hkv, l.d)
	}
	s := k.shape[0]
	if l.t+s > l.maxT {
		failf(op, "appending %d positions to %d exceeds the capacity %d", s, l.t, l.maxT)
	}
	row := l.hkv * l.d
	FromFloat32(l.k[l.t*row:(l.t+s)*row], s, l.hkv, l.d).CopyFrom(k.Detach())
	FromFloat32(l.v[l.t*row:(l.t+s)*row], s, l.hkv, l.d).CopyFrom(v.Detach())
	l.t += s
	return l.View()
}

// View returns the cached keys and values, [Len(), Hkv, Dh] views sharing
// the cache's storage.
func (l *KVLayer) View() (K, V *Tensor) {
	n := l.t * l.hkv * l.d
	return FromFloat32(l.k[:n:n], l.t, l.hkv, l.d), FromFloat32(l.v[:n:n], l.t, l.hkv, l.d)
}
