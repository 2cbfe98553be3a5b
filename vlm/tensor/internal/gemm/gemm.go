// Package gemm is the float32 matrix-multiply engine of the tensor package.
//
// It follows the GotoBLAS/BLIS scheme: op(B) is packed into KC×NC blocks of
// NR-wide column panels, op(A) into MC×KC blocks of MR-tall row panels, and a
// register-tiled assembly micro-kernel multiplies one A panel by one B panel.
// The micro-kernels are hand-written Go assembly (AVX-512: 14×32 tile with
// embedded-broadcast FMAs; AVX2+FMA: 6×16 tile), chosen at start-up with
// golang.org/x/sys/cpu; other machines use a portable pure-Go kernel.
// Operands may be float32, bfloat16 or float16 (converted to float32 while
// packing), transposed or not, and strided.
//
// Work is spread over the shared worker pool (internal/parallel) in tasks
// that own disjoint blocks of C: batch entries × row parts × column parts,
// so batches of small products (attention heads) parallelise as well as one
// large product. Every element of C is accumulated by exactly one task, in a
// fixed k order (KC blocks in order, each summed by the micro-kernel), so
// results do not depend on timing, nor in fact on the worker count.
//
// Products with m == 1 or n == 1 (decoding) take a matrix-vector path that
// streams the matrix once through Dot or Axpy instead of packing it.
//
// Block sizes: AVX-512 KC=256, MC=168 (12 micro-panels), NC=4096; AVX2
// KC=256, MC=96, NC=4096. The pack buffers live in a sync.Pool, so a call in
// steady state does not allocate.
package gemm

