package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GradCheckConfig tunes GradCheck.
type GradCheckConfig struct {
	// Eps is the finite-difference step. It defaults to 1e-2: with float32
	// forward passes, rounding noise in the difference quotient is about
	// 1e-7·|loss|/Eps while the truncation error of central differences is
	// about Eps²·f'''/6, and 1e-2 balances the two for inputs of order 1.
	Eps float64
	// ATol and RTol bound |analytic − numeric| ≤ ATol + RTol·|numeric|.
	// They default to 2e-3 and 2e-2, which the two error terms above stay
	// well inside for smooth functions.
	ATol, RTol float64
	// MaxPerInput caps how many elements of each input are perturbed,
	// chosen at random when the input is larger. It defaults to 64.
	MaxPerInput int
	// Seed seeds the random projection of the output and the element
	// choice. It defaults to 1.
	Seed uint64
}

// GradCheck verifies the gradients of f at inputs against central finite
// differences. The scalar checked is Σ f(x)·w for a fixed random w of f's
// output shape, so every output element matters. Inputs must be float32;
// they are cloned, not modified. It returns an error naming the first input
// and element that disagree.
func GradCheck(f func(c *Ctx, in []*Tensor) *Tensor, inputs []*Tensor, cfg GradCheckConfig) (err error) {
	defer Recover(&err)
	if cfg.Eps == 0 {
		cfg.Eps = 1e-2
	}
	if cfg.ATol == 0 {
		cfg.ATol = 2e-3
	}
	if cfg.RTol == 0 {
		cfg.RTol = 2e-2
	}
	if cfg.MaxPerInput == 0 {
		cfg.MaxPerInput = 64
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	xs := make([]*Tensor, len(inputs))
	for i, in := range inputs {
		xs[i] = in.Detach().Clone(nil).SetRequiresGrad(true)
	}
	out := f(nil, xs)
	w := New(out.shape...)
	for i := range w.f32 {
		w.f32[i] = float32(rng.NormFloat64())
	}
	if err := Backward(Sum(nil, Mul(nil, out, w)), nil); err != nil {
		return err
	}
	project := func() float64 {
		o := f(Inference(nil), xs).Float32s()
		var s float64
		for i, v := range o {
			s += float64(v) * float64(w.f32[i])
		}
		return s
	}
	for i, x := range xs {
		data := x.data32()
		idx := rng.Perm(len(data))
		if len(idx) > cfg.MaxPerInput {
			idx = idx[:cfg.MaxPerInput]
		}
		for _, j := range idx {
			orig := data[j]
			data[j] = orig + float32(cfg.Eps)
			up := project()
			data[j] = orig - float32(cfg.Eps)
			down := project()
			data[j] = orig
			step := float64(orig+float32(cfg.Eps)) - float64(orig-float32(cfg.Eps))
			num := (up - down) / step
			var ana float64
			if x.grad != nil {
				ana = float64(x.grad.f32[j])
			}
			if math.IsNaN(ana) || math.Abs(ana-num) > cfg.ATol+cfg.RTol*math.Abs(num) {
				return fmt.Errorf("gradcheck: input %d %v element %d: analytic %.6g, numeric %.6g", i, x.shape, j, ana, num)
			}
		}
	}
	return nil
}

// Randn returns a float32 tensor of standard normal samples from rng.
func Randn(rng *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.f32 {
		t.f32[i] = float32(rng.NormFloat64())
	}
	return t
}

// Uniform returns a float32 tensor of samples uniform in [lo, hi) from rng.
func Uniform(rng *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.f32 {
		t.f32[i] = lo + (hi-lo)*rng.Float32()
	}
	return t
}
