package optim

import "fmt"

// SGDConfig holds SGD's hyperparameters. Zero fields take the defaults of
// torch.optim.SGD.
type SGDConfig struct {
	// LR is the learning rate when Schedule is nil. It defaults to 1e-3.
	LR float64
	// Schedule gives the learning rate of each step; group LRScale
	// multiplies it. It defaults to Constant(LR).
	Schedule Schedule
	// Momentum is the momentum factor. It defaults to 0 (plain SGD, no
	// state).
	Momentum float64
	// Dampening scales down the gradient's contribution to the momentum
	// buffer: buf = Momentum·buf + (1-Dampening)·g. It defaults to 0.
	Dampening float64
	// WeightDecay is the L2 penalty added to the gradient: g += wd·p.
	// It defaults to 0. Groups may override it.
	WeightDecay float64
	// Nesterov enables Nesterov momentum (needs Momentum > 0 and zero
	// Dampening). It defaults to false.
	Nesterov bool
}

func (c SGDConfig) withDefaults() (SGDConfig, error) {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Schedule == nil {
		c.Schedule = Constant(c.LR)
	}
	if c.WeightDecay < 0 {
		c.WeightDecay = 0
	}
	switch {
	case c.LR < 0:
		return c, fmt.Errorf("optim: sgd: negative learning rate %g", c.LR)
	case c.Momentum < 0:
		return c, fmt.Errorf("optim: sgd: negative momentum %g", c.Momentum)
	case c.Nesterov && (c.Momentum == 0 || c.Dampening != 0):
		return c, fmt.Errorf("optim: sgd: Nesterov momentum needs a positive momentum and zero dampening (have %g, %g)", c.Momentum, c.Dampening)
	}
	return c, nil
}

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and L2 weight decay, updating each parameter p with
// gradient g as torch.optim.SGD does:
//
//	d = g + wd·p
//	buf = d                              (first step)
//	buf = μ·buf + (1-dampening)·d        (later steps)
//	d = d + μ·buf  (Nesterov)  or  d = buf
//	p -= lr·d
//
// State: the momentum buffer ("momentum_buffer") per parameter when
// Momentum is not 0.
type SGD struct {
	base
	cfg SGDConfig
}

var _ Optimizer = (*SGD)(nil)

// NewSGD returns an SGD optimizer over groups.
func NewSGD(groups []Group, cfg SGDConfig) (*SGD, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	o := &SGD{cfg: cfg}
	var bufs []string
	if cfg.Momentum != 0 {
		bufs = []string{"momentum_buffer"}
	}
	if err := o.init("sgd", bufs, cfg.Schedule, groups, cfg.WeightDecay, sgdKernel); err != nil {
		return nil, err
	}
	return o, nil
}

// Config returns the configuration with defaults filled in.
func (o *SGD) Config() SGDConfig { return o.cfg }

// Step applies one SGD update to every parameter that has a gradient.
func (o *SGD) Step() error {
	if _, err := o.prepare(o.args); err != nil {
		return err
	}
	o.finish()
	return nil
}

func (o *SGD) args(s *slot, lr, wd float64) {
	s.k.a = float32(wd)
	s.k.b = float32(o.cfg.Momentum)
	s.k.c = float32(1 - o.cfg.Dampening)
	s.k.f = float32(-lr)
	s.k.e = 0
	if o.cfg.Nesterov {
		s.k.e = 1
	}
}

// sgdKernel updates elements [lo, hi) of s. Like PyTorch's CPU kernels for
// add with alpha, the multiply-adds round once (fma32).
func sgdKernel(s *slot, lo, hi int) {
	p := s.p[lo:hi]
	g := s.g[lo:hi]
	g = g[:len(p)]
	k := s.k
	wd, mom, damp, negLR := k.a, k.b, k.c, k.f
	if s.buf == nil {
		for i := range p {
			d := g[i]
			if wd != 0 {
				d = fma32(wd, p[i], d)
			}
			p[i] = fma32(negLR, d, p[i])
		}
		return
	}
	buf := s.buf[0][lo:hi]
	buf = buf[:len(p)]
	nesterov := k.e != 0
	for i := range p {
		d := g[i]
		if wd != 0 {
			d = fma32(wd, p[i], d)
		}
		b := d
		if !k.first {
			b = fma32(damp, d, buf[i]*mom)
		}
		buf[i] = b
		if nesterov {
			d = fma32(mom, b, d)
		} else {
			d = b
		}
		p[i] = fma32(negLR, d, p[i])
	}
}

// fma32 returns a·b + c rounded once to float32 (up to a double rounding
// that is exact except for ties about once in 2^29): the float64 product of
// two float32 values is exact.
func fma32(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}
