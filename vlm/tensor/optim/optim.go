// Package optim holds the optimizers that train vst-go models on the CPU
// tensor engine: AdamW and SGD with parameter groups, learning-rate
// schedules, gradient clipping by global norm, a NaN/Inf check, and a
// versioned save/restore format for optimizer state.
//
// # Usage
//
// Parameters are named tensors that require gradients. A training step runs
// the forward pass, Backward, optional clipping and the optimizer step:
//
//	opt, err := optim.NewAdamW(optim.DecayGroups(params, 1), optim.AdamWConfig{
//		Schedule: optim.WarmupCosine{Peak: 3e-4, Warmup: 100, Total: 10000, MinRatio: 0.1},
//	})
//	for range steps {
//		loss := model.Loss(nil, batch)
//		if err := tensor.Backward(loss, nil); err != nil { ... }
//		if err := optim.CheckFinite(params); err != nil { ... skip or stop ... }
//		optim.ClipGradNorm(params, 1.0)
//		if err := opt.Step(); err != nil { ... }
//		opt.ZeroGrad()
//	}
//
// # Semantics
//
// The update rules are those of torch.optim.AdamW and torch.optim.SGD
// (single-tensor, non-fused implementation), computed in float32 with the
// step scalars (bias corrections, step sizes) computed in float64, so that
// trajectories agree with PyTorch to float32 rounding. A parameter whose
// gradient is nil is skipped entirely, as PyTorch does: its state, including
// AdamW's per-parameter step count, does not advance.
//
// The k-th call to Step (counting from 0) uses the learning rate
// Schedule.LR(k), times its group's LRScale. This is the convention of a
// torch LambdaLR scheduler stepped after each optimizer step, and of the
// Hugging Face schedules.
//
// # Performance
//
// Step is one fused pass over each parameter's float32 storage, split into
// fixed-size blocks run on the engine's worker pool. The result does not
// depend on the number of threads. Optimizer state is allocated when a
// parameter first receives a gradient; later steps allocate nothing in this
// package.
package optim

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step() error
	// ZeroGrad drops the gradients of all parameters.
	ZeroGrad()
	// Steps is the number of Step calls made so far (restored by Load).
	Steps() int
	// LR is the scheduled learning rate the next Step uses, before group
	// scaling.
	LR() float64
	// Params lists the parameters in group order.
	Params() []Param
	// Save writes the optimizer state (see the Save methods for the format).
	Save(w io.Writer) error
	// Load restores state written by Save.
	Load(r io.Reader) error
}

// Param is a named trainable tensor. Names identify optimizer state in saved
// files and in error messages; they must be unique within an optimizer.
type Param struct {
	Name string
	T    *tensor.Tensor
}

// NoDecay, as a weight decay, means none: Group.WeightDecay and
// AdamWConfig.WeightDecay treat 0 as "use the default".
const NoDecay = -1.0

// Group is a set of parameters sharing hyperparameters.
type Group struct {
	// Name labels the group in saved state. It defaults to "group<i>".
	Name string
	// Params are the group's parameters.
	Params []Param
	// LRScale multiplies the scheduled learning rate for this group (for
	// example 0.1 for a pretrained vision tower). It defaults to 1.
	LRScale float64
	// WeightDecay overrides the optimizer's weight decay for this group.
	// It defaults to the optimizer's; NoDecay (any negative value) means 0,
	// as wanted for norms and biases.
	WeightDecay float64
}

// DecayGroups splits params into two groups with the given LRScale: one
// with the optimizer's weight decay for tensors of two or more dimensions
// (matrices, embeddings, convolutions), and one without decay for vectors
// and scalars (biases, norm weights). Empty groups are left out.
func DecayGroups(params []Param, lrScale float64) []Group {
	var decay, plain []Param
	for _, p := range params {
		if p.T.Dims() >= 2 {
			decay = append(decay, p)
		} else {
			plain = append(plain, p)
		}
	}
	var gs []Group
	if len(decay) > 0 {
		gs = append(gs, Group{Name: "decay", Params: decay, LRScale: lrScale})
	}
	if len(plain) > 0 {
		gs = append(gs, Group{Name: "no_decay", Params: plain, LRScale: lrScale, WeightDecay: NoDecay})
	}
	return gs
}

// blockSize is the number of elements in one unit of parallel work.
const blockSize = 1 << 15

// group is a Group resolved against the optimizer defaults.
type group struct {
	name        string
	lrScale     float64
	weightDecay float64
}

// slot is the per-parameter state shared by the optimizers.
type slot struct {
	Param
	group int
	shape []int
	n     int
	// step counts the updates this parameter has received.
	step int
	// buf holds the optimizer's per-element state (AdamW: m, v; SGD:
	// the momentum buffer), nil until the first update.
	buf [][]float32
	// Per-step values, set before the parallel pass.
	p, g []float32
	k    kernelArgs
}

// kernelArgs are the scalars of one parameter's update.
type kernelArgs struct {
	a, b, c, d, e, f, bc2, eps float32
	first                      bool
}

// block is one unit of parallel work: elements [lo, hi) of a slot.
type block struct {
	s      *slot
	lo, hi int
}

// base holds what AdamW and SGD share: the parameter registry, the schedule
// and the block list of the current step.
type base struct {
	kind    string
	nbuf    int
	bufName []string
	sched   Schedule
	groups  []group
	slots   []*slot
	byName  map[string]*slot
	steps   int
	blocks  []block
	nchunk  int
	run     func(chunk int) // the parallel body, built once
	kernel  func(s *slot, lo, hi int)
}

