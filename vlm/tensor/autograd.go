package tensor

import (
	"slices"
)

// node is the record of one differentiable operation: its inputs and the
// function that, given the gradient of its output, accumulates the gradients
// of the inputs.
type node struct {
	op       string
	inputs   []*Tensor
	backward func(g *Tensor)
}

// link attaches a backward step to out, marking it as requiring gradients.
func (c *Ctx) link(out *Tensor, op string, inputs []*Tensor, backward func(g *Tensor)) {
	out.requiresGrad = true
	out.node = &node{op: op, inputs: inputs, backward: backward}
}

// SetRequiresGrad marks t as a leaf whose gradient Backward computes
// (a trainable parameter) or unmarks it (frozen). It returns t.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if on && t.dtype != Float32 {
		failf("set_requires_grad", "only F32 tensors can require gradients, not %s", t.dtype)
	}
	t.requiresGrad = on
	return t
}

// RequiresGrad reports whether gradients flow to or through t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// Grad returns the accumulated gradient of a leaf after Backward, or nil.
func (t *Tensor) Grad() *Tensor { return t.grad }

// ZeroGrad drops the accumulated gradient.
func (t *Tensor) ZeroGrad() { t.grad = nil }

// SetGrad replaces the accumulated gradient (used by optimizers and
// gradient-exchange code). g must have t's shape.
func (t *Tensor) SetGrad(g *Tensor) {
	if g != nil && !SameShape(g, t) {
		failf("set_grad", "gradient %v does not match tensor %v", g.shape, t.shape)
	}
	t.grad = g
}

// Detach returns a view of t's data that is cut off from the graph.
func (t *Tensor) Detach() *Tensor {
	d := *t
	d.requiresGrad = false
	d.grad = nil
	d.node = nil
	return &d
}

// accum adds g into t.grad. owned says g was freshly allocated for this call
// and may be kept as is; otherwise it is copied before being stored.
func accum(t *Tensor, g *Tensor, owned bool) {
	if !t.requiresGrad {
		return
	}
	if !SameShape(t, g) {
		failf("backward", "gradient %v does not match tensor %v", g.shape, t.shape)
	}
	if t.grad == nil {
		if owned && g.IsContiguous() && g.dtype == Float32 {
			t.grad = g
		} else {
			t.grad = New(t.shape...)
			copy(t.grad.f32, g.Float32s())
		}
		return
	}
	addInto(t.grad.f32, g.Float32s())
}

// accum adds g into the gradient of t: into c's GradSink when t is a leaf
// and c has one, else into t.grad (see the package-level accum).
func (c *Ctx) accum(t *Tensor, g *Tensor, owned bool) {
	if c != nil && c.Grads != nil && t.node == nil && t.requiresGrad {
		c.Grads.add(t, g, owned)
		return
	}
	accum(t, g, owned)
}

// GradSink collects leaf gradients away from the leaves (see Ctx.Grads).
// One sink belongs to one goroutine at a time.
type GradSink struct {
	grads map[*Tensor]*Tensor
	order []*Tensor // leaves in the order their first gradient arrived
}

// NewGradSink returns an empty sink.
func NewGradSink() *GradSink { return &GradSink{grads: map[*Tensor]*Tensor{}} }

// add accumulates g into the sink's gradient of leaf t.
func (s *GradSink) add(t *Tensor, g *Tensor, owned bool) {
	if !SameShape(t, g) {
		failf("backward", "gradient %v does not match tensor %v", g.shape, t.shape)
	}
	cur, ok := s.grads[t]
	switch {
	case !ok && owned && g.IsContiguous() && g.dtype == Float32:
		s.grads[t] = g
	case !ok:
		cur = New(t.shape...)
		copy(cur.f32, g.Float32s())
		s.grads[t] = cur
	default:
		addInto(cur.f32, g.Float32s())
		return
	}
	s.order = append(s.order, t)
}

// Grad returns the sink's gradient of leaf t, or nil.
func (s *GradSink) Grad(t *Tensor) *Tensor { return s.grads[t] }

// Flush adds every gradient of the sink into its leaf's Grad, in the order
// the gradients first arrived (deterministic for a deterministic graph),
// and empties the sink.
func (s *GradSink) Flush() {
	for _, t := range s.order {
		accum(t, s.grads[t], true)
	}
	clear(s.grads)
	s.order = s.order[:0]
}

// Backward computes the gradients of loss with respect to every tensor that
// requires them and was used to compute it, accumulating into their Grad.
// loss must be a one-element tensor unless grad (its upstream gradient, same
// shape) is given. The graph is released afterwards: intermediate tensors
// lose their backward links and gradients, leaves keep theirs.
func Backward(loss *Tensor, grad *Tensor) (err error) {
	defer Recover(&err)
	if !loss.requiresGrad {
		failf("backward", "loss %v does not require gradients: no parameter took part", loss.shape)
	}
	if grad == nil {
		if loss.Numel() != 1 {
			failf("backward", "loss has shape %v; give an upstream gradient for a non-scalar", loss.shape)
		}
		grad = Full(nil, 1, loss.shape...)
	} else if !SameShape(grad, loss) {
		failf("backward", "upstream gradient %v does not match loss %v", grad.shape, loss.shape)
	}
	order := topoOrder(loss)
	accum(loss, grad, false)
	for _, t := range slices.Backward(order) {
		n := t.node
		g := t.grad
		t.node = nil
		t.grad = nil
		if g != nil {
			n.backward(g)
		}
		n.inputs = nil
	}
	return nil
}

// topoOrder lists the non-leaf tensors reachable from root, each after all
// the tensors it depends on.
func topoOrder(root *Tensor) []*Tensor {
	var order []*Tensor
	seen := map[*Tensor]bool{}
	type frame struct {
		t    *Tensor
		next int
	}
	stack := []frame{{t: root}}
	seen[root] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.t.node == nil || f.next == len(f.t.node.inputs) {
			if f.t.node != nil {
				order = append(order, f.t)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		in := f.t.node.inputs[f.next]
		f.next++
		if in != nil && in.requiresGrad && !seen[in] {
			seen[in] = true
			stack = append(stack, frame{t: in})
		}
	}
	return order
}
