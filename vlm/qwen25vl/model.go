package qwen25vl

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
)

// Model is a loaded Qwen2.5-VL: configuration, vision tower and language
// model. It is safe for concurrent inference as long as each caller uses its
// own Ctx arena and KV cache.
type Model struct {
	Config       Config
	Generation   GenerationConfig
	Preprocessor PreprocessorConfig
	Vision       *VisionTower
	Text         *TextModel

	weights *safetensors.Set // mapped checkpoint backing the 16-bit weights
}

// Close releases the memory-mapped checkpoint. The model must not be used
// afterwards.
func (m *Model) Close() error {
	if m.weights == nil {
		return nil
	}
	err := m.weights.Close()
	m.weights = nil
	return err
}

// Load reads a Hugging Face Qwen2.5-VL checkpoint directory: config.json,
// model.safetensors or a sharded index, and when present
// generation_config.json and preprocessor_config.json (their defaults
// otherwise). Both weight key layouts are accepted (model.*/visual.* and
// model.language_model.*/model.visual.*). Missing, misshapen and unexpected
// tensors are all named in the error. BF16/F16 weights stay 16-bit and
// memory-mapped; Close releases them.
func Load(dir string) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if cfg.HiddenAct != "silu" || cfg.Vision.HiddenAct != "silu" {
		return nil, fmt.Errorf("model %s: hidden_act %q / vision %q: only silu is supported", dir, cfg.HiddenAct, cfg.Vision.HiddenAct)
	}
	m := &Model{Config: *cfg, Generation: DefaultGenerationConfig(), Preprocessor: DefaultPreprocessorConfig()}
	if g, err := LoadGenerationConfig(filepath.Join(dir, "generation_config.json")); err == nil {
		m.Generation = *g
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if p, err := LoadPreprocessorConfig(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		m.Preprocessor = *p
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	set, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	b := newBinder(set)
	lay := detectLayout(set)
	m.Text = bindText(b, &m.Config, lay.text)
	m.Vision = bindVision(b, &m.Config.Vision, lay.vision)
	if err := b.err(); err != nil {
		set.Close()
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	m.weights = set
	return m, nil
}

// Inputs is one multimodal prompt: token ids (already holding the expanded
// <|image_pad|> / <|video_pad|> runs, one pad per merged visual token) and
// the processed images and videos in the order they appear.
type Inputs struct {
	IDs    []int32
	Images []*Pixels
	Videos []*Pixels
}

// Output is the result of a forward pass.
type Output struct {
	// Hidden is the final-norm hidden state [L, D].
	Hidden *tensor.Tensor
	// Logits are the LM-head outputs: [L, V], or [1, V] for the last token
	// only when ForwardOptions.LastLogitsOnly is set.
	Logits *tensor.Tensor
	// Positions are the M-RoPE position ids used.
	Positions Positions
	// RopeDelta is max position + 1 − L (HF's rope_deltas).
	RopeDelta int64
}

// ForwardOptions tunes Forward.
type ForwardOptions struct {
	// Cache, when set, receives the keys and values of the prompt so that
	// generation can continue from it. It defaults to nil.
	Cache *tensor.KVCache
	// LastLogitsOnly computes logits for the last position only (prefill
	// before generation). It defaults to false.
	LastLogitsOnly bool
	// Trace receives intermediates (see TraceFunc). It defaults to nil.
	Trace TraceFunc
}

// Forward runs the whole model on one prompt: vision tower on the images
// and videos, their features scattered into the token embeddings at the pad
// positions, M-RoPE positions from RopeIndex, the decoder and the LM head.
func (m *Model) Forward(c *tensor.Ctx, in *Inputs, opts ForwardOptions) (*Output, error) {
	cfg := &m.Config
	if len(in.IDs) == 0 {
		return nil, errors.New("forward: empty prompt")
	}
	grids := func(ps []*Pixels) []GridTHW {
		g := make([]GridTHW, len(ps))
		for i, p := range ps {
			g[i] = p.Grid
		}
		return g
	}
	secs := make([]float64, len(in.Videos))
	for i, v := range in.Videos {
		secs[i] = v.SecondPerGridT
	}
	pos, delta, err := cfg.RopeIndex(in.IDs, grids(in.Images), grids(in.Videos), secs)
	if err != nil {
		return nil, err
	}
	for _, id := range in.IDs {
		if id < 0 || int(id) >= cfg.VocabSize {
			return nil, fmt.Errorf("forward: token id %d outside the vocabulary [0, %d)", id, cfg.VocabSize)
		}
	}
	out := &Output{Positions: pos, RopeDelta: delta}
	err = tensor.Catch(func() error {
		x := m.Text.EmbedTokens(c, in.IDs)
		var err error
		if x, err = m.placeVision(c, x, in.IDs, in.Images, int32(cfg.ImageTokenID), opts.Trace); err != nil {
			return err
		}
		if x, err = m.placeVision(c, x, in.IDs, in.Videos, int32(cfg.VideoTokenID), opts.Trace); err != nil {
			return err
		}
		opts.Trace.emit("hidden_states.0", x)
		rope := m.rope(pos)
		h := m.Text.Forward(c, x, rope, opts.Cache, opts.Trace)
		out.Hidden = h
		if opts.LastLogitsOnly {
			h = tensor.Narrow(c, h, 0, h.Dim(0)-1, 1)
		}
		out.Logits = m.Text.Logits(c, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	return out, nil
}

// rope builds the M-RoPE tables for positions.
func (m *Model) rope(pos Positions) *tensor.RoPE {
	s := m.Config.RopeScaling.MRopeSection
	return tensor.NewMRoPE([3][]int64(pos), m.Config.HeadDim(), m.Config.RopeTheta, [3]int{s[0], s[1], s[2]})
}

// placeVision encodes media and writes its features over the rows of x
// whose token is pad.
func (m *Model) placeVision(c *tensor.Ctx, x *tensor.Tensor, ids []int32, media []*Pixels, pad int32, trace TraceFunc) (*tensor.Tensor, error) {
	var rows []int
	for i, id := range ids {
		if id == pad {
			rows = append(rows, i)
		}
	}
	if len(media) == 0 {
		if len(rows) > 0 {
			return nil, fmt.Errorf("%d vision pad tokens (id %d) but no image or video given", len(rows), pad)
		}
		return x, nil
	}
	var vals []float32
	var gs []GridTHW
	for _, p := range media {
		vals = append(vals, p.Values...)
		gs = append(gs, p.Grid)
	}
	cols := media[0].Cols
	if len(vals) != cols*len(vals)/max(cols, 1) || cols == 0 {
		return nil, fmt.Errorf("pixel values have no columns")
	}
	feats, err := m.Vision.Forward(c, tensor.FromFloat32(vals, len(vals)/cols, cols), gs, trace)
	if err != nil {
		return nil, err
	}
	trace.emit("image_embeds", feats)
	if feats.Dim(0) != len(rows) {
		return nil, fmt.Errorf("%d vision pad tokens (id %d) for %d visual features: expand each pad to its merged token count", len(rows), pad, feats.Dim(0))
	}
	return tensor.ScatterRows(c, x, rows, feats), nil
}