func (o *base) init(kind string, bufNames []string, sched Schedule, groups []Group, defaultWD float64, kernel func(*slot, int, int)) error {
	o.kind, o.bufName, o.nbuf, o.sched, o.kernel = kind, bufNames, len(bufNames), sched, kernel
	o.byName = map[string]*slot{}
	seen := map[*tensor.Tensor]string{}
	for gi, g := range groups {
		gr := group{name: g.Name, lrScale: g.LRScale, weightDecay: g.WeightDecay}
		if gr.name == "" {
			gr.name = fmt.Sprintf("group%d", gi)
		}
		switch {
		case gr.lrScale == 0:
			gr.lrScale = 1
		case gr.lrScale < 0:
			return fmt.Errorf("optim: group %q: negative LRScale %g", gr.name, gr.lrScale)
		}
		switch {
		case gr.weightDecay == 0:
			gr.weightDecay = defaultWD
		case gr.weightDecay < 0:
			gr.weightDecay = 0
		}
		o.groups = append(o.groups, gr)
		for _, p := range g.Params {
			if err := checkParam(p); err != nil {
				return err
			}
			if _, dup := o.byName[p.Name]; dup {
				return fmt.Errorf("optim: duplicate parameter name %q", p.Name)
			}
			if other, dup := seen[p.T]; dup {
				return fmt.Errorf("optim: parameters %q and %q are the same tensor", other, p.Name)
			}
			seen[p.T] = p.Name
			s := &slot{Param: p, group: gi, shape: slices.Clone(p.T.Shape()), n: p.T.Numel()}
			o.slots = append(o.slots, s)
			o.byName[p.Name] = s
		}
	}
	if len(o.slots) == 0 {
		return errors.New("optim: no parameters")
	}
	o.run = func(chunk int) {
		lo, hi := parallel.Range(len(o.blocks), o.nchunk, chunk)
		for _, b := range o.blocks[lo:hi] {
			o.kernel(b.s, b.lo, b.hi)
		}
	}
	return nil
}

func checkParam(p Param) error {
	switch {
	case p.Name == "":
		return errors.New("optim: parameter with an empty name")
	case p.T == nil:
		return fmt.Errorf("optim: parameter %q is nil", p.Name)
	case p.T.DType() != tensor.Float32:
		return fmt.Errorf("optim: parameter %q is %s, not F32", p.Name, p.T.DType())
	case !p.T.IsContiguous():
		return fmt.Errorf("optim: parameter %q is not contiguous", p.Name)
	case !p.T.RequiresGrad():
		return fmt.Errorf("optim: parameter %q does not require gradients", p.Name)
	}
	return nil
}

// gradOf returns the contiguous float32 gradient of p, or nil. A gradient
// stored as a non-contiguous view is replaced by a contiguous copy first, so
// that in-place changes reach it.
func gradOf(p Param) ([]float32, error) {
	g := p.T.Grad()
	if g == nil {
		return nil, nil
	}
	if g.Numel() != p.T.Numel() {
		return nil, fmt.Errorf("optim: gradient of %q has shape %v, parameter has %v", p.Name, g.Shape(), p.T.Shape())
	}
	if g.DType() != tensor.Float32 || !g.IsContiguous() {
		g = g.ToFloat32(tensor.Inference(nil)).Clone(tensor.Inference(nil))
		p.T.SetGrad(g)
	}
	return g.Float32s(), nil
}

// prepare collects the parameters that have gradients for this step,
// allocating their state on first use, and calls args to set each one's
// kernel scalars. It returns the scheduled learning rate.
func (o *base) prepare(args func(s *slot, lr, wd float64)) (float64, error) {
	lr := o.sched.LR(o.steps)
	if lr < 0 || lr != lr {
		return 0, fmt.Errorf("optim: schedule gave learning rate %g at step %d", lr, o.steps)
	}
	// Validate every gradient before changing any state.
	for _, s := range o.slots {
		g, err := gradOf(s.Param)
		if err != nil {
			for _, s := range o.slots {
				s.g = nil
			}
			return 0, err
		}
		s.g = g
	}
	o.blocks = o.blocks[:0]
	for _, s := range o.slots {
		if s.g == nil {
			continue
		}
		s.p = s.T.Float32s()
		if s.buf == nil && o.nbuf > 0 {
			s.buf = make([][]float32, o.nbuf)
			for i := range s.buf {
				s.buf[i] = make([]float32, s.n)
			}
			s.k.first = true
		}
		s.step++
		gr := o.groups[s.group]
		args(s, lr*gr.lrScale, gr.weightDecay)
		for lo := 0; lo < s.n; lo += blockSize {
			o.blocks = append(o.blocks, block{s: s, lo: lo, hi: min(lo+blockSize, s.n)})
		}
	}
	return lr, nil
}

// finish runs the kernels over the prepared blocks and advances the step.
func (o *base) finish() {
	o.nchunk = parallel.Chunks(len(o.blocks), 1)
	parallel.ForChunks(o.nchunk, o.run)
	for _, s := range o.slots {
		if s.g != nil {
			s.k.first = false
			s.g, s.p = nil, nil
		}
	}
	o.steps++
}

// ZeroGrad drops the gradients of all parameters.
func (o *base) ZeroGrad() {
	for _, s := range o.slots {
		s.T.ZeroGrad()
	}
}

// Steps is the number of Step calls made so far.
func (o *base) Steps() int { return o.steps }

// LR is the scheduled learning rate of the next Step, before group scaling.
func (o *base) LR() float64 { return o.sched.LR(o.steps) }

// Params lists the parameters in group order.
func (o *base) Params() []Param {
	ps := make([]Param, len(o.slots))
	for i, s := range o.slots {
		ps[i] = s.Param
	}
	return ps
}
