package policy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConstant(t *testing.T) {
	p, err := NewConstant([]float32{0, 0, 0, 0, 0, 0, -1}, 3)
	require.NoError(t, err)
	c, err := p.Act(context.Background(), &Observation{})
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0, -1}, c.Action(2))
	require.Equal(t, Spec{Name: "constant", ActionDim: 7, Horizon: 3}, p.Spec())
	_, err = NewConstant(nil, 3)
	require.Error(t, err)
}

func TestRandomIsSeededAndBounded(t *testing.T) {
	low, high := []float32{-1, 0}, []float32{1, 0.5}
	a, err := NewRandom(low, high, 8, 3)
	require.NoError(t, err)
	b, _ := NewRandom(low, high, 8, 3)
	ca, _ := a.Act(context.Background(), nil)
	cb, _ := b.Act(context.Background(), nil)
	require.Equal(t, ca.Actions, cb.Actions)
	for i := range ca.H {
		act := ca.Action(i)
		require.GreaterOrEqual(t, act[0], float32(-1))
		require.LessOrEqual(t, act[1], float32(0.5))
	}
	_, err = NewRandom([]float32{1}, []float32{0}, 1, 0)
	require.ErrorContains(t, err, "low 1 above high 0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = a.Act(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestValidate(t *testing.T) {
	require.ErrorContains(t, (&Chunk{H: 2, D: 3, Actions: make([]float32, 5)}).Validate(), "needs 6 values, has 5")
	require.ErrorContains(t, Image{H: 2, W: 2, Pix: make([]uint8, 3)}.Validate(), "needs 12 RGB bytes")
}
