package tensor

import (
	"slices"

	"github.com/vstgo/vst/vlm/tensor/internal/gemm"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// This file holds the matrix products: MatMul, Linear, LinearLoRA and the
// patch embeddings built on them. All of them hand their work to
// internal/gemm, passing strided, transposed and 16-bit operands as they are
// stored, without copying.

// operandFor describes the rows×cols matrix whose element (i, j) is t's
// storage element off + i*sr + j*sc as a GEMM operand: row-major with a
// leading dimension, or the transpose of one (Trans). It reports false when
// the layout is neither (then the caller makes a contiguous copy) or when t
// is not a float type.
func operandFor(t *Tensor, off, rows, cols, sr, sc int) (gemmOperand, bool) {
	var op gemmOperand
	switch {
	case (sc == 1 || cols <= 1) && (rows <= 1 || sr >= max(cols, 1)):
		op.LD = max(cols, 1)
		if rows > 1 {
			op.LD = sr
		}
	case (sr == 1 || rows <= 1) && (cols <= 1 || sc >= max(rows, 1)):
		op.Trans = true
		op.LD = max(rows, 1)
		if cols > 1 {
			op.LD = sc
		}
	default:
		return op, false
	}
	switch t.dtype {
	case Float32:
		op.F32 = t.f32[off:]
	case BFloat16:
		op.BF16 = t.u16[off:]
	case Float16:
		op.F16 = t.u16[off:]
	default:
		return op, false
	}
	return op, true
}

// lastTwo returns the operand for t's last two axes (t.Dims() >= 2), at the
// storage offset off, optionally as the transpose of that matrix.
func lastTwo(t *Tensor, off int, transpose bool) (gemmOperand, bool) {
	n := len(t.shape)
	r, c := t.shape[n-2], t.shape[n-1]
	sr, sc := t.stride[n-2], t.stride[n-1]
	if transpose {
		r, c, sr, sc = c, r, sc, sr
	}
	return operandFor(t, off, r, c, sr, sc)
}

// floatInput checks that t holds a float type usable by the products.
func floatInput(op, what string, t *Tensor) {
	if t == nil {
		failf(op, "%s is nil", what)
	}
	if t.dtype != Float32 && t.dtype != BFloat16 && t.dtype != Float16 {
		failf(op, "%s %v is %s, not a float type", what, t.shape, t.dtype)
	}
}

// MatMul returns the matrix product of a [..., M, K] and b [..., K, N] as
// [..., M, N], broadcasting the batch dimensions (a 2-D b is shared by every
// batch entry). Operands whose last two axes are a (possibly transposed)
// strided matrix, such as Transpose(k, -2, -1) for attention scores, are
// used in place without copying; BF16/F16 operands are read as stored.
// Differentiable: dA = dC·Bᵀ and dB = Aᵀ·dC, summed over broadcast batches.
func MatMul(c *Ctx, a, b *Tensor) *Tensor {
	floatInput("matmul", "a", a)
	floatInput("matmul", "b", b)
	if a.Dims() < 2 || b.Dims() < 2 {
		failf("matmul", "operands need at least 2 dimensions, got %v and %v", a.shape, b.shape)
	}
	na, nb := a.Dims(), b.Dims()
	m, k, k2, n := a.shape[na-2], a.shape[na-1], b.shape[nb-2], b.shape[nb-1]
	if k != k2 {
		failf("matmul", "shapes %v and %v: inner dimensions %d and %d differ", a.shape, b.shape, k, k2)
	}
	batch := broadcastShape("matmul", a.shape[:na-2], b.shape[:nb-2])
	if _, ok := lastTwo(a, a.off, false); !ok {
		a = a.ToFloat32(c)
	}
	if _, ok := lastTwo(b, b.off, false); !ok {
		b = b.ToFloat32(c)
	}
	out := c.empty(append(slices.Clone(batch), m, n))
	matmulInto(out.f32, batch, m, n, k, a, b)
	if c.record(a, b) {
		c.link(out, "matmul", []*Tensor{a, b}, func(g *Tensor) {
			matmulBackward(c, g, a, b, batch)
		})
	}
	return out
}

// matmulInto computes a·b into the contiguous dst of shape batch+[m, n].
func matmulInto(dst []float32, batch []int, m, n, k int, a, b *Tensor) {
	if m == 0 || n == 0 {
		return
	}
	nbatch := 1
	for _, d := range batch {
		nbatch *= d
	}
	if nbatch == 0 {
		return
	}
	if k == 0 {
		clear(dst[:nbatch*m*n])
		return
	}
	// Batch strides of the three operands, 0 along broadcast axes, then
	// merged wherever consecutive axes form one arithmetic progression.
	nd := len(batch)
	sa := batchStrides(a, batch)
	sb := batchStrides(b, batch)
	sc := contiguousStrides(append(slices.Clone(batch), m, n))[:nd]
	dims, strides := collapse(batch, [][]int{sa, sb, sc})
	sa, sb, sc = strides[0], strides[1], strides[2]
	opA, _ := lastTwo(a, a.off, false)
	opB, _ := lastTwo(b, b.off, false)
	if len(dims) == 0 {
		gemmCall(m, n, k, 1, opA, opB, 0, dst, n)
		return
	}
	last := len(dims) - 1
	// A batch of A matrices stacked row after row against one shared B is
	// a single taller GEMM: better blocking than many small ones.
	if len(dims) == 1 && sb[0] == 0 && !opA.Trans && sa[0] == m*opA.LD {
		gemmCall(dims[0]*m, n, k, 1, opA, opB, 0, dst, n)
		return
	}
	idx := make([]int, last)
	oa, ob, oc := a.off, b.off, 0
	outer := 1
	for _, d := range dims[:last] {
		outer *= d
	}
	for range outer {
		opA, _ = lastTwo(a, oa, false)
		opB, _ = lastTwo(b, ob, false)
		gemmBatchedCall(dims[last], m, n, k, 1, opA, sa[last], opB, sb[last], 0, dst[oc:], sc[last], n)
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			oa, ob, oc = oa+sa[d], ob+sb[d], oc+sc[d]
			if idx[d] < dims[d] {
				break
			}
			oa, ob, oc = oa-idx[d]*sa[d], ob-idx[d]*sb[d], oc-idx[d]*sc[d]
			idx[d] = 0
		}
	}
}

