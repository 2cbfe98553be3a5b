package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor/half"
)

type dtype int

const (
	f32 dtype = iota
	bf16
	f16
)

func (d dtype) String() string { return [...]string{"f32", "bf16", "f16"}[d] }

// testMat is a stored matrix with its exact float32 values (after rounding
// to the storage type) for the reference.
type testMat struct {
	op   Operand
	vals []float32
}

// newMat stores an r×c operand (op shape), transposed if trans, with row
// padding pad, batch copies at stride r*c-ish (stride returned).
func newMat(rng *rand.Rand, dt dtype, batch, r, c int, trans bool, pad int) (testMat, int) {
	sr, sc := r, c
	if trans {
		sr, sc = c, r
	}
	ld := sc + pad
	stride := sr*ld + 3
	n := (batch-1)*stride + sr*ld
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(rng.NormFloat64())
	}
	op := Operand{LD: ld, Trans: trans}
	switch dt {
	case f32:
		op.F32 = vals
	case bf16:
		op.BF16 = make([]uint16, n)
		half.BF16FromFloat32s(op.BF16, vals)
		half.BF16ToFloat32s(vals, op.BF16)
	case f16:
		op.F16 = make([]uint16, n)
		half.F16FromFloat32s(op.F16, vals)
		half.F16ToFloat32s(vals, op.F16)
	}
	return testMat{op: op, vals: vals}, stride
}

// dense returns op(X) of the batch entry at offset off as a row-major
// float64 r×c matrix.
func (t *testMat) dense(off, r, c int) []float64 {
	d := make([]float64, r*c)
	for i := range r {
		for j := range c {
			if t.op.Trans {
				d[i*c+j] = float64(t.vals[off+j*t.op.LD+i])
			} else {
				d[i*c+j] = float64(t.vals[off+i*t.op.LD+j])
			}
		}
	}
	return d
}

// reference computes alpha*op(A)*op(B) + beta*C0 in float64 for one batch
// entry, with a per-element error bound. The bound is the standard one for
// a k-term float32 dot product, |err| ≤ γ·Σ|alpha·a·b| + 4u·|beta·c| with
// γ = 2(k+2)u, u = 2^-24 (the factor 2 covers alpha being folded into the
// packed A); blocked and FMA summation stay well inside it.
func reference(m, n, k int, alpha float32, a, b []float64, beta float32, c0 []float32, ldc int) (ref, tol []float64) {
	const u = 1.0 / (1 << 24)
	gamma := 2 * float64(k+2) * u
	ref = make([]float64, m*n)
	tol = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				v := a[i*k+p] * b[p*n+j]
				s += v
				abs += math.Abs(v)
			}
			r := float64(alpha) * s
			e := gamma*math.Abs(float64(alpha))*abs + 1e-30
			if beta != 0 {
				cv := float64(c0[i*ldc+j])
				r += float64(beta) * cv
				e += 4 * u * math.Abs(float64(beta)*cv)
			}
			ref[i*n+j], tol[i*n+j] = r, e
		}
	}
	return ref, tol
}

type gemmCase struct {
	batch, m, n, k int
	ta, tb         bool
	alpha, beta    float32
	dta, dtb       dtype
	padA, padB     int
	padC           int
	shareA, shareB bool
	nanC           bool
}

func (gc gemmCase) String() string {
	return fmt.Sprintf("b%d_%dx%dx%d_ta%v_tb%v_a%g_b%g_%v_%v_pad%d%d%d_sh%v%v",
		gc.batch, gc.m, gc.n, gc.k, gc.ta, gc.tb, gc.alpha, gc.beta, gc.dta, gc.dtb,
		gc.padA, gc.padB, gc.padC, gc.shareA, gc.shareB)
}

