package tensor

import "slices"

// view returns a tensor sharing t's storage with a new shape, strides and
// offset.
func (t *Tensor) view(shape, stride []int, off int) *Tensor {
	v := *t
	v.shape, v.stride, v.off = shape, stride, off
	v.grad, v.node, v.requiresGrad = nil, nil, false
	return &v
}

// Reshape returns t with a new shape of the same number of elements; one
// dimension may be -1 and is inferred. It is a view when t is contiguous and
// a copy otherwise. Differentiable.
func Reshape(c *Ctx, t *Tensor, shape ...int) *Tensor {
	shape = slices.Clone(shape)
	infer, n := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			failf("reshape", "bad target shape %v for %v", shape, t.shape)
		default:
			n *= d
		}
	}
	if infer >= 0 {
		if n == 0 || t.Numel()%n != 0 {
			failf("reshape", "cannot infer -1 in %v for %v", shape, t.shape)
		}
		shape[infer] = t.Numel() / n
		n *= shape[infer]
	}
	if n != t.Numel() {
		failf("reshape", "shape %v (%d elements) does not match %v (%d elements)", shape, n, t.shape, t.Numel())
	}
	src := t
	if !t.IsContiguous() {
		src = t.ToFloat32(c)
	}
	out := src.view(shape, contiguousStrides(shape), src.off)
	if c.record(src) {
		in := src
		c.link(out, "reshape", []*Tensor{src}, func(g *Tensor) {
			c.accum(in, g.view(in.shape, contiguousStrides(in.shape), g.off), false)
		})
	}
	return out
}

// Permute reorders the axes: output axis i is input axis perm[i]. A view.
// Differentiable.
func Permute(c *Ctx, t *Tensor, perm ...int) *Tensor {
	if len(perm) != len(t.shape) {
		failf("permute", "permutation %v for shape %v", perm, t.shape)
	}
	seen := make([]bool, len(perm))
	shape, stride := make([]int, len(perm)), make([]int, len(perm))
	inv := make([]int, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			failf("permute", "permutation %v is not valid for shape %v", perm, t.shape)
		}
		seen[p] = true
		shape[i], stride[i] = t.shape[p], t.stride[p]
		inv[p] = i
	}
	out := t.view(shape, stride, t.off)
	if c.record(t) {
		c.link(out, "permute", []*Tensor{t}, func(g *Tensor) {
			c.accum(t, Permute(nil, g, inv...), false)
		})
	}
	return out
}

// Transpose swaps axes a and b (negative counts from the end). A view.
// Differentiable.
func Transpose(c *Ctx, t *Tensor, a, b int) *Tensor {
	a, b = t.axis("transpose", a), t.axis("transpose", b)
	perm := make([]int, len(t.shape))
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = perm[b], perm[a]
	return Permute(c, t, perm...)
}

// Narrow returns the slice [start, start+length) of axis dim. A view.
// Differentiable.
func Narrow(c *Ctx, t *Tensor, dim, start, length int) *Tensor {
	dim = t.axis("narrow", dim)
	if start < 0 || length < 0 || start+length > t.shape[dim] {
		failf("narrow", "range [%d, %d) out of bounds for axis %d of %v", start, start+length, dim, t.shape)
	}
	shape := slices.Clone(t.shape)
	shape[dim] = length
	out := t.view(shape, slices.Clone(t.stride), t.off+start*t.stride[dim])
	if c.record(t) {
		c.link(out, "narrow", []*Tensor{t}, func(g *Tensor) {
			full := New(t.shape...)
			full.view(shape, full.stride, start*full.stride[dim]).CopyFrom(g)
			c.accum(t, full, true)
		})
	}
	return out
}

// Select returns index i of axis dim, with that axis removed. A view.
// Differentiable.
func Select(c *Ctx, t *Tensor, dim, i int) *Tensor {
	dim = t.axis("select", dim)
	n := Narrow(c, t, dim, i, 1)
	shape := slices.Delete(slices.Clone(n.shape), dim, dim+1)
	return Reshape(c, n, shape...)
}

// Unsqueeze inserts an axis of size 1 at position dim (0..Dims()).
// Differentiable.
func Unsqueeze(c *Ctx, t *Tensor, dim int) *Tensor {
	if dim < 0 {
		dim += len(t.shape) + 1
	}
	if dim < 0 || dim > len(t.shape) {
		failf("unsqueeze", "axis %d out of range for %v", dim, t.shape)
	}
	shape := slices.Insert(slices.Clone(t.shape), dim, 1)
	return Reshape(c, t, shape...)
}

// Contiguous returns t if it is dense row-major float32, else a dense copy.
// Differentiable.
func Contiguous(c *Ctx, t *Tensor) *Tensor { return t.ToFloat32(c) }