// batchStrides returns the strides of t's batch axes (all but the last two)
// aligned to batch, 0 where t broadcasts.
func batchStrides(t *Tensor, batch []int) []int {
	st := make([]int, len(batch))
	nb := len(t.shape) - 2
	k := len(batch) - nb
	for i := range nb {
		if t.shape[i] != 1 {
			st[k+i] = t.stride[i]
		}
	}
	return st
}

// collapse drops size-1 axes and merges consecutive axes that every operand
// walks with one stride, returning the reduced dims and per-operand strides.
func collapse(shape []int, strides [][]int) ([]int, [][]int) {
	var dims []int
	out := make([][]int, len(strides))
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if j := len(dims) - 1; j >= 0 {
			merge := true
			for k := range strides {
				if out[k][j] != strides[k][i]*d {
					merge = false
					break
				}
			}
			if merge {
				dims[j] *= d
				for k := range strides {
					out[k][j] = strides[k][i]
				}
				continue
			}
		}
		dims = append(dims, d)
		for k := range strides {
			out[k] = append(out[k], strides[k][i])
		}
	}
	return dims, out
}

// matmulBackward accumulates the gradients of a·b given the output gradient g
// (leaf gradients into c's sink, if any).
func matmulBackward(c *Ctx, g *Tensor, a, b *Tensor, batch []int) {
	na, nb := a.Dims(), b.Dims()
	m, k, n := a.shape[na-2], a.shape[na-1], b.shape[nb-1]
	bShared := numelOf(b.shape[:nb-2]) == 1
	aShared := numelOf(a.shape[:na-2]) == 1
	if a.requiresGrad {
		var ga *Tensor
		switch {
		case aShared && !bShared:
			// dA = Σ_batch dC_i·B_iᵀ = [M, batch·N] · [K, batch·N]ᵀ.
			nd := len(batch)
			perm := append([]int{nd}, seq(nd)...)
			perm = append(perm, nd+1)
			g2 := Reshape(nil, Permute(nil, g, perm...), m, -1)
			bb := expandBatch(b.Detach(), batch)
			b2 := Reshape(nil, Permute(nil, bb, perm...), k, -1)
			ga = Reshape(nil, MatMul(nil, g2, Transpose(nil, b2, 0, 1)), a.shape...)
		default:
			ga = sumTo(MatMul(nil, g, Transpose(nil, b.Detach(), -1, -2)), a.shape)
		}
		c.accum(a, ga, true)
	}
	if b.requiresGrad {
		var gb *Tensor
		switch {
		case bShared && !aShared:
			// dB = Σ_batch A_iᵀ·dC_i = [batch·M, K]ᵀ · [batch·M, N].
			a2 := Reshape(nil, expandBatch(a.Detach(), batch), -1, k)
			g2 := Reshape(nil, g, -1, n)
			gb = Reshape(nil, MatMul(nil, Transpose(nil, a2, 0, 1), g2), b.shape...)
		default:
			gb = sumTo(MatMul(nil, Transpose(nil, a.Detach(), -1, -2), g), b.shape)
		}
		c.accum(b, gb, true)
	}
}

