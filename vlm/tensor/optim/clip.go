package optim

import (
	"fmt"
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// gradBlocks splits the gradients of params into fixed-size blocks. The
// blocks, and so any per-block reduction, do not depend on the thread count.
func gradBlocks(params []Param) ([][]float32, []gradBlock, error) {
	grads := make([][]float32, len(params))
	var blocks []gradBlock
	for i, p := range params {
		g, err := gradOf(p)
		if err != nil {
			return nil, nil, err
		}
		grads[i] = g
		for lo := 0; lo < len(g); lo += blockSize {
			blocks = append(blocks, gradBlock{i, lo, min(lo+blockSize, len(g))})
		}
	}
	return grads, blocks, nil
}

type gradBlock struct{ param, lo, hi int }

// GradNorm returns the global L2 norm of the gradients of params (those
// without a gradient count as zero), accumulated in float64. It panics if
// a gradient's size does not match its parameter.
func GradNorm(params []Param) float64 {
	grads, blocks, err := gradBlocks(params)
	if err != nil {
		panic(err)
	}
	return gradNorm(grads, blocks)
}

func gradNorm(grads [][]float32, blocks []gradBlock) float64 {
	partial := make([]float64, len(blocks))
	parallel.For(len(blocks), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b := blocks[i]
			partial[i] = sumSquares(grads[b.param][b.lo:b.hi])
		}
	})
	var total float64
	for _, s := range partial {
		total += s
	}
	return math.Sqrt(total)
}

// sumSquares returns Σx² in float64 with four independent accumulators.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// ClipGradNorm scales the gradients of params in place so that their
// global L2 norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_:
// with total the norm before clipping, every gradient is multiplied by
// maxNorm/(total+1e-6) when that is below 1. It returns total, computed in
// float64. Parameters without a gradient are ignored. When total is NaN or
// infinite the gradients are left unchanged (PyTorch would fill them with
// NaN); check the returned value or use CheckFinite. It panics if a
// gradient's size does not match its parameter.
func ClipGradNorm(params []Param, maxNorm float64) (totalNorm float64) {
	grads, blocks, err := gradBlocks(params)
	if err != nil {
		panic(err)
	}
	total := gradNorm(grads, blocks)
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total
	}
	coef := maxNorm / (total + 1e-6)
	if coef >= 1 {
		return total
	}
	c := float32(coef)
	parallel.For(len(blocks), 1, func(lo, hi int) {
		for _, b := range blocks[lo:hi] {
			g := grads[b.param][b.lo:b.hi]
			for i := range g {
				g[i] *= c
			}
		}
	})
	return total
}

// NonFiniteError reports a NaN or infinite value found by CheckFinite.
type NonFiniteError struct {
	// Param is the name of the parameter.
	Param string
	// Grad is true when the value is in the gradient, false when it is in
	// the parameter itself.
	Grad bool
	// Index is the position of the first bad element (row-major).
	Index int
	// Value is the bad element.
	Value float32
}

func (e *NonFiniteError) Error() string {
	what := "value"
	if e.Grad {
		what = "gradient"
	}
	return fmt.Sprintf("optim: %s of parameter %q has %v at element %d", what, e.Param, e.Value, e.Index)
}

// CheckFinite returns a *NonFiniteError naming the first parameter (in the
// order given) whose gradient, or whose value, holds a NaN or an infinity,
// and nil when all are finite. Gradients are checked before values.
func CheckFinite(params []Param) error {
	grads, blocks, err := gradBlocks(params)
	if err != nil {
		return err
	}
	if e := firstNonFinite(params, grads, blocks, true); e != nil {
		return e
	}
	vals := make([][]float32, len(params))
	blocks = blocks[:0]
	for i, p := range params {
		vals[i] = p.T.Float32s()
		for lo := 0; lo < len(vals[i]); lo += blockSize {
			blocks = append(blocks, gradBlock{i, lo, min(lo+blockSize, len(vals[i]))})
		}
	}
	if e := firstNonFinite(params, vals, blocks, false); e != nil {
		return e
	}
	return nil
}

func firstNonFinite(params []Param, data [][]float32, blocks []gradBlock, grad bool) error {
	bad := make([]bool, len(blocks))
	parallel.For(len(blocks), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b := blocks[i]
			// x·0 is 0 for finite x and NaN for NaN and ±Inf.
			var acc float32
			for _, x := range data[b.param][b.lo:b.hi] {
				acc += x * 0
			}
			bad[i] = acc != 0 // NaN compares unequal too
		}
	})
	for i, isBad := range bad {
		if !isBad {
			continue
		}
		b := blocks[i]
		for j, x := range data[b.param][b.lo:b.hi] {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return &NonFiniteError{Param: params[b.param].Name, Grad: grad, Index: b.lo + j, Value: x}
			}
		}
	}
	return nil
}
