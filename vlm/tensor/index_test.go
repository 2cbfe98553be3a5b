package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmbeddingValues(t *testing.T) {
	rng := testRNG()
	table := Randn(rng, 6, 4)
	for _, tc := range []struct {
		name  string
		table *Tensor
		ids   *Tensor
	}{
		{"f32 i64 2d ids", table, FromInt64([]int64{5, 0, 3, 3, 1, 2}, 2, 3)},
		{"bf16 i32", table.ToHalf(BFloat16), FromInt32([]int32{1, 4}, 2)},
		{"f16 scalar id", table.ToHalf(Float16), FromInt32([]int32{2})},
		{"transposed table view", Transpose(nil, Randn(rng, 4, 6), 0, 1), FromInt32([]int32{0, 5}, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Embedding(nil, tc.table, tc.ids)
			require.Equal(t, append(tc.ids.Shape(), 4), got.Shape())
			ids := tc.ids.Int64s()
			g := got.Float32s()
			for i, id := range ids {
				for j := range 4 {
					require.Equal(t, tc.table.At(int(id), j), g[i*4+j])
				}
			}
		})
	}
}

func TestEmbeddingGradient(t *testing.T) {
	ids := FromInt64([]int64{2, 0, 2, 4, 2}, 5)
	require.NoError(t, GradCheck(func(c *Ctx, in []*Tensor) *Tensor { return Embedding(c, in[0], ids) },
		[]*Tensor{Randn(testRNG(), 5, 3)}, GradCheckConfig{}))
}

func TestIndexErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"embedding id", func() { Embedding(nil, New(10, 4), FromInt32([]int32{3, 10}, 2)) }, "embedding: id 10 out of range for table [10 4] with 10 rows"},
		{"embedding negative", func() { Embedding(nil, New(10, 4), FromInt64([]int64{-1}, 1)) }, "id -1 out of range"},
		{"embedding ids dtype", func() { Embedding(nil, New(10, 4), New(2)) }, "index [2] is F32, not I32 or I64"},
		{"concat", func() { Concat(nil, 1, New(2, 3), New(3, 3)) }, "concat: shapes [2 3] and [3 3] differ outside axis 1"},
		{"split", func() { Split(nil, New(2, 5), 1, 2, 2) }, "split: sizes [2 2] do not add up to axis 1 of [2 5]"},
		{"stack", func() { Stack(nil, 0, New(2), New(3)) }, "stack: shapes [2] and [3] differ"},
		{"gather range", func() { Gather(nil, New(2, 3), 1, FromInt64([]int64{0, 3}, 2, 1)) }, "gather: index 3 out of range for axis 1 of [2 3]"},
		{"gather shape", func() { Gather(nil, New(2, 3), 1, FromInt64([]int64{0, 0, 0}, 3, 1)) }, "index [3 1] is larger than input [2 3] outside axis 1"},
		{"index select", func() { IndexSelect(nil, New(4, 2), 0, FromInt32([]int32{4}, 1)) }, "index_select: index 4 out of range for axis 0 of [4 2]"},
		{"index add src", func() { IndexAdd(nil, New(4, 2), 0, FromInt32([]int32{1}, 1), New(2, 2)) }, "src [2 2] does not match input [4 2] with 1 indices on axis 0: want [1 2]"},
		{"scatter rows dup", func() { ScatterRows(nil, New(4, 2), []int{1, 1}, New(2, 2)) }, "row 1 given twice"},
		{"scatter rows shape", func() { ScatterRows(nil, New(4, 2), []int{1}, New(1, 3)) }, "src [1 3] does not fit 1 rows of dst [4 2]"},
		{"scatter rows range", func() { ScatterRows(nil, New(4, 2), []int{4}, New(1, 2)) }, "row 4 out of range for dst [4 2]"},
		{"topk", func() { TopK(New(2, 3), 4) }, "k=4 out of range for last axis of [2 3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, Catch(func() error { tc.f(); return nil }), tc.msg)
		})
	}
}

func TestConcatSplitStack(t *testing.T) {
	a := FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	b := FromFloat32([]float32{5, 6}, 2, 1)
	require.Equal(t, []float32{1, 2, 5, 3, 4, 6}, Concat(nil, 1, a, b).Float32s())
	require.Equal(t, []float32{1, 2, 3, 4, 1, 2, 3, 4}, Concat(nil, 0, a, a).Float32s())
	require.Equal(t, []float32{1, 3, 2, 4, 1, 2}, Concat(nil, 0, Transpose(nil, a, 0, 1), Narrow(nil, a, 0, 0, 1)).Float32s())
	s := Stack(nil, 1, a, a)
	require.Equal(t, []int{2, 2, 2}, s.Shape())
	require.Equal(t, []float32{1, 2, 1, 2, 3, 4, 3, 4}, s.Float32s())
	parts := Split(nil, Concat(nil, 1, a, b), -1, 1, 2)
	require.Equal(t, []float32{1, 3}, parts[0].Float32s())
	require.Equal(t, []float32{2, 5, 4, 6}, parts[1].Float32s())
	require.Equal(t, []float32{1, 2, 3, 4}, Concat(nil, 0, a, New(0, 2)).Float32s())
}

