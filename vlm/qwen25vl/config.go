// Package qwen25vl implements Qwen2.5-VL, the vision-language backbone of the
// VST spatial VLMs, at Hugging Face transformers parity.
//
// This file reads the three JSON files of a Hugging Face checkpoint
// directory that describe the model: config.json (Config),
// generation_config.json (GenerationConfig) and preprocessor_config.json
// (PreprocessorConfig). Keys that a file omits take the defaults of
// transformers' Qwen2_5_VLConfig, Qwen2_5_VLVisionConfig, GenerationConfig
// and Qwen2VLImageProcessor; every field documents its default.
package qwen25vl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
)

// ErrInvalidConfig is wrapped by every error that reports an inconsistent or
// unsupported configuration value, so callers can test for it with
// errors.Is.
var ErrInvalidConfig = errors.New("invalid config")

// invalidf returns an error that wraps ErrInvalidConfig.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// NoTokenID marks a token id that the configuration file does not set.
const NoTokenID = -1

// Config is the model configuration read from a checkpoint's config.json.
//
// The defaults below are those of transformers' Qwen2_5_VLConfig (text) and
// Qwen2_5_VLVisionConfig (vision) as of v4.49–v4.52, which describe the
// 72B-sized text model and the Qwen2.5-VL vision tower; published checkpoints
// set almost every key, so the defaults mostly matter for the tiny configs
// that save_pretrained writes with only non-default values. The JSON tags
// give the flat (pre-4.52) HF layout, so json.Marshal of a Config is a
// config.json that ParseConfig reads back into the same Config.
type Config struct {
	// VocabSize is the number of rows of the token embedding and of the LM
	// head (vocab_size). It defaults to 152064.
	VocabSize int `json:"vocab_size"`
	// HiddenSize is the text model's width (hidden_size). It defaults to 8192.
	HiddenSize int `json:"hidden_size"`
	// IntermediateSize is the width of the text MLP (intermediate_size). It
	// defaults to 29568.
	IntermediateSize int `json:"intermediate_size"`
	// NumHiddenLayers is the number of decoder layers (num_hidden_layers). It
	// defaults to 80.
	NumHiddenLayers int `json:"num_hidden_layers"`
	// NumAttentionHeads is the number of query heads (num_attention_heads).
	// It defaults to 64.
	NumAttentionHeads int `json:"num_attention_heads"`
	// NumKeyValueHeads is the number of key/value heads for grouped-query
	// attention (num_key_value_heads). It defaults to 8.
	NumKeyValueHeads int `json:"num_key_value_heads"`
	// RMSNormEps is the epsilon of the text RMSNorms (rms_norm_eps). It
	// defaults to 1e-5.
	RMSNormEps float64 `json:"rms_norm_eps"`
	// RopeTheta is the RoPE base frequency (rope_theta). It defaults to 1e6.
	RopeTheta float64 `json:"rope_theta"`
	// RopeScaling is the M-RoPE description (rope_scaling). HF has no
	// default (None); a Qwen2.5-VL config must give mrope_section.
	RopeScaling RopeScaling `json:"rope_scaling"`
	// MaxPositionEmbeddings is the longest supported context
	// (max_position_embeddings). It defaults to 32768.
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// TieWordEmbeddings reports that the LM head shares the token embedding
	// (tie_word_embeddings). It defaults to false.
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
	// HiddenAct is the activation of the gated text MLP (hidden_act). It
	// defaults to "silu".
	HiddenAct string `json:"hidden_act"`
	// UseSlidingWindow enables sliding-window attention
	// (use_sliding_window). It defaults to false; true is rejected by
	// Validate because Qwen2.5-VL checkpoints do not use it.
	UseSlidingWindow bool `json:"use_sliding_window"`

	// BOSTokenID is the beginning-of-sequence id (bos_token_id). HF has no
	// default; it is NoTokenID when absent.
	BOSTokenID int `json:"bos_token_id"`
	// EOSTokenIDs are the end-of-sequence ids (eos_token_id, an integer or a
	// list). HF has no default; it is empty when absent.
	EOSTokenIDs []int `json:"eos_token_id"`
	// ImageTokenID is the id of <|image_pad|> (image_token_id). It defaults
	// to 151655, the default of later transformers versions and the value of
	// every published Qwen2.5-VL checkpoint.
	ImageTokenID int `json:"image_token_id"`
	// VideoTokenID is the id of <|video_pad|> (video_token_id). It defaults
	// to 151656 (as ImageTokenID).
	VideoTokenID int `json:"video_token_id"`
	// VisionStartTokenID is the id of <|vision_start|>
	// (vision_start_token_id). It defaults to 151652, the published value.
	VisionStartTokenID int `json:"vision_start_token_id"`
	// VisionEndTokenID is the id of <|vision_end|> (vision_end_token_id). It
	// defaults to 151653, the published value.
	VisionEndTokenID int `json:"vision_end_token_id"`
	// VisionTokenID is the id of <|vision_pad|> (vision_token_id). It
	// defaults to 151654, the published value.
	VisionTokenID int `json:"vision_token_id"`

	// Vision is the vision tower configuration (vision_config).
	Vision VisionConfig `json:"vision_config"`
}