// expandBatch returns t (a matrix stack) viewed with batch dimensions batch,
// stride 0 along broadcast axes.
func expandBatch(t *Tensor, batch []int) *Tensor {
	nt := t.Dims()
	shape := append(slices.Clone(batch), t.shape[nt-2:]...)
	st := append(batchStrides(t, batch), t.stride[nt-2:]...)
	return t.view(shape, st, t.off)
}

func numelOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// rowsOperand describes t [..., in] as an M×in row-major matrix without
// copying when its leading axes collapse into one row stride and its last
// axis is dense; otherwise it makes t contiguous first. It returns the
// (possibly copied) tensor, the operand and M.
func rowsOperand(c *Ctx, op string, t *Tensor) (*Tensor, gemmOperand, int) {
	floatInput(op, "input", t)
	if t.Dims() < 1 {
		failf(op, "input must have at least 1 dimension, got %v", t.shape)
	}
	nd := t.Dims()
	in := t.shape[nd-1]
	rows := numelOf(t.shape[:nd-1])
	if nd == 1 {
		if o, ok := operandFor(t, t.off, 1, in, in, t.stride[0]); ok {
			return t, o, 1
		}
	} else {
		dims, st := collapse(t.shape[:nd-1], [][]int{t.stride[:nd-1]})
		rs := in
		if len(dims) == 1 {
			rs = st[0][0]
		}
		if len(dims) <= 1 && (t.stride[nd-1] == 1 || in <= 1) && (rows <= 1 || rs >= in) {
			if o, ok := operandFor(t, t.off, rows, in, rs, 1); ok {
				return t, o, rows
			}
		}
	}
	t = t.ToFloat32(c)
	o, _ := operandFor(t, t.off, rows, in, in, 1)
	return t, o, rows
}

// Linear returns x·wᵀ + bias for x [..., in], w [out, in] (PyTorch's layout;
// F32, BF16 or F16, used as stored) and bias [out] or nil, as [..., out].
// All leading dimensions of x are flattened into one GEMM. Differentiable
// for x, bias, and w when w is an F32 tensor that requires gradients.
func Linear(c *Ctx, x, w, bias *Tensor) *Tensor { return LinearLoRA(c, x, w, bias, nil) }

