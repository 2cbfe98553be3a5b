package optim

import (
	"fmt"
	"math"
)

// AdamWConfig holds AdamW's hyperparameters. Zero fields take the defaults
// of torch.optim.AdamW.
type AdamWConfig struct {
	// LR is the learning rate when Schedule is nil. It defaults to 1e-3.
	LR float64
	// Schedule gives the learning rate of each step; group LRScale
	// multiplies it. It defaults to Constant(LR).
	Schedule Schedule
	// Beta1 is the decay rate of the first-moment average. It defaults to
	// 0.9.
	Beta1 float64
	// Beta2 is the decay rate of the second-moment average. It defaults to
	// 0.999.
	Beta2 float64
	// Eps is added to the denominator for stability. It defaults to 1e-8.
	Eps float64
	// WeightDecay is the decoupled weight decay coefficient: each step
	// multiplies a parameter by 1 - lr·WeightDecay before the Adam update.
	// It defaults to 0.01; NoDecay (any negative value) means 0. Groups may
	// override it.
	WeightDecay float64
}

func (c AdamWConfig) withDefaults() (AdamWConfig, error) {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Schedule == nil {
		c.Schedule = Constant(c.LR)
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	switch {
	case c.WeightDecay == 0:
		c.WeightDecay = 0.01
	case c.WeightDecay < 0:
		c.WeightDecay = 0
	}
	switch {
	case c.LR < 0:
		return c, fmt.Errorf("optim: adamw: negative learning rate %g", c.LR)
	case c.Beta1 < 0 || c.Beta1 >= 1:
		return c, fmt.Errorf("optim: adamw: beta1 %g is not in [0, 1)", c.Beta1)
	case c.Beta2 < 0 || c.Beta2 >= 1:
		return c, fmt.Errorf("optim: adamw: beta2 %g is not in [0, 1)", c.Beta2)
	case c.Eps < 0:
		return c, fmt.Errorf("optim: adamw: negative eps %g", c.Eps)
	}
	return c, nil
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), updating
// each parameter p with gradient g as torch.optim.AdamW does:
//
//	t += 1                        (per parameter)
//	p *= 1 - lr·wd
//	m  = β1·m + (1-β1)·g
//	v  = β2·v + (1-β2)·g²
//	p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
//
// State: m ("exp_avg") and v ("exp_avg_sq") per parameter, and its step t.
type AdamW struct {
	base
	cfg AdamWConfig
}

var _ Optimizer = (*AdamW)(nil)

// NewAdamW returns an AdamW optimizer over groups.
func NewAdamW(groups []Group, cfg AdamWConfig) (*AdamW, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	o := &AdamW{cfg: cfg}
	if err := o.init("adamw", []string{"exp_avg", "exp_avg_sq"}, cfg.Schedule, groups, cfg.WeightDecay, adamwKernel); err != nil {
		return nil, err
	}
	return o, nil
}

// Config returns the configuration with defaults filled in.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Step applies one AdamW update to every parameter that has a gradient.
func (o *AdamW) Step() error {
	if _, err := o.prepare(o.args); err != nil {
		return err
	}
	o.finish()
	return nil
}

func (o *AdamW) args(s *slot, lr, wd float64) {
	t := float64(s.step)
	bc1 := 1 - math.Pow(o.cfg.Beta1, t)
	bc2 := 1 - math.Pow(o.cfg.Beta2, t)
	s.k.a = float32(1 - lr*wd)        // decay factor
	s.k.b = float32(o.cfg.Beta1)      // β1
	s.k.c = float32(1 - o.cfg.Beta1)  // 1-β1
	s.k.d = float32(o.cfg.Beta2)      // β2
	s.k.e = float32(1 - o.cfg.Beta2)  // 1-β2
	s.k.f = float32(-lr / bc1)        // -step size
	s.k.bc2 = float32(math.Sqrt(bc2)) // sqrt of the second bias correction
	s.k.eps = float32(o.cfg.Eps)
}

// adamwKernel updates elements [lo, hi) of s. The operation order and
// rounding follow PyTorch's CPU kernels (whose add with alpha is a fused
// multiply-add), so that results agree with it to the last bit in most
// elements.
func adamwKernel(s *slot, lo, hi int) {
	p := s.p[lo:hi]
	g := s.g[lo:hi]
	m := s.buf[0][lo:hi]
	v := s.buf[1][lo:hi]
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	k := s.k
	decay, b1, c1, b2, c2, negStep, bc2, eps := k.a, k.b, k.c, k.d, k.e, k.f, k.bc2, k.eps
	for i := range p {
		gi := g[i]
		mi := fma32(c1, gi, m[i]*b1)
		vi := float32(v[i]*b2) + float32(float32(c2*gi)*gi)
		m[i], v[i] = mi, vi
		den := float32(float32(math.Sqrt(float64(vi)))/bc2) + eps
		p[i] = float32(p[i]*decay) + float32(negStep*mi)/den
	}
}
