package qwen25vl

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor/half"
)

// writeTiny writes a random tiny checkpoint into a fresh temp dir.
func writeTiny(t *testing.T, opts RandomOptions) string {
	t.Helper()
	cfg, err := Preset("tiny")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, WriteRandomCheckpoint(dir, cfg, opts))
	return dir
}

// dirFiles returns the names and contents of the regular files in dir.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = b
	}
	return out
}

// tensorValues returns every tensor of the checkpoint in dir as float32.
func tensorValues(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	set, err := safetensors.OpenModel(dir)
	require.NoError(t, err)
	defer set.Close()
	out := map[string][]float32{}
	for _, n := range set.Names() {
		v, err := set.Float32(n)
		require.NoError(t, err)
		out[n] = v
	}
	return out
}

func TestPreset(t *testing.T) {
	golden, err := LoadConfig(filepath.Join("testdata", "tiny", "config.json"))
	require.NoError(t, err)
	cfgDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(tinyConfig), 0o644))
	badPath := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badPath, []byte(`{"hidden_size": 63}`), 0o644))

	tests := []struct {
		name    string
		preset  string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{name: "tiny equals the golden config", preset: "tiny", check: func(t *testing.T, c *Config) { require.Equal(t, golden, c) }},
		{name: "case-insensitive", preset: "TINY", check: func(t *testing.T, c *Config) { require.Equal(t, golden, c) }},
		{name: "config path", preset: filepath.Join("testdata", "tiny", "config.json"), check: func(t *testing.T, c *Config) { require.Equal(t, golden, c) }},
		{name: "checkpoint directory", preset: cfgDir, check: func(t *testing.T, c *Config) { require.Equal(t, golden, c) }},
		{name: "3b", preset: "3b", check: func(t *testing.T, c *Config) {
			require.Equal(t, 151936, c.VocabSize)
			require.Equal(t, 2048, c.HiddenSize)
			require.Equal(t, 11008, c.IntermediateSize)
			require.Equal(t, 36, c.NumHiddenLayers)
			require.Equal(t, 16, c.NumAttentionHeads)
			require.Equal(t, 2, c.NumKeyValueHeads)
			require.Equal(t, 128, c.HeadDim())
			require.Equal(t, []int{16, 24, 24}, c.RopeScaling.MRopeSection)
			require.True(t, c.TieWordEmbeddings)
			require.Equal(t, 151643, c.BOSTokenID)
			require.Equal(t, []int{151645}, c.EOSTokenIDs)
			require.Equal(t, 128000, c.MaxPositionEmbeddings)
			require.Equal(t, 1e-6, c.RMSNormEps)
			require.Equal(t, 1280, c.Vision.HiddenSize)
			require.Equal(t, 32, c.Vision.Depth)
			require.Equal(t, 3420, c.Vision.IntermediateSize)
			require.Equal(t, 2, c.Vision.TokensPerSecond)
			require.Equal(t, []int{7, 15, 23, 31}, c.Vision.FullAttBlockIndexes)
			require.Equal(t, 2048, c.Vision.OutHiddenSize)
		}},
		{name: "7b", preset: "7b", check: func(t *testing.T, c *Config) {
			require.Equal(t, 152064, c.VocabSize)
			require.Equal(t, 3584, c.HiddenSize)
			require.Equal(t, 18944, c.IntermediateSize)
			require.Equal(t, 28, c.NumHiddenLayers)
			require.Equal(t, 128, c.HeadDim())
			require.Equal(t, 4, c.NumKeyValueHeads)
			require.False(t, c.TieWordEmbeddings)
			require.Equal(t, 3584, c.Vision.OutHiddenSize)
		}},
		{name: "small keeps tiny's token layout", preset: "small", check: func(t *testing.T, c *Config) {
			require.Equal(t, golden.VocabSize, c.VocabSize)
			for _, id := range [][2]int{{golden.ImageTokenID, c.ImageTokenID}, {golden.VideoTokenID, c.VideoTokenID},
				{golden.VisionStartTokenID, c.VisionStartTokenID}, {golden.VisionEndTokenID, c.VisionEndTokenID}, {golden.BOSTokenID, c.BOSTokenID}} {
				require.Equal(t, id[0], id[1])
			}
			require.Equal(t, golden.EOSTokenIDs, c.EOSTokenIDs)
			require.Equal(t, 128, c.HiddenSize)
			require.Equal(t, 4, c.NumHiddenLayers)
			require.Equal(t, 32, c.HeadDim())
			require.Equal(t, 64, c.Vision.HiddenSize)
			require.Equal(t, 4, c.Vision.Depth)
			require.Equal(t, 128, c.Vision.OutHiddenSize)
		}},
		{name: "unknown", preset: "13b", wantErr: `unknown model preset "13b": want one of 3b, 7b, small, tiny or the path of a config.json`},
		{name: "bad config file", preset: badPath, wantErr: "model config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Preset(tt.preset)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			tt.check(t, c)
		})
	}

	// Presets are fresh copies.
	a, _ := Preset("3b")
	a.Vision.FullAttBlockIndexes[0] = 99
	b, _ := Preset("3b")
	require.Equal(t, 7, b.Vision.FullAttBlockIndexes[0])
}

