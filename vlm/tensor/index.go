package tensor

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vstgo/vst/vlm/tensor/half"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// This file holds indexing operations (embedding lookup, concatenation and
// splitting, gather/scatter) and the non-differentiable selection helpers
// used by decoding (ArgMax, TopK, SampleLogits).

// indexValues returns the elements of an integer tensor as ints, in
// row-major order.
func indexValues(op string, idx *Tensor) []int {
	if idx == nil {
		failf(op, "index is nil")
	}
	if idx.dtype != Int32 && idx.dtype != Int64 {
		failf(op, "index %v is %s, not I32 or I64", idx.shape, idx.dtype)
	}
	out := make([]int, 0, idx.Numel())
	idx.eachIndex(func(off int) {
		if idx.dtype == Int64 {
			out = append(out, int(idx.i64[off]))
		} else {
			out = append(out, int(idx.i32[off]))
		}
	})
	return out
}

// Embedding looks up rows of table [V, D] (F32, BF16 or F16) for the ids of
// an I32/I64 tensor of any shape, returning [ids..., D] in float32. An id
// outside [0, V) is an error naming it. Differentiable for an F32 table that
// requires gradients: the backward pass scatter-adds into its rows.
func Embedding(c *Ctx, table, ids *Tensor) *Tensor {
	const op = "embedding"
	floatInput(op, "table", table)
	if table.Dims() != 2 {
		failf(op, "table must be [V, D], got %v", table.shape)
	}
	v, d := table.shape[0], table.shape[1]
	rows := indexValues(op, ids)
	for _, id := range rows {
		if id < 0 || id >= v {
			failf(op, "id %d out of range for table %v with %d rows", id, table.shape, v)
		}
	}
	if table.stride[1] != 1 && d > 1 {
		table = table.ToFloat32(c)
	}
	out := c.empty(append(slices.Clone(ids.shape), d))
	dst := out.f32
	rs := table.stride[0]
	parallel.For(len(rows), max(1, grain/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o := table.off + rows[i]*rs
			row := dst[i*d : (i+1)*d]
			switch table.dtype {
			case Float32:
				copy(row, table.f32[o:o+d])
			case BFloat16:
				half.BF16ToFloat32s(row, table.u16[o:o+d])
			default:
				half.F16ToFloat32s(row, table.u16[o:o+d])
			}
		}
	})
	if c.record(table) {
		c.link(out, op, []*Tensor{table}, func(g *Tensor) {
			gt := New(v, d)
			addRows(gt.f32, g.ToFloat32(nil).data32(), rows, d)
			c.accum(table, gt, true)
		})
	}
	return out
}

// addRows adds row i of src (len(rows)×d) into row rows[i] of dst, in
// parallel over column ranges so that repeated rows never race.
func addRows(dst, src []float32, rows []int, d int) {
	if d == 0 {
		return
	}
	parallel.For(d, max(64, d/parallel.Workers()), func(lo, hi int) {
		for i, r := range rows {
			dr := dst[r*d+lo : r*d+hi]
			for j, x := range src[i*d+lo : i*d+hi] {
				dr[j] += x
			}
		}
	})
}

// Concat joins tensors along axis dim; all must have the same number of
// dimensions and equal sizes on every other axis. The result is float32.
// Differentiable.
func Concat(c *Ctx, dim int, ts ...*Tensor) *Tensor {
	const op = "concat"
	if len(ts) == 0 {
		failf(op, "no tensors")
	}
	first := ts[0]
	dim = first.axis(op, dim)
	shape := slices.Clone(first.shape)
	shape[dim] = 0
	for _, t := range ts {
		floatInput(op, "input", t)
		ok := t.Dims() == first.Dims()
		for i := 0; ok && i < t.Dims(); i++ {
			ok = i == dim || t.shape[i] == first.shape[i]
		}
		if !ok {
			failf(op, "shapes %v and %v differ outside axis %d", first.shape, t.shape, dim)
		}
		shape[dim] += t.shape[dim]
	}
	ins := make([]*Tensor, len(ts))
	for i, t := range ts {
		ins[i] = t.ToFloat32(c)
	}
	out := c.empty(shape)
	outer, total, inner := splitAxis(shape, dim)
	pos := 0
	for _, t := range ins {
		w := t.shape[dim] * inner
		src := t.data32()
		dst := out.f32
		p := pos
		parallel.For(outer, max(1, grain/max(w, 1)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				copy(dst[o*total*inner+p:o*total*inner+p+w], src[o*w:(o+1)*w])
			}
		})
		pos += w
	}
	if c.record(ins...) {
		c.link(out, op, ins, func(g *Tensor) {
			start := 0
			for _, t := range ins {
				n := t.shape[dim]
				if t.requiresGrad {
					sh := slices.Clone(g.shape)
					sh[dim] = n
					c.accum(t, g.view(sh, slices.Clone(g.stride), g.off+start*g.stride[dim]), false)
				}
				start += n
			}
		})
	}
	return out
}