func TestGatherScatterValues(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	idx := FromInt64([]int64{2, 0, 1, 1}, 2, 2)
	require.Equal(t, []float32{3, 1, 5, 5}, Gather(nil, x, 1, idx).Float32s())
	idx0 := FromInt64([]int64{1, 0, 1}, 1, 3)
	require.Equal(t, []float32{4, 2, 6}, Gather(nil, x, 0, idx0).Float32s())

	src := FromFloat32([]float32{10, 20, 30, 40, 50, 60}, 2, 3)
	// Only the [2, 2] corner of src is used, as in torch.
	require.Equal(t, []float32{21, 2, 13, 4, 95, 6}, ScatterAdd(nil, x, 1, idx, src).Float32s())

	sel := IndexSelect(nil, x, 1, FromInt32([]int32{2, 2, 0}, 3))
	require.Equal(t, []float32{3, 3, 1, 6, 6, 4}, sel.Float32s())
	rows := IndexSelect(nil, x, 0, FromInt32([]int32{1, 0}, 2))
	require.Equal(t, []float32{4, 5, 6, 1, 2, 3}, rows.Float32s())

	add := IndexAdd(nil, x, 0, FromInt64([]int64{1, 1}, 2), src)
	require.Equal(t, []float32{1, 2, 3, 54, 75, 96}, add.Float32s())
	addCols := IndexAdd(nil, x, 1, FromInt64([]int64{0}, 1), FromFloat32([]float32{100, 200}, 2, 1))
	require.Equal(t, []float32{101, 2, 3, 204, 5, 6}, addCols.Float32s())

	sr := ScatterRows(nil, FromFloat32([]float32{1, 1, 2, 2, 3, 3}, 3, 2), []int{2, 0}, FromFloat32([]float32{7, 8, 9, 10}, 2, 2))
	require.Equal(t, []float32{9, 10, 2, 2, 7, 8}, sr.Float32s())
}

func TestIndexGradients(t *testing.T) {
	rng := testRNG()
	idx := FromInt64([]int64{2, 0, 1, 1, 0, 0}, 2, 3)
	for _, tc := range []struct {
		name string
		f    func(c *Ctx, in []*Tensor) *Tensor
		in   []*Tensor
	}{
		{"concat", func(c *Ctx, in []*Tensor) *Tensor { return Concat(c, 1, in[0], in[1], in[0]) },
			[]*Tensor{Randn(rng, 2, 3, 2), Randn(rng, 2, 1, 2)}},
		{"concat view", func(c *Ctx, in []*Tensor) *Tensor { return Concat(c, 0, Transpose(c, in[0], 0, 1), in[1]) },
			[]*Tensor{Randn(rng, 3, 2), Randn(rng, 1, 3)}},
		{"split", func(c *Ctx, in []*Tensor) *Tensor {
			p := Split(c, in[0], 1, 1, 3)
			return Mul(c, Concat(c, 1, p[1], p[0]), Concat(c, 1, p[0], p[1]))
		}, []*Tensor{Randn(rng, 3, 4)}},
		{"stack", func(c *Ctx, in []*Tensor) *Tensor { return Stack(c, 1, in[0], in[1]) },
			[]*Tensor{Randn(rng, 2, 3), Randn(rng, 2, 3)}},
		{"gather", func(c *Ctx, in []*Tensor) *Tensor { return Gather(c, in[0], 1, idx) },
			[]*Tensor{Randn(rng, 3, 4)}},
		{"scatter add", func(c *Ctx, in []*Tensor) *Tensor { return ScatterAdd(c, in[0], 1, idx, in[1]) },
			[]*Tensor{Randn(rng, 2, 3), Randn(rng, 3, 4)}},
		{"index select repeats", func(c *Ctx, in []*Tensor) *Tensor {
			return IndexSelect(c, in[0], 0, FromInt32([]int32{3, 0, 3, 1}, 4))
		}, []*Tensor{Randn(rng, 4, 5)}},
		{"index select middle", func(c *Ctx, in []*Tensor) *Tensor {
			return IndexSelect(c, in[0], 1, FromInt32([]int32{2, 2, 0}, 3))
		}, []*Tensor{Randn(rng, 2, 3, 2)}},
		{"index add", func(c *Ctx, in []*Tensor) *Tensor {
			return IndexAdd(c, in[0], 1, FromInt32([]int32{1, 1, 0}, 3), in[1])
		}, []*Tensor{Randn(rng, 2, 3, 2), Randn(rng, 2, 3, 2)}},
		{"scatter rows", func(c *Ctx, in []*Tensor) *Tensor { return ScatterRows(c, in[0], []int{3, 1}, in[1]) },
			[]*Tensor{Randn(rng, 5, 3), Randn(rng, 2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, GradCheck(tc.f, tc.in, GradCheckConfig{}))
		})
	}
}