// RopeScaling describes Qwen2.5-VL's multimodal rotary embedding (M-RoPE):
// the rotary half of each head is split into temporal, height and width
// sections, each rotated by its own position id.
type RopeScaling struct {
	// Type is the RoPE variant, normalised as HF does: the original
	// "mrope" spelling is rewritten to "default", and "rope_type" is
	// accepted as a synonym of "type". Only "default" is supported. It
	// defaults to "default".
	Type string `json:"type"`
	// MRopeSection gives the number of rotary frequency pairs of the
	// temporal, height and width sections (mrope_section), for example
	// [16, 24, 24] for head_dim 128. Their sum times 2 is the head
	// dimension. There is no default.
	MRopeSection []int `json:"mrope_section"`
}

// VisionConfig is the vision tower configuration (the vision_config object
// of config.json). The defaults are those of Qwen2_5_VLVisionConfig.
type VisionConfig struct {
	// Depth is the number of ViT blocks (depth). It defaults to 32.
	Depth int `json:"depth"`
	// HiddenSize is the ViT width (hidden_size). It defaults to 3584.
	HiddenSize int `json:"hidden_size"`
	// IntermediateSize is the width of the gated ViT MLP
	// (intermediate_size). It defaults to 3420.
	IntermediateSize int `json:"intermediate_size"`
	// NumHeads is the number of ViT attention heads (num_heads). It defaults
	// to 16.
	NumHeads int `json:"num_heads"`
	// InChannels is the number of image channels (in_channels, also spelled
	// in_chans). It defaults to 3.
	InChannels int `json:"in_channels"`
	// PatchSize is the side of a square patch in pixels (patch_size, also
	// spelled spatial_patch_size). It defaults to 14.
	PatchSize int `json:"patch_size"`
	// SpatialMergeSize is the side of the square of patches that the merger
	// folds into one LLM token (spatial_merge_size). It defaults to 2.
	SpatialMergeSize int `json:"spatial_merge_size"`
	// TemporalPatchSize is the number of frames in one patch
	// (temporal_patch_size). It defaults to 2.
	TemporalPatchSize int `json:"temporal_patch_size"`
	// WindowSize is the side in pixels of the windows of windowed attention
	// (window_size). It defaults to 112.
	WindowSize int `json:"window_size"`
	// FullAttBlockIndexes lists the blocks that use full rather than
	// windowed attention (fullatt_block_indexes). It defaults to
	// [7, 15, 23, 31].
	FullAttBlockIndexes []int `json:"fullatt_block_indexes"`
	// OutHiddenSize is the merger's output width, which must equal the text
	// hidden size (out_hidden_size). It defaults to 3584.
	OutHiddenSize int `json:"out_hidden_size"`
	// TokensPerSecond is the temporal position step per second of video
	// (tokens_per_second). It defaults to 4.
	TokensPerSecond int `json:"tokens_per_second"`
	// HiddenAct is the activation of the gated ViT MLP (hidden_act). It
	// defaults to "silu".
	HiddenAct string `json:"hidden_act"`
}

// DefaultConfig returns the configuration that an empty config.json yields
// before validation. It does not validate: HF's defaults have no
// mrope_section, and their text hidden_size (8192) differs from the vision
// out_hidden_size (3584).
func DefaultConfig() Config {
	return Config{
		VocabSize:             152064,
		HiddenSize:            8192,
		IntermediateSize:      29568,
		NumHiddenLayers:       80,
		NumAttentionHeads:     64,
		NumKeyValueHeads:      8,
		RMSNormEps:            1e-5,
		RopeTheta:             1e6,
		RopeScaling:           RopeScaling{Type: "default"},
		MaxPositionEmbeddings: 32768,
		HiddenAct:             "silu",
		BOSTokenID:            NoTokenID,
		ImageTokenID:          151655,
		VideoTokenID:          151656,
		VisionStartTokenID:    151652,
		VisionEndTokenID:      151653,
		VisionTokenID:         151654,
		Vision:                DefaultVisionConfig(),
	}
}

// DefaultVisionConfig returns the defaults of Qwen2_5_VLVisionConfig.
func DefaultVisionConfig() VisionConfig {
	return VisionConfig{
		Depth:               32,
		HiddenSize:          3584,
		IntermediateSize:    3420,
		NumHeads:            16,
		InChannels:          3,
		PatchSize:           14,
		SpatialMergeSize:    2,
		TemporalPatchSize:   2,
		WindowSize:          112,
		FullAttBlockIndexes: []int{7, 15, 23, 31},
		OutHiddenSize:       3584,
		TokensPerSecond:     4,
		HiddenAct:           "silu",
	}
}

// HeadDim returns the text attention head dimension, hidden_size divided by
// num_attention_heads (0 when there are no heads).
func (c *Config) HeadDim() int {
	if c.NumAttentionHeads <= 0 {
		return 0
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// HeadDim returns the ViT attention head dimension (0 when there are no
// heads).
func (v *VisionConfig) HeadDim() int {
	if v.NumHeads <= 0 {
		return 0
	}
	return v.HiddenSize / v.NumHeads
}

// LoadConfig reads and validates a config.json file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("model config %s: %w", path, err)
	}
	return cfg, nil
}