// runCase builds the operands of gc, computes the reference once and checks
// every kernel against it.
func runCase(t *testing.T, rng *rand.Rand, gc gemmCase) {
	t.Helper()
	batch := max(gc.batch, 1)
	na, nb := batch, batch
	if gc.shareA {
		na = 1
	}
	if gc.shareB {
		nb = 1
	}
	a, sa := newMat(rng, gc.dta, na, gc.m, gc.k, gc.ta, gc.padA)
	b, sb := newMat(rng, gc.dtb, nb, gc.k, gc.n, gc.tb, gc.padB)
	if gc.shareA {
		sa = 0
	}
	if gc.shareB {
		sb = 0
	}
	ldc := gc.n + gc.padC
	sc := gc.m*ldc + 5
	c0 := make([]float32, (batch-1)*sc+gc.m*ldc)
	for i := range c0 {
		if gc.nanC {
			c0[i] = float32(math.NaN())
		} else {
			c0[i] = float32(rng.NormFloat64())
		}
	}
	refs := make([][2][]float64, batch)
	for bi := range batch {
		ref, tol := reference(gc.m, gc.n, gc.k, gc.alpha, a.dense(bi*sa, gc.m, gc.k), b.dense(bi*sb, gc.k, gc.n),
			gc.beta, c0[bi*sc:], ldc)
		refs[bi] = [2][]float64{ref, tol}
	}
	c := make([]float32, len(c0))
	for _, kname := range Kernels() {
		restore, err := SetKernel(kname)
		require.NoError(t, err)
		copy(c, c0)
		if gc.batch == 0 {
			Gemm(gc.m, gc.n, gc.k, gc.alpha, a.op, b.op, gc.beta, c, ldc)
		} else {
			GemmBatched(batch, gc.m, gc.n, gc.k, gc.alpha, a.op, sa, b.op, sb, gc.beta, c, sc, ldc)
		}
		restore()
		for bi := range batch {
			ref, tol := refs[bi][0], refs[bi][1]
			for i := range gc.m {
				for j := range gc.n {
					got := float64(c[bi*sc+i*ldc+j])
					want := ref[i*gc.n+j]
					if math.Abs(got-want) > tol[i*gc.n+j] || math.IsNaN(got) {
						require.FailNowf(t, "mismatch", "%s %v: batch %d C[%d][%d] = %g, want %g (tol %g)",
							kname, gc, bi, i, j, got, want, tol[i*gc.n+j])
					}
				}
				// Padding after each row and between batch entries must be untouched.
				for j := gc.n; j < ldc && bi*sc+i*ldc+j < len(c); j++ {
					idx := bi*sc + i*ldc + j
					require.Equal(t, math.Float32bits(c0[idx]), math.Float32bits(c[idx]), "%s %v: padding C[%d] touched", kname, gc, idx)
				}
			}
		}
	}
}

// forEachKernel runs f once per kernel available on this machine.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	for _, name := range Kernels() {
		t.Run(name, func(t *testing.T) {
			restore, err := SetKernel(name)
			require.NoError(t, err)
			defer restore()
			require.Equal(t, name, Kernel())
			f(t)
		})
	}
}

func TestGemmShapes(t *testing.T) {
	dims := []int{1, 3, 17, 31, 33, 100, 257}
	rng := rand.New(rand.NewPCG(1, 2))
	{
		for i, m := range dims {
			for j, n := range dims {
				k := dims[(i+2*j)%len(dims)]
				for tr := range 4 {
					gc := gemmCase{m: m, n: n, k: k, ta: tr&1 != 0, tb: tr&2 != 0, alpha: 1, beta: 0, nanC: true}
					if (i+j+tr)%3 == 1 {
						gc.alpha, gc.beta, gc.nanC = -0.5, 1.5, false
					}
					runCase(t, rng, gc)
				}
			}
		}
	}
}