// Split cuts t along axis dim into consecutive pieces of the given sizes,
// which must add up to the axis length. The pieces are views.
// Differentiable.
func Split(c *Ctx, t *Tensor, dim int, sizes ...int) []*Tensor {
	dim = t.axis("split", dim)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			failf("split", "negative size in %v", sizes)
		}
		total += s
	}
	if len(sizes) == 0 || total != t.shape[dim] {
		failf("split", "sizes %v do not add up to axis %d of %v", sizes, dim, t.shape)
	}
	out := make([]*Tensor, len(sizes))
	start := 0
	for i, s := range sizes {
		out[i] = Narrow(c, t, dim, start, s)
		start += s
	}
	return out
}

// Stack joins tensors of identical shape along a new axis dim
// (0..Dims()). Differentiable.
func Stack(c *Ctx, dim int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		failf("stack", "no tensors")
	}
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !SameShape(t, ts[0]) {
			failf("stack", "shapes %v and %v differ", ts[0].shape, t.shape)
		}
		us[i] = Unsqueeze(c, t, dim)
	}
	return Concat(c, dim, us...)
}

// gatherOffsets checks index against t for torch.gather/scatter semantics
// along dim (index no larger than t outside dim, entries in range along
// it) and returns, for every element of index in row-major order, the
// offset into a contiguous tensor of shape tshape, and the offset into a
// contiguous tensor of shape srcShape (same position as the index element).
func gatherOffsets(op string, tshape []int, dim int, index *Tensor, srcShape []int) (toff, soff []int) {
	vals := indexValues(op, index)
	if len(index.shape) != len(tshape) {
		failf(op, "index %v and input %v differ in rank", index.shape, tshape)
	}
	for i, d := range index.shape {
		if (i != dim && d > tshape[i]) || d > srcShape[i] {
			failf(op, "index %v is larger than input %v outside axis %d", index.shape, tshape, dim)
		}
	}
	tst, sst := contiguousStrides(tshape), contiguousStrides(srcShape)
	toff, soff = make([]int, len(vals)), make([]int, len(vals))
	nd := len(index.shape)
	pos := make([]int, nd)
	for p, v := range vals {
		if v < 0 || v >= tshape[dim] {
			failf(op, "index %d out of range for axis %d of %v", v, dim, tshape)
		}
		to, so := 0, 0
		for a := range nd {
			so += pos[a] * sst[a]
			if a == dim {
				to += v * tst[a]
			} else {
				to += pos[a] * tst[a]
			}
		}
		toff[p], soff[p] = to, so
		for a := nd - 1; a >= 0; a-- {
			pos[a]++
			if pos[a] < index.shape[a] {
				break
			}
			pos[a] = 0
		}
	}
	return toff, soff
}

// Gather returns out[i][j][k] = t[i][index[i][j][k]][k] (for dim 1), as
// torch.gather: index is I32/I64 with t's rank, no larger than t outside
// dim, and the result has index's shape. Differentiable for t.
func Gather(c *Ctx, t *Tensor, dim int, index *Tensor) *Tensor {
	floatInput("gather", "input", t)
	dim = t.axis("gather", dim)
	toff, _ := gatherOffsets("gather", t.shape, dim, index, index.shape)
	t = t.ToFloat32(c)
	out := c.empty(index.shape)
	src := t.data32()
	for p, o := range toff {
		out.f32[p] = src[o]
	}
	if c.record(t) {
		c.link(out, "gather", []*Tensor{t}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			gt := New(t.shape...)
			for p, o := range toff {
				gt.f32[o] += gd[p]
			}
			c.accum(t, gt, true)
		})
	}
	return out
}

