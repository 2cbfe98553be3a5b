package qwen25vl

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
)

// goldenDir holds the tiny random Qwen2.5-VL and the outputs HF transformers
// produced for it (see /work/shared/golden/qwen25vl-tiny/README.md; copied
// here so the tests always run). VST_SHARED overrides it with
// $VST_SHARED/golden/qwen25vl-tiny.
func goldenDir() string {
	if s := os.Getenv("VST_SHARED"); s != "" {
		return filepath.Join(s, "golden", "qwen25vl-tiny")
	}
	return filepath.Join("testdata", "tiny")
}

// goldenTol is the tolerance the golden README suggests for fp32 logits and
// hidden states; observed errors are ~1e-6.
const goldenTol = 1e-4

type goldenCase struct{ f *safetensors.File }

func openCase(t *testing.T, name string) goldenCase {
	f, err := safetensors.Open(filepath.Join(goldenDir(), name))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return goldenCase{f}
}

func (g goldenCase) f32(t *testing.T, name string) []float32 {
	v, err := g.f.Float32(name)
	require.NoError(t, err, name)
	return v
}

func (g goldenCase) i64(t *testing.T, name string) []int64 {
	v, err := g.f.Int64(name)
	require.NoError(t, err, name)
	return v
}

func (g goldenCase) ids(t *testing.T) []int32 {
	raw := g.i64(t, "input_ids")
	ids := make([]int32, len(raw))
	for i, v := range raw {
		ids[i] = int32(v)
	}
	return ids
}

func requireClose(t *testing.T, want, got []float32, tol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	worst, at := 0.0, 0
	for i := range want {
		if d := math.Abs(float64(want[i]) - float64(got[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%s: max abs error %.3g", what, worst)
	require.LessOrEqual(t, worst, tol, "%s: max abs error %.3g at %d (want %g got %g)", what, worst, at, want[at], got[at])
}

func loadTiny(t *testing.T) *Model {
	m, err := Load(goldenDir())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

func TestGoldenText(t *testing.T) {
	m := loadTiny(t)
	g := openCase(t, "case_a_text.safetensors")
	ids := g.ids(t)
	traced := map[string][]float32{}
	out, err := m.Forward(nil, &Inputs{IDs: ids}, ForwardOptions{Trace: func(name string, x *tensor.Tensor) {
		traced[name] = append([]float32(nil), x.Float32s()...)
	}})
	require.NoError(t, err)

	pos := g.i64(t, "position_ids")
	L := len(ids)
	for a := range 3 {
		require.Equal(t, pos[a*L:(a+1)*L], out.Positions[a], "position_ids axis %d", a)
	}
	require.Equal(t, g.i64(t, "rope_deltas")[0], out.RopeDelta)
	requireClose(t, g.f32(t, "hidden_states.0"), traced["hidden_states.0"], 0, "hidden_states.0")
	for _, n := range []string{"text.layer_out.0", "text.layer_out.1"} {
		requireClose(t, g.f32(t, n), traced[n], goldenTol, n)
	}
	requireClose(t, g.f32(t, "hidden_states.2"), out.Hidden.Float32s(), goldenTol, "hidden_states.2 (final norm)")
	requireClose(t, g.f32(t, "logits"), out.Logits.Float32s(), goldenTol, "logits")
}

func TestGoldenImage(t *testing.T) {
	m := loadTiny(t)
	g := openCase(t, "case_b_image56.safetensors")
	ids := g.ids(t)
	grid := g.i64(t, "image_grid_thw")
	px := &Pixels{Values: g.f32(t, "pixel_values"), Cols: 1176, Grid: GridTHW{T: int(grid[0]), H: int(grid[1]), W: int(grid[2])}}
	px.Rows = px.Grid.Patches()
	traced := map[string]*tensor.Tensor{}
	out, err := m.Forward(nil, &Inputs{IDs: ids, Images: []*Pixels{px}}, ForwardOptions{Trace: func(name string, x *tensor.Tensor) {
		if x.DType() == tensor.Int64 {
			traced[name] = x
			return
		}
		traced[name] = x.Detach().Clone(nil)
	}})
	require.NoError(t, err)

	L := len(ids)
	pos := g.i64(t, "position_ids")
	for a := range 3 {
		require.Equal(t, pos[a*L:(a+1)*L], out.Positions[a], "position_ids axis %d", a)
	}
	require.Equal(t, g.i64(t, "rope_deltas")[0], out.RopeDelta)
	require.Equal(t, g.i64(t, "vision.window_index"), traced["vision.window_index"].Int64s())
	require.Equal(t, g.i64(t, "vision.cu_window_seqlens_raw"), traced["vision.cu_window_seqlens_raw"].Int64s())
	for i, n := range []string{"vision.block_cu_seqlens.0", "vision.block_cu_seqlens.1"} {
		require.Equal(t, g.i64(t, n), traced[n].Int64s(), "block %d", i)
	}
	for _, n := range []string{"vision.patch_embed", "vision.block_out.0", "vision.block_out.1", "vision.merger_out", "image_embeds", "hidden_states.0", "text.layer_out.0", "text.layer_out.1"} {
		require.Contains(t, traced, n)
		requireClose(t, g.f32(t, n), traced[n].Float32s(), goldenTol, n)
	}
	requireClose(t, g.f32(t, "hidden_states.2"), out.Hidden.Float32s(), goldenTol, "hidden_states.2")
	requireClose(t, g.f32(t, "logits"), out.Logits.Float32s(), goldenTol, "logits")
}
