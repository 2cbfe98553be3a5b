package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// lastAxis checks that x has at least one axis and returns (rows, width) of
// its view as a matrix over the last axis.
func lastAxis(op string, x *Tensor) (rows, d int) {
	if len(x.shape) == 0 {
		failf(op, "needs at least one axis, got shape %v", x.shape)
	}
	d = x.shape[len(x.shape)-1]
	if d == 0 {
		return 0, 0
	}
	return x.Numel() / d, d
}

// rowGrain returns the number of rows of width d worth one parallel chunk.
func rowGrain(d int) int { return max(1, grain/8/max(d, 1)) }

// vectorParam converts an optional per-feature parameter (weight or bias)
// and checks its shape is [d].
func vectorParam(c *Ctx, op, what string, p *Tensor, x *Tensor, d int) *Tensor {
	if p == nil {
		return nil
	}
	if len(p.shape) != 1 || p.shape[0] != d {
		failf(op, "%s %v does not match the last axis of input %v", what, p.shape, x.shape)
	}
	return p.ToFloat32(c)
}

// reduceRows runs fn over [0, rows) in parallel chunks; fn accumulates into
// the per-chunk partial of width d it is given. The partials are then
// summed in chunk order (deterministic) into a new [d] tensor.
func reduceRows(rows, d int, fn func(lo, hi int, part []float32)) *Tensor {
	nc := parallel.Chunks(rows, rowGrain(d))
	parts := make([]float32, nc*d)
	parallel.ForChunks(nc, func(ci int) {
		lo, hi := parallel.Range(rows, nc, ci)
		fn(lo, hi, parts[ci*d:(ci+1)*d])
	})
	out := New(d)
	for ci := range nc {
		addInto(out.f32, parts[ci*d:(ci+1)*d])
	}
	return out
}

// RMSNorm normalises x over its last axis by the root mean square and scales
// by w: y = x / sqrt(mean(x²) + eps) · w, computed in float32 as in
// Qwen2RMSNorm. w has shape [D] (D the last axis of x) and may be nil for no
// scaling; it may be stored as BF16/F16. Differentiable in x and w.
func RMSNorm(c *Ctx, x, w *Tensor, eps float32) *Tensor {
	const op = "rms_norm"
	rows, d := lastAxis(op, x)
	x = x.ToFloat32(c)
	w = vectorParam(c, op, "weight", w, x, x.shape[len(x.shape)-1])
	out := c.empty(x.shape)
	xs, ys := x.data32(), out.f32
	var wd []float32
	if w != nil {
		wd = w.data32()
	}
	rec := c.record(x, w)
	var rstd []float32 // kept for the backward pass
	if rec {
		rstd = make([]float32, rows)
	}
	parallel.For(rows, rowGrain(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xs[r*d:(r+1)*d], ys[r*d:(r+1)*d]
			ss := dot32(xr, xr)
			inv := float32(1 / math.Sqrt(float64(ss/float32(d)+eps)))
			if rstd != nil {
				rstd[r] = inv
			}
			if wd != nil {
				wr := wd[:d]
				for i, v := range xr {
					yr[i] = v * inv * wr[i]
				}
			} else {
				for i, v := range xr {
					yr[i] = v * inv
				}
			}
		}
	})
	if rec {
		c.link(out, op, []*Tensor{x, w}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			if x.requiresGrad {
				gx := New(x.shape...)
				parallel.For(rows, rowGrain(d), func(lo, hi int) {
					gw := make([]float32, d)
					for r := lo; r < hi; r++ {
						xr, gr := xs[r*d:(r+1)*d], gd[r*d:(r+1)*d]
						if wd != nil {
							for i := range gw {
								gw[i] = gr[i] * wd[i]
							}
						} else {
							copy(gw, gr)
						}
						inv := rstd[r]
						// dx = r·gw − x·r³·(gw·x)/D
						k := inv * inv * inv * dot32(gw, xr) / float32(d)
						dst := gx.f32[r*d : (r+1)*d]
						for i := range dst {
							dst[i] = inv*gw[i] - k*xr[i]
						}
					}
				})
				c.accum(x, gx, true)
			}
			if w != nil && w.requiresGrad {
				c.accum(w, reduceRows(rows, d, func(lo, hi int, part []float32) {
					for r := lo; r < hi; r++ {
						xr, gr := xs[r*d:(r+1)*d], gd[r*d:(r+1)*d]
						inv := rstd[r]
						for i := range part {
							part[i] += gr[i] * xr[i] * inv
						}
					}
				}), true)
			}
		})
	}
	return out
}

