package tensor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func naiveCE(logits []float64, v int, targets []int64, ignore int64) float64 {
	lp := naiveLogSoftmax(logits, v)
	var s float64
	n := 0
	for r, t := range targets {
		if t == ignore {
			continue
		}
		s -= lp[r*v+int(t)]
		n++
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

func TestCrossEntropyValues(t *testing.T) {
	rng := testRNG()
	logits := Scale(nil, Randn(rng, 6, 11), 3)
	ids := []int32{3, -100, 0, 10, -100, 7}
	want := naiveCE(nnF64s(logits), 11, []int64{3, -100, 0, 10, -100, 7}, -100)
	got := CrossEntropy(nil, logits, FromInt32(ids, 6), IgnoreIndex)
	require.InDelta(t, want, float64(got.Item()), 1e-5)

	// I64 targets, leading shape [2, 3], logits [2, 3, 11], custom ignore.
	ids64 := []int64{3, 5, 0, 10, 5, 7}
	got = CrossEntropy(nil, Reshape(nil, logits, 2, 3, 11), FromInt64(ids64, 2, 3), 5)
	require.InDelta(t, naiveCE(nnF64s(logits), 11, ids64, 5), float64(got.Item()), 1e-5)

	// Large vocabulary, many rows (parallel path).
	big := Scale(nil, Randn(rng, 40, 5000), 4)
	bigIDs := make([]int64, 40)
	for i := range bigIDs {
		bigIDs[i] = int64(rng.IntN(5000))
	}
	got = CrossEntropy(nil, big, FromInt64(bigIDs, 40), IgnoreIndex)
	require.InDelta(t, naiveCE(nnF64s(big), 5000, bigIDs, -100), float64(got.Item()), 1e-4)
}

func TestCrossEntropyAllIgnored(t *testing.T) {
	logits := Randn(testRNG(), 3, 4).SetRequiresGrad(true)
	loss := CrossEntropy(nil, logits, FromInt32([]int32{-100, -100, -100}, 3), IgnoreIndex)
	require.Equal(t, float32(0), loss.Item())
	require.NoError(t, Backward(loss, nil))
	require.Equal(t, make([]float32, 12), logits.Grad().Float32s())
	require.False(t, logits.Grad().HasNaNOrInf())
}

func TestLossValues(t *testing.T) {
	p := FromFloat32([]float32{1, -2, 3, 0.5}, 2, 2)
	q := FromFloat32([]float32{0, 1, 3, -0.5}, 2, 2)
	require.InDelta(t, (1+3+0+1)/4.0, float64(L1Loss(nil, p, q).Item()), 1e-7)
	require.InDelta(t, (1+9+0+1)/4.0, float64(MSELoss(nil, p, q).Item()), 1e-7)
	rng := testRNG()
	a, b := Randn(rng, 100, 1000), Randn(rng, 100, 1000)
	var l1, l2 float64
	bd := nnF64s(b)
	for i, x := range nnF64s(a) {
		d := x - bd[i]
		l1 += math.Abs(d)
		l2 += d * d
	}
	require.InDelta(t, l1/1e5, float64(L1Loss(nil, a, b).Item()), 1e-6)
	require.InDelta(t, l2/1e5, float64(MSELoss(nil, a, b).Item()), 1e-6)
}

func TestLossGradients(t *testing.T) {
	rng := testRNG()
	ids := FromInt32([]int32{2, -100, 0, 4, 1}, 5)
	// Keep |pred − target| away from 0 so that L1's kink is not straddled.
	pred := Randn(rng, 3, 4)
	target := Add(nil, pred, FromFloat32([]float32{0.5, -0.7, 1, -1}, 4))
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"cross entropy", func(c *Ctx, in []*Tensor) *Tensor { return CrossEntropy(c, in[0], ids, IgnoreIndex) },
			[]*Tensor{Scale(nil, Randn(rng, 5, 6), 2)}},
		{"cross entropy scaled", func(c *Ctx, in []*Tensor) *Tensor {
			return Scale(c, CrossEntropy(c, in[0], ids, IgnoreIndex), 3)
		}, []*Tensor{Randn(rng, 5, 6)}},
		{"l1", func(c *Ctx, in []*Tensor) *Tensor { return L1Loss(c, in[0], in[1]) }, []*Tensor{pred, target}},
		{"mse", func(c *Ctx, in []*Tensor) *Tensor { return MSELoss(c, in[0], in[1]) }, []*Tensor{pred, target}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestLossErrors(t *testing.T) {
	nnRequireOpError(t, func() { CrossEntropy(nil, New(3, 4), FromInt32([]int32{0, 1}, 2), IgnoreIndex) }, "cross_entropy", "[2]", "[3 4]")
	nnRequireOpError(t, func() { CrossEntropy(nil, New(2, 4), FromInt32([]int32{0, 4}, 2), IgnoreIndex) }, "cross_entropy", "target 4 at row 1 out of range")
	nnRequireOpError(t, func() { CrossEntropy(nil, New(2, 4), FromInt32([]int32{-1, 0}, 2), IgnoreIndex) }, "target -1")
	nnRequireOpError(t, func() { CrossEntropy(nil, New(2, 4), New(2), IgnoreIndex) }, "targets are F32")
	nnRequireOpError(t, func() { MSELoss(nil, New(2, 4), New(4, 2)) }, "mse_loss", "[2 4]", "[4 2]")
	nnRequireOpError(t, func() { L1Loss(nil, New(0), New(0)) }, "l1_loss", "empty")
}