// TestPresetParamCounts checks the presets' sizes against the published
// parameter counts.
func TestPresetParamCounts(t *testing.T) {
	for _, tt := range []struct {
		preset string
		want   int64
	}{
		{"3b", 3_754_622_976},
		{"7b", 8_292_166_656},
		{"small", 1_260_864},
	} {
		cfg, err := Preset(tt.preset)
		require.NoError(t, err)
		var n int64
		for _, s := range checkpointSpecs(cfg) {
			n += s.elems
		}
		require.Equal(t, tt.want, n, tt.preset)
	}
}

func TestWriteRandomCheckpointLoads(t *testing.T) {
	for _, dt := range []string{"F32", "BF16", ""} {
		t.Run("dtype="+dt, func(t *testing.T) {
			dir := writeTiny(t, RandomOptions{Seed: 7, DType: dt})
			files := dirFiles(t, dir)
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			slices.Sort(names)
			require.Equal(t, []string{"config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json"}, names)

			m, err := Load(dir)
			require.NoError(t, err)
			defer func() { require.NoError(t, m.Close()) }()

			cfg, _ := Preset("tiny")
			require.Equal(t, *cfg, m.Config, "config.json round-trips")
			require.Equal(t, 300, m.Generation.BOSTokenID)
			require.Equal(t, 300, m.Generation.PadTokenID)
			require.Equal(t, []int{302}, m.Generation.EOSTokenIDs)
			require.Equal(t, DefaultPreprocessorConfig(), m.Preprocessor)
			require.NoError(t, m.Config.CheckPreprocessor(&m.Preprocessor))

			wantDType := safetensors.DTypeBF16
			if dt == "F32" {
				wantDType = safetensors.DTypeF32
			}
			info, ok := m.weights.Info("model.embed_tokens.weight")
			require.True(t, ok)
			require.Equal(t, wantDType, info.DType)
			require.Equal(t, map[string]string{"format": "pt"}, m.weights.Metadata())

			out, err := m.Forward(nil, &Inputs{IDs: []int32{301, 10, 11, 12, 302}}, ForwardOptions{})
			require.NoError(t, err)
			require.Equal(t, []int{5, 320}, out.Logits.Shape())
			for i, v := range out.Logits.Float32s() {
				require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "logit %d is %v", i, v)
			}
		})
	}
}

func TestWriteRandomCheckpointImage(t *testing.T) {
	m, err := Load(writeTiny(t, RandomOptions{Seed: 3, DType: "F32"}))
	require.NoError(t, err)
	defer m.Close()
	c := openCase(t, "case_b_image56.safetensors")
	grid := c.i64(t, "image_grid_thw")
	g := GridTHW{T: int(grid[0]), H: int(grid[1]), W: int(grid[2])}
	px := &Pixels{Values: c.f32(t, "pixel_values"), Rows: g.T * g.H * g.W, Cols: 1176, Grid: g}
	out, err := m.Forward(nil, &Inputs{IDs: c.ids(t), Images: []*Pixels{px}}, ForwardOptions{LastLogitsOnly: true})
	require.NoError(t, err)
	for _, v := range out.Logits.Float32s() {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}
}

