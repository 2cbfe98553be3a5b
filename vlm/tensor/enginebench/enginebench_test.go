package enginebench

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor"
)

func smallBlock() *Block {
	return NewBlock(BlockConfig{Seq: 16, Hidden: 32, Heads: 4, MLP: 48, Theta: 1e4}, rand.New(rand.NewPCG(3, 4)))
}

func TestTrainerReducesLoss(t *testing.T) {
	blk := smallBlock()
	tr, err := NewTrainer(blk, rand.New(rand.NewPCG(5, 6)))
	require.NoError(t, err)
	require.Len(t, tr.opt.Params(), len(blk.Params()))
	first, err := tr.Step()
	require.NoError(t, err)
	var last float32
	for range 30 {
		last, err = tr.Step()
		require.NoError(t, err)
	}
	require.Less(t, last, first*0.9, "loss %g -> %g", first, last)
}

func TestBlockGradients(t *testing.T) {
	blk := smallBlock()
	x := tensor.Randn(rand.New(rand.NewPCG(7, 8)), 16, 32)
	err := tensor.GradCheck(func(c *tensor.Ctx, in []*tensor.Tensor) *tensor.Tensor {
		b := *blk
		b.Wq, b.WDown = in[1], in[2]
		return b.Forward(c, in[0])
	}, []*tensor.Tensor{x, blk.Wq, blk.WDown}, tensor.GradCheckConfig{MaxPerInput: 16})
	require.NoError(t, err)
}

func TestWorkloadsRunAndMeasure(t *testing.T) {
	for _, name := range []string{"gemm1024"} {
		w, err := New(name)
		require.NoError(t, err)
		res, err := Measure(w, 0, 1)
		require.NoError(t, err)
		require.Equal(t, name, res.Workload)
		require.Positive(t, res.GFLOPs)
		require.Positive(t, res.PeakRSSMiB)
	}
	_, err := New("nope")
	require.ErrorContains(t, err, `unknown workload "nope"`)
}

func TestFLOPCount(t *testing.T) {
	c := DefaultBlockConfig()
	require.InDelta(t, 6.9e9, c.FLOPs(false), 0.1e9)
	require.Equal(t, 3*c.FLOPs(false), c.FLOPs(true))
}