// tokenIDs is a token id field that HF writes as an integer, a list of
// integers or null.
type tokenIDs struct {
	set bool
	ids []int
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *tokenIDs) UnmarshalJSON(b []byte) error {
	t.set = true
	t.ids = nil
	if string(b) == "null" {
		return nil
	}
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		t.ids = []int{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want an integer or a list of integers, got %s", truncate(b))
	}
	t.ids = many
	return nil
}

// truncate shortens raw JSON for an error message.
func truncate(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// rawRope is the rope_scaling (or transformers v5 rope_parameters) object.
type rawRope struct {
	Type         *string  `json:"type"`
	RopeType     *string  `json:"rope_type"`
	MRopeSection []int    `json:"mrope_section"`
	RopeTheta    *float64 `json:"rope_theta"`
}

// rawText holds the text keys of config.json, or of its text_config object;
// a nil field is absent (or null) in the file.
type rawText struct {
	VocabSize             *int     `json:"vocab_size"`
	HiddenSize            *int     `json:"hidden_size"`
	IntermediateSize      *int     `json:"intermediate_size"`
	NumHiddenLayers       *int     `json:"num_hidden_layers"`
	NumAttentionHeads     *int     `json:"num_attention_heads"`
	NumKeyValueHeads      *int     `json:"num_key_value_heads"`
	RMSNormEps            *float64 `json:"rms_norm_eps"`
	RopeTheta             *float64 `json:"rope_theta"`
	RopeScaling           *rawRope `json:"rope_scaling"`
	RopeParameters        *rawRope `json:"rope_parameters"`
	MaxPositionEmbeddings *int     `json:"max_position_embeddings"`
	TieWordEmbeddings     *bool    `json:"tie_word_embeddings"`
	HiddenAct             *string  `json:"hidden_act"`
	UseSlidingWindow      *bool    `json:"use_sliding_window"`
	BOSTokenID            *int     `json:"bos_token_id"`
	EOSTokenID            tokenIDs `json:"eos_token_id"`
	rawMultimodalIDs
}

// rawMultimodalIDs are the vision token ids. HF reads them from the top
// level, so they win over text_config's.
type rawMultimodalIDs struct {
	ImageTokenID       *int `json:"image_token_id"`
	VideoTokenID       *int `json:"video_token_id"`
	VisionStartTokenID *int `json:"vision_start_token_id"`
	VisionEndTokenID   *int `json:"vision_end_token_id"`
	VisionTokenID      *int `json:"vision_token_id"`
}

// rawVision holds the keys of vision_config.
type rawVision struct {
	Depth               *int    `json:"depth"`
	HiddenSize          *int    `json:"hidden_size"`
	IntermediateSize    *int    `json:"intermediate_size"`
	NumHeads            *int    `json:"num_heads"`
	InChannels          *int    `json:"in_channels"`
	InChans             *int    `json:"in_chans"`
	PatchSize           *int    `json:"patch_size"`
	SpatialPatchSize    *int    `json:"spatial_patch_size"`
	SpatialMergeSize    *int    `json:"spatial_merge_size"`
	TemporalPatchSize   *int    `json:"temporal_patch_size"`
	WindowSize          *int    `json:"window_size"`
	FullAttBlockIndexes *[]int  `json:"fullatt_block_indexes"`
	OutHiddenSize       *int    `json:"out_hidden_size"`
	TokensPerSecond     *int    `json:"tokens_per_second"`
	HiddenAct           *string `json:"hidden_act"`
}

// rawConfig is the whole config.json.
type rawConfig struct {
	rawText
	TextConfig   *rawText   `json:"text_config"`
	VisionConfig *rawVision `json:"vision_config"`
}

// ParseConfig decodes a config.json document, fills absent keys with their
// defaults and validates the result.
//
// Both the flat layout (text keys at the top level, transformers < 4.52) and
// the nested layout (a text_config object, transformers ≥ 4.52) are read;
// keys in text_config win over top-level ones, except the vision token ids,
// which HF reads from the top level. rope_scaling may be spelled
// {"type":"mrope",...} or HF's rewritten {"type":"default","rope_type":
// "default",...}; transformers v5's rope_parameters is read as well.
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: decode JSON: %w", ErrInvalidConfig, err)
	}
	cfg := DefaultConfig()
	if err := cfg.applyText(&raw.rawText); err != nil {
		return nil, err
	}
	if raw.TextConfig != nil {
		if err := cfg.applyText(raw.TextConfig); err != nil {
			return nil, fmt.Errorf("text_config: %w", err)
		}
		cfg.applyMultimodalIDs(&raw.rawMultimodalIDs)
	}
	if raw.VisionConfig != nil {
		if err := cfg.Vision.apply(raw.VisionConfig); err != nil {
			return nil, fmt.Errorf("vision_config: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// set copies *src to *dst when src is not nil.
func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (c *Config) applyText(r *rawText) error {
	set(&c.VocabSize, r.VocabSize)
	set(&c.HiddenSize, r.HiddenSize)
	set(&c.IntermediateSize, r.IntermediateSize)
	set(&c.NumHiddenLayers, r.NumHiddenLayers)
	set(&c.NumAttentionHeads, r.NumAttentionHeads)
	set(&c.NumKeyValueHeads, r.NumKeyValueHeads)
	set(&c.RMSNormEps, r.RMSNormEps)
	set(&c.RopeTheta, r.RopeTheta)
	set(&c.MaxPositionEmbeddings, r.MaxPositionEmbeddings)
	set(&c.TieWordEmbeddings, r.TieWordEmbeddings)
	set(&c.HiddenAct, r.HiddenAct)
	set(&c.UseSlidingWindow, r.UseSlidingWindow)
	set(&c.BOSTokenID, r.BOSTokenID)
	if r.EOSTokenID.set {
		c.EOSTokenIDs = slices.Clone(r.EOSTokenID.ids)
	}
	if r.RopeParameters != nil {
		if err := c.applyRope("rope_parameters", r.RopeParameters); err != nil {
			return err
		}
		set(&c.RopeTheta, r.RopeParameters.RopeTheta)
	}
	if r.RopeScaling != nil {
		if err := c.applyRope("rope_scaling", r.RopeScaling); err != nil {
			return err
		}
	}
	c.applyMultimodalIDs(&r.rawMultimodalIDs)
	return nil
}

func (c *Config) applyMultimodalIDs(r *rawMultimodalIDs) {
	set(&c.ImageTokenID, r.ImageTokenID)
	set(&c.VideoTokenID, r.VideoTokenID)
	set(&c.VisionStartTokenID, r.VisionStartTokenID)
	set(&c.VisionEndTokenID, r.VisionEndTokenID)
	set(&c.VisionTokenID, r.VisionTokenID)
}

// normRopeType maps the accepted rope type spellings to "default".
func normRopeType(field, s string) (string, error) {
	switch s {
	case "default", "mrope":
		return "default", nil
	}
	return "", invalidf("%s %q is not supported (want \"mrope\" or \"default\")", field, s)
}

func (c *Config) applyRope(name string, r *rawRope) error {
	typ := "default"
	if r.Type != nil {
		t, err := normRopeType(name+".type", *r.Type)
		if err != nil {
			return err
		}
		typ = t
	}
	if r.RopeType != nil {
		t, err := normRopeType(name+".rope_type", *r.RopeType)
		if err != nil {
			return err
		}
		typ = t
	}
	c.RopeScaling.Type = typ
	if r.MRopeSection != nil {
		c.RopeScaling.MRopeSection = slices.Clone(r.MRopeSection)
	}
	return nil
}

// setAlias applies a key that has two spellings; the two must agree when
// both are present.
func setAlias(dst *int, a *int, aName string, b *int, bName string) error {
	if a != nil && b != nil && *a != *b {
		return invalidf("%s (%d) and %s (%d) disagree", aName, *a, bName, *b)
	}
	set(dst, a)
	set(dst, b)
	return nil
}

func (v *VisionConfig) apply(r *rawVision) error {
	set(&v.Depth, r.Depth)
	set(&v.HiddenSize, r.HiddenSize)
	set(&v.IntermediateSize, r.IntermediateSize)
	set(&v.NumHeads, r.NumHeads)
	if err := setAlias(&v.InChannels, r.InChannels, "in_channels", r.InChans, "in_chans"); err != nil {
		return err
	}
	if err := setAlias(&v.PatchSize, r.PatchSize, "patch_size", r.SpatialPatchSize, "spatial_patch_size"); err != nil {
		return err
	}
	set(&v.SpatialMergeSize, r.SpatialMergeSize)
	set(&v.TemporalPatchSize, r.TemporalPatchSize)
	set(&v.WindowSize, r.WindowSize)
	if r.FullAttBlockIndexes != nil {
		v.FullAttBlockIndexes = slices.Clone(*r.FullAttBlockIndexes)
		if v.FullAttBlockIndexes == nil {
			v.FullAttBlockIndexes = []int{}
		}
	}
	set(&v.OutHiddenSize, r.OutHiddenSize)
	set(&v.TokensPerSecond, r.TokensPerSecond)
	set(&v.HiddenAct, r.HiddenAct)
	return nil
}

// supportedActs are the activation names Validate accepts (HF ACT2FN names).
var supportedActs = []string{"silu", "swish", "gelu", "gelu_pytorch_tanh", "quick_gelu"}

// positive reports name=v as an error unless v > 0.
func positive(errs []error, name string, v int) []error {
	if v <= 0 {
		return append(errs, invalidf("%s must be positive, got %d", name, v))
	}
	return errs
}

// Validate checks that the configuration is consistent and supported. It
// reports every problem found, joined, each naming the config.json key.
func (c *Config) Validate() error {
	var errs []error
	errs = positive(errs, "vocab_size", c.VocabSize)
	errs = positive(errs, "hidden_size", c.HiddenSize)
	errs = positive(errs, "intermediate_size", c.IntermediateSize)
	errs = positive(errs, "num_hidden_layers", c.NumHiddenLayers)
	errs = positive(errs, "num_attention_heads", c.NumAttentionHeads)
	errs = positive(errs, "num_key_value_heads", c.NumKeyValueHeads)
	errs = positive(errs, "max_position_embeddings", c.MaxPositionEmbeddings)
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		errs = append(errs, invalidf("rms_norm_eps must be positive and finite, got %v", c.RMSNormEps))
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		errs = append(errs, invalidf("rope_theta must be positive and finite, got %v", c.RopeTheta))
	}
	if !slices.Contains(supportedActs, c.HiddenAct) {
		errs = append(errs, invalidf("hidden_act %q is not supported (want one of %v)", c.HiddenAct, supportedActs))
	}
	if c.UseSlidingWindow {
		errs = append(errs, invalidf("use_sliding_window true is not supported"))
	}
	headDim := 0
	if c.HiddenSize > 0 && c.NumAttentionHeads > 0 {
		if c.HiddenSize%c.NumAttentionHeads != 0 {
			errs = append(errs, invalidf("hidden_size (%d) is not divisible by num_attention_heads (%d)", c.HiddenSize, c.NumAttentionHeads))
		} else {
			headDim = c.HiddenSize / c.NumAttentionHeads
			if headDim%2 != 0 {
				errs = append(errs, invalidf("head dim hidden_size/num_attention_heads (%d) must be even for RoPE", headDim))
			}
		}
	}
	if c.NumAttentionHeads > 0 && c.NumKeyValueHeads > 0 && c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		errs = append(errs, invalidf("num_attention_heads (%d) is not divisible by num_key_value_heads (%d)", c.NumAttentionHeads, c.NumKeyValueHeads))
	}
	if c.RopeScaling.Type != "default" {
		errs = append(errs, invalidf("rope_scaling.type %q is not supported (want \"mrope\" or \"default\")", c.RopeScaling.Type))
	}
	errs = append(errs, c.validateMRope(headDim)...)
	errs = append(errs, c.validateTokenIDs()...)
	errs = append(errs, c.Vision.validate()...)
	if c.Vision.OutHiddenSize > 0 && c.HiddenSize > 0 && c.Vision.OutHiddenSize != c.HiddenSize {
		errs = append(errs, invalidf("vision_config.out_hidden_size (%d) must equal hidden_size (%d)", c.Vision.OutHiddenSize, c.HiddenSize))
	}
	return errors.Join(errs...)
}

func (c *Config) validateMRope(headDim int) []error {
	sec := c.RopeScaling.MRopeSection
	if len(sec) == 0 {
		return []error{invalidf("rope_scaling.mrope_section is missing (Qwen2.5-VL needs M-RoPE sections, e.g. [16, 24, 24] for head dim 128)")}
	}
	if len(sec) != 3 {
		return []error{invalidf("rope_scaling.mrope_section must have 3 entries (temporal, height, width), got %v", sec)}
	}
	sum := 0
	for _, s := range sec {
		if s < 0 || s > 1<<20 {
			return []error{invalidf("rope_scaling.mrope_section entries must be non-negative, got %v", sec)}
		}
		sum += s
	}
	if headDim > 0 && sum*2 != headDim {
		return []error{invalidf("rope_scaling.mrope_section %v sums to %d, but twice the sum must equal the head dim %d", sec, sum, headDim)}
	}
	return nil
}

func (c *Config) validateTokenIDs() []error {
	var errs []error
	check := func(name string, id int, optional bool) {
		if optional && id == NoTokenID {
			return
		}
		if id < 0 || (c.VocabSize > 0 && id >= c.VocabSize) {
			errs = append(errs, invalidf("%s (%d) is outside the vocabulary [0, %d)", name, id, c.VocabSize))
		}
	}
	check("bos_token_id", c.BOSTokenID, true)
	for _, id := range c.EOSTokenIDs {
		check("eos_token_id", id, false)
	}
	check("image_token_id", c.ImageTokenID, false)
	check("video_token_id", c.VideoTokenID, false)
	check("vision_start_token_id", c.VisionStartTokenID, false)
	check("vision_end_token_id", c.VisionEndTokenID, false)
	check("vision_token_id", c.VisionTokenID, false)
	if c.ImageTokenID == c.VideoTokenID {
		errs = append(errs, invalidf("image_token_id and video_token_id are both %d", c.ImageTokenID))
	}
	return errs
}

func (v *VisionConfig) validate() []error {
	var errs []error
	errs = positive(errs, "vision_config.depth", v.Depth)
	errs = positive(errs, "vision_config.hidden_size", v.HiddenSize)
	errs = positive(errs, "vision_config.intermediate_size", v.IntermediateSize)
	errs = positive(errs, "vision_config.num_heads", v.NumHeads)
	errs = positive(errs, "vision_config.in_channels", v.InChannels)
	errs = positive(errs, "vision_config.patch_size", v.PatchSize)
	errs = positive(errs, "vision_config.spatial_merge_size", v.SpatialMergeSize)
	errs = positive(errs, "vision_config.temporal_patch_size", v.TemporalPatchSize)
	errs = positive(errs, "vision_config.window_size", v.WindowSize)
	errs = positive(errs, "vision_config.out_hidden_size", v.OutHiddenSize)
	errs = positive(errs, "vision_config.tokens_per_second", v.TokensPerSecond)
	if len(errs) > 0 {
		return errs
	}
	if v.HiddenSize%v.NumHeads != 0 {
		errs = append(errs, invalidf("vision_config.hidden_size (%d) is not divisible by vision_config.num_heads (%d)", v.HiddenSize, v.NumHeads))
	} else if hd := v.HiddenSize / v.NumHeads; hd%4 != 0 {
		errs = append(errs, invalidf("vision head dim hidden_size/num_heads (%d) must be divisible by 4 for 2-D RoPE", hd))
	}
	const maxDim = 1 << 16
	if v.PatchSize > maxDim || v.SpatialMergeSize > maxDim || v.TemporalPatchSize > maxDim || v.InChannels > maxDim {
		errs = append(errs, invalidf("vision_config patch sizes and in_channels must be at most %d", maxDim))
	} else if unit := v.PatchSize * v.SpatialMergeSize; v.WindowSize%unit != 0 {
		errs = append(errs, invalidf("vision_config.window_size (%d) is not a multiple of patch_size*spatial_merge_size (%d)", v.WindowSize, unit))
	}
	for _, b := range v.FullAttBlockIndexes {
		if b < 0 || b >= v.Depth {
			errs = append(errs, invalidf("vision_config.fullatt_block_indexes entry %d is outside [0, depth=%d)", b, v.Depth))
		}
	}
	if !slices.Contains(supportedActs, v.HiddenAct) {
		errs = append(errs, invalidf("vision_config.hidden_act %q is not supported (want one of %v)", v.HiddenAct, supportedActs))
	}
	return errs
}

// CheckPreprocessor reports an error when a preprocessor configuration does
// not match the vision tower: its patch, temporal patch and merge sizes must
// equal the model's.
func (c *Config) CheckPreprocessor(p *PreprocessorConfig) error {
	v := &c.Vision
	var errs []error
	if p.PatchSize != v.PatchSize {
		errs = append(errs, invalidf("preprocessor patch_size (%d) differs from vision_config.patch_size (%d)", p.PatchSize, v.PatchSize))
	}
	if p.TemporalPatchSize != v.TemporalPatchSize {
		errs = append(errs, invalidf("preprocessor temporal_patch_size (%d) differs from vision_config.temporal_patch_size (%d)", p.TemporalPatchSize, v.TemporalPatchSize))
	}
	if p.MergeSize != v.SpatialMergeSize {
		errs = append(errs, invalidf("preprocessor merge_size (%d) differs from vision_config.spatial_merge_size (%d)", p.MergeSize, v.SpatialMergeSize))
	}
	if v.InChannels != 3 {
		errs = append(errs, invalidf("vision_config.in_channels (%d) must be 3: the processor produces RGB", v.InChannels))
	}
	return errors.Join(errs...)
}

// GenerationConfig holds the decoding defaults of a checkpoint's
// generation_config.json. The defaults are those of transformers'
// GenerationConfig.
type GenerationConfig struct {
	// BOSTokenID is the beginning-of-sequence id (bos_token_id). It is
	// NoTokenID when absent.
	BOSTokenID int `json:"bos_token_id"`
	// PadTokenID is the padding id (pad_token_id). It is NoTokenID when
	// absent.
	PadTokenID int `json:"pad_token_id"`
	// EOSTokenIDs are the ids that end generation (eos_token_id, an integer
	// or a list). It is empty when absent.
	EOSTokenIDs []int `json:"eos_token_id"`
	// DoSample selects sampling instead of greedy decoding (do_sample). It
	// defaults to false.
	DoSample bool `json:"do_sample"`
	// Temperature divides the logits before sampling (temperature). It
	// defaults to 1.0.
	Temperature float64 `json:"temperature"`
	// TopP is the nucleus-sampling probability mass (top_p). It defaults to
	// 1.0.
	TopP float64 `json:"top_p"`
	// TopK keeps the k most likely tokens; 0 disables it (top_k). It
	// defaults to 50.
	TopK int `json:"top_k"`
	// RepetitionPenalty penalises tokens already present (CTRL-style,
	// repetition_penalty). It defaults to 1.0 (no penalty).
	RepetitionPenalty float64 `json:"repetition_penalty"`
	// MaxNewTokens caps the number of generated tokens (max_new_tokens). It
	// defaults to 0, meaning unset.
	MaxNewTokens int `json:"max_new_tokens"`
}

// DefaultGenerationConfig returns transformers' GenerationConfig defaults.
func DefaultGenerationConfig() GenerationConfig {
	return GenerationConfig{
		BOSTokenID:        NoTokenID,
		PadTokenID:        NoTokenID,
		Temperature:       1.0,
		TopP:              1.0,
		TopK:              50,
		RepetitionPenalty: 1.0,
	}
}

// LoadGenerationConfig reads and validates a generation_config.json file.
func LoadGenerationConfig(path string) (*GenerationConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read generation config: %w", err)
	}
	g, err := ParseGenerationConfig(data)
	if err != nil {
		return nil, fmt.Errorf("generation config %s: %w", path, err)
	}
	return g, nil
}

