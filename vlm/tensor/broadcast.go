package tensor

import "slices"

// broadcastShape returns the shape two operands broadcast to (NumPy rules).
func broadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			failf(op, "shapes %v and %v cannot be broadcast together", a, b)
		}
	}
	return out
}

// broadcastStrides returns t's strides aligned to outShape, with 0 for axes
// that t broadcasts along.
func broadcastStrides(t *Tensor, outShape []int) []int {
	st := make([]int, len(outShape))
	k := len(outShape) - len(t.shape)
	for i := range t.shape {
		if t.shape[i] != 1 {
			st[k+i] = t.stride[i]
		}
	}
	return st
}

// forEachRow walks every index of shape except the last axis and calls fn
// with the starting offsets of each operand (given their strides) and the
// length of the last axis. offs is reused between calls.
func forEachRow(shape []int, base []int, strides [][]int, fn func(offs []int, n int)) {
	nd := len(shape)
	offs := slices.Clone(base)
	if nd == 0 {
		fn(offs, 1)
		return
	}
	for _, d := range shape {
		if d == 0 {
			return
		}
	}
	rows := 1
	for _, d := range shape[:nd-1] {
		rows *= d
	}
	idx := make([]int, nd)
	for range rows {
		fn(offs, shape[nd-1])
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += strides[k][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for k := range offs {
				offs[k] -= idx[d] * strides[k][d]
			}
			idx[d] = 0
		}
	}
}

// sumTo reduces g (a gradient of broadcast shape) to shape by summing over
// the broadcast axes. It returns g itself when no reduction is needed.
func sumTo(g *Tensor, shape []int) *Tensor {
	if slices.Equal(g.shape, shape) {
		return g
	}
	out := New(shape...)
	gst := broadcastStrides(out, g.shape) // out's strides aligned to g, 0 on reduced axes
	gc := g.ToFloat32(nil)
	src := gc.data32()
	forEachRow(g.shape, []int{0, 0}, [][]int{gc.stride, gst}, func(offs []int, n int) {
		s, d := src[offs[0]:offs[0]+n], offs[1]
		if ds := gst[len(gst)-1]; ds == 0 {
			var acc float32
			for _, v := range s {
				acc += v
			}
			out.f32[d] += acc
		} else {
			dst := out.f32[d : d+n]
			for i, v := range s {
				dst[i] += v
			}
		}
	})
	return out
}