// ScatterAdd returns a copy of t with src[i][j][k] added at
// [i][index[i][j][k]][k] (for dim 1), as torch.scatter_add: index has t's
// rank and is no larger than src, nor than t outside dim; only the part of
// src that index covers is used. Differentiable for t and src.
func ScatterAdd(c *Ctx, t *Tensor, dim int, index, src *Tensor) *Tensor {
	floatInput("scatter_add", "input", t)
	floatInput("scatter_add", "src", src)
	dim = t.axis("scatter_add", dim)
	if src.Dims() != t.Dims() {
		failf("scatter_add", "src %v and input %v differ in rank", src.shape, t.shape)
	}
	toff, soff := gatherOffsets("scatter_add", t.shape, dim, index, src.shape)
	t, src = t.ToFloat32(c), src.ToFloat32(c)
	out := c.empty(t.shape)
	copy(out.f32, t.data32())
	sd := src.data32()
	for p, o := range toff {
		out.f32[o] += sd[soff[p]]
	}
	if c.record(t, src) {
		c.link(out, "scatter_add", []*Tensor{t, src}, func(g *Tensor) {
			c.accum(t, g, false)
			if src.requiresGrad {
				gd := g.ToFloat32(nil).data32()
				gs := New(src.shape...)
				for p, o := range toff {
					gs.f32[soff[p]] = gd[o]
				}
				c.accum(src, gs, true)
			}
		})
	}
	return out
}

// IndexSelect picks entries idx (a 1-D I32/I64 tensor, repeats allowed)
// along axis dim: the result has t's shape with that axis of length
// len(idx). Differentiable for t.
func IndexSelect(c *Ctx, t *Tensor, dim int, idx *Tensor) *Tensor {
	const op = "index_select"
	floatInput(op, "input", t)
	dim = t.axis(op, dim)
	if idx == nil || idx.Dims() != 1 {
		failf(op, "index must be 1-D, got %v", shapeOf(idx))
	}
	rows := checkedIndex(op, idx, t.shape, dim)
	t = t.ToFloat32(c)
	outer, n, inner := splitAxis(t.shape, dim)
	shape := slices.Clone(t.shape)
	shape[dim] = len(rows)
	out := c.empty(shape)
	src, dst := t.data32(), out.f32
	k := len(rows)
	parallel.For(outer*k, max(1, grain/max(inner, 1)), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			o, j := u/k, u%k
			s := (o*n + rows[j]) * inner
			copy(dst[u*inner:(u+1)*inner], src[s:s+inner])
		}
	})
	if c.record(t) {
		c.link(out, op, []*Tensor{t}, func(g *Tensor) {
			gt := New(t.shape...)
			indexAddInto(gt.f32, g.ToFloat32(nil).data32(), rows, outer, n, inner)
			c.accum(t, gt, true)
		})
	}
	return out
}

// checkedIndex reads a 1-D index for axis dim of shape and checks its range.
func checkedIndex(op string, idx *Tensor, shape []int, dim int) []int {
	rows := indexValues(op, idx)
	for _, r := range rows {
		if r < 0 || r >= shape[dim] {
			failf(op, "index %d out of range for axis %d of %v", r, dim, shape)
		}
	}
	return rows
}

func shapeOf(t *Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.shape
}

// indexAddInto adds slice j of src (outer×len(rows)×inner) into slice
// rows[j] of dst (outer×n×inner), in parallel over outer and columns.
func indexAddInto(dst, src []float32, rows []int, outer, n, inner int) {
	k := len(rows)
	if outer == 1 { // rows may repeat: split columns, not rows
		addRows(dst, src, rows, inner)
		return
	}
	parallel.For(outer, max(1, grain/max(k*inner, 1)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j, r := range rows {
				d := dst[(o*n+r)*inner : (o*n+r+1)*inner]
				for i, x := range src[(o*k+j)*inner : (o*k+j+1)*inner] {
					d[i] += x
				}
			}
		}
	})
}