// ParseGenerationConfig decodes a generation_config.json document, fills
// absent keys with their defaults and validates the result.
func ParseGenerationConfig(data []byte) (*GenerationConfig, error) {
	var raw struct {
		BOSTokenID        *int     `json:"bos_token_id"`
		PadTokenID        *int     `json:"pad_token_id"`
		EOSTokenID        tokenIDs `json:"eos_token_id"`
		DoSample          *bool    `json:"do_sample"`
		Temperature       *float64 `json:"temperature"`
		TopP              *float64 `json:"top_p"`
		TopK              *int     `json:"top_k"`
		RepetitionPenalty *float64 `json:"repetition_penalty"`
		MaxNewTokens      *int     `json:"max_new_tokens"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: decode JSON: %w", ErrInvalidConfig, err)
	}
	g := DefaultGenerationConfig()
	set(&g.BOSTokenID, raw.BOSTokenID)
	set(&g.PadTokenID, raw.PadTokenID)
	if raw.EOSTokenID.set {
		g.EOSTokenIDs = raw.EOSTokenID.ids
	}
	set(&g.DoSample, raw.DoSample)
	set(&g.Temperature, raw.Temperature)
	set(&g.TopP, raw.TopP)
	set(&g.TopK, raw.TopK)
	set(&g.RepetitionPenalty, raw.RepetitionPenalty)
	set(&g.MaxNewTokens, raw.MaxNewTokens)
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Validate checks the decoding parameters' ranges.
func (g *GenerationConfig) Validate() error {
	var errs []error
	if !(g.Temperature >= 0) || math.IsInf(g.Temperature, 0) {
		errs = append(errs, invalidf("temperature must be non-negative and finite, got %v", g.Temperature))
	}
	if !(g.TopP > 0 && g.TopP <= 1) {
		errs = append(errs, invalidf("top_p must be in (0, 1], got %v", g.TopP))
	}
	if g.TopK < 0 {
		errs = append(errs, invalidf("top_k must be non-negative, got %d", g.TopK))
	}
	if !(g.RepetitionPenalty > 0) || math.IsInf(g.RepetitionPenalty, 0) {
		errs = append(errs, invalidf("repetition_penalty must be positive and finite, got %v", g.RepetitionPenalty))
	}
	if g.MaxNewTokens < 0 {
		errs = append(errs, invalidf("max_new_tokens must be non-negative, got %d", g.MaxNewTokens))
	}
	for _, id := range g.EOSTokenIDs {
		if id < 0 {
			errs = append(errs, invalidf("eos_token_id entries must be non-negative, got %d", id))
		}
	}
	if g.BOSTokenID < NoTokenID {
		errs = append(errs, invalidf("bos_token_id must be non-negative, got %d", g.BOSTokenID))
	}
	if g.PadTokenID < NoTokenID {
		errs = append(errs, invalidf("pad_token_id must be non-negative, got %d", g.PadTokenID))
	}
	return errors.Join(errs...)
}

// Default image statistics and pixel budget of Qwen2.5-VL's image processor.
var (
	// CLIPMean is the per-channel RGB mean (OpenAI CLIP's) that Qwen2.5-VL
	// normalises with.
	CLIPMean = [3]float64{0.48145466, 0.4578275, 0.40821073}
	// CLIPStd is the per-channel RGB standard deviation (OpenAI CLIP's).
	CLIPStd = [3]float64{0.26862954, 0.26130258, 0.27577711}
)

// PreprocessorConfig is the image processor configuration read from
// preprocessor_config.json (Qwen2VLImageProcessor's keys). Zero numeric
// fields take their defaults in NewProcessor, so a zero PreprocessorConfig
// is the published Qwen2.5-VL processor.
type PreprocessorConfig struct {
	// MinPixels is the smallest resized area in pixels (min_pixels, or
	// size.shortest_edge). It defaults to 3136 (56*56).
	MinPixels int `json:"min_pixels"`
	// MaxPixels is the largest resized area in pixels (max_pixels, or
	// size.longest_edge). It defaults to 12845056 (16384*28*28), the value
	// of the published Qwen2.5-VL preprocessor_config.json; note that
	// Qwen2VLImageProcessor's own constructor default is 1003520
	// (1280*28*28).
	MaxPixels int `json:"max_pixels"`
	// PatchSize is the ViT patch side in pixels (patch_size). It defaults to
	// 14.
	PatchSize int `json:"patch_size"`
	// TemporalPatchSize is the number of frames per patch
	// (temporal_patch_size). It defaults to 2.
	TemporalPatchSize int `json:"temporal_patch_size"`
	// MergeSize is the spatial merge size (merge_size). It defaults to 2.
	MergeSize int `json:"merge_size"`
	// RescaleFactor scales the 8-bit values (rescale_factor). It defaults to
	// 1/255.
	RescaleFactor float64 `json:"rescale_factor"`
	// ImageMean is the per-channel RGB mean (image_mean). It defaults to
	// CLIPMean.
	ImageMean []float64 `json:"image_mean"`
	// ImageStd is the per-channel RGB standard deviation (image_std). It
	// defaults to CLIPStd.
	ImageStd []float64 `json:"image_std"`
	// Video holds the qwen-vl-utils video settings, which are not part of
	// preprocessor_config.json. Zero fields take their defaults.
	Video VideoOptions `json:"-"`
}

// DefaultPreprocessorConfig returns the published Qwen2.5-VL image
// processor configuration.
func DefaultPreprocessorConfig() PreprocessorConfig {
	var p PreprocessorConfig
	p.applyDefaults()
	return p
}

// applyDefaults fills zero fields with their defaults.
func (p *PreprocessorConfig) applyDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.MinPixels, 56*56)
	def(&p.MaxPixels, 16384*28*28)
	def(&p.PatchSize, 14)
	def(&p.TemporalPatchSize, 2)
	def(&p.MergeSize, 2)
	if p.RescaleFactor == 0 {
		p.RescaleFactor = 1.0 / 255
	}
	if p.ImageMean == nil {
		p.ImageMean = CLIPMean[:]
	}
	if p.ImageStd == nil {
		p.ImageStd = CLIPStd[:]
	}
	p.ImageMean = slices.Clone(p.ImageMean)
	p.ImageStd = slices.Clone(p.ImageStd)
	p.Video.applyDefaults()
}

// LoadPreprocessorConfig reads and validates a preprocessor_config.json
// file.
func LoadPreprocessorConfig(path string) (*PreprocessorConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read preprocessor config: %w", err)
	}
	p, err := ParsePreprocessorConfig(data)
	if err != nil {
		return nil, fmt.Errorf("preprocessor config %s: %w", path, err)
	}
	return p, nil
}

// ParsePreprocessorConfig decodes a preprocessor_config.json document, fills
// absent keys with their defaults and validates the result.
//
// The pixel budget may be given as min_pixels/max_pixels or as
// size {shortest_edge, longest_edge}; as in HF, min_pixels and max_pixels
// win when both spellings are present. Only the behaviour of the published
// processor is supported: do_resize, do_rescale, do_normalize and
// do_convert_rgb must be true (or absent) and resample must be 3 (bicubic).
func ParsePreprocessorConfig(data []byte) (*PreprocessorConfig, error) {
	var raw struct {
		MinPixels *int `json:"min_pixels"`
		MaxPixels *int `json:"max_pixels"`
		Size      *struct {
			ShortestEdge *int `json:"shortest_edge"`
			LongestEdge  *int `json:"longest_edge"`
		} `json:"size"`
		PatchSize         *int      `json:"patch_size"`
		TemporalPatchSize *int      `json:"temporal_patch_size"`
		MergeSize         *int      `json:"merge_size"`
		RescaleFactor     *float64  `json:"rescale_factor"`
		ImageMean         []float64 `json:"image_mean"`
		ImageStd          []float64 `json:"image_std"`
		DoResize          *bool     `json:"do_resize"`
		DoRescale         *bool     `json:"do_rescale"`
		DoNormalize       *bool     `json:"do_normalize"`
		DoConvertRGB      *bool     `json:"do_convert_rgb"`
		Resample          *int      `json:"resample"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: decode JSON: %w", ErrInvalidConfig, err)
	}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"do_resize", raw.DoResize}, {"do_rescale", raw.DoRescale}, {"do_normalize", raw.DoNormalize}, {"do_convert_rgb", raw.DoConvertRGB}} {
		if f.v != nil && !*f.v {
			return nil, invalidf("%s false is not supported", f.name)
		}
	}
	if raw.Resample != nil && *raw.Resample != 3 {
		return nil, invalidf("resample %d is not supported (only 3, bicubic)", *raw.Resample)
	}
	p := DefaultPreprocessorConfig()
	if raw.Size != nil {
		if raw.Size.ShortestEdge == nil || raw.Size.LongestEdge == nil {
			return nil, invalidf("size must have both shortest_edge and longest_edge")
		}
		p.MinPixels, p.MaxPixels = *raw.Size.ShortestEdge, *raw.Size.LongestEdge
	}
	set(&p.MinPixels, raw.MinPixels)
	set(&p.MaxPixels, raw.MaxPixels)
	set(&p.PatchSize, raw.PatchSize)
	set(&p.TemporalPatchSize, raw.TemporalPatchSize)
	set(&p.MergeSize, raw.MergeSize)
	set(&p.RescaleFactor, raw.RescaleFactor)
	if raw.ImageMean != nil {
		p.ImageMean = raw.ImageMean
	}
	if raw.ImageStd != nil {
		p.ImageStd = raw.ImageStd
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the processor configuration. Zero fields are reported as
// errors, so call it after defaults are applied (ParsePreprocessorConfig and
// NewProcessor do).
func (p *PreprocessorConfig) Validate() error {
	var errs []error
	const maxSide = 1 << 12
	for _, f := range []struct {
		name string
		v    int
	}{{"patch_size", p.PatchSize}, {"temporal_patch_size", p.TemporalPatchSize}, {"merge_size", p.MergeSize}} {
		if f.v <= 0 || f.v > maxSide {
			errs = append(errs, invalidf("%s must be in [1, %d], got %d", f.name, maxSide, f.v))
		}
	}
	if p.MinPixels <= 0 {
		errs = append(errs, invalidf("min_pixels must be positive, got %d", p.MinPixels))
	}
	if p.MaxPixels < p.MinPixels {
		errs = append(errs, invalidf("max_pixels (%d) is smaller than min_pixels (%d)", p.MaxPixels, p.MinPixels))
	}
	if !(p.RescaleFactor > 0) || math.IsInf(p.RescaleFactor, 0) {
		errs = append(errs, invalidf("rescale_factor must be positive and finite, got %v", p.RescaleFactor))
	}
	if len(p.ImageMean) != 3 {
		errs = append(errs, invalidf("image_mean must have 3 entries (RGB), got %d", len(p.ImageMean)))
	}
	if len(p.ImageStd) != 3 {
		errs = append(errs, invalidf("image_std must have 3 entries (RGB), got %d", len(p.ImageStd)))
	}
	for _, m := range p.ImageMean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			errs = append(errs, invalidf("image_mean entries must be finite, got %v", m))
		}
	}
	for _, s := range p.ImageStd {
		if !(s > 0) || math.IsInf(s, 0) {
			errs = append(errs, invalidf("image_std entries must be positive and finite, got %v", s))
		}
	}
	if err := p.Video.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