func TestGemmVariants(t *testing.T) {
	cases := []gemmCase{
		{m: 64, n: 80, k: 600, alpha: 1, beta: 0, nanC: true},   // several KC blocks
		{m: 64, n: 80, k: 600, alpha: 2, beta: 1},               // accumulate
		{m: 45, n: 70, k: 300, alpha: 0.25, beta: -2, ta: true}, // alpha, beta, transA
		{m: 200, n: 50, k: 129, alpha: 1, beta: 0, tb: true, padA: 7, padB: 5, padC: 9, nanC: true},
		{m: 33, n: 47, k: 65, alpha: 1, beta: 0.5, ta: true, tb: true, padA: 1, padB: 2, padC: 3},
		{m: 40, n: 300, k: 70, alpha: 1, beta: 0, dta: bf16, dtb: bf16, nanC: true},
		{m: 40, n: 300, k: 70, alpha: 1, beta: 1, dtb: bf16, tb: true},
		{m: 31, n: 65, k: 90, alpha: -1, beta: 0, dta: f16, ta: true, dtb: f16, padB: 4, nanC: true},
		{m: 17, n: 33, k: 300, alpha: 1, beta: 0, dta: bf16, dtb: f16, tb: true, nanC: true},
		{m: 1, n: 300, k: 70, alpha: 1, beta: 0, nanC: true},           // gemv, axpy form
		{m: 1, n: 300, k: 70, alpha: 2, beta: 1, tb: true},             // gemv, dot form
		{m: 1, n: 300, k: 70, alpha: 1, beta: 0, ta: true, padA: 3},    // strided x
		{m: 1, n: 4100, k: 33, alpha: 1, beta: 0.5, dtb: bf16},         // gemv, several chunks
		{m: 1, n: 129, k: 4100, alpha: 1, beta: 0, dtb: f16, tb: true}, // gemv dot form, long k
		{m: 120, n: 1, k: 70, alpha: 1, beta: 0, nanC: true, padC: 4},  // n == 1, dot form
		{m: 120, n: 1, k: 70, alpha: 3, beta: 1, ta: true, dta: bf16},  // n == 1, axpy form
		{m: 1, n: 1, k: 1000, alpha: 1, beta: 0, nanC: true},
		{m: 7, n: 5, k: 0, alpha: 1, beta: 2}, // k == 0 scales C
		{m: 7, n: 5, k: 0, alpha: 1, beta: 0, nanC: true},
		{m: 7, n: 5, k: 9, alpha: 0, beta: 0.5}, // alpha == 0
		{batch: 3, m: 37, n: 45, k: 29, alpha: 1, beta: 0, nanC: true},
		{batch: 5, m: 64, n: 64, k: 32, alpha: 0.125, beta: 0, shareB: true, nanC: true, tb: true},
		{batch: 4, m: 50, n: 70, k: 64, alpha: 1, beta: 1, shareA: true, dta: bf16},
		{batch: 3, m: 1, n: 100, k: 64, alpha: 1, beta: 0, tb: true, shareB: true, nanC: true},
		{batch: 3, m: 100, n: 1, k: 64, alpha: 1, beta: 0.5, shareA: true},
		{batch: 2, m: 300, n: 260, k: 100, alpha: 1, beta: 0, nanC: true, ta: true},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, gc := range cases {
		runCase(t, rng, gc)
	}
}

func TestGemmDeterministic(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, gc := range []gemmCase{
			{m: 300, n: 200, k: 700, alpha: 1},
			{batch: 6, m: 70, n: 90, k: 300, alpha: 1},
			{m: 1, n: 3000, k: 500, alpha: 1},
		} {
			a, _ := newMat(rng, f32, max(gc.batch, 1), gc.m, gc.k, false, 0)
			b, _ := newMat(rng, f32, max(gc.batch, 1), gc.k, gc.n, false, 0)
			sa, sb, sc := gc.m*gc.k+3, gc.k*gc.n+3, gc.m*gc.n
			bat := max(gc.batch, 1)
			c1 := make([]float32, bat*sc)
			c2 := make([]float32, bat*sc)
			GemmBatched(bat, gc.m, gc.n, gc.k, 1, a.op, sa, b.op, sb, 0, c1, sc, gc.n)
			GemmBatched(bat, gc.m, gc.n, gc.k, 1, a.op, sa, b.op, sb, 0, c2, sc, gc.n)
			for i := range c1 {
				require.Equal(t, math.Float32bits(c1[i]), math.Float32bits(c2[i]), "element %d differs", i)
			}
		}
	})
}