func TestWriteRandomCheckpointDeterministic(t *testing.T) {
	a := dirFiles(t, writeTiny(t, RandomOptions{Seed: 42}))
	b := dirFiles(t, writeTiny(t, RandomOptions{Seed: 42}))
	require.Equal(t, a, b, "same seed, same bytes")
	c := dirFiles(t, writeTiny(t, RandomOptions{Seed: 43}))
	require.NotEqual(t, a["model.safetensors"], c["model.safetensors"], "another seed, other weights")
	require.Equal(t, a["config.json"], c["config.json"])
}

// TestWriteRandomCheckpointFormat checks that the streamed files are
// byte-identical to what safetensors.Write produces for the same tensors.
func TestWriteRandomCheckpointFormat(t *testing.T) {
	for _, dt := range []string{"F32", "BF16"} {
		t.Run(dt, func(t *testing.T) {
			dir := writeTiny(t, RandomOptions{Seed: 1, DType: dt})
			path := filepath.Join(dir, "model.safetensors")
			f, err := safetensors.Open(path)
			require.NoError(t, err)
			defer f.Close()
			var ts []safetensors.Tensor
			for _, n := range f.Names() {
				info, _ := f.Info(n)
				raw, err := f.Bytes(n)
				require.NoError(t, err)
				ts = append(ts, safetensors.Tensor{Name: n, DType: info.DType, Shape: info.Shape, Data: slices.Clone(raw)})
			}
			ref := filepath.Join(t.TempDir(), "ref.safetensors")
			require.NoError(t, safetensors.Write(ref, ts, map[string]string{"format": "pt"}))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			want, err := os.ReadFile(ref)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want, got), "streamed file differs from safetensors.Write")
		})
	}
}

// TestWriteRandomCheckpointInit checks the initialisation statistics and
// that BF16 weights are the F32 ones rounded.
func TestWriteRandomCheckpointInit(t *testing.T) {
	f32 := tensorValues(t, writeTiny(t, RandomOptions{Seed: 5, DType: "F32"}))
	bf16 := tensorValues(t, writeTiny(t, RandomOptions{Seed: 5, DType: "BF16"}))
	require.Len(t, f32, 57, "the golden checkpoint's tensor count")
	for n, v := range f32 {
		w := bf16[n]
		require.Len(t, w, len(v), n)
		for i := range v {
			require.Equal(t, half.BF16ToFloat32(half.BF16FromFloat32(v[i])), w[i], "%s[%d]", n, i)
		}
	}
	stats := func(v []float32) (mean, std, lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, x := range v {
			mean += float64(x)
			lo, hi = min(lo, float64(x)), max(hi, float64(x))
		}
		mean /= float64(len(v))
		for _, x := range v {
			std += (float64(x) - mean) * (float64(x) - mean)
		}
		return mean, math.Sqrt(std / float64(len(v))), lo, hi
	}
	tests := []struct {
		name    string
		std     float64
		uniform bool
	}{
		{"model.embed_tokens.weight", 1, false},
		{"lm_head.weight", 1 / math.Sqrt(64), false},
		{"model.layers.0.mlp.down_proj.weight", 1 / math.Sqrt(128), false},
		{"visual.patch_embed.proj.weight", 1 / math.Sqrt(3*2*14*14), false},
		{"visual.merger.mlp.0.weight", 1 / math.Sqrt(128), false},
		{"visual.merger.mlp.0.bias", 0.1, false},
		{"model.layers.1.self_attn.q_proj.bias", 0.1, false},
		{"model.norm.weight", 1 / math.Sqrt(12), true},
		{"visual.blocks.0.norm1.weight", 1 / math.Sqrt(12), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f32[tt.name]
			require.NotEmpty(t, v)
			mean, std, lo, hi := stats(v)
			// 5 standard errors of the sample mean and standard deviation.
			n := float64(len(v))
			require.InDelta(t, tt.std, std, 5*tt.std/math.Sqrt(2*n), "std")
			if tt.uniform {
				require.InDelta(t, 1, mean, 5*tt.std/math.Sqrt(n), "mean")
				require.GreaterOrEqual(t, lo, 0.5)
				require.Less(t, hi, 1.5)
			} else {
				require.InDelta(t, 0, mean, 5*tt.std/math.Sqrt(n), "mean")
			}
		})
	}
}

