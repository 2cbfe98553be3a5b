package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// prompt is one tokenized, preprocessed observation.
type prompt struct {
	ids    []int32
	images []*qwen25vl.Pixels
	grids  []qwen25vl.GridTHW
}

// stages accumulates per-stage durations for Chunk.Timing; a nil *stages
// records nothing.
type stages map[string]float64

// since adds the time elapsed from t0 to stage name and returns now.
func (s stages) since(name string, t0 time.Time) time.Time {
	now := time.Now()
	if s != nil {
		s[name] += float64(now.Sub(t0).Microseconds()) / 1000
	}
	return now
}

// buildPrompt resizes each configured camera's image to ImageSize, runs
// the Qwen2.5-VL processor on it and renders the user turn: one image
// block per camera, then the instruction in the template (no system turn,
// as VST's VLA training), then the assistant header.
func (v *VLA) buildPrompt(images map[string]policy.Image, instruction string) (*prompt, error) {
	p := &prompt{}
	content := make([]tokenizer.Part, 0, len(v.cfg.Cameras)+1)
	counts := make([]int, 0, len(v.cfg.Cameras))
	s := v.cfg.ImageSize
	for _, cam := range v.cfg.Cameras {
		img, ok := images[cam]
		if !ok {
			have := make([]string, 0, len(images))
			for k := range images {
				have = append(have, k)
			}
			slices.Sort(have)
			return nil, fmt.Errorf("observation lacks camera %q (the model reads %s; got %s)", cam, strings.Join(v.cfg.Cameras, ", "), strings.Join(have, ", "))
		}
		if err := img.Validate(); err != nil {
			return nil, fmt.Errorf("camera %q: %w", cam, err)
		}
		rgb, err := qwen25vl.Resize(img.Pix, img.H, img.W, s, s)
		if err != nil {
			return nil, fmt.Errorf("camera %q: %w", cam, err)
		}
		px, err := v.proc.ImageRGB(rgb, s, s)
		if err != nil {
			return nil, fmt.Errorf("camera %q: %w", cam, err)
		}
		p.images = append(p.images, px)
		p.grids = append(p.grids, px.Grid)
		counts = append(counts, v.proc.MergedTokens(px.Grid))
		content = append(content, tokenizer.ImagePart())
	}
	content = append(content, tokenizer.TextPart(v.cfg.prompt(instruction)))
	ids, err := v.tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: content}},
		tokenizer.ChatOptions{NoSystem: true, AddGenerationPrompt: true})
	if err != nil {
		return nil, err
	}
	if ids, err = v.tok.ExpandVisionPads(ids, counts, nil); err != nil {
		return nil, err
	}
	p.ids = make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= v.baseVoc && !v.isAction(int32(id)) {
			return nil, fmt.Errorf("token id %d outside the backbone's vocabulary of %d", id, v.baseVoc)
		}
		p.ids[i] = int32(id)
	}
	return p, nil
}

// embed returns the input embeddings [len(ids), hidden] of ids: token
// embeddings (action tokens from their trainable rows) with the vision
// tower's features written over the image pads.
func (v *VLA) embed(c *tensor.Ctx, ids []int32, p *prompt, st stages) (*tensor.Tensor, error) {
	t0 := time.Now()
	text := v.backbone.Text
	lookup := ids
	var actRows []int
	var actIDs []int32
	for i, id := range ids {
		if v.isAction(id) {
			if actRows == nil {
				lookup = slices.Clone(ids)
			}
			lookup[i] = v.filler
			actRows = append(actRows, i)
			actIDs = append(actIDs, id-int32(v.actBase))
		}
	}
	x := text.EmbedTokens(c, lookup)
	if len(actRows) > 0 {
		x = tensor.ScatterRows(c, x, actRows, tensor.Embedding(c, v.actEmbed, tensor.FromInt32(actIDs, len(actIDs))))
	}
	if len(p.images) == 0 {
		return x, nil
	}
	pad := int32(v.backbone.Config.ImageTokenID)
	var rows []int
	for i, id := range ids {
		if id == pad {
			rows = append(rows, i)
		}
	}
	cols := p.images[0].Cols
	var vals []float32
	for _, px := range p.images {
		vals = append(vals, px.Values...)
	}
	t0 = st.since("embed_ms", t0)
	feats, err := v.backbone.Vision.Forward(c, tensor.FromFloat32(vals, len(vals)/cols, cols), p.grids, nil)
	if err != nil {
		return nil, err
	}
	st.since("vision_ms", t0)
	if feats.Dim(0) != len(rows) {
		return nil, fmt.Errorf("%d image pad tokens for %d visual features", len(rows), feats.Dim(0))
	}
	return tensor.ScatterRows(c, x, rows, feats), nil
}