import (
	"fmt"
	"sync"

	"github.com/vstgo/vst/vlm/tensor/half"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// Operand is one matrix input: exactly one of F32, BF16, F16 is set (non-nil).
// LD is the row stride in elements of the stored matrix; Trans means the
// stored matrix is the transpose of the operand (op(X) = X^T), so an m×k
// operand with Trans set is stored as k rows of (at least) m elements.
type Operand struct {
	F32   []float32
	BF16  []uint16
	F16   []uint16
	LD    int
	Trans bool
}

func (o *Operand) count() int {
	n := 0
	if o.F32 != nil {
		n++
	}
	if o.BF16 != nil {
		n++
	}
	if o.F16 != nil {
		n++
	}
	return n
}

func (o *Operand) length() int {
	switch {
	case o.F32 != nil:
		return len(o.F32)
	case o.BF16 != nil:
		return len(o.BF16)
	default:
		return len(o.F16)
	}
}

// offset returns the operand starting off elements further on.
func (o Operand) offset(off int) Operand {
	if off == 0 {
		return o
	}
	switch {
	case o.F32 != nil:
		o.F32 = o.F32[off:]
	case o.BF16 != nil:
		o.BF16 = o.BF16[off:]
	default:
		o.F16 = o.F16[off:]
	}
	return o
}

// row returns elements [c0, c0+n) of stored row r as float32, converting
// 16-bit data into seg (which must hold n elements).
func (o *Operand) row(r, c0, n int, seg []float32) []float32 {
	off := r*o.LD + c0
	switch {
	case o.F32 != nil:
		return o.F32[off : off+n : off+n]
	case o.BF16 != nil:
		bf16ToF32(seg[:n], o.BF16[off:off+n])
	default:
		f16ToF32(seg[:n], o.F16[off:off+n])
	}
	return seg[:n]
}

// at returns stored element (r, c) as float32.
func (o *Operand) at(r, c int) float32 {
	off := r*o.LD + c
	switch {
	case o.F32 != nil:
		return o.F32[off]
	case o.BF16 != nil:
		return half.BF16ToFloat32(o.BF16[off])
	default:
		return half.F16ToFloat32(o.F16[off])
	}
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C where op(A) is m×k, op(B) is
// k×n and C is m×n with row stride ldc. When beta is 0, C is not read (it may
// hold NaN). When k or alpha is 0, A and B are not read (they may be empty).
// It panics on malformed arguments (short slices, bad strides).
func Gemm(m, n, k int, alpha float32, a, b Operand, beta float32, c []float32, ldc int) {
	GemmBatched(1, m, n, k, alpha, a, 0, b, 0, beta, c, 0, ldc)
}

// GemmBatched does batch independent Gemms: product i uses A, B and C
// starting at element offsets i*strideA, i*strideB and i*strideC of their
// slices. A stride of 0 shares that operand across the batch (weights, GQA
// key/value heads); the C entries must not overlap. The work is parallelised across batch entries and tiles
// together, so many small products also use all cores.
func GemmBatched(batch, m, n, k int, alpha float32, a Operand, strideA int, b Operand, strideB int,
	beta float32, c []float32, strideC, ldc int) {
	if batch < 0 || m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size batch=%d m=%d n=%d k=%d", batch, m, n, k))
	}
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	if ldc < n {
		panic(fmt.Sprintf("gemm: ldc %d < n %d", ldc, n))
	}
	if batch > 1 && strideC < (m-1)*ldc+n {
		panic(fmt.Sprintf("gemm: C stride %d makes the %d outputs overlap", strideC, batch))
	}
	if need := (batch-1)*strideC + (m-1)*ldc + n; len(c) < need {
		panic(fmt.Sprintf("gemm: C has %d elements, need %d", len(c), need))
	}
	if beta == 0 {
		beta = 0 // turn -0 into +0: the kernels test the bit pattern
	}
	if k == 0 || alpha == 0 {
		for bi := range batch {
			scaleC(m, n, beta, c[bi*strideC:], ldc)
		}
		return
	}
	checkOperand("A", &a, m, k, strideA, batch)
	checkOperand("B", &b, k, n, strideB, batch)
	j := jobPool.Get().(*job)
	*j = job{ker: active(), m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, strideA: strideA, strideB: strideB, c: c, strideC: strideC, ldc: ldc,
		chunkFn: j.chunkFn, gemvDotFn: j.gemvDotFn, gemvAxpyFn: j.gemvAxpyFn}
	if m == 1 || n == 1 {
		j.gemvBatched(batch)
	} else {
		j.pl = makePlan(j.ker, batch, m, n, k)
		if j.pl.chunks == 1 {
			j.runTasks(0, j.pl.tasks)
		} else {
			parallel.ForChunks(j.pl.chunks, j.chunkFn)
		}
	}
	j.a, j.b, j.c = Operand{}, Operand{}, nil // do not keep the caller's memory alive
	jobPool.Put(j)
}

// job carries one GemmBatched call to the pool workers. Jobs are pooled and
// their callbacks bound once, so that a call does not allocate.
type job struct {
	ker                   *kernel
	pl                    plan
	m, n, k               int
	alpha, beta           float32
	a, b                  Operand
	strideA, strideB      int
	c                     []float32
	strideC, ldc          int
	chunkFn               func(ci int)
	gemvDotFn, gemvAxpyFn func(lo, hi int)

	// matrix-vector state (see gemv.go)
	gv gemvState
}

var jobPool = sync.Pool{New: func() any {
	j := new(job)
	j.chunkFn = j.chunk
	j.gemvDotFn = j.gemvDotRange
	j.gemvAxpyFn = j.gemvAxpyRange
	return j
}}

// chunk runs chunk ci of the job's tasks (tiles, or whole matrix-vector
// products for a batched m == 1 or n == 1 job).
func (j *job) chunk(ci int) {
	lo, hi := parallel.Range(j.pl.tasks, j.pl.chunks, ci)
	if j.m == 1 || j.n == 1 {
		j.gemvBatchRange(lo, hi)
		return
	}
	j.runTasks(lo, hi)
}

func (j *job) runTasks(lo, hi int) {
	ws := getWorkspace(j.ker)
	for t := lo; t < hi; t++ {
		bi, i0, i1, j0, j1 := j.pl.task(t)
		ws.block(j.ker, j.k, j.alpha, j.a.offset(bi*j.strideA), j.b.offset(bi*j.strideB), j.beta,
			j.c[bi*j.strideC:], j.ldc, i0, i1, j0, j1)
	}
	putWorkspace(ws)
}

func checkOperand(name string, o *Operand, rows, cols, stride, batch int) {
	if o.count() != 1 {
		panic(fmt.Sprintf("gemm: operand %s must have exactly one of F32, BF16, F16 set", name))
	}
	sr, sc := rows, cols
	if o.Trans {
		sr, sc = cols, rows
	}
	if o.LD < sc || o.LD < 1 {
		panic(fmt.Sprintf("gemm: operand %s LD %d < stored width %d", name, o.LD, sc))
	}
	if stride < 0 {
		panic(fmt.Sprintf("gemm: operand %s negative stride %d", name, stride))
	}
	if sr == 0 || sc == 0 {
		return
	}
	if need := (batch-1)*stride + (sr-1)*o.LD + sc; o.length() < need {
		panic(fmt.Sprintf("gemm: operand %s has %d elements, need %d", name, o.length(), need))
	}
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// plan splits a (batched) product into tasks: batch entry × pm row parts ×
// pn column parts, and the tasks into chunks for the worker pool.
type plan struct {
	m, n, mr, nr   int
	tilesM, tilesN int
	pm, pn         int
	tasks, chunks  int
}

// serialFlops is the size under which a product runs on the calling
// goroutine alone: handing it to the pool would cost more than it saves.
const serialFlops = 1 << 21

func makePlan(ker *kernel, batch, m, n, k int) plan {
	pl := plan{m: m, n: n, mr: ker.mr, nr: ker.nr, pm: 1, pn: 1}
	pl.tilesM = (m + ker.mr - 1) / ker.mr
	pl.tilesN = (n + ker.nr - 1) / ker.nr
	w := parallel.Workers()
	if 2*float64(batch)*float64(m)*float64(n)*float64(k) < serialFlops {
		w = 1
	}
	if w > 1 && !(batch >= 2*w || batch%w == 0) {
		// Split each product into about w parts so that the tasks balance.
		// Among the factorisations pm*pn of the part count, take the one that
		// packs the least: every column part packs its rows of A, every row
		// part packs its columns of B.
		parts := w
		best := -1.0
		for pm := 1; pm <= parts; pm++ {
			if parts%pm != 0 {
				continue
			}
			pn := parts / pm
			if pm > pl.tilesM || pn > pl.tilesN {
				continue
			}
			cost := float64(pn)*float64(m) + float64(pm)*float64(n)
			if best < 0 || cost < best {
				best, pl.pm, pl.pn = cost, pm, pn
			}
		}
		if best < 0 { // too few tiles for an even split: use what there is
			pl.pm = min(parts, pl.tilesM)
			pl.pn = 1
			if pl.tilesN > pl.tilesM {
				pl.pm, pl.pn = 1, min(parts, pl.tilesN)
			}
		}
	}
	pl.tasks = batch * pl.pm * pl.pn
	pl.chunks = min(w, pl.tasks)
	return pl
}

// task returns the batch index and the C block [i0,i1)×[j0,j1) of task t.
func (pl *plan) task(t int) (bi, i0, i1, j0, j1 int) {
	per := pl.pm * pl.pn
	bi, r := t/per, t%per
	im, in := r/pl.pn, r%pl.pn
	lo, hi := parallel.Range(pl.tilesM, pl.pm, im)
	i0, i1 = lo*pl.mr, min(hi*pl.mr, pl.m)
	lo, hi = parallel.Range(pl.tilesN, pl.pn, in)
	j0, j1 = lo*pl.nr, min(hi*pl.nr, pl.n)
	return
}

// workspace holds one goroutine's pack buffers; they are pooled so that the
// steady state does not allocate.
type workspace struct {
	a, b, seg, tmp, blk []float32
}

var wsPool sync.Pool

func getWorkspace(ker *kernel) *workspace {
	ws, _ := wsPool.Get().(*workspace)
	if ws == nil {
		ws = new(workspace)
	}
	ws.a = grow(ws.a, ker.mc*ker.kc+ker.mr*ker.kc)
	ws.b = grow(ws.b, ker.nc*ker.kc+ker.nr*ker.kc)
	ws.seg = grow(ws.seg, max(ker.kc, ker.mc, ker.nc))
	ws.tmp = grow(ws.tmp, ker.mr*ker.nr)
	if ker.gather {
		ws.blk = grow(ws.blk, max(ker.mr, ker.nr)*ker.kc)
	}
	return ws
}

func putWorkspace(ws *workspace) { wsPool.Put(ws) }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// block computes rows [i0,i1) and columns [j0,j1) of C = alpha*op(A)*op(B) + beta*C.
func (ws *workspace) block(ker *kernel, k int, alpha float32, a, b Operand, beta float32,
	c []float32, ldc, i0, i1, j0, j1 int) {
	mr, nr := ker.mr, ker.nr
	// Split k into equal blocks of at most ker.kc (a multiple of 16, which
	// the register-transpose packing wants) rather than leaving a thin tail.
	nb := (k + ker.kc - 1) / ker.kc
	kcb := min(ker.kc, ((k+nb-1)/nb+15)&^15)
	for jc := j0; jc < j1; jc += ker.nc {
		nc := min(ker.nc, j1-jc)
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			packPanels(ws.b, &b, b.Trans, nr, jc, nc, pc, kc, 1, ws.seg, ws.blk, ker.gather)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for ic := i0; ic < i1; ic += ker.mc {
				mc := min(ker.mc, i1-ic)
				packPanels(ws.a, &a, !a.Trans, mr, ic, mc, pc, kc, alpha, ws.seg, ws.blk, ker.gather)
				for jr := 0; jr < nc; jr += nr {
					bp := &ws.b[jr*kc]
					w := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						ap := &ws.a[ir*kc]
						h := min(mr, mc-ir)
						co := (ic+ir)*ldc + jc + jr
						if h == mr && w == nr {
							ker.micro(kc, ap, bp, &c[co], ldc, bet)
							continue
						}
						ker.micro(kc, ap, bp, &ws.tmp[0], nr, 0)
						mergeEdge(ws.tmp, nr, c[co:], ldc, h, w, bet)
					}
				}
			}
		}
	}
}