// LayerNorm normalises x over its last axis to zero mean and unit variance
// (biased variance, as PyTorch) and applies y = x̂·w + b. w and b have shape
// [D] and may each be nil (no affine part). Statistics are computed in
// float64 per row. Differentiable in x, w and b.
func LayerNorm(c *Ctx, x, w, b *Tensor, eps float32) *Tensor {
	const op = "layer_norm"
	rows, d := lastAxis(op, x)
	x = x.ToFloat32(c)
	D := x.shape[len(x.shape)-1]
	w = vectorParam(c, op, "weight", w, x, D)
	b = vectorParam(c, op, "bias", b, x, D)
	out := c.empty(x.shape)
	xs, ys := x.data32(), out.f32
	var wd, bd []float32
	if w != nil {
		wd = w.data32()
	}
	if b != nil {
		bd = b.data32()
	}
	rec := c.record(x, w, b)
	var mean, rstd []float32
	if rec {
		mean, rstd = make([]float32, rows), make([]float32, rows)
	}
	parallel.For(rows, rowGrain(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xs[r*d:(r+1)*d], ys[r*d:(r+1)*d]
			var s float64
			for _, v := range xr {
				s += float64(v)
			}
			mu := s / float64(d)
			var q float64
			for _, v := range xr {
				dv := float64(v) - mu
				q += dv * dv
			}
			inv := float32(1 / math.Sqrt(q/float64(d)+float64(eps)))
			m := float32(mu)
			if rec {
				mean[r], rstd[r] = m, inv
			}
			for i, v := range xr {
				y := (v - m) * inv
				if wd != nil {
					y *= wd[i]
				}
				if bd != nil {
					y += bd[i]
				}
				yr[i] = y
			}
		}
	})
	if rec {
		c.link(out, op, []*Tensor{x, w, b}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			if x.requiresGrad {
				gx := New(x.shape...)
				parallel.For(rows, rowGrain(d), func(lo, hi int) {
					gh := make([]float32, d)
					for r := lo; r < hi; r++ {
						xr, gr := xs[r*d:(r+1)*d], gd[r*d:(r+1)*d]
						m, inv := mean[r], rstd[r]
						// dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·w
						var sg, sgx float32
						for i, gv := range gr {
							if wd != nil {
								gv *= wd[i]
							}
							gh[i] = gv
							sg += gv
							sgx += gv * (xr[i] - m) * inv
						}
						sg /= float32(d)
						sgx /= float32(d)
						dst := gx.f32[r*d : (r+1)*d]
						for i := range dst {
							dst[i] = inv * (gh[i] - sg - (xr[i]-m)*inv*sgx)
						}
					}
				})
				c.accum(x, gx, true)
			}
			if w != nil && w.requiresGrad {
				c.accum(w, reduceRows(rows, d, func(lo, hi int, part []float32) {
					for r := lo; r < hi; r++ {
						xr, gr := xs[r*d:(r+1)*d], gd[r*d:(r+1)*d]
						m, inv := mean[r], rstd[r]
						for i := range part {
							part[i] += gr[i] * (xr[i] - m) * inv
						}
					}
				}), true)
			}
			if b != nil && b.requiresGrad {
				c.accum(b, reduceRows(rows, d, func(lo, hi int, part []float32) {
					for r := lo; r < hi; r++ {
						for i, v := range gd[r*d : (r+1)*d] {
							part[i] += v
						}
					}
				}), true)
			}
		})
	}
	return out
}