// LoRA is a low-rank adapter for a frozen linear layer: the layer computes
// x·wᵀ + bias + Scale·(x·Aᵀ)·Bᵀ with A [r, in] and B [out, r]. Only A and B
// train; the base weight may stay BF16.
//
// Initialise as PEFT does, so the adapted layer starts equal to the base:
// A with small random values (Kaiming-uniform, or normal with std 1/r), B
// with zeros, and Scale = alpha/r.
type LoRA struct {
	A, B  *Tensor
	Scale float32
}

// LinearLoRA returns Linear(x, w, bias) + lora.Scale·(x·lora.Aᵀ)·lora.Bᵀ,
// computed with three GEMMs and no intermediate of the output's size. A nil
// lora gives Linear. Differentiable for x, bias, A, B (and w, as Linear).
func LinearLoRA(c *Ctx, x, w, bias *Tensor, lora *LoRA) *Tensor {
	const op = "linear"
	floatInput(op, "weight", w)
	if w.Dims() != 2 {
		failf(op, "weight must be [out, in], got %v", w.shape)
	}
	outF, inF := w.shape[0], w.shape[1]
	floatInput(op, "input", x)
	if x.Dims() < 1 || x.shape[x.Dims()-1] != inF {
		failf(op, "input %v does not match weight %v: last dimension must be %d", x.shape, w.shape, inF)
	}
	if bias != nil {
		floatInput(op, "bias", bias)
		if bias.Dims() != 1 || bias.shape[0] != outF {
			failf(op, "bias %v does not match weight %v: want [%d]", bias.shape, w.shape, outF)
		}
	}
	var la, lb *Tensor
	rank := 0
	if lora != nil {
		la, lb = lora.A, lora.B
		floatInput(op, "lora A", la)
		floatInput(op, "lora B", lb)
		if la.Dims() != 2 || lb.Dims() != 2 || la.shape[1] != inF || lb.shape[0] != outF || lb.shape[1] != la.shape[0] {
			failf(op, "lora A %v and B %v do not fit weight %v: want A [r, %d] and B [%d, r]", la.shape, lb.shape, w.shape, inF, outF)
		}
		rank = la.shape[0]
		if _, ok := operandFor(la, la.off, inF, rank, la.stride[1], la.stride[0]); !ok {
			la = la.ToFloat32(c)
		}
		if _, ok := operandFor(lb, lb.off, rank, outF, lb.stride[1], lb.stride[0]); !ok {
			lb = lb.ToFloat32(c)
		}
	}
	if _, ok := operandFor(w, w.off, inF, outF, w.stride[1], w.stride[0]); !ok {
		w = w.ToFloat32(c)
	}
	x, opX, m := rowsOperand(c, op, x)
	outShape := append(slices.Clone(x.shape[:x.Dims()-1]), outF)
	out := c.empty(outShape)
	y := out.f32
	// wᵀ as the B operand: element (p, j) is w[j, p].
	opW, _ := operandFor(w, w.off, inF, outF, w.stride[1], w.stride[0])
	beta := float32(0)
	if bias != nil && m > 0 {
		bv := bias.Float32s()
		parallel.For(m, max(1, grain/max(outF, 1)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(y[i*outF:(i+1)*outF], bv)
			}
		})
		beta = 1
	}
	gemmOrFill(m, outF, inF, 1, opX, opW, beta, y, outF)
	var h *Tensor // x·Aᵀ [m, r], kept for backward
	if lora != nil && m > 0 && outF > 0 {
		h = New(m, rank)
		opA, _ := operandFor(la, la.off, inF, rank, la.stride[1], la.stride[0])
		gemmOrFill(m, rank, inF, 1, opX, opA, 0, h.f32, rank)
		opB, _ := operandFor(lb, lb.off, rank, outF, lb.stride[1], lb.stride[0])
		gemmOrFill(m, outF, rank, lora.Scale, rowMajor(h.f32, rank), opB, 1, y, outF)
	}
	inputs := []*Tensor{x, w, bias}
	if lora != nil {
		inputs = append(inputs, la, lb)
	}
	if c.record(inputs...) {
		var scale float32
		if lora != nil {
			scale = lora.Scale
		}
		c.link(out, op, inputs, func(g *Tensor) {
			linearBackward(c, g.ToFloat32(nil), x, w, bias, la, lb, h, scale, m, inF, outF, rank)
		})
	}
	return out
}

