package vmath

import (
	"math"
	"unsafe"
)

// The constants of Expf (Cephes expf), shared with the assembly's table.
const (
	expHi = 88.72283905206835 // above: +Inf
	expLo = -87.33654475      // below: 0
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375 // ln 2 = ln2Hi + ln2Lo, ln2Hi exact in a few bits
	ln2Lo = -2.12194440e-4
	expP0 = 1.9875691500e-4
	expP1 = 1.3981999507e-3
	expP2 = 8.3334519073e-3
	expP3 = 4.1665795894e-2
	expP4 = 1.6666665459e-1
	expP5 = 5.0000001201e-1
)

// Expf returns e^x in float32 with a relative error of about 1e-7 (Cephes
// expf: range reduction by ln 2 in two parts, degree-6 polynomial). It is
// several times faster than float32(math.Exp(float64(x))). Inputs below
// about -87.3 (including -Inf) give 0; above 88.7, +Inf; NaN stays NaN
// (the same bits).
//
// Every product is rounded to float32 explicitly, so that no platform fuses
// a multiply and an add: the result is the same everywhere, and the vector
// kernels reproduce it bit for bit.
func Expf(x float32) float32 {
	if !(x < expHi) { // also NaN
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < expLo {
		return 0
	}
	// n = floor(x·log2e + 0.5), the nearest integer
	fx := float32(x*log2e) + 0.5
	n := int32(fx)
	if float32(n) > fx {
		n--
	}
	y := expPoly(expReduce(x, float32(n)))
	// y·2^n; n is in [-126, 128] here, and y in [0.7, 1.42], so split the
	// scaling in two to stay in the normal range at both ends.
	n1 := n / 2
	return float32(y*pow2(n1)) * pow2(n-n1)
}

// expReduce returns x − n·ln 2 in two steps (n given as a float32).
func expReduce(x, n float32) float32 {
	return x - float32(n*ln2Hi) - float32(n*ln2Lo)
}

// expPoly returns e^r for |r| ≤ ln2/2: 1 + r + r²·P(r).
func expPoly(r float32) float32 {
	z := float32(r * r)
	p := float32(expP0*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	return float32(p*z) + r + 1
}

// pow2 returns 2^n for n in the normal exponent range [-126, 127].
func pow2(n int32) float32 { return math.Float32frombits(uint32(n+127) << 23) }

// expGeneric is the scalar implementation of the Exp kernel on n elements.
func expGeneric(dst, src *float32, n int) {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(src, n)
	for i, v := range s {
		d[i] = Expf(v)
	}
}

// expShiftedGeneric is the scalar implementation of the ExpShifted kernel on
// n elements: dst[i] = e^min(src[i]−m, 0) (dst nil: not written), added to
// the partial sums acc. The argument cannot overflow, so Expf's checks
// reduce to one: x ≥ expLo, or else 0 (NaN: x).
func expShiftedGeneric(dst, src *float32, n int, m float32, acc *[Lanes]float32) {
	s := unsafe.Slice(src, n)
	var d []float32
	if dst != nil {
		d = unsafe.Slice(dst, n)
	}
	for i, v := range s {
		x := min(v-m, 0)
		var e float32
		if x >= expLo {
			k := int32(float32(x*log2e) - 0.5) // truncation rounds to nearest for x ≤ 0
			e = expPoly(expReduce(x, float32(k))) * pow2(k)
		} else if x != x {
			e = x
		}
		if d != nil {
			d[i] = e
		}
		acc[i%Lanes] += e
	}
}
