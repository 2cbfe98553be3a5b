package vmath

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// forEachKernel runs fn as a subtest with each kernel of this machine.
func forEachKernel(t *testing.T, fn func(t *testing.T)) {
	for _, name := range Kernels() {
		t.Run(name, func(t *testing.T) {
			restore, err := SetKernel(name)
			require.NoError(t, err)
			defer restore()
			fn(t)
		})
	}
}

func f32(bits uint32) float32 { return math.Float32frombits(bits) }

// around returns the 2k+1 float32 values nearest x (x itself in the middle).
func around(x float32, k int) []float32 {
	var v []float32
	lo, hi := x, x
	for range k {
		lo = math.Nextafter32(lo, float32(math.Inf(-1)))
		hi = math.Nextafter32(hi, float32(math.Inf(1)))
		v = append(v, lo, hi)
	}
	return append(v, x)
}

// specials are the inputs where the kernels' branches and masks change:
// zeros, infinities, NaNs with and without payloads (signalling included),
// the overflow and underflow thresholds ± a few ulps, the last inputs whose
// results are normal, subnormal inputs and the ties of the rounding to n.
func specials() []float32 {
	v := []float32{
		0, f32(0x80000000), float32(math.Inf(1)), float32(math.Inf(-1)),
		f32(0x7fc00000), f32(0xffc00000), f32(0x7fc01234), f32(0x7f800001), f32(0xff812345),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		f32(0x007fffff), f32(0x807fffff), f32(0x00800000), f32(0x80800000),
		1e-30, -1e-30, 0.5, -0.5, 1, -1, 88, -87, 89, -88, 100, -100, 1e10, -1e10,
	}
	for _, x := range []float32{expHi, expLo, -87.33, 88.7, 88.72, -87.336} {
		v = append(v, around(x, 8)...)
	}
	for k := -130; k <= 130; k++ { // (k ± 0.5)·ln 2: fx near an integer
		for _, d := range []float64{-0.5, 0, 0.5} {
			v = append(v, around(float32((float64(k)+d)*math.Ln2), 2)...)
		}
	}
	return v
}

// inputSets are the named inputs of the exactness tests.
func inputSets() []struct {
	name string
	x    []float32
} {
	rng := rand.New(rand.NewPCG(7, 7))
	uniform, bits, normal := make([]float32, 1<<15), make([]float32, 1<<15), make([]float32, 1<<15)
	for i := range uniform {
		uniform[i] = float32(rng.Float64()*200 - 100)
		bits[i] = f32(rng.Uint32())
		normal[i] = float32(rng.NormFloat64() * 8)
	}
	return []struct {
		name string
		x    []float32
	}{
		{"specials", specials()},
		{"uniform_-100_100", uniform},
		{"random_bits", bits},
		{"normal_sd8", normal},
	}
}

