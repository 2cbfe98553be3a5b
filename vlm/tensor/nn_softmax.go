package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
	"github.com/vstgo/vst/vlm/tensor/internal/vmath"
)

// expChunk is the block of elements the elementwise operations pass to the
// vector exponential at a time, small enough to stay in L1 across the
// passes over it.
const expChunk = 1024

// softmaxRow writes softmax(x) into y (same length) with the maximum
// subtracted, and returns the log-sum-exp of x. An empty row returns -Inf.
func softmaxRow(x, y []float32) float32 {
	y = y[:len(x)]
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	m := rowMax(x)
	if math.IsInf(float64(m), -1) { // every entry -Inf: uniform is undefined, emit 0
		clear(y)
		return m
	}
	s := vmath.ExpShifted(y, x, m)
	inv := 1 / s
	for i := range y {
		y[i] *= inv
	}
	return m + float32(math.Log(float64(s)))
}

// Softmax returns the softmax of x over its last axis, computed with the row
// maximum subtracted. Differentiable.
func Softmax(c *Ctx, x *Tensor) *Tensor {
	const op = "softmax"
	rows, d := lastAxis(op, x)
	x = x.ToFloat32(c)
	out := c.empty(x.shape)
	xs, ys := x.data32(), out.f32
	parallel.For(rows, rowGrain(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(xs[r*d:(r+1)*d], ys[r*d:(r+1)*d])
		}
	})
	if c.record(x) {
		c.link(out, op, []*Tensor{x}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			gx := New(x.shape...)
			parallel.For(rows, rowGrain(d), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					yr, gr := ys[r*d:(r+1)*d], gd[r*d:(r+1)*d]
					s := dot32(yr, gr)
					dst := gx.f32[r*d : (r+1)*d]
					for i := range dst {
						dst[i] = yr[i] * (gr[i] - s)
					}
				}
			})
			c.accum(x, gx, true)
		})
	}
	return out
}

// LogSoftmax returns log(softmax(x)) over the last axis, computed as
// x − max − log Σ exp(x − max). Differentiable.
func LogSoftmax(c *Ctx, x *Tensor) *Tensor {
	const op = "log_softmax"
	rows, d := lastAxis(op, x)
	x = x.ToFloat32(c)
	out := c.empty(x.shape)
	xs, ys := x.data32(), out.f32
	parallel.For(rows, rowGrain(d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xs[r*d:(r+1)*d], ys[r*d:(r+1)*d]
			m, ls := rowMaxLogSum(xr)
			for i, v := range xr {
				yr[i] = (v - m) - ls
			}
		}
	})
	if c.record(x) {
		c.link(out, op, []*Tensor{x}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			gx := New(x.shape...)
			parallel.For(rows, rowGrain(d), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					yr, gr := ys[r*d:(r+1)*d], gd[r*d:(r+1)*d]
					var s float32
					for _, v := range gr {
						s += v
					}
					dst := gx.f32[r*d : (r+1)*d]
					vmath.Exp(dst, yr)
					for i := range dst {
						dst[i] = gr[i] - dst[i]*s
					}
				}
			})
			c.accum(x, gx, true)
		})
	}
	return out
}

// rowLogSumExp returns log Σ exp(x) computed with the maximum subtracted.
func rowLogSumExp(x []float32) float32 {
	m, ls := rowMaxLogSum(x)
	return m + ls
}

// rowMaxLogSum returns m = max(x) and log Σ exp(x − m), so that the
// log-sum-exp is m + ls; keeping them apart preserves precision for
// log-probabilities near 0. An empty row or one with an infinite maximum
// returns (m, 0).
func rowMaxLogSum(x []float32) (m, ls float32) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), 0
	}
	m = rowMax(x)
	if math.IsInf(float64(m), 0) {
		return m, 0
	}
	return m, float32(math.Log(float64(vmath.ExpShifted(nil, x, m))))
}

// SwiGLU returns silu(gate)·up elementwise in one pass, the gated MLP
// activation of Qwen2.5-VL. gate and up must have the same shape.
// Differentiable in both.
func SwiGLU(c *Ctx, gate, up *Tensor) *Tensor {
	const op = "swiglu"
	if !SameShape(gate, up) {
		failf(op, "gate %v and up %v differ in shape", gate.shape, up.shape)
	}
	gate, up = gate.ToFloat32(c), up.ToFloat32(c)
	out := c.empty(gate.shape)
	gs, us, ys := gate.data32(), up.data32(), out.f32
	parallel.For(len(ys), grain/8, func(lo, hi int) {
		for c0 := lo; c0 < hi; c0 += expChunk {
			c1 := min(c0+expChunk, hi)
			e := expNeg(ys[c0:c1], gs[c0:c1])
			for i, x := range gs[c0:c1] {
				e[i] = x / (1 + e[i]) * us[c0+i]
			}
		}
	})
	if c.record(gate, up) {
		c.link(out, op, []*Tensor{gate, up}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			var gg, gu *Tensor
			if gate.requiresGrad {
				gg = New(gate.shape...)
			}
			if up.requiresGrad {
				gu = New(up.shape...)
			}
			scratch := gu // e^−gate goes into a gradient before it is written
			if gg != nil {
				scratch = gg
			}
			parallel.For(len(gd), grain/8, func(lo, hi int) {
				for c0 := lo; c0 < hi; c0 += expChunk {
					c1 := min(c0+expChunk, hi)
					e := expNeg(scratch.f32[c0:c1], gs[c0:c1])
					for i := c0; i < c1; i++ {
						x := gs[i]
						s := 1 / (1 + e[i-c0])
						if gg != nil {
							gg.f32[i] = gd[i] * us[i] * s * (1 + x*(1-s))
						}
						if gu != nil {
							gu.f32[i] = gd[i] * x * s
						}
					}
				}
			})
			if gg != nil {
				c.accum(gate, gg, true)
			}
			if gu != nil {
				c.accum(up, gu, true)
			}
		})
	}
	return out
}

// expNeg sets dst[i] = e^−src[i] for i < len(src) and returns
// dst[:len(src)].
func expNeg(dst, src []float32) []float32 {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = -x
	}
	vmath.Exp(dst, dst)
	return dst
}

// rowMax returns the largest element of a non-empty x (NaNs are skipped
// unless x[0] is NaN; they propagate through the exponentials anyway).
func rowMax(x []float32) float32 {
	m0, m1 := x[0], x[0]
	i := 1
	for ; i+2 <= len(x); i += 2 {
		if x[i] > m0 {
			m0 = x[i]
		}
		if x[i+1] > m1 {
			m1 = x[i+1]
		}
	}
	if i < len(x) && x[i] > m0 {
		m0 = x[i]
	}
	if m1 > m0 {
		return m1
	}
	return m0
}
