package qwen25vl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyConfig is the golden tiny model's config.json minus the keys HF adds
// that do not matter here; tests edit it with withKeys.
const tinyConfig = `{
  "bos_token_id": 300, "eos_token_id": 302, "hidden_act": "silu", "hidden_size": 64,
  "image_token_id": 312, "intermediate_size": 128, "max_position_embeddings": 128000,
  "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_scaling": {"mrope_section": [2, 3, 3], "rope_type": "default", "type": "default"},
  "rope_theta": 1000000.0, "tie_word_embeddings": false, "video_token_id": 313,
  "vision_config": {"depth": 2, "fullatt_block_indexes": [1], "hidden_size": 32, "intermediate_size": 64,
    "num_heads": 2, "out_hidden_size": 64, "tokens_per_second": 2},
  "vision_end_token_id": 310, "vision_start_token_id": 309, "vision_token_id": 311, "vocab_size": 320
}`

// withKeys returns tinyConfig with top-level keys replaced (a nil value
// deletes the key); "vision_config.x" addresses vision keys.
func withKeys(t testing.TB, edits map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(tinyConfig), &m))
	for k, v := range edits {
		obj, key := m, k
		if rest, ok := strings.CutPrefix(k, "vision_config."); ok {
			obj, key = m["vision_config"].(map[string]any), rest
		}
		if v == nil {
			delete(obj, key)
		} else {
			obj[key] = v
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// wantTiny is the Config the golden tiny model's config.json describes.
func wantTiny() *Config {
	return &Config{
		VocabSize: 320, HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, RMSNormEps: 1e-6, RopeTheta: 1e6,
		RopeScaling:           RopeScaling{Type: "default", MRopeSection: []int{2, 3, 3}},
		MaxPositionEmbeddings: 128000, HiddenAct: "silu",
		BOSTokenID: 300, EOSTokenIDs: []int{302}, ImageTokenID: 312, VideoTokenID: 313,
		VisionStartTokenID: 309, VisionEndTokenID: 310, VisionTokenID: 311,
		Vision: VisionConfig{
			Depth: 2, HiddenSize: 32, IntermediateSize: 64, NumHeads: 2, InChannels: 3,
			PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, WindowSize: 112,
			FullAttBlockIndexes: []int{1}, OutHiddenSize: 64, TokensPerSecond: 2, HiddenAct: "silu",
		},
	}
}

func TestLoadConfigGolden(t *testing.T) {
	sparse, err := LoadConfig(filepath.Join(goldenDir(), "config.json"))
	require.NoError(t, err)
	full, err := LoadConfig(filepath.Join(goldenDir(), "config_full.json"))
	require.NoError(t, err)
	require.Equal(t, wantTiny(), sparse)
	require.Equal(t, sparse, full, "config.json (defaults omitted) and config_full.json must agree")
	require.Equal(t, 16, sparse.HeadDim())
	require.Equal(t, 16, sparse.Vision.HeadDim())
	pre := DefaultPreprocessorConfig()
	require.NoError(t, sparse.CheckPreprocessor(&pre))

	_, err = LoadConfig(filepath.Join("testdata", "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestParseConfigSpellings(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]any
	}{
		{"original mrope", map[string]any{"rope_scaling": map[string]any{"type": "mrope", "mrope_section": []int{2, 3, 3}}}},
		{"hf rewritten", map[string]any{"rope_scaling": map[string]any{"type": "default", "rope_type": "default", "mrope_section": []int{2, 3, 3}}}},
		{"rope_type only", map[string]any{"rope_scaling": map[string]any{"rope_type": "mrope", "mrope_section": []int{2, 3, 3}}}},
		{"no type", map[string]any{"rope_scaling": map[string]any{"mrope_section": []int{2, 3, 3}}}},
		{"v5 rope_parameters", map[string]any{
			"rope_scaling": nil, "rope_theta": nil,
			"rope_parameters": map[string]any{"rope_type": "default", "mrope_section": []int{2, 3, 3}, "rope_theta": 1e6},
		}},
		{"hub vision spellings", map[string]any{"vision_config.in_chans": 3, "vision_config.spatial_patch_size": 14}},
		{"both vision spellings", map[string]any{"vision_config.in_chans": 3, "vision_config.in_channels": 3, "vision_config.patch_size": 14}},
		{"eos list", map[string]any{"eos_token_id": []int{302}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig(withKeys(t, tt.edits))
			require.NoError(t, err)
			require.Equal(t, wantTiny(), cfg)
		})
	}
}

func TestParseConfigPublished3B(t *testing.T) {
	// Qwen2.5-VL-3B-Instruct's config.json (hub spellings in_chans and
	// spatial_patch_size, original "mrope" rope type).
	const published = `{"architectures": ["Qwen2_5_VLForConditionalGeneration"], "attention_dropout": 0.0,
	  "bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652, "vision_end_token_id": 151653,
	  "vision_token_id": 151654, "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu",
	  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 128000,
	  "max_window_layers": 70, "model_type": "qwen2_5_vl", "num_attention_heads": 16, "num_hidden_layers": 36,
	  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
	  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": true,
	  "use_sliding_window": false,
	  "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
	    "num_heads": 16, "in_chans": 3, "out_hidden_size": 2048, "patch_size": 14, "spatial_merge_size": 2,
	    "spatial_patch_size": 14, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
	    "tokens_per_second": 2, "temporal_patch_size": 2},
	  "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936}`
	cfg, err := ParseConfig([]byte(published))
	require.NoError(t, err)
	require.Equal(t, 128, cfg.HeadDim())
	require.Equal(t, 80, cfg.Vision.HeadDim())
	require.True(t, cfg.TieWordEmbeddings)
	require.Equal(t, RopeScaling{Type: "default", MRopeSection: []int{16, 24, 24}}, cfg.RopeScaling)
	require.Equal(t, []int{151645}, cfg.EOSTokenIDs)
	require.Equal(t, 151655, cfg.ImageTokenID)
	require.Equal(t, 3, cfg.Vision.InChannels)
	require.Equal(t, 14, cfg.Vision.PatchSize)
	require.Equal(t, []int{7, 15, 23, 31}, cfg.Vision.FullAttBlockIndexes)
}

func TestParseConfigNestedTextConfig(t *testing.T) {
	// transformers >= 4.52 layout: text keys in text_config, vision token
	// ids at the top level; top-level text keys are stale and ignored.
	nested := `{
	  "model_type": "qwen2_5_vl", "hidden_size": 999, "vocab_size": 320,
	  "image_token_id": 312, "video_token_id": 313, "vision_start_token_id": 309,
	  "vision_end_token_id": 310, "vision_token_id": 311,
	  "text_config": {
	    "bos_token_id": 300, "eos_token_id": [302], "hidden_size": 64, "intermediate_size": 128,
	    "max_position_embeddings": 128000, "num_attention_heads": 4, "num_hidden_layers": 2,
	    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "vocab_size": 320,
	    "rope_scaling": {"mrope_section": [2, 3, 3], "rope_type": "default", "type": "default"},
	    "image_token_id": 1, "tie_word_embeddings": false
	  },
	  "vision_config": {"depth": 2, "fullatt_block_indexes": [1], "hidden_size": 32, "intermediate_size": 64,
	    "num_heads": 2, "out_hidden_size": 64, "tokens_per_second": 2}
	}`
	cfg, err := ParseConfig([]byte(nested))
	require.NoError(t, err)
	require.Equal(t, wantTiny(), cfg)
}

func TestParseConfigDefaults(t *testing.T) {
	// HF's defaults are not consistent on their own (text hidden_size 8192,
	// vision out_hidden_size 3584, no mrope_section).
	_, err := ParseConfig([]byte(`{}`))
	require.ErrorContains(t, err, "rope_scaling.mrope_section is missing")
	require.ErrorContains(t, err, "vision_config.out_hidden_size (3584) must equal hidden_size (8192)")

	// Give what is missing, the 7B text sizes; the rest is HF's defaults.
	cfg, err := ParseConfig([]byte(`{"hidden_size": 3584, "num_attention_heads": 28, "num_key_value_heads": 4,
		"rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}}`))
	require.NoError(t, err)
	want := DefaultConfig()
	want.HiddenSize, want.NumAttentionHeads, want.NumKeyValueHeads = 3584, 28, 4
	want.RopeScaling.MRopeSection = []int{16, 24, 24}
	require.Equal(t, &want, cfg)
	require.Equal(t, 128, cfg.HeadDim())
	require.Equal(t, NoTokenID, cfg.BOSTokenID)
	require.Empty(t, cfg.EOSTokenIDs)
	require.Equal(t, 224, cfg.Vision.HeadDim())

	// fullatt_block_indexes: [] means every block is windowed.
	cfg, err = ParseConfig(withKeys(t, map[string]any{"vision_config.fullatt_block_indexes": []int{}}))
	require.NoError(t, err)
	require.NotNil(t, cfg.Vision.FullAttBlockIndexes)
	require.Empty(t, cfg.Vision.FullAttBlockIndexes)
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		edits   map[string]any
		raw     string
		wantErr string
	}{
		{name: "not json", raw: `{"vocab_size": `, wantErr: "decode JSON"},
		{name: "wrong type", raw: `{"hidden_size": "64"}`, wantErr: "decode JSON"},
		{name: "eos not int", edits: map[string]any{"eos_token_id": "x"}, wantErr: "integer or a list"},
		{name: "heads", edits: map[string]any{"num_attention_heads": 5}, wantErr: "hidden_size (64) is not divisible by num_attention_heads (5)"},
		{name: "kv heads", edits: map[string]any{"num_key_value_heads": 3}, wantErr: "num_attention_heads (4) is not divisible by num_key_value_heads (3)"},
		{name: "zero layers", edits: map[string]any{"num_hidden_layers": 0}, wantErr: "num_hidden_layers must be positive"},
		{name: "mrope sum", edits: map[string]any{"rope_scaling": map[string]any{"type": "mrope", "mrope_section": []int{2, 3, 4}}}, wantErr: "rope_scaling.mrope_section [2 3 4] sums to 9"},
		{name: "mrope len", edits: map[string]any{"rope_scaling": map[string]any{"type": "mrope", "mrope_section": []int{4, 4}}}, wantErr: "must have 3 entries"},
		{name: "mrope missing", edits: map[string]any{"rope_scaling": nil}, wantErr: "rope_scaling.mrope_section is missing"},
		{name: "rope type", edits: map[string]any{"rope_scaling": map[string]any{"type": "yarn", "mrope_section": []int{2, 3, 3}}}, wantErr: `rope_scaling.type "yarn" is not supported`},
		{name: "rope_type", edits: map[string]any{"rope_scaling": map[string]any{"rope_type": "linear", "mrope_section": []int{2, 3, 3}}}, wantErr: `rope_scaling.rope_type "linear"`},
		{name: "eps", edits: map[string]any{"rms_norm_eps": 0}, wantErr: "rms_norm_eps must be positive"},
		{name: "theta", edits: map[string]any{"rope_theta": -1}, wantErr: "rope_theta must be positive"},
		{name: "act", edits: map[string]any{"hidden_act": "tanh"}, wantErr: `hidden_act "tanh" is not supported`},
		{name: "sliding", edits: map[string]any{"use_sliding_window": true}, wantErr: "use_sliding_window"},
		{name: "image id range", edits: map[string]any{"image_token_id": 320}, wantErr: "image_token_id (320) is outside the vocabulary [0, 320)"},
		{name: "eos id range", edits: map[string]any{"eos_token_id": []int{302, -5}}, wantErr: "eos_token_id (-5)"},
		{name: "same ids", edits: map[string]any{"video_token_id": 312}, wantErr: "image_token_id and video_token_id are both 312"},
		{name: "vision heads", edits: map[string]any{"vision_config.num_heads": 3}, wantErr: "vision_config.hidden_size (32) is not divisible by vision_config.num_heads (3)"},
		{name: "vision head dim", edits: map[string]any{"vision_config.num_heads": 16}, wantErr: "vision head dim hidden_size/num_heads (2) must be divisible by 4"},
		{name: "merge size", edits: map[string]any{"vision_config.spatial_merge_size": 0}, wantErr: "vision_config.spatial_merge_size must be positive"},
		{name: "window", edits: map[string]any{"vision_config.window_size": 100}, wantErr: "vision_config.window_size (100) is not a multiple of patch_size*spatial_merge_size (28)"},
		{name: "fullatt", edits: map[string]any{"vision_config.fullatt_block_indexes": []int{2}}, wantErr: "fullatt_block_indexes entry 2 is outside [0, depth=2)"},
		{name: "out hidden", edits: map[string]any{"vision_config.out_hidden_size": 32}, wantErr: "vision_config.out_hidden_size (32) must equal hidden_size (64)"},
		{name: "alias conflict", edits: map[string]any{"vision_config.in_chans": 3, "vision_config.in_channels": 4}, wantErr: "in_channels (4) and in_chans (3) disagree"},
		{name: "patch alias conflict", edits: map[string]any{"vision_config.spatial_patch_size": 16, "vision_config.patch_size": 14}, wantErr: "patch_size (14) and spatial_patch_size (16) disagree"},
		{name: "vision act", edits: map[string]any{"vision_config.hidden_act": "relu6"}, wantErr: `vision_config.hidden_act "relu6"`},
		{name: "text_config bad", raw: `{"text_config": {"rope_scaling": {"type": "su"}}}`, wantErr: "text_config: invalid config: rope_scaling.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.raw)
			if tt.edits != nil {
				data = withKeys(t, tt.edits)
			}
			_, err := ParseConfig(data)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigValidateJoinsErrors(t *testing.T) {
	cfg := wantTiny()
	cfg.NumKeyValueHeads = 3
	cfg.Vision.Depth = 0
	err := cfg.Validate()
	require.ErrorContains(t, err, "num_key_value_heads (3)")
	require.ErrorContains(t, err, "vision_config.depth must be positive")
}

func TestCheckPreprocessor(t *testing.T) {
	cfg := wantTiny()
	p := DefaultPreprocessorConfig()
	p.MergeSize = 3
	require.ErrorContains(t, cfg.CheckPreprocessor(&p), "preprocessor merge_size (3) differs from vision_config.spatial_merge_size (2)")
}

func TestConfigJSONRoundTrip(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(goldenDir(), "config.json"))
	require.NoError(t, err)
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	back, err := ParseConfig(b)
	require.NoError(t, err)
	require.Equal(t, cfg, back)
}

func TestParseGenerationConfig(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    GenerationConfig
		wantErr string
	}{
		{
			name: "defaults",
			json: `{}`,
			want: DefaultGenerationConfig(),
		},
		{
			name: "qwen instruct style",
			json: `{"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
			        "eos_token_id": [151645, 151643], "repetition_penalty": 1.05,
			        "temperature": 1e-6, "top_p": 0.001, "top_k": 1, "transformers_version": "4.49.0"}`,
			want: GenerationConfig{BOSTokenID: 151643, PadTokenID: 151643, EOSTokenIDs: []int{151645, 151643},
				DoSample: true, Temperature: 1e-6, TopP: 0.001, TopK: 1, RepetitionPenalty: 1.05},
		},
		{
			name: "single eos and max_new_tokens",
			json: `{"eos_token_id": 302, "max_new_tokens": 7, "do_sample": false}`,
			want: GenerationConfig{BOSTokenID: NoTokenID, PadTokenID: NoTokenID, EOSTokenIDs: []int{302},
				Temperature: 1, TopP: 1, TopK: 50, RepetitionPenalty: 1, MaxNewTokens: 7},
		},
		{name: "bad json", json: `[`, wantErr: "decode JSON"},
		{name: "top_p", json: `{"top_p": 0}`, wantErr: "top_p must be in (0, 1]"},
		{name: "temperature", json: `{"temperature": -1}`, wantErr: "temperature must be non-negative"},
		{name: "top_k", json: `{"top_k": -1}`, wantErr: "top_k must be non-negative"},
		{name: "penalty", json: `{"repetition_penalty": 0}`, wantErr: "repetition_penalty must be positive"},
		{name: "eos", json: `{"eos_token_id": [-3]}`, wantErr: "eos_token_id entries must be non-negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGenerationConfig([]byte(tt.json))
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidConfig)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, *g)
		})
	}
}

