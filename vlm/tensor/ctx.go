package tensor

// Ctx carries the per-computation settings every operation takes as its
// first argument. A nil *Ctx is valid and means: record gradients when an
// input requires them, allocate on the heap.
type Ctx struct {
	// NoGrad disables gradient recording (inference, RL rollouts).
	// It defaults to false.
	NoGrad bool
	// Arena, when set, supplies the memory of every tensor the operations
	// create, so that repeated computations of the same shapes reuse buffers.
	// It defaults to nil: heap allocation.
	Arena *Arena
	// Grads, when set, receives the gradients that Backward computes for
	// the leaves (trainable parameters) used by this Ctx's operations,
	// instead of the leaves' own Grad: several goroutines can then run
	// forward and backward passes through shared parameters at once, each
	// into its own GradSink, and merge them in a fixed order. It defaults
	// to nil: gradients accumulate into the leaves.
	Grads *GradSink
}

// Inference returns a Ctx for inference: no gradients, intermediates from a.
// a may be nil.
func Inference(a *Arena) *Ctx { return &Ctx{NoGrad: true, Arena: a} }

// record reports whether an operation on inputs must record a backward step.
func (c *Ctx) record(inputs ...*Tensor) bool {
	if c != nil && c.NoGrad {
		return false
	}
	for _, t := range inputs {
		if t != nil && t.requiresGrad {
			return true
		}
	}
	return false
}

// empty returns an uninitialised contiguous float32 tensor. Callers must
// write every element.
func (c *Ctx) empty(shape []int) *Tensor {
	n := numel("alloc", shape)
	if c != nil && c.Arena != nil {
		return c.Arena.tensor(shape, n)
	}
	t := wrap(Float32, shape)
	t.f32 = make([]float32, n)
	return t
}

// zeros returns a zero-filled contiguous float32 tensor.
func (c *Ctx) zeros(shape []int) *Tensor {
	t := c.empty(shape)
	if c != nil && c.Arena != nil {
		clear(t.f32)
	}
	return t
}

// Zeros returns a zero-filled float32 tensor allocated from c.
func Zeros(c *Ctx, shape ...int) *Tensor { return c.zeros(shape) }

// Full returns a float32 tensor allocated from c with every element v.
func Full(c *Ctx, v float32, shape ...int) *Tensor { return c.empty(shape).Fill(v) }

// Arena is a reusable pool of tensor buffers. Tensors allocated through a
// Ctx with an Arena stay valid until Reset; after Reset the next computation
// of the same shapes gets the same buffers back without allocating. An Arena
// is not safe for concurrent use.
type Arena struct {
	free  map[int][][]float32
	used  [][]float32
	hdrs  []Tensor
	nhdr  int
	fresh int
}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{free: map[int][][]float32{}} }

// tensor hands out a tensor header and a buffer of n floats (not zeroed).
func (a *Arena) tensor(shape []int, n int) *Tensor {
	var buf []float32
	if l := a.free[n]; len(l) > 0 {
		buf = l[len(l)-1]
		a.free[n] = l[:len(l)-1]
	} else {
		buf = make([]float32, n)
		a.fresh++
	}
	a.used = append(a.used, buf)
	if a.nhdr == len(a.hdrs) {
		// Grow by a new slab; headers already handed out stay where they are.
		a.hdrs = make([]Tensor, max(64, 2*len(a.hdrs)))
		a.nhdr = 0
	}
	t := &a.hdrs[a.nhdr]
	a.nhdr++
	st := t.stride[:0]
	sh := append(t.shape[:0], shape...)
	for range shape {
		st = append(st, 0)
	}
	s := 1
	for i := len(sh) - 1; i >= 0; i-- {
		st[i] = s
		s *= sh[i]
	}
	*t = Tensor{dtype: Float32, shape: sh, stride: st, f32: buf}
	return t
}

// Reset makes every buffer handed out since the last Reset available again.
// Tensors allocated from the arena before Reset must not be used after it.
func (a *Arena) Reset() {
	for _, b := range a.used {
		a.free[len(b)] = append(a.free[len(b)], b)
	}
	a.used = a.used[:0]
	a.nhdr = 0
}

// Fresh reports how many buffers the arena has had to allocate in total; in
// a steady state it stops growing.
func (a *Arena) Fresh() int { return a.fresh }