// IndexAdd returns a copy of t with slice j of src added to slice idx[j]
// along axis dim (torch.index_add); src has t's shape with that axis of
// length len(idx). Differentiable for t and src.
func IndexAdd(c *Ctx, t *Tensor, dim int, idx, src *Tensor) *Tensor {
	const op = "index_add"
	floatInput(op, "input", t)
	floatInput(op, "src", src)
	dim = t.axis(op, dim)
	if idx == nil || idx.Dims() != 1 {
		failf(op, "index must be 1-D, got %v", shapeOf(idx))
	}
	want := slices.Clone(t.shape)
	want[dim] = idx.shape[0]
	if !slices.Equal(src.shape, want) {
		failf(op, "src %v does not match input %v with %d indices on axis %d: want %v", src.shape, t.shape, idx.shape[0], dim, want)
	}
	rows := checkedIndex(op, idx, t.shape, dim)
	t, src = t.ToFloat32(c), src.ToFloat32(c)
	out := c.empty(t.shape)
	copy(out.f32, t.data32())
	outer, n, inner := splitAxis(t.shape, dim)
	indexAddInto(out.f32, src.data32(), rows, outer, n, inner)
	if c.record(t, src) {
		c.link(out, op, []*Tensor{t, src}, func(g *Tensor) {
			c.accum(t, g, false)
			if src.requiresGrad {
				c.accum(src, IndexSelect(nil, g.Detach(), dim, idx), true)
			}
		})
	}
	return out
}

// ScatterRows returns a copy of dst [N, ...] with row rows[i] replaced by
// row i of src [len(rows), ...], as Qwen2.5-VL places image features at its
// image-pad token positions (masked_scatter). Rows must be distinct and in
// range. Differentiable for dst (the replaced rows get no gradient) and src.
func ScatterRows(c *Ctx, dst *Tensor, rows []int, src *Tensor) *Tensor {
	const op = "scatter_rows"
	floatInput(op, "dst", dst)
	floatInput(op, "src", src)
	if dst.Dims() < 1 || src.Dims() != dst.Dims() || src.shape[0] != len(rows) || !slices.Equal(src.shape[1:], dst.shape[1:]) {
		failf(op, "src %v does not fit %d rows of dst %v", src.shape, len(rows), dst.shape)
	}
	n := dst.shape[0]
	seen := make(map[int]bool, len(rows))
	for _, r := range rows {
		if r < 0 || r >= n {
			failf(op, "row %d out of range for dst %v", r, dst.shape)
		}
		if seen[r] {
			failf(op, "row %d given twice", r)
		}
		seen[r] = true
	}
	rows = slices.Clone(rows)
	dst, src = dst.ToFloat32(c), src.ToFloat32(c)
	d := numelOf(dst.shape[1:])
	out := c.empty(dst.shape)
	copy(out.f32, dst.data32())
	sd := src.data32()
	parallel.For(len(rows), max(1, grain/max(d, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(out.f32[rows[i]*d:(rows[i]+1)*d], sd[i*d:(i+1)*d])
		}
	})
	if c.record(dst, src) {
		c.link(out, op, []*Tensor{dst, src}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			if dst.requiresGrad {
				gt := New(dst.shape...)
				copy(gt.f32, gd)
				for _, r := range rows {
					clear(gt.f32[r*d : (r+1)*d])
				}
				c.accum(dst, gt, true)
			}
			if src.requiresGrad {
				gs := New(src.shape...)
				for i, r := range rows {
					copy(gs.f32[i*d:(i+1)*d], gd[r*d:(r+1)*d])
				}
				c.accum(src, gs, true)
			}
		})
	}
	return out
}

// ArgMax returns the index of the largest element along axis dim (the
// first one on ties; NaN counts as largest, as in PyTorch) as an I64 tensor
// with that axis removed. Not differentiable.
func ArgMax(t *Tensor, dim int) *Tensor {
	floatInput("argmax", "input", t)
	dim = t.axis("argmax", dim)
	if t.shape[dim] == 0 {
		failf("argmax", "axis %d of %v is empty", dim, t.shape)
	}
	x := t.ToFloat32(nil).data32()
	outer, n, inner := splitAxis(t.shape, dim)
	res := make([]int64, outer*inner)
	for o := range outer {
		for i := range inner {
			best, bi := x[o*n*inner+i], 0
			for j := 1; j < n && best == best; j++ {
				v := x[(o*n+j)*inner+i]
				if v > best || v != v {
					best, bi = v, j
				}
			}
			res[o*inner+i] = int64(bi)
		}
	}
	shape := slices.Delete(slices.Clone(t.shape), dim, dim+1)
	return FromInt64(res, shape...)
}