// requireSameBits fails unless got and want are equal bit for bit.
func requireSameBits(t testing.TB, want, got, src []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			require.Failf(t, "bits differ", "%s: x=%v (%#08x): got %v (%#08x), want %v (%#08x)", what,
				src[i], math.Float32bits(src[i]), got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// requireSameSum fails unless got and want are equal bit for bit, or both
// NaN: which NaN operand an addition propagates is up to the instruction.
func requireSameSum(t *testing.T, want, got float32, what string) {
	t.Helper()
	if want != want {
		require.True(t, got != got, "%s: got %v, want NaN", what, got)
		return
	}
	require.Equal(t, math.Float32bits(want), math.Float32bits(got), "%s: got %v, want %v", what, got, want)
}

func TestExpfAccuracy(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.0137 {
		want := math.Exp(float64(x))
		require.InDelta(t, 0, (float64(Expf(x))-want)/want, 3e-7, "x=%v", x)
	}
	for _, tc := range []struct {
		x, want float32
	}{
		{float32(math.Inf(-1)), 0},
		{-1000, 0},
		{0, 1},
		{1000, float32(math.Inf(1))},
		{float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		require.Equal(t, tc.want, Expf(tc.x), "x=%v", tc.x)
	}
	require.True(t, math.IsNaN(float64(Expf(float32(math.NaN())))))
}

func TestExpShiftedAccuracy(t *testing.T) {
	var src []float32
	for x := float32(-90); x <= 0; x += 0.00731 {
		src = append(src, x)
	}
	src = append(src, 0, float32(math.Inf(-1)), -1e30)
	forEachKernel(t, func(t *testing.T) {
		dst := make([]float32, len(src))
		sum := ExpShifted(dst, src, 0)
		var want float64
		for i, x := range src {
			w := math.Exp(float64(x))
			want += w
			if x < -87.3366 {
				require.Equal(t, float32(0), dst[i], "x=%v", x)
				continue
			}
			require.InDelta(t, 0, (float64(dst[i])-w)/w, 3e-7, "x=%v", x)
		}
		require.InDelta(t, want, float64(sum), 1e-6*want)
		require.Equal(t, sum, ExpShifted(nil, src, 0))
		// The shift by m comes before the exponential, and clamps at 0.
		require.InDelta(t, math.Exp(-2), float64(ExpShifted(nil, []float32{3}, 5)), 1e-7)
		require.Equal(t, float32(1), ExpShifted(nil, []float32{5.5}, 5))
	})
}

// TestExpMatchesScalar checks every kernel against Expf bit for bit, at every
// length 0..70 (all tail sizes) and on whole input sets, into a separate
// destination (whose spare end must stay untouched) and in place.
func TestExpMatchesScalar(t *testing.T) {
	const sentinel = float32(-12345)
	for _, set := range inputSets() {
		want := make([]float32, len(set.x))
		for i, x := range set.x {
			want[i] = Expf(x)
		}
		t.Run(set.name, func(t *testing.T) {
			forEachKernel(t, func(t *testing.T) {
				check := func(lo, hi int) {
					src := set.x[lo:hi]
					dst := make([]float32, len(src)+3)
					for i := range dst {
						dst[i] = sentinel
					}
					Exp(dst, src)
					requireSameBits(t, want[lo:hi], dst[:len(src)], src, "exp")
					require.Equal(t, []float32{sentinel, sentinel, sentinel}, dst[len(src):])
					inPlace := append([]float32(nil), src...)
					Exp(inPlace, inPlace)
					requireSameBits(t, want[lo:hi], inPlace, src, "exp in place")
				}
				for n := range 71 {
					for lo := 0; lo+n <= len(set.x) && lo < 200; lo += 37 {
						check(lo, lo+n)
					}
				}
				check(0, len(set.x))
			})
		})
	}
}

// expShiftedRef returns the scalar code's e^min(src[i]−m, 0).
func expShiftedRef(src []float32, m float32) []float32 {
	want := make([]float32, len(src))
	var acc [Lanes]float32
	if len(src) > 0 {
		expShiftedGeneric(&want[0], &src[0], len(src), m, &acc)
	}
	return want
}

// laneSum is ExpShifted's documented summation order over e.
func laneSum(e []float32) float32 {
	var acc [Lanes]float32
	for i, v := range e {
		acc[i%Lanes] += v
	}
	for w := Lanes / 2; w > 0; w /= 2 {
		for i := range w {
			acc[i] += acc[i+w]
		}
	}
	return acc[0]
}

// TestExpShiftedMatchesScalar checks every kernel against the scalar code bit for
// bit, and the sum against the documented lane order exactly and against a
// float64 left-to-right sum with a relative tolerance, at every length
// 0..70 and on whole input sets, with m the row maximum, a log-sum-exp and
// arbitrary values.
func TestExpShiftedMatchesScalar(t *testing.T) {
	for _, set := range inputSets() {
		t.Run(set.name, func(t *testing.T) {
			forEachKernel(t, func(t *testing.T) {
				check := func(src []float32, m float32) {
					want := expShiftedRef(src, m)
					var sum64 float64
					for _, e := range want {
						sum64 += float64(e)
					}
					dst := make([]float32, len(src))
					sum := ExpShifted(dst, src, m)
					requireSameBits(t, want, dst, src, "exp shifted")
					requireSameSum(t, laneSum(want), sum, "lane sum")
					requireSameSum(t, sum, ExpShifted(nil, src, m), "sum only")
					inPlace := append([]float32(nil), src...)
					requireSameSum(t, sum, ExpShifted(inPlace, inPlace, m), "sum in place")
					requireSameBits(t, want, inPlace, src, "exp shifted in place")
					if !math.IsNaN(sum64) && !math.IsInf(sum64, 0) {
						// Σ of n positive terms in n/16 + 4 roundings per lane.
						tol := float64(len(src)/Lanes+5) * 0x1p-24 * sum64
						require.InDelta(t, sum64, float64(sum), tol, "n=%d m=%v", len(src), m)
					}
				}
				shifts := func(src []float32) []float32 {
					var mx float32
					if len(src) > 0 {
						mx = src[0]
						for _, v := range src {
							mx = max(mx, v)
						}
					}
					var s float64
					for _, v := range src {
						s += math.Exp(float64(v - mx))
					}
					return []float32{mx, mx + float32(math.Log(s)), 0, -3.5, 90}
				}
				for n := range 71 {
					for lo := 0; lo+n <= len(set.x) && lo < 200; lo += 37 {
						for _, m := range shifts(set.x[lo : lo+n]) {
							check(set.x[lo:lo+n], m)
						}
					}
				}
				for _, m := range shifts(set.x) {
					check(set.x, m)
				}
			})
		})
	}
}

// BenchmarkExhaustive compares every SIMD kernel with the scalar code on
// all 2^32 float32 bit patterns (Exp on x, ExpShifted on x − 0), once,
// whatever b.N: an opt-in check of several minutes,
// `go test -run '^$' -bench Exhaustive -benchtime 1x ./vlm/tensor/internal/vmath/`.
func BenchmarkExhaustive(b *testing.B) {
	t := b
	const chunk = 1 << 16
	src := make([]float32, chunk)
	want, got := make([]float32, chunk), make([]float32, chunk)
	for base := uint64(0); base < 1<<32; base += chunk {
		for i := range src {
			src[i] = f32(uint32(base) + uint32(i))
			want[i] = Expf(src[i])
		}
		wantS := expShiftedRef(src, 0)
		for _, name := range Kernels() {
			restore, err := SetKernel(name)
			require.NoError(t, err)
			Exp(got, src)
			requireSameBits(t, want, got, src, name+" exp")
			ExpShifted(got, src, 0)
			requireSameBits(t, wantS, got, src, name+" exp shifted")
			restore()
		}
	}
}

func TestSetKernel(t *testing.T) {
	_, err := SetKernel("nope")
	require.ErrorContains(t, err, `vmath: kernel "nope" not available`)
	restore, err := SetKernel("generic")
	require.NoError(t, err)
	require.Equal(t, "generic", Kernel())
	restore()
	require.Equal(t, Kernels()[0], Kernel())
}