// rowMajor is the operand for a dense row-major f32 matrix with leading
// dimension ld.
func rowMajor(d []float32, ld int) gemmOperand { return gemmOperand{F32: d, LD: max(ld, 1)} }

// transposed is the operand for the transpose of a dense row-major f32 matrix.
func transposed(d []float32, ld int) gemmOperand {
	return gemmOperand{F32: d, LD: max(ld, 1), Trans: true}
}

// gemmOrFill runs C = alpha·A·B + beta·C, treating k == 0 as an empty sum.
func gemmOrFill(m, n, k int, alpha float32, a, b gemmOperand, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
		return
	}
	gemmCall(m, n, k, alpha, a, b, beta, c, ldc)
}

// linearBackward accumulates the gradients of LinearLoRA from g [..., out].
func linearBackward(c *Ctx, g, x, w, bias, la, lb, h *Tensor, scale float32, m, inF, outF, rank int) {
	gd := g.data32()
	opG := rowMajor(gd, outF)
	_, opX, _ := rowsOperand(nil, "linear", x.Detach())
	var gh []float32 // Scale·g·B [m, r]
	if la != nil && (la.requiresGrad || lb.requiresGrad || x.requiresGrad) && h != nil {
		gh = make([]float32, m*rank)
		opB, _ := operandFor(lb, lb.off, outF, rank, lb.stride[0], lb.stride[1])
		gemmOrFill(m, rank, outF, scale, opG, opB, 0, gh, rank)
	}
	if x.requiresGrad {
		gx := New(x.shape...)
		opW, _ := operandFor(w, w.off, outF, inF, w.stride[0], w.stride[1])
		gemmOrFill(m, inF, outF, 1, opG, opW, 0, gx.f32, inF)
		if gh != nil {
			opA, _ := operandFor(la, la.off, rank, inF, la.stride[0], la.stride[1])
			gemmOrFill(m, inF, rank, 1, rowMajor(gh, rank), opA, 1, gx.f32, inF)
		}
		c.accum(x, gx, true)
	}
	if w.requiresGrad {
		gw := New(outF, inF)
		gemmOrFill(outF, inF, m, 1, transposed(gd, outF), opX, 0, gw.f32, inF)
		c.accum(w, gw, true)
	}
	if bias != nil && bias.requiresGrad {
		gb := New(outF)
		colSums(gb.f32, gd, m, outF)
		c.accum(bias, gb, true)
	}
	if la != nil && lb.requiresGrad && h != nil {
		// dB = Scale·gᵀ·h [out, r].
		gB := New(outF, rank)
		gemmOrFill(outF, rank, m, scale, transposed(gd, outF), rowMajor(h.f32, rank), 0, gB.f32, rank)
		c.accum(lb, gB, true)
	}
	if la != nil && la.requiresGrad && gh != nil {
		// dA = (Scale·g·B)ᵀ·x [r, in].
		gA := New(rank, inF)
		gemmOrFill(rank, inF, m, 1, transposed(gh, rank), opX, 0, gA.f32, inF)
		c.accum(la, gA, true)
	}
}

// colSums sets dst[j] = Σ_i src[i*n + j] for an m×n row-major src.
func colSums(dst, src []float32, m, n int) {
	parallel.For(n, 256, func(lo, hi int) {
		d := dst[lo:hi]
		for i := range m {
			row := src[i*n+lo : i*n+hi]
			for j, v := range row {
				d[j] += v
			}
		}
	})
}