func TestArgMaxTopK(t *testing.T) {
	x := FromFloat32([]float32{1, 5, 5, 2, 9, 0, 9, 9}, 2, 4)
	require.Equal(t, []int64{1, 0}, ArgMax(x, 1).Int64s())
	require.Equal(t, []int64{1, 0, 1, 1}, ArgMax(x, 0).Int64s())
	nan := float32(math.NaN())
	require.Equal(t, []int64{2}, ArgMax(FromFloat32([]float32{1, 3, nan, 7}, 4), 0).Int64s())

	v, i := TopK(x, 3)
	require.Equal(t, []int{2, 3}, v.Shape())
	require.Equal(t, []float32{5, 5, 2, 9, 9, 9}, v.Float32s())
	require.Equal(t, []int64{1, 2, 3, 0, 2, 3}, i.Int64s())

	// Large k (full sort path) and small k (insertion path) agree with a
	// reference sort.
	rng := testRNG()
	row := make([]float32, 1000)
	for j := range row {
		row[j] = float32(rng.IntN(50)) // many ties
	}
	for _, k := range []int{1, 10, 200, 1000} {
		_, idx := TopK(FromFloat32(row, 1000), k)
		got := idx.Int64s()
		for j := 1; j < k; j++ {
			a, b := got[j-1], got[j]
			require.True(t, row[a] > row[b] || (row[a] == row[b] && a < b), "k=%d position %d", k, j)
		}
		// Nothing left out beats the last kept element.
		last := got[k-1]
		kept := map[int64]bool{}
		for _, g := range got {
			kept[g] = true
		}
		for j, v := range row {
			if !kept[int64(j)] {
				require.False(t, v > row[last] || (v == row[last] && int64(j) < last))
			}
		}
	}
}

func TestSampleLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logits := []float32{1, 3, 3, 0.5, -2}
	require.Equal(t, 1, SampleLogits(logits, 0, 0, 0, rng), "greedy picks the lower index on ties")
	require.Equal(t, 1, SampleLogits(logits, 1, 1, 1, rng), "top-1 is greedy")

	count := func(temp float32, k int, p float32) []int {
		c := make([]int, len(logits))
		for range 20000 {
			c[SampleLogits(logits, temp, k, p, rng)]++
		}
		return c
	}
	// Top-k 3 never samples outside {1, 2, 0}.
	c := count(1, 3, 1)
	require.Zero(t, c[3]+c[4])
	require.InDelta(t, 0.5, float64(c[1])/float64(c[1]+c[2]), 0.03)
	// probs of [1,3,3,.5,-2]: ≈ .061,.450,.450,.037,.003; the smallest set
	// reaching 0.8 is {1, 2} (.899).
	c = count(1, 0, 0.8)
	require.Equal(t, 20000, c[1]+c[2])
	// p = 0.95 needs the third token as well (.960).
	c = count(1, 0, 0.95)
	require.Positive(t, c[0])
	require.Zero(t, c[3]+c[4])
	// Plain sampling follows the softmax.
	c = count(1, 0, 1)
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l))
	}
	for i, l := range logits {
		require.InDelta(t, math.Exp(float64(l))/z, float64(c[i])/20000, 0.015)
	}
	// Low temperature concentrates on the two maxima.
	c = count(0.05, 0, 1)
	require.Equal(t, 20000, c[1]+c[2])
	// A tiny p keeps at least one token.
	require.Equal(t, 1, SampleLogits(logits, 1, 0, 1e-6, rng))
	// NaN is never sampled.
	nan := float32(math.NaN())
	for range 100 {
		require.NotEqual(t, 0, SampleLogits([]float32{nan, 1, 2}, 1, 0, 1, rng))
	}
	require.Equal(t, 2, SampleLogits([]float32{nan, 1, 2}, 0, 0, 1, rng))
}
