package tensor

import (
	"math"
)

// Scalar kernels shared by the nn_* operations: a fast float32 exp and dot.

// expf returns e^x in float32 with a relative error of about 1e-7 (Cephes
// expf: range reduction by ln 2 in two parts, degree-6 polynomial). It is
// several times faster than float32(math.Exp(float64(x))). Inputs below
// about -87.3 (including -Inf) give 0; above 88.7, +Inf; NaN stays NaN.
func expf(x float32) float32 {
	const (
		hi    = 88.72283905206835
		lo    = -87.33654475
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if !(x < hi) { // also NaN
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < lo {
		return 0
	}
	// n = round(x·log2e)
	fx := x*log2e + 0.5
	n := int32(fx)
	if float32(n) > fx {
		n--
	}
	fn := float32(n)
	x = x - fn*c1 - fn*c2
	z := x * x
	y := ((((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+
		4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*z + x + 1)
	// y·2^n; n is in [-126, 128] here, and y in [0.7, 1.42], so split the
	// scaling in two to stay in the normal range at both ends.
	n1 := n / 2
	n2 := n - n1
	return y * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
}

// dot32 returns Σ x[i]·y[i] over len(x) elements (y at least as long).
func dot32(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// expShifted sets dst[i] = e^(src[i]−m) for len(src) elements and returns
// their sum; dst may be nil (sum only) or alias src. It requires
// src[i] ≤ m up to rounding (m a maximum or a log-sum-exp), which lets it
// skip expf's overflow handling; the polynomial is expf's, inlined.
// Arguments below about −87.3 (and −Inf) give exactly 0; NaN gives NaN.
func expShifted(dst, src []float32, m float32) float32 {
	const (
		lo    = -87.33654475
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if dst != nil {
		dst = dst[:len(src)]
	}
	var sum float32
	for i, v := range src {
		x := min(v-m, 0)
		var e float32
		if x >= lo {
			n := int32(x*log2e - 0.5) // round to nearest for x ≤ 0
			fn := float32(n)
			x = x - fn*c1 - fn*c2
			z := x * x
			y := ((((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+
				4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*z + x + 1)
			e = y * math.Float32frombits(uint32(n+127)<<23)
		} else if x != x {
			e = x
		}
		if dst != nil {
			dst[i] = e
		}
		sum += e
	}
	return sum
}