// Conv3DPatch is Qwen2.5-VL's patch embedding: a Conv3d whose stride equals
// its kernel, applied to patches the processor has already flattened.
// pixels is [N, C·T·P·P] (each row one patch in (channel, t, y, x) order), w
// is the conv weight [D, C, T, P, P] (any float type); the result is
// [N, D] = pixels·w.reshape(D, -1)ᵀ, without bias. Differentiable.
func Conv3DPatch(c *Ctx, pixels, w *Tensor) *Tensor {
	floatInput("conv3d_patch", "weight", w)
	floatInput("conv3d_patch", "pixels", pixels)
	if w.Dims() != 5 {
		failf("conv3d_patch", "weight must be [D, C, T, P, P], got %v", w.shape)
	}
	per := numelOf(w.shape[1:])
	if pixels.Dims() != 2 || pixels.shape[1] != per {
		failf("conv3d_patch", "pixels %v do not match weight %v: want [N, %d]", pixels.shape, w.shape, per)
	}
	return Linear(c, pixels, Reshape(c, w, w.shape[0], per), nil)
}

// Im2Col cuts an image into non-overlapping p×p patches, as a 2-D
// convolution with stride equal to its kernel sees them: img [C, H, W]
// gives [(H/p)·(W/p), C·p·p] and img [B, C, H, W] gives
// [B, (H/p)·(W/p), C·p·p]. Patches are in row-major order over the patch
// grid, each flattened as (channel, y, x), matching a conv weight
// [D, C, p, p] reshaped to [D, C·p·p]. H and W must be multiples of p.
// Differentiable.
func Im2Col(c *Ctx, img *Tensor, p int) *Tensor {
	floatInput("im2col", "image", img)
	if img.Dims() != 3 && img.Dims() != 4 {
		failf("im2col", "image must be [C, H, W] or [B, C, H, W], got %v", img.shape)
	}
	nd := img.Dims()
	ch, hh, ww := img.shape[nd-3], img.shape[nd-2], img.shape[nd-1]
	if p <= 0 || hh%p != 0 || ww%p != 0 {
		failf("im2col", "image %v is not divisible into %d×%d patches", img.shape, p, p)
	}
	gh, gw := hh/p, ww/p
	if nd == 3 {
		x := Reshape(c, img, ch, gh, p, gw, p)
		x = Permute(c, x, 1, 3, 0, 2, 4)
		return Reshape(c, x, gh*gw, ch*p*p)
	}
	bsz := img.shape[0]
	x := Reshape(c, img, bsz, ch, gh, p, gw, p)
	x = Permute(c, x, 0, 2, 4, 1, 3, 5)
	return Reshape(c, x, bsz, gh*gw, ch*p*p)
}

// PatchEmbed2D is a ViT patchify: a Conv2d with kernel = stride = p given as
// w [D, C, p, p] and optional bias [D], applied to img [C, H, W] or
// [B, C, H, W]; it returns [numPatches, D] or [B, numPatches, D].
// Differentiable.
func PatchEmbed2D(c *Ctx, img, w, bias *Tensor) *Tensor {
	floatInput("patch_embed2d", "weight", w)
	if w.Dims() != 4 || w.shape[2] != w.shape[3] {
		failf("patch_embed2d", "weight must be [D, C, p, p], got %v", w.shape)
	}
	if img.Dims() < 3 || img.shape[img.Dims()-3] != w.shape[1] {
		failf("patch_embed2d", "image %v does not match weight %v: want %d channels", img.shape, w.shape, w.shape[1])
	}
	cols := Im2Col(c, img, w.shape[2])
	return Linear(c, cols, Reshape(c, w, w.shape[0], -1), bias)
}

// The GEMM entry points, named locally so the kernels can be swapped in one
// place (and faked in tests if ever needed).
type gemmOperand = gemm.Operand

var (
	gemmCall        = gemm.Gemm
	gemmBatchedCall = gemm.GemmBatched
)
