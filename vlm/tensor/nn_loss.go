package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
	"github.com/vstgo/vst/vlm/tensor/internal/vmath"
)

// IgnoreIndex is the conventional ignore_index of CrossEntropy (PyTorch's
// default): targets equal to it contribute neither loss nor gradient.
const IgnoreIndex = -100

// CrossEntropy returns the mean negative log-likelihood of targets under
// softmax(logits), as PyTorch's F.cross_entropy with reduction="mean":
// logits have shape [..., V] and targets (Int32 or Int64, e.g.
// FromInt32(ids, n)) the leading shape [...] (any shape with the same number
// of elements is accepted). Targets equal to ignoreIndex are skipped and the
// mean is over the others; when all are ignored the loss is 0 (not NaN) and
// so is its gradient. A target outside [0, V) other than ignoreIndex is an
// error. The log-softmax is computed per row with the maximum subtracted;
// memory kept for the backward pass is one float per row. Differentiable in
// logits.
func CrossEntropy(c *Ctx, logits, targets *Tensor, ignoreIndex int) *Tensor {
	const op = "cross_entropy"
	rows, v := lastAxis(op, logits)
	if targets.dtype != Int32 && targets.dtype != Int64 {
		failf(op, "targets are %s, not I32 or I64", targets.dtype)
	}
	if v == 0 {
		failf(op, "logits %v have no classes", logits.shape)
	}
	if targets.Numel() != rows {
		failf(op, "targets %v do not match logits %v", targets.shape, logits.shape)
	}
	tg := targets.Int64s()
	V := logits.shape[len(logits.shape)-1]
	count := 0
	for i, t := range tg {
		if t == int64(ignoreIndex) {
			continue
		}
		if t < 0 || t >= int64(V) {
			failf(op, "target %d at row %d out of range for %d classes (logits %v)", t, i, V, logits.shape)
		}
		count++
	}
	logits = logits.ToFloat32(c)
	xs := logits.data32()
	lse := make([]float32, rows)
	nll := make([]float64, rows)
	parallel.For(rows, rowGrain(v), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			t := tg[r]
			if t == int64(ignoreIndex) {
				continue
			}
			xr := xs[r*v : (r+1)*v]
			lse[r] = rowLogSumExp(xr)
			nll[r] = float64(lse[r]) - float64(xr[t])
		}
	})
	var total float64
	for _, l := range nll {
		total += l
	}
	out := c.empty(nil)
	out.f32[0] = 0
	if count > 0 {
		out.f32[0] = float32(total / float64(count))
	}
	if c.record(logits) {
		c.link(out, op, []*Tensor{logits}, func(g *Tensor) {
			gx := New(logits.shape...)
			if count == 0 {
				c.accum(logits, gx, true)
				return
			}
			scale := g.Item() / float32(count)
			parallel.For(rows, rowGrain(v), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					t := tg[r]
					if t == int64(ignoreIndex) {
						continue
					}
					xr, dst := xs[r*v:(r+1)*v], gx.f32[r*v:(r+1)*v]
					l := lse[r]
					vmath.ExpShifted(dst, xr, l)
					for i := range dst {
						dst[i] *= scale
					}
					dst[t] -= scale
				}
			})
			c.accum(logits, gx, true)
		})
	}
	return out
}

// pairLoss checks that pred and target have the same shape and returns them
// as contiguous float32.
func pairLoss(c *Ctx, op string, pred, target *Tensor) (*Tensor, *Tensor) {
	if !SameShape(pred, target) {
		failf(op, "prediction %v and target %v differ in shape", pred.shape, target.shape)
	}
	if pred.Numel() == 0 {
		failf(op, "empty input %v", pred.shape)
	}
	return pred.ToFloat32(c), target.ToFloat32(c)
}

// L1Loss returns mean(|pred − target|) over all elements (PyTorch's
// l1_loss, reduction="mean"; subgradient 0 where they are equal). The shapes
// must match. Differentiable in both.
func L1Loss(c *Ctx, pred, target *Tensor) *Tensor {
	return pointLoss(c, "l1_loss", pred, target, false)
}

// MSELoss returns mean((pred − target)²) over all elements (PyTorch's
// mse_loss, reduction="mean"). The shapes must match. Differentiable in
// both.
func MSELoss(c *Ctx, pred, target *Tensor) *Tensor {
	return pointLoss(c, "mse_loss", pred, target, true)
}

func pointLoss(c *Ctx, op string, pred, target *Tensor, squared bool) *Tensor {
	pred, target = pairLoss(c, op, pred, target)
	ps, ts := pred.data32(), target.data32()
	n := len(ps)
	nc := parallel.Chunks(n, grain)
	parts := make([]float64, nc)
	parallel.ForChunks(nc, func(ci int) {
		lo, hi := parallel.Range(n, nc, ci)
		var s float64
		for i := lo; i < hi; i++ {
			d := float64(ps[i]) - float64(ts[i])
			if squared {
				s += d * d
			} else {
				s += math.Abs(d)
			}
		}
		parts[ci] = s
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	out := c.empty(nil)
	out.f32[0] = float32(total / float64(n))
	if c.record(pred, target) {
		c.link(out, op, []*Tensor{pred, target}, func(g *Tensor) {
			k := g.Item() / float32(n)
			gp := New(pred.shape...)
			parallel.For(n, grain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					d := ps[i] - ts[i]
					if squared {
						gp.f32[i] = 2 * k * d
					} else {
						switch {
						case d > 0:
							gp.f32[i] = k
						case d < 0:
							gp.f32[i] = -k
						}
					}
				}
			})
			if target.requiresGrad {
				c.accum(target, Scale(nil, gp, -1), true)
			}
			c.accum(pred, gp, true)
		})
	}
	return out
}