func TestLoadGenerationAndPreprocessorConfig(t *testing.T) {
	dir := t.TempDir()
	gpath := filepath.Join(dir, "generation_config.json")
	require.NoError(t, os.WriteFile(gpath, []byte(`{"eos_token_id": [302]}`), 0o600))
	g, err := LoadGenerationConfig(gpath)
	require.NoError(t, err)
	require.Equal(t, []int{302}, g.EOSTokenIDs)

	ppath := filepath.Join(dir, "preprocessor_config.json")
	require.NoError(t, os.WriteFile(ppath, []byte(`{"max_pixels": 1003520}`), 0o600))
	p, err := LoadPreprocessorConfig(ppath)
	require.NoError(t, err)
	require.Equal(t, 1003520, p.MaxPixels)

	_, err = LoadGenerationConfig(filepath.Join(dir, "nope.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = LoadPreprocessorConfig(filepath.Join(dir, "nope.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestParsePreprocessorConfig(t *testing.T) {
	def := DefaultPreprocessorConfig()
	withPixels := func(minP, maxP int) PreprocessorConfig {
		p := DefaultPreprocessorConfig()
		p.MinPixels, p.MaxPixels = minP, maxP
		return p
	}
	tests := []struct {
		name    string
		json    string
		want    PreprocessorConfig
		wantErr string
	}{
		{name: "empty", json: `{}`, want: def},
		{
			name: "published qwen2.5-vl",
			json: `{"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
			        "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
			        "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "Qwen2VLImageProcessor",
			        "processor_class": "Qwen2_5_VLProcessor", "do_resize": true, "do_rescale": true,
			        "rescale_factor": 0.00392156862745098, "do_normalize": true, "do_convert_rgb": true, "resample": 3}`,
			want: def,
		},
		{name: "size spelling", json: `{"size": {"shortest_edge": 200704, "longest_edge": 1003520}}`, want: withPixels(200704, 1003520)},
		{name: "min/max win over size", json: `{"size": {"shortest_edge": 1, "longest_edge": 2}, "min_pixels": 3136, "max_pixels": 1003520}`, want: withPixels(3136, 1003520)},
		{name: "partial size", json: `{"size": {"shortest_edge": 3136}}`, wantErr: "size must have both shortest_edge and longest_edge"},
		{name: "range", json: `{"min_pixels": 5000, "max_pixels": 4000}`, wantErr: "max_pixels (4000) is smaller than min_pixels (5000)"},
		{name: "min zero", json: `{"min_pixels": 0}`, wantErr: "min_pixels must be positive"},
		{name: "mean len", json: `{"image_mean": [0.5]}`, wantErr: "image_mean must have 3 entries"},
		{name: "std zero", json: `{"image_std": [1, 0, 1]}`, wantErr: "image_std entries must be positive"},
		{name: "patch", json: `{"patch_size": -14}`, wantErr: "patch_size must be in [1, 4096]"},
		{name: "no resize", json: `{"do_resize": false}`, wantErr: "do_resize false is not supported"},
		{name: "resample", json: `{"resample": 2}`, wantErr: "resample 2 is not supported"},
		{name: "rescale", json: `{"rescale_factor": -1}`, wantErr: "rescale_factor must be positive"},
		{name: "bad json", json: `{"min_pixels": "x"}`, wantErr: "decode JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePreprocessorConfig([]byte(tt.json))
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidConfig)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, *p)
		})
	}
}