func TestWriteRandomCheckpointSharded(t *testing.T) {
	single := writeTiny(t, RandomOptions{Seed: 9, DType: "F32"})
	var calls [][2]int64
	dir := writeTiny(t, RandomOptions{Seed: 9, DType: "F32", MaxShardBytes: 200_000, Progress: func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	}})

	files := dirFiles(t, dir)
	var shards []string
	for n := range files {
		if strings.HasPrefix(n, "model-") {
			shards = append(shards, n)
		}
		require.NotContains(t, n, ".tmp-", "temporary file left behind")
	}
	slices.Sort(shards)
	require.Greater(t, len(shards), 1)
	require.Equal(t, "model-00001-of-0000"+string(rune('0'+len(shards)))+".safetensors", shards[0])
	require.NotContains(t, files, safetensors.SingleFile)

	var index struct {
		Metadata struct {
			TotalSize int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	require.NoError(t, json.Unmarshal(files[safetensors.IndexFile], &index))
	require.Len(t, index.WeightMap, 57)
	require.True(t, bytes.HasPrefix(files[safetensors.IndexFile], []byte("{\n  \"metadata\": {\n    \"total_size\": ")))

	// Progress: starts at 0, grows, ends at the total, which the index holds.
	require.NotEmpty(t, calls)
	require.Equal(t, int64(0), calls[0][0])
	last := calls[len(calls)-1]
	require.Equal(t, last[1], last[0])
	require.Equal(t, index.Metadata.TotalSize, last[1])
	for i := 1; i < len(calls); i++ {
		require.GreaterOrEqual(t, calls[i][0], calls[i-1][0])
	}

	// Same values as the single-file checkpoint, and Load reads it.
	require.Equal(t, tensorValues(t, single), tensorValues(t, dir))
	m, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, m.weights.Files(), len(shards))
	require.NoError(t, m.Close())

	// Rewriting unsharded over it removes the shards and the index.
	cfg, _ := Preset("tiny")
	require.NoError(t, WriteRandomCheckpoint(dir, cfg, RandomOptions{Seed: 9, DType: "F32"}))
	require.Equal(t, dirFiles(t, single), dirFiles(t, dir))
}

func TestWriteRandomCheckpointTied(t *testing.T) {
	cfg, _ := Preset("tiny")
	cfg.TieWordEmbeddings = true
	dir := t.TempDir()
	require.NoError(t, WriteRandomCheckpoint(dir, cfg, RandomOptions{DType: "F32"}))
	vals := tensorValues(t, dir)
	require.NotContains(t, vals, "lm_head.weight")
	m, err := Load(dir)
	require.NoError(t, err)
	defer m.Close()
	require.Same(t, m.Text.Embed, m.Text.LMHead)
}