// mergeEdge writes the top-left h×w part of a full micro tile into C.
func mergeEdge(t []float32, nr int, c []float32, ldc, h, w int, beta float32) {
	for i := range h {
		src := t[i*nr : i*nr+w]
		dst := c[i*ldc : i*ldc+w]
		if beta == 0 {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] = v + beta*dst[j]
		}
	}
}

// packPanels packs a block of an operand into w-wide panels, each holding kc
// steps of w consecutive floats, zero-padded past the edge. The block covers
// "outer" indices [o0, o0+olen) (rows of op(A), or columns of op(B)) and
// k indices [p0, p0+kc). rowsOuter says whether a stored row is one outer
// index (so its elements run along k) or one k index (elements run along the
// outer dimension). Values are multiplied by scale. gather allows the
// AVX-512 register-transpose routine for the rowsOuter case (16-bit sources
// are first widened into blk, which needs w*kc elements).
func packPanels(dst []float32, o *Operand, rowsOuter bool, w, o0, olen, p0, kc int, scale float32, seg, blk []float32, gather bool) {
	if rowsOuter {
		for q := 0; q < olen; q += w {
			panel := dst[q*kc : (q+w)*kc]
			h := min(w, olen-q)
			if gather && o.F32 != nil {
				off := (o0+q)*o.LD + p0
				if transPanel(panel, o.F32[off:], o.LD, w, h, kc, scale) {
					continue
				}
			}
			if gather && o.F32 == nil && h == w && len(blk) >= w*kc {
				// 16-bit source: widen the w rows into a dense block, then
				// transpose that in registers.
				for i := range h {
					r := blk[i*kc : (i+1)*kc]
					copy(r, o.row(o0+q+i, p0, kc, r))
				}
				if transPanel(panel, blk, kc, w, h, kc, scale) {
					continue
				}
			}
			for i := range h {
				src := o.row(o0+q+i, p0, kc, seg)
				scatter(panel[i:], src, w, scale)
			}
			for i := h; i < w; i++ {
				for p := range kc {
					panel[p*w+i] = 0
				}
			}
		}
		return
	}
	for p := range kc {
		src := o.row(p0+p, o0, olen, seg)
		for q := 0; q < olen; q += w {
			d := dst[q*kc+p*w : q*kc+p*w+w]
			h := min(w, olen-q)
			s := src[q : q+h]
			if scale == 1 {
				copy(d, s)
			} else {
				for i, v := range s {
					d[i] = v * scale
				}
			}
			clear(d[h:])
		}
	}
}

// scatter writes src[p]*scale to d[p*w].
func scatter(d, src []float32, w int, scale float32) {
	if len(src) == 0 {
		return
	}
	d = d[:(len(src)-1)*w+1]
	if scale == 1 {
		for p, v := range src {
			d[p*w] = v
		}
		return
	}
	for p, v := range src {
		d[p*w] = v * scale
	}
}