func TestDefaultPreprocessorConfig(t *testing.T) {
	p := DefaultPreprocessorConfig()
	require.Equal(t, 3136, p.MinPixels)
	require.Equal(t, 12845056, p.MaxPixels)
	require.Equal(t, []float64{0.48145466, 0.4578275, 0.40821073}, p.ImageMean)
	require.Equal(t, []float64{0.26862954, 0.26130258, 0.27577711}, p.ImageStd)
	require.InDelta(t, 1.0/255, p.RescaleFactor, 0)
	require.Equal(t, VideoOptions{FPS: 2, MinFrames: 4, MaxFrames: 768, MinPixels: 100352, MaxPixels: 602112, TotalPixels: 90316800}, p.Video)
	// Defaults are copies: editing one config leaves the package values alone.
	p.ImageMean[0] = 9
	require.InDelta(t, 0.48145466, CLIPMean[0], 0)
}

// FuzzParseConfig checks that ParseConfig never panics, that whatever it
// accepts is valid, and that json.Marshal of an accepted Config parses back
// to the same Config.
func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"config.json", "config_full.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "tiny", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(tinyConfig))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error does not wrap ErrInvalidConfig: %v", err)
			}
			return
		}
		require.NoError(t, cfg.Validate())
		require.Positive(t, cfg.HeadDim())
		b, err := json.Marshal(cfg)
		require.NoError(t, err)
		back, err := ParseConfig(b)
		require.NoError(t, err)
		require.Equal(t, cfg, back)
	})
}
