package qwen25vl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/safetensors"
)

// rewriteCheckpoint copies the tiny checkpoint into a temp dir, passing each
// tensor through edit, which returns the tensor to write (renamed or
// converted) or false to drop it; extra tensors are appended.
func rewriteCheckpoint(t *testing.T, edit func(name string, shape []int, v []float32) (safetensors.Tensor, bool), extra ...safetensors.Tensor) string {
	src, err := safetensors.Open(filepath.Join(goldenDir(), "model.safetensors"))
	require.NoError(t, err)
	defer src.Close()
	var ts []safetensors.Tensor
	for _, n := range src.Names() {
		info, _ := src.Info(n)
		v, err := src.Float32(n)
		require.NoError(t, err)
		if st, ok := edit(n, info.Shape, v); ok {
			ts = append(ts, st)
		}
	}
	dir := t.TempDir()
	require.NoError(t, safetensors.Write(filepath.Join(dir, "model.safetensors"), append(ts, extra...), nil))
	cfg, err := os.ReadFile(filepath.Join(goldenDir(), "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))
	return dir
}

func lastLogits(t *testing.T, m *Model) []float32 {
	out, err := m.Forward(nil, &Inputs{IDs: openCase(t, "case_a_text.safetensors").ids(t)}, ForwardOptions{LastLogitsOnly: true})
	require.NoError(t, err)
	return out.Logits.Float32s()
}

func TestLoadNewKeyLayout(t *testing.T) {
	want := lastLogits(t, loadTiny(t))
	dir := rewriteCheckpoint(t, func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
		switch {
		case strings.HasPrefix(n, "visual."):
			n = "model." + n
		case strings.HasPrefix(n, "model."):
			n = "model.language_model." + strings.TrimPrefix(n, "model.")
		}
		return safetensors.F32(n, shape, v), true
	})
	m, err := Load(dir)
	require.NoError(t, err)
	defer m.Close()
	requireClose(t, want, lastLogits(t, m), 0, "new key layout")
}

func TestLoadHalfPrecisionWeights(t *testing.T) {
	want := lastLogits(t, loadTiny(t))
	for _, tc := range []struct {
		name string
		conv func(string, []int, []float32) safetensors.Tensor
		tol  float64
	}{
		// Rounding every weight to 8 (bf16) or 11 (f16) mantissa bits moves
		// the logits of this random model by about that relative amount
		// compounded over the layers (observed: 0.015 and 0.0024).
		{"bf16", safetensors.BF16, 0.05},
		{"f16", safetensors.F16, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := rewriteCheckpoint(t, func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
				return tc.conv(n, shape, v), true
			})
			m, err := Load(dir)
			require.NoError(t, err)
			defer m.Close()
			require.Equal(t, strings.ToUpper(tc.name), m.Text.Layers[0].Q.W.DType().String())
			requireClose(t, want, lastLogits(t, m), tc.tol, tc.name)
		})
	}
}

func TestLoadNamesBadTensors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(n string, shape []int, v []float32) (safetensors.Tensor, bool)
		extra []safetensors.Tensor
		want  []string
	}{
		{
			name: "missing",
			edit: func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
				return safetensors.F32(n, shape, v), n != "model.layers.1.mlp.up_proj.weight"
			},
			want: []string{`missing tensor "model.layers.1.mlp.up_proj.weight" (want shape [128 64])`},
		},
		{
			name: "unexpected",
			edit: func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
				return safetensors.F32(n, shape, v), true
			},
			extra: []safetensors.Tensor{safetensors.F32("model.layers.2.mlp.up_proj.weight", []int{1}, []float32{0})},
			want:  []string{`unexpected tensors "model.layers.2.mlp.up_proj.weight"`},
		},
		{
			name: "misshapen",
			edit: func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
				if n == "model.norm.weight" {
					return safetensors.F32(n, []int{32, 2}, v), true
				}
				return safetensors.F32(n, shape, v), true
			},
			want: []string{`tensor "model.norm.weight" has shape [32 2], want [64]`},
		},
		{
			name: "integer weights",
			edit: func(n string, shape []int, v []float32) (safetensors.Tensor, bool) {
				if n == "model.norm.weight" {
					return safetensors.I32(n, shape, make([]int32, len(v))), true
				}
				return safetensors.F32(n, shape, v), true
			},
			want: []string{`"model.norm.weight" has dtype I32`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(rewriteCheckpoint(t, tc.edit, tc.extra...))
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
	_, err := Load(t.TempDir())
	require.ErrorContains(t, err, "config.json")
}