// TopK returns the k largest elements along the last axis in descending
// order (ties: lower index first) and their indices (I64), both of shape
// [..., k]. Not differentiable.
func TopK(t *Tensor, k int) (values, indices *Tensor) {
	floatInput("topk", "input", t)
	if t.Dims() < 1 {
		failf("topk", "input must have at least 1 dimension, got %v", t.shape)
	}
	n := t.shape[t.Dims()-1]
	if k < 0 || k > n {
		failf("topk", "k=%d out of range for last axis of %v", k, t.shape)
	}
	x := t.ToFloat32(nil).data32()
	rows := numelOf(t.shape[:t.Dims()-1])
	shape := append(slices.Clone(t.shape[:t.Dims()-1]), k)
	vals := make([]float32, rows*k)
	idx := make([]int64, rows*k)
	parallel.For(rows, max(1, grain/max(n, 1)), func(lo, hi int) {
		buf := make([]int, 0, n)
		for r := lo; r < hi; r++ {
			row := x[r*n : (r+1)*n]
			buf = topKIndices(buf[:0], row, k)
			for j, i := range buf {
				vals[r*k+j] = row[i]
				idx[r*k+j] = int64(i)
			}
		}
	})
	return FromFloat32(vals, shape...), FromInt64(idx, shape...)
}

// before reports whether element i (value a) ranks before element j (value
// b): larger first, then lower index. NaN ranks as largest.
func before(a float32, i int, b float32, j int) bool {
	an, bn := a != a, b != b
	switch {
	case an || bn:
		if an && bn {
			return i < j
		}
		return an
	case a != b:
		return a > b
	}
	return i < j
}

// topKIndices appends to dst the indices of the k highest-ranked elements of
// row, best first.
func topKIndices(dst []int, row []float32, k int) []int {
	if k == 0 {
		return dst
	}
	if k > 64 && k*8 > len(row) {
		for i := range row {
			dst = append(dst, i)
		}
		slices.SortFunc(dst, func(i, j int) int {
			if before(row[i], i, row[j], j) {
				return -1
			}
			return 1
		})
		return dst[:k]
	}
	// Keep the best k seen so far sorted; a new element enters only if it
	// beats the current k-th, which after the first few is rare.
	for i, v := range row {
		if len(dst) == k {
			last := dst[k-1]
			if !before(v, i, row[last], last) {
				continue
			}
			dst = dst[:k-1]
		}
		p := len(dst)
		for p > 0 && before(v, i, row[dst[p-1]], dst[p-1]) {
			p--
		}
		dst = slices.Insert(dst, p, i)
	}
	return dst
}

// SampleLogits draws a token from logits as Hugging Face's generate does:
// temperature scaling, then top-k filtering (topK <= 0: off), then top-p
// nucleus filtering (topP <= 0 or >= 1: off) keeping the smallest set of
// most likely tokens whose cumulative probability reaches topP (at least
// one), then sampling from the renormalised distribution. temperature <= 0
// is greedy decoding: the index of the largest logit (lowest on ties). NaN
// logits are never sampled.
func SampleLogits(logits []float32, temperature float32, topK int, topP float32, rng *rand.Rand) int {
	if len(logits) == 0 {
		failf("sample_logits", "empty logits")
	}
	if temperature <= 0 {
		best := -1
		for i, v := range logits {
			if v == v && (best < 0 || v > logits[best]) {
				best = i
			}
		}
		return max(best, 0)
	}
	var cand []int
	if topK > 0 && topK < len(logits) {
		cand = topKIndices(make([]int, 0, topK), logits, topK)
	} else {
		cand = topKIndices(make([]int, 0, len(logits)), logits, len(logits))
	}
	// Drop NaNs (ranked first) and compute the softmax over the candidates.
	for len(cand) > 1 && logits[cand[0]] != logits[cand[0]] {
		cand = cand[1:]
	}
	top := float64(logits[cand[0]])
	p := make([]float64, len(cand))
	var total float64
	for j, i := range cand {
		p[j] = math.Exp((float64(logits[i]) - top) / float64(temperature))
		total += p[j]
	}
	if topP > 0 && topP < 1 {
		keep, cum := 0, 0.0
		for keep < len(p) {
			cum += p[keep] / total
			keep++
			if cum >= float64(topP) {
				break
			}
		}
		p = p[:keep]
		total = 0
		for _, v := range p {
			total += v
		}
	}
	r := rng.Float64() * total
	for j, v := range p {
		r -= v
		if r < 0 {
			return cand[j]
		}
	}
	return cand[len(p)-1]
}
