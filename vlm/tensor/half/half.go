// Package half converts between float32 and the two 16-bit float storage
// formats used for weights: bfloat16 and IEEE 754 binary16 (float16).
//
// Conversions to 16 bits round to nearest, ties to even, as PyTorch does;
// NaN stays NaN (quiet) and overflow goes to ±Inf.
package half

import "math"

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep sign, force quiet bit
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToFloat32 widens a bfloat16 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F16FromFloat32 rounds f to the nearest float16, ties to even.
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 142: // |f| >= 65536: overflow
		return sign | 0x7c00
	case exp >= 113: // normal range of float16
		h := uint32(exp-112)<<10 | man>>13
		rem := man & 0x1fff
		if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, and up to Inf: both correct
		}
		return sign | uint16(h)
	case exp >= 102: // subnormal float16
		man |= 0x800000
		shift := uint(126 - exp)
		h := man >> shift
		rem := man & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	default: // underflow to signed zero
		return sign
	}
}

// F16ToFloat32 widens a float16 exactly.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	default: // subnormal: value = man * 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
}

// BF16ToFloat32s widens src into dst; dst must be at least as long as src.
func BF16ToFloat32s(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// F16ToFloat32s widens src into dst; dst must be at least as long as src.
func F16ToFloat32s(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = F16ToFloat32(h)
	}
}

// BF16FromFloat32s rounds src into dst; dst must be at least as long as src.
func BF16FromFloat32s(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = BF16FromFloat32(f)
	}
}

// F16FromFloat32s rounds src into dst; dst must be at least as long as src.
func F16FromFloat32s(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = F16FromFloat32(f)
	}
}
