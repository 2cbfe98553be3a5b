package gemm

import (
	"sync"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// Matrix-vector products (m == 1 or n == 1, as in decoding) skip packing: they
// are memory-bound, so the matrix is streamed once with Dot or Axpy.

// gemvBatched handles batched products where op(A) is a single row (m == 1)
// or op(B) a single column (n == 1).
func gemvBatched(ker *kernel, batch, m, n, k int, alpha float32, a Operand, strideA int, b Operand, strideB int,
	beta float32, c []float32, strideC, ldc int) {
	one := func(bi int, par bool) {
		ab, bb, cb := a.offset(bi*strideA), b.offset(bi*strideB), c[bi*strideC:]
		if m == 1 {
			// y(1×n) = x(1×k) · op(B): stored B rows are outputs when B is transposed.
			gemv(ker, n, k, alpha, vecOf(&ab, !ab.Trans, k), &bb, bb.Trans, beta, cb, 1, par)
			return
		}
		// y(m×1) = op(A) · x(k×1): stored A rows are outputs unless A is transposed.
		gemv(ker, m, k, alpha, vecOf(&bb, bb.Trans, k), &ab, !ab.Trans, beta, cb, ldc, par)
	}
	if batch == 1 {
		one(0, true)
		return
	}
	w := parallel.Workers()
	if 2*float64(batch)*float64(m*n)*float64(k) < serialFlops {
		w = 1
	}
	chunks := min(w, batch)
	parallel.ForChunks(chunks, func(ci int) {
		lo, hi := parallel.Range(batch, chunks, ci)
		for bi := lo; bi < hi; bi++ {
			one(bi, false)
		}
	})
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

// gemv computes y[j*incy] = alpha * Σ_p x[p]·M(p,j) + beta*y[j*incy] for
// j < nOut. If dotForm, stored row j of mat holds M(·,j) (k elements);
// otherwise stored row p holds M(p,·) (nOut elements). x is released.
func gemv(ker *kernel, nOut, k int, alpha float32, xb *vecBuf, mat *Operand, dotForm bool,
	beta float32, y []float32, incy int, par bool) {
	x := xb.v[:k]
	grain := max(16, (1<<15)/k)
	if !par || 2*float64(nOut)*float64(k) < serialFlops {
		grain = nOut
	}
	if dotForm {
		parallel.For(nOut, grain, func(lo, hi int) {
			sb := getVec(k)
			for j := lo; j < hi; j++ {
				s := alpha * ker.dot(x, mat.row(j, 0, k, sb.v))
				yi := &y[j*incy]
				if beta == 0 {
					*yi = s
				} else {
					*yi = s + beta**yi
				}
			}
			vecPool.Put(sb)
		})
	} else {
		// Split along outputs in multiples of 16 so that vector loops stay aligned to the chunk.
		blocks := (nOut + 15) / 16
		parallel.For(blocks, max(1, grain/16), func(blo, bhi int) {
			lo, hi := blo*16, min(bhi*16, nOut)
			acc := getVec(min(gemvChunk, hi-lo))
			sb := getVec(min(gemvChunk, hi-lo))
			for j0 := lo; j0 < hi; j0 += gemvChunk {
				j1 := min(j0+gemvChunk, hi)
				a := acc.v[:j1-j0]
				clear(a)
				for p, xp := range x {
					ker.axpy(xp, mat.row(p, j0, j1-j0, sb.v), a)
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
		})
	}
	vecPool.Put(xb)
}
