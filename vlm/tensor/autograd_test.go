package tensor

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGradSink checks that goroutines back-propagating through shared
// parameters into their own sinks, merged with Flush, give the gradients
// of the same passes run one after another into the parameters.
func TestGradSink(t *testing.T) {
	w := FromFloat32([]float32{0.5, -1, 2, 0.25, 1.5, -0.75}, 3, 2).SetRequiresGrad(true)
	b := FromFloat32([]float32{0.1, -0.2, 0.3}, 3).SetRequiresGrad(true)
	xs := [][]float32{{1, 2}, {-1, 0.5}, {3, -2}, {0.25, 0.75}}
	loss := func(c *Ctx, x []float32) *Tensor {
		y := Linear(c, FromFloat32(x, 1, 2), w, b)
		return Sum(c, Mul(c, y, y))
	}
	for _, x := range xs {
		require.NoError(t, Backward(loss(nil, x), nil))
	}
	wantW, wantB := w.Grad().Float32s(), b.Grad().Float32s()
	w.ZeroGrad()
	b.ZeroGrad()

	sinks := []*GradSink{NewGradSink(), NewGradSink()}
	var wg sync.WaitGroup
	for k, s := range sinks {
		wg.Go(func() {
			c := &Ctx{Grads: s}
			for i := k; i < len(xs); i += len(sinks) {
				require.NoError(t, Backward(loss(c, xs[i]), nil))
			}
		})
	}
	wg.Wait()
	require.Nil(t, w.Grad(), "the parameters stay untouched until Flush")
	require.NotNil(t, sinks[0].Grad(w))
	for _, s := range sinks {
		s.Flush()
		require.Nil(t, s.Grad(w), "Flush empties the sink")
	}
	require.InDeltaSlice(t, wantW, w.Grad().Float32s(), 1e-5)
	require.InDeltaSlice(t, wantB, b.Grad().Float32s(), 1e-5)
}