func TestWriteRandomCheckpointErrors(t *testing.T) {
	tiny, _ := Preset("tiny")
	bad := *tiny
	bad.HiddenSize = 63
	tests := []struct {
		name    string
		cfg     *Config
		opts    RandomOptions
		wantErr string
	}{
		{"nil config", nil, RandomOptions{}, "nil config"},
		{"invalid config", &bad, RandomOptions{}, "invalid config"},
		{"dtype", tiny, RandomOptions{DType: "F16"}, `dtype "F16" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := WriteRandomCheckpoint(dir, tt.cfg, tt.opts)
			require.ErrorContains(t, err, tt.wantErr)
			ents, _ := os.ReadDir(dir)
			require.Empty(t, ents, "nothing written on a bad request")
		})
	}
}

func TestWriteRandomCheckpointJSON(t *testing.T) {
	for _, preset := range []string{"tiny", "3b", "7b"} {
		t.Run(preset, func(t *testing.T) {
			cfg, err := Preset(preset)
			require.NoError(t, err)
			data, err := configJSON(cfg, "bfloat16")
			require.NoError(t, err)
			back, err := ParseConfig(data)
			require.NoError(t, err)
			require.Equal(t, cfg, back, "config.json round-trips")
			var m map[string]any
			require.NoError(t, json.Unmarshal(data, &m))
			require.Equal(t, "qwen2_5_vl", m["model_type"])
			require.Equal(t, []any{"Qwen2_5_VLForConditionalGeneration"}, m["architectures"])

			data, err = generationConfigJSON(cfg)
			require.NoError(t, err)
			g, err := ParseGenerationConfig(data)
			require.NoError(t, err)
			require.Equal(t, cfg.BOSTokenID, g.BOSTokenID)
			require.Equal(t, cfg.BOSTokenID, g.PadTokenID)
			if preset == "tiny" {
				require.Equal(t, []int{302}, g.EOSTokenIDs)
			} else {
				require.Equal(t, []int{151645, 151643}, g.EOSTokenIDs)
			}

			data, err = preprocessorConfigJSON(cfg)
			require.NoError(t, err)
			p, err := ParsePreprocessorConfig(data)
			require.NoError(t, err)
			require.Equal(t, 12845056, p.MaxPixels)
			require.NoError(t, cfg.CheckPreprocessor(p))
			require.Contains(t, string(data), `"processor_class": "Qwen2_5_VLProcessor"`)
		})
	}
}

// BenchmarkWriteRandomCheckpoint3B writes, loads and runs the 3B preset
// (7.5 GB of BF16): `VST_BENCH_3B=1 go test -run '^$' -bench
// WriteRandomCheckpoint3B -benchtime 1x ./vlm/qwen25vl/`; VST_BENCH_3B_DIR
// chooses the directory (a temp dir otherwise). Without VST_BENCH_3B it
// does not write 7.5 GB as part of `make bench`.
func BenchmarkWriteRandomCheckpoint3B(b *testing.B) {
	t := b
	if os.Getenv("VST_BENCH_3B") == "" {
		b.Skip("needs VST_BENCH_3B=1 (writes 7.5 GB)")
	}
	dir := os.Getenv("VST_BENCH_3B_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	cfg, err := Preset("3b")
	require.NoError(t, err)
	start := time.Now()
	last := time.Now()
	err = WriteRandomCheckpoint(dir, cfg, RandomOptions{Seed: 1, Progress: func(done, total int64) {
		if time.Since(last) > 5*time.Second || done == total {
			last = time.Now()
			t.Logf("%.2f / %.2f GB", float64(done)/1e9, float64(total)/1e9)
		}
	}})
	require.NoError(t, err)
	t.Logf("wrote 3B in %v", time.Since(start))

	start = time.Now()
	m, err := Load(dir)
	require.NoError(t, err)
	defer m.Close()
	t.Logf("loaded in %v", time.Since(start))
	out, err := m.Forward(nil, &Inputs{IDs: []int32{151644, 872, 198, 151645}}, ForwardOptions{LastLogitsOnly: true})
	require.NoError(t, err)
	for _, v := range out.Logits.Float32s() {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
	}
	t.Logf("forward in %v", time.Since(start))
}

func TestPyFloat(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0.0"}, {0.02, "0.02"}, {1e-6, "1e-06"}, {1e-5, "1e-05"}, {1e-4, "0.0001"},
		{1e6, "1000000.0"}, {10000, "10000.0"}, {1.5, "1.5"}, {-2, "-2.0"}, {1e16, "1e+16"}, {1.25e17, "1.25e+17"}, {9999999999999998, "9999999999999998.0"}, {123.456, "123.456"},
	} {
		b, err := json.Marshal(pyFloat(tt.v))
		require.NoError(t, err)
		require.Equal(t, tt.want, string(b), "%v", tt.v)
	}
	_, err := json.Marshal(pyFloat(math.NaN()))
	require.Error(t, err)
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		return 0, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteRandomCheckpointWriteError(t *testing.T) {
	cfg, _ := Preset("tiny")
	cfg.VocabSize = 40000 // an embedding of several chunks
	g := &randomWeights{dtype: safetensors.DTypeF32, free: make(chan *[]byte, 4)}
	err := g.streamData(&failingWriter{limit: 3 * 4 * chunkElems}, checkpointSpecs(cfg))
	require.ErrorContains(t, err, "disk full")

	// A directory that cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err = WriteRandomCheckpoint(filepath.Join(file, "sub"), cfg, RandomOptions{})
	require.ErrorContains(t, err, "write random checkpoint")
}
