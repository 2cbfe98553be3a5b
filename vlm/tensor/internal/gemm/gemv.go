package gemm

import (
	"sync"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// Matrix-vector products (m == 1 or n == 1, as in decoding) skip packing: they
// are memory-bound, so the matrix is streamed once with Dot or Axpy.
//
// One product is y[j*incy] = alpha * Σ_p x[p]·M(p,j) + beta*y[j*incy] for
// j < nOut. In dot form, stored row j of the matrix holds M(·,j) (k
// elements); in axpy form stored row p holds M(p,·) (nOut elements).

// gemvState is the matrix-vector product being computed by a job.
type gemvState struct {
	nOut    int
	x       *vecBuf
	mat     Operand
	dotForm bool
	y       []float32
	incy    int
}

// gemvSetup prepares the product of batch entry bi in g.
func (j *job) gemvSetup(bi int, g *gemvState) {
	a, b := j.a.offset(bi*j.strideA), j.b.offset(bi*j.strideB)
	y := j.c[bi*j.strideC:]
	if j.m == 1 {
		// y(1×n) = x(1×k) · op(B): stored B rows are outputs when B is transposed.
		*g = gemvState{nOut: j.n, x: vecOf(&a, !a.Trans, j.k), mat: b, dotForm: b.Trans, y: y, incy: 1}
		return
	}
	// y(m×1) = op(A) · x(k×1): stored A rows are outputs unless A is transposed.
	*g = gemvState{nOut: j.m, x: vecOf(&b, b.Trans, j.k), mat: a, dotForm: !a.Trans, y: y, incy: j.ldc}
}

// gemvBatched runs a job whose products are all matrix-vector: one product
// is split over the pool by outputs, a batch is split by entries.
func (j *job) gemvBatched(batch int) {
	w := parallel.Workers()
	if 2*float64(batch)*float64(j.m*j.n)*float64(j.k) < serialFlops {
		w = 1
	}
	if batch == 1 {
		j.gemvSetup(0, &j.gv)
		nOut := j.gv.nOut
		switch {
		case w == 1:
			j.gv.run(j.ker, j.alpha, j.beta, 0, nOut)
		case j.gv.dotForm:
			parallel.For(nOut, max(16, (1<<15)/j.k), j.gemvDotFn)
		default:
			// Split in multiples of 16 outputs so vector loops stay aligned.
			parallel.For((nOut+15)/16, max(1, (1<<11)/j.k), j.gemvAxpyFn)
		}
		vecPool.Put(j.gv.x)
		j.gv = gemvState{}
		return
	}
	j.pl = plan{tasks: batch, chunks: min(w, batch)}
	if j.pl.chunks == 1 {
		j.gemvBatchRange(0, batch)
		return
	}
	parallel.ForChunks(j.pl.chunks, j.chunkFn)
}

// gemvBatchRange computes batch entries [lo, hi) serially.
func (j *job) gemvBatchRange(lo, hi int) {
	var g gemvState
	for bi := lo; bi < hi; bi++ {
		j.gemvSetup(bi, &g)
		g.run(j.ker, j.alpha, j.beta, 0, g.nOut)
		vecPool.Put(g.x)
	}
}

// gemvDotRange computes outputs [lo, hi) of the single product in j.gv.
func (j *job) gemvDotRange(lo, hi int) { j.gv.run(j.ker, j.alpha, j.beta, lo, hi) }

// gemvAxpyRange computes outputs [16*lo, 16*hi) of the single product in j.gv.
func (j *job) gemvAxpyRange(lo, hi int) {
	j.gv.run(j.ker, j.alpha, j.beta, lo*16, min(hi*16, j.gv.nOut))
}

// vecBuf is a pooled float32 scratch slice.
type vecBuf struct{ v []float32 }

var vecPool sync.Pool

func getVec(n int) *vecBuf {
	vb, _ := vecPool.Get().(*vecBuf)
	if vb == nil {
		vb = new(vecBuf)
	}
	vb.v = grow(vb.v, n)
	return vb
}

// vecOf returns the single row (rowStored: stored row 0) or single column
// (stored column 0) of o as k contiguous float32 values.
func vecOf(o *Operand, rowStored bool, k int) *vecBuf {
	vb := getVec(k)
	if rowStored {
		copy(vb.v, o.row(0, 0, k, vb.v))
		return vb
	}
	for p := range k {
		vb.v[p] = o.at(p, 0)
	}
	return vb
}

// gemvChunk is the number of outputs one axpy-form pass accumulates: its
// accumulator stays in L1.
const gemvChunk = 2048

// run computes outputs [lo, hi).
func (g *gemvState) run(ker *kernel, alpha, beta float32, lo, hi int) {
	x := g.x.v
	k := len(x)
	y, incy := g.y, g.incy
	if g.dotForm {
		sb := getVec(k)
		for j := lo; j < hi; j++ {
			s := alpha * ker.dot(x, g.mat.row(j, 0, k, sb.v))
			yi := &y[j*incy]
			if beta == 0 {
				*yi = s
			} else {
				*yi = s + beta**yi
			}
		}
		vecPool.Put(sb)
		return
	}
	acc := getVec(min(gemvChunk, hi-lo))
	sb := getVec(min(gemvChunk, hi-lo))
	for j0 := lo; j0 < hi; j0 += gemvChunk {
		j1 := min(j0+gemvChunk, hi)
		a := acc.v[:j1-j0]
		clear(a)
		for p, xp := range x {
			ker.axpy(xp, g.mat.row(p, j0, j1-j0, sb.v), a)
		}
		for j, v := range a {
			yi := &y[(j0+j)*incy]
			if beta == 0 {
				*yi = alpha * v
			} else {
				*yi = alpha*v + beta**yi
			}
		}
	}
	vecPool.Put(acc)
	vecPool.Put(sb)
}