// decode runs the text decoder over x [L, hidden] for the token sequence
// ids (which fixes the M-RoPE positions) and returns the final hidden
// states [L, hidden] and the rope delta for later positions.
func (v *VLA) decode(c *tensor.Ctx, x *tensor.Tensor, ids []int32, p *prompt, cache *tensor.KVCache, st stages) (*tensor.Tensor, int64, error) {
	t0 := time.Now()
	cfg := &v.backbone.Config
	pos, delta, err := cfg.RopeIndex(ids, p.grids, nil, nil)
	if err != nil {
		return nil, 0, err
	}
	h := v.backbone.Text.Forward(c, x, v.rope(pos), cache, nil)
	st.since("llm_ms", t0)
	return h, delta, nil
}

// rope builds the M-RoPE tables for pos.
func (v *VLA) rope(pos qwen25vl.Positions) *tensor.RoPE {
	cfg := &v.backbone.Config
	s := cfg.RopeScaling.MRopeSection
	return tensor.NewMRoPE([3][]int64(pos), cfg.HeadDim(), cfg.RopeTheta, [3]int{s[0], s[1], s[2]})
}

// chunkForward runs the chunk head on a prompt and the normalized state
// and returns the normalized action chunk [H, D]. The sequence is the
// prompt, then one proprio token (when the model takes a state), then the
// H action queries; attention is the decoder's causal attention, so each
// query sees the whole prompt, the state and the queries before it.
func (v *VLA) chunkForward(c *tensor.Ctx, p *prompt, state []float32, st stages) (*tensor.Tensor, error) {
	x, err := v.embed(c, p.ids, p, st)
	if err != nil {
		return nil, err
	}
	H := v.cfg.Horizon
	parts := []*tensor.Tensor{x}
	extra := H
	if v.cfg.StateDim > 0 {
		parts = append(parts, tensor.Linear(c, tensor.FromFloat32(state, 1, len(state)), v.projW, v.projB))
		extra++
	}
	parts = append(parts, v.queries)
	x = tensor.Concat(c, 0, parts...)
	ids := slices.Grow(slices.Clone(p.ids), extra)
	for range extra {
		ids = append(ids, v.filler)
	}
	h, _, err := v.decode(c, x, ids, p, nil, st)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	q := tensor.Narrow(c, h, 0, len(ids)-H, H)
	y := tensor.Linear(c, tensor.GELU(c, tensor.Linear(c, q, v.fc1W, v.fc1B)), v.fc2W, v.fc2B)
	st.since("head_ms", t0)
	return y, nil
}

// answerIDs returns the tokens head's target answer for one normalized
// action: D action tokens, then <|im_end|>.
func (v *VLA) answerIDs(action []float32) []int32 {
	ids := make([]int32, 0, len(action)+1)
	for _, a := range action {
		ids = append(ids, int32(v.actBase+ActionIndex(a)))
	}
	return append(ids, v.imEnd)
}

// tokensLoss is the tokens head's teacher-forced cross-entropy over the
// answer (D action tokens and <|im_end|>) of one sample. Logits are
// computed only at the positions that predict the answer, which is the
// same as a full-sequence cross-entropy with every other target set to
// tensor.IgnoreIndex.
func (v *VLA) tokensLoss(c *tensor.Ctx, p *prompt, action []float32) (*tensor.Tensor, error) {
	ans := v.answerIDs(action)
	ids := append(slices.Clone(p.ids), ans...)
	x, err := v.embed(c, ids, p, nil)
	if err != nil {
		return nil, err
	}
	h, _, err := v.decode(c, x, ids, p, nil, nil)
	if err != nil {
		return nil, err
	}
	hs := tensor.Narrow(c, h, 0, len(p.ids)-1, len(ans))
	return tensor.CrossEntropy(c, v.tokenLogits(c, hs), tensor.FromInt32(ans, len(ans)), tensor.IgnoreIndex), nil
}

// tokensDecode greedily decodes D action tokens after the prompt, each
// chosen among the 256 action tokens only, and returns their decoded
// normalized values.
func (v *VLA) tokensDecode(c *tensor.Ctx, p *prompt, st stages) ([]float32, error) {
	D := v.cfg.ActionDim
	cfg := &v.backbone.Config
	cache := tensor.NewKVCache(cfg.NumHiddenLayers, len(p.ids)+D, cfg.NumKeyValueHeads, cfg.HeadDim())
	x, err := v.embed(c, p.ids, p, st)
	if err != nil {
		return nil, err
	}
	h, delta, err := v.decode(c, x, p.ids, p, cache, st)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	last := tensor.Narrow(c, h, 0, h.Dim(0)-1, 1)
	out := make([]float32, D)
	for i := range D {
		k := int(tensor.ArgMax(tensor.Linear(c, last, v.actLogit, nil), 1).Int64s()[0])
		out[i] = ActionValue(k)
		if i == D-1 {
			break
		}
		pos := int64(len(p.ids)+i) + delta
		e := tensor.Embedding(c, v.actEmbed, tensor.FromInt32([]int32{int32(k)}, 1))
		last = v.backbone.Text.Forward(c, e, v.rope(qwen25vl.Positions{{pos}, {pos}, {pos}}), cache, nil)
	}
	st.since("decode_ms", t0)
	return out, nil
}
