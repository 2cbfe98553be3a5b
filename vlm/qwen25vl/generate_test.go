package qwen25vl

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor"
)

// greedyNoCache decodes by re-running the full forward pass each step: the
// reference that the KV-cache path must reproduce.
func greedyNoCache(t *testing.T, m *Model, in *Inputs, n int) []int32 {
	ids := append([]int32(nil), in.IDs...)
	var gen []int32
	for range n {
		out, err := m.Forward(nil, &Inputs{IDs: ids, Images: in.Images}, ForwardOptions{LastLogitsOnly: true})
		require.NoError(t, err)
		id := int32(tensor.ArgMax(out.Logits, -1).Int64s()[0])
		gen = append(gen, id)
		ids = append(ids, id)
	}
	return gen
}

func TestGenerateMatchesFullRecompute(t *testing.T) {
	m := loadTiny(t)
	text := openCase(t, "case_a_text.safetensors")
	img := openCase(t, "case_b_image56.safetensors")
	grid := img.i64(t, "image_grid_thw")
	px := &Pixels{Values: img.f32(t, "pixel_values"), Rows: 16, Cols: 1176, Grid: GridTHW{T: int(grid[0]), H: int(grid[1]), W: int(grid[2])}}
	for name, in := range map[string]*Inputs{
		"text":  {IDs: text.ids(t)},
		"image": {IDs: img.ids(t), Images: []*Pixels{px}},
	} {
		t.Run(name, func(t *testing.T) {
			want := greedyNoCache(t, m, in, 8)
			got, err := m.Generate(context.Background(), in, Sampling{MaxNewTokens: 8, StopIDs: []int32{}})
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestGenerateStopsAndStreams(t *testing.T) {
	m := loadTiny(t)
	in := &Inputs{IDs: openCase(t, "case_a_text.safetensors").ids(t)}
	ref, err := m.Generate(context.Background(), in, Sampling{MaxNewTokens: 6, StopIDs: []int32{}})
	require.NoError(t, err)
	require.Len(t, ref, 6)

	got, err := m.Generate(context.Background(), in, Sampling{MaxNewTokens: 6, StopIDs: []int32{ref[2]}})
	require.NoError(t, err)
	require.Equal(t, ref[:3], got[:3])
	require.LessOrEqual(t, len(got), 3)

	var streamed []int32
	got, err = m.Generate(context.Background(), in, Sampling{MaxNewTokens: 6, StopIDs: []int32{}, OnToken: func(id int32) bool {
		streamed = append(streamed, id)
		return len(streamed) < 4
	}})
	require.NoError(t, err)
	require.Equal(t, ref[:4], got)
	require.Equal(t, got, streamed)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Generate(ctx, in, Sampling{MaxNewTokens: 6})
	require.ErrorIs(t, err, context.Canceled)
}

func TestGenerateSamplingIsSeeded(t *testing.T) {
	m := loadTiny(t)
	in := &Inputs{IDs: openCase(t, "case_a_text.safetensors").ids(t)}
	s := Sampling{MaxNewTokens: 10, Temperature: 1.5, TopK: 50, TopP: 0.95, Seed: 7, StopIDs: []int32{}}
	a, err := m.Generate(context.Background(), in, s)
	require.NoError(t, err)
	b, err := m.Generate(context.Background(), in, s)
	require.NoError(t, err)
	require.Equal(t, a, b)
	batch, err := m.GenerateBatch(context.Background(), []*Inputs{in, in}, s)
	require.NoError(t, err)
	require.Equal(t, a, batch[0])
	require.Len(t, batch[1], 10)
}

func TestRepetitionPenalty(t *testing.T) {
	logits := []float32{2, -2, 1}
	penalize(logits, map[int32]bool{0: true, 1: true}, 2)
	require.Equal(t, []float32{1, -4, 1}, logits)
}

func TestForwardErrors(t *testing.T) {
	m := loadTiny(t)
	_, err := m.Forward(nil, &Inputs{}, ForwardOptions{})
	require.ErrorContains(t, err, "empty prompt")
	_, err = m.Forward(nil, &Inputs{IDs: []int32{1, 999}}, ForwardOptions{})
	require.ErrorContains(t, err, "token id 999 outside the vocabulary")
	_, err = m.Forward(nil, &Inputs{IDs: []int32{309, 312, 312, 310}}, ForwardOptions{})
	require.ErrorContains(t, err, "1 image and 0 video blocks")
}
