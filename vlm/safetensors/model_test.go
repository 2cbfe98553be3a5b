package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleTensors returns n F32 tensors of 16 elements (64 bytes) each.
func sampleTensors(n int) []Tensor {
	var ts []Tensor
	for i := range n {
		v := make([]float32, 16)
		for j := range v {
			v[j] = float32(i*100 + j)
		}
		ts = append(ts, F32("layer."+string(rune('a'+i))+".weight", []int{4, 4}, v))
	}
	return ts
}

func TestWriteShardedOpenModel(t *testing.T) {
	tests := []struct {
		name      string
		maxBytes  int64
		wantFiles []string
	}{
		{"one shard", 0, []string{"model.safetensors"}},
		{"two per shard", 128, []string{
			"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
			"model-00003-of-00003.safetensors", "model.safetensors.index.json"}},
		{"limit below a tensor", 10, []string{
			"model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors",
			"model-00003-of-00005.safetensors", "model-00004-of-00005.safetensors",
			"model-00005-of-00005.safetensors", "model.safetensors.index.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			ts := sampleTensors(5)
			meta := map[string]string{"format": "pt"}
			require.NoError(t, WriteSharded(dir, ts, meta, tc.maxBytes))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var files []string
			for _, e := range entries {
				files = append(files, e.Name())
			}
			require.Equal(t, tc.wantFiles, files)

			s, err := OpenModel(dir)
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, 5, s.Len())
			require.Equal(t, meta, s.Metadata())
			require.Len(t, s.Files(), len(tc.wantFiles)-min(1, len(tc.wantFiles)-1))
			for _, want := range ts {
				info, ok := s.Info(want.Name)
				require.True(t, ok)
				require.Equal(t, []int{4, 4}, info.Shape)
				b, err := s.Bytes(want.Name)
				require.NoError(t, err)
				require.Equal(t, want.Data, b)
				v, err := s.Float32(want.Name)
				require.NoError(t, err)
				require.Len(t, v, 16)
				_, ok = s.Path(want.Name)
				require.True(t, ok)
			}
			require.Equal(t, s.Names(), sortedNames(ts))
			_, err = s.Int64("missing")
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
}

func sortedNames(ts []Tensor) []string {
	sorted, _ := validateTensors(ts)
	var n []string
	for _, t := range sorted {
		n = append(n, t.Name)
	}
	return n
}

func TestIndexFormat(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteSharded(dir, sampleTensors(3), nil, 64))
	got, err := os.ReadFile(filepath.Join(dir, IndexFile))
	require.NoError(t, err)
	want := `{
  "metadata": {
    "total_size": 192
  },
  "weight_map": {
    "layer.a.weight": "model-00001-of-00003.safetensors",
    "layer.b.weight": "model-00002-of-00003.safetensors",
    "layer.c.weight": "model-00003-of-00003.safetensors"
  }
}
`
	require.Equal(t, want, string(got))
}

func TestOpenModelErrors(t *testing.T) {
	shard := func(n int) string { return "model-0000" + string(rune('0'+n)) + "-of-00002.safetensors" }
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"empty dir", func(t *testing.T, dir string) {}, "has neither model.safetensors nor model.safetensors.index.json"},
		{"bad index json", func(t *testing.T, dir string) {
			writeFile(t, dir, IndexFile, "{")
		}, "model.safetensors.index.json: unexpected end of JSON input"},
		{"empty weight map", func(t *testing.T, dir string) {
			writeFile(t, dir, IndexFile, `{"metadata":{},"weight_map":{}}`)
		}, "empty or missing weight_map"},
		{"escaping shard", func(t *testing.T, dir string) {
			writeFile(t, dir, IndexFile, `{"weight_map":{"a":"../x.safetensors"}}`)
		}, `shard "../x.safetensors" is not a file inside`},
		{"missing shard file", func(t *testing.T, dir string) {
			require.NoError(t, WriteSharded(dir, sampleTensors(2), nil, 64))
			require.NoError(t, os.Remove(filepath.Join(dir, shard(2))))
		}, shard(2) + ": no such file"},
		{"tensor missing from shard", func(t *testing.T, dir string) {
			require.NoError(t, WriteSharded(dir, sampleTensors(2), nil, 64))
			writeFile(t, dir, IndexFile, `{"weight_map":{"layer.a.weight":"`+shard(1)+`","layer.b.weight":"`+shard(1)+`"}}`)
		}, `tensor "layer.b.weight" is missing from its shard ` + shard(1)},
		{"duplicate across shards", func(t *testing.T, dir string) {
			require.NoError(t, WriteSharded(dir, sampleTensors(2), nil, 64))
			require.NoError(t, Write(filepath.Join(dir, shard(2)), sampleTensors(2)[1:], nil))
			require.NoError(t, Write(filepath.Join(dir, shard(1)), sampleTensors(2), nil))
		}, `tensor "layer.b.weight" is stored in both`},
		{"invalid shard", func(t *testing.T, dir string) {
			require.NoError(t, WriteSharded(dir, sampleTensors(2), nil, 64))
			writeFile(t, dir, shard(1), "short")
		}, "shorter than the 8-byte header length"},
		{"invalid single file", func(t *testing.T, dir string) {
			writeFile(t, dir, SingleFile, "xx")
		}, "model.safetensors: file is 2 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			s, err := OpenModel(dir)
			require.Nil(t, s)
			require.ErrorContains(t, err, tc.want)
			if strings.Contains(tc.want, "stored in both") {
				require.ErrorContains(t, err, shard(1))
				require.ErrorContains(t, err, shard(2))
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

func TestOpenModelGolden(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	writeFile(t, dir, SingleFile, string(b))
	s, err := OpenModel(dir)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, 57, s.Len())
	info, ok := s.Info("visual.patch_embed.proj.weight")
	require.True(t, ok)
	require.Equal(t, []int{32, 3, 2, 14, 14}, info.Shape)
}