func TestGemmPanics(t *testing.T) {
	a := Operand{F32: make([]float32, 12), LD: 4}
	b := Operand{F32: make([]float32, 20), LD: 5}
	c := make([]float32, 15)
	require.NotPanics(t, func() { Gemm(3, 5, 4, 1, a, b, 0, c, 5) })
	require.Panics(t, func() { Gemm(3, 5, 4, 1, a, b, 0, c[:14], 5) }, "short C")
	require.Panics(t, func() { Gemm(3, 5, 4, 1, a, b, 0, c, 4) }, "ldc < n")
	require.Panics(t, func() { Gemm(4, 5, 4, 1, a, b, 0, make([]float32, 20), 5) }, "short A")
	require.Panics(t, func() { Gemm(3, 5, 4, 1, Operand{LD: 4}, b, 0, c, 5) }, "no data")
	require.Panics(t, func() {
		Gemm(3, 5, 4, 1, Operand{F32: a.F32, BF16: make([]uint16, 12), LD: 4}, b, 0, c, 5)
	}, "two data")
	require.Panics(t, func() { Gemm(3, 5, 4, 1, Operand{F32: a.F32, LD: 3}, b, 0, c, 5) }, "LD too small")
	require.Panics(t, func() { Gemm(3, 5, 4, 1, a, Operand{F32: b.F32, LD: 5, Trans: true}, 0, c, 5) }, "short Bt")
	require.Panics(t, func() { GemmBatched(2, 3, 5, 4, 1, a, 0, b, 0, 0, make([]float32, 40), 10, 5) }, "C overlap")
	require.NotPanics(t, func() { GemmBatched(2, 3, 5, 4, 1, a, 0, b, 0, 0, make([]float32, 40), 15, 5) })
}

func TestDotAxpy(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 63, 64, 65, 100, 255, 1000} {
			x := make([]float32, n)
			y := make([]float32, n)
			var ref, abs float64
			for i := range x {
				x[i] = float32(rng.NormFloat64())
				y[i] = float32(rng.NormFloat64())
				ref += float64(x[i]) * float64(y[i])
				abs += math.Abs(float64(x[i]) * float64(y[i]))
			}
			got := Dot(x, y)
			require.InDelta(t, ref, float64(got), float64(n+2)/(1<<23)*abs+1e-30, "Dot n=%d", n)
			y0 := append([]float32(nil), y...)
			Axpy(-1.5, x, y)
			for i := range y {
				want := float64(y0[i]) - 1.5*float64(x[i])
				require.InDelta(t, want, float64(y[i]), 1e-6*(math.Abs(want)+math.Abs(float64(y0[i]))+1), "Axpy n=%d i=%d", n, i)
			}
		}
	})
	require.Panics(t, func() { Dot(make([]float32, 3), make([]float32, 4)) })
	require.Panics(t, func() { Axpy(1, make([]float32, 3), make([]float32, 4)) })
}

func TestSetKernel(t *testing.T) {
	_, err := SetKernel("nope")
	require.Error(t, err)
	require.Contains(t, Kernels(), "generic")
	require.Equal(t, Kernels()[0], Kernel())
}

// raceEnabled is set under the race detector, where sync.Pool drops items
// at random and allocation counts are meaningless.
var raceEnabled bool

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is randomised under the race detector")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range []struct{ batch, m, n, k int }{{1, 40, 50, 60}, {3, 20, 30, 40}, {1, 1, 300, 64}, {2, 1, 64, 64}, {1, 64, 1, 64}} {
		a := Operand{F32: randF32(rng, s.batch*s.m*s.k), LD: s.k}
		b := Operand{BF16: make([]uint16, s.batch*s.k*s.n), LD: s.n}
		c := make([]float32, s.batch*s.m*s.n)
		call := func() {
			GemmBatched(s.batch, s.m, s.n, s.k, 1, a, s.m*s.k, b, s.k*s.n, 0, c, s.m*s.n, s.n)
		}
		call()
		require.Zero(t, testing.AllocsPerRun(10, call), "%+v", s)
	}
}
