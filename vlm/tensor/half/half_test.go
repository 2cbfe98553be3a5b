package half

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBF16KnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {0, 0}, {float32(math.Inf(1)), 0x7f80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above tie
		{math.MaxFloat32, 0x7f80},                  // rounds to Inf
	} {
		require.Equal(t, tc.want, BF16FromFloat32(tc.in), "%g", tc.in)
	}
	require.True(t, math.IsNaN(float64(BF16ToFloat32(BF16FromFloat32(float32(math.NaN()))))))
}

func TestF16KnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00},
		{6.103515625e-05, 0x0400},    // smallest normal
		{5.960464477539063e-08, 1},   // smallest subnormal
		{2.98023223876953125e-08, 0}, // half of smallest subnormal: tie to even (0)
		{8.940696716308594e-08, 2},   // 1.5 * smallest subnormal: tie to even (2)
		{1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00}, // tie between 0x3c00 and 0x3c01: even
		{float32(math.Inf(-1)), 0xfc00},
	} {
		require.Equal(t, tc.want, F16FromFloat32(tc.in), "%g", tc.in)
	}
	require.True(t, math.IsNaN(float64(F16ToFloat32(F16FromFloat32(float32(math.NaN()))))))
}

// Every 16-bit pattern that is not NaN must survive widen-then-round exactly.
func TestRoundTripAllPatterns(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		if f := BF16ToFloat32(h); !math.IsNaN(float64(f)) {
			require.Equal(t, h, BF16FromFloat32(f), "bf16 %#04x", h)
		}
		if f := F16ToFloat32(h); !math.IsNaN(float64(f)) {
			require.Equal(t, h, F16FromFloat32(f), "f16 %#04x", h)
		}
	}
}

// Rounding must pick the nearest representable neighbour.
func TestF16RoundsToNearest(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		lo := F16ToFloat32(h)
		if h&0x7c00 == 0x7c00 || h == 0x7bff || h == 0xfbff || h&0x8000 != 0 {
			continue
		}
		hi := F16ToFloat32(h + 1)
		mid := lo + (hi-lo)*0.25
		require.Equal(t, h, F16FromFloat32(mid), "%#04x", h)
		mid = lo + (hi-lo)*0.75
		require.Equal(t, h+1, F16FromFloat32(mid), "%#04x", h)
	}
}

func TestSliceHelpers(t *testing.T) {
	src := []float32{1, -0.5, 3.25, 1e-3}
	b, f := make([]uint16, 4), make([]uint16, 4)
	BF16FromFloat32s(b, src)
	F16FromFloat32s(f, src)
	gb, gf := make([]float32, 4), make([]float32, 4)
	BF16ToFloat32s(gb, b)
	F16ToFloat32s(gf, f)
	for i := range src {
		require.InDelta(t, src[i], gb[i], math.Abs(float64(src[i]))/128)
		require.InDelta(t, src[i], gf[i], math.Abs(float64(src[i]))/1024)
	}
}
