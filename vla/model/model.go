package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vstgo/vst/vla/normalize"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// VLA is a vision-language-action model: a Qwen2.5-VL backbone whose base
// weights stay frozen, LoRA adapters on its text decoder, optionally a
// trainable vision tower (or, with Config.FullFinetune, a fully trained
// backbone and no adapters), and an action head (see the package
// documentation). It implements policy.Policy.
//
// Act and Loss may run concurrently with each other; an optimizer step
// changes the trainable tensors in place and must not overlap them.
type VLA struct {
	cfg      Config
	backbone *qwen25vl.Model
	tok      *tokenizer.Tokenizer
	proc     *qwen25vl.Processor
	stats    *normalize.Set
	actNorm  *normalize.Normalizer
	stNorm   *normalize.Normalizer // nil without state
	levels   [][2]float64          // the two raw values of each of cfg.BinaryDims
	baseDir  string                // directory holding the base weight files
	imEnd    int32
	filler   int32 // id placed at the proprio and query positions (never embedded)
	hidden   int
	params   []param
	arenas   sync.Pool
	baseVoc  int // backbone vocabulary rows
	actBase  int // tokens head: id of <|action_0|>
	embedStd float64

	// Chunk head.
	queries            *tensor.Tensor // [H, hidden]
	projW, projB       *tensor.Tensor // [hidden, state], [hidden]
	fc1W, fc1B         *tensor.Tensor // [headHidden, hidden], [headHidden]
	fc2W, fc2B         *tensor.Tensor // [D, headHidden], [D]
	actEmbed, actLogit *tensor.Tensor // tokens head: [256, hidden] each (the same tensor when embeddings are tied)
}

// param is one trainable tensor: its saved name, where the model keeps it,
// and how the optimizer treats it.
type param struct {
	name     string
	ptr      **tensor.Tensor
	decay    bool // weight decay applies (matrices)
	vision   bool // vision tower (scaled learning rate)
	backbone bool // a backbone weight under its Hugging Face name (full fine-tuning)
}

// New builds a VLA on the base checkpoint in backboneDir (a Hugging Face
// Qwen2.5-VL directory with tokenizer.json, such as one written by `vla
// model init` or a released VST checkpoint) with freshly initialised
// adapters and head. stats must hold the Action feature (of ActionDim
// dimensions) and, when StateDim > 0, the State feature; they are applied
// as cfg.NormMode says (q01/q99 scaling to [−1, 1] with clipping by
// default) and saved with the model.
func New(backboneDir string, cfg Config, stats *normalize.Set) (*VLA, error) {
	m, err := qwen25vl.Load(backboneDir)
	if err != nil {
		return nil, fmt.Errorf("new vla: %w", err)
	}
	v, err := build(m, backboneDir, cfg, stats, 0)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("new vla: %w", err)
	}
	return v, nil
}

// build wires a VLA around a loaded backbone. actBase, when positive, is
// the <|action_0|> id recorded in a saved model.
func build(m *qwen25vl.Model, dir string, cfg Config, stats *normalize.Set, actBase int) (*VLA, error) {
	tc := &m.Config
	cfg, err := cfg.withDefaults(tc.HiddenSize)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	proc, err := qwen25vl.NewProcessor(m.Preprocessor)
	if err != nil {
		return nil, err
	}
	v := &VLA{cfg: cfg, backbone: m, tok: tok, proc: proc, stats: stats, baseDir: dir, hidden: tc.HiddenSize, baseVoc: tc.VocabSize}
	if err := v.setNormalizers(); err != nil {
		return nil, err
	}
	imEnd, ok := tok.TokenID("<|im_end|>")
	if !ok {
		return nil, errors.New("tokenizer lacks <|im_end|>")
	}
	v.imEnd = int32(imEnd)
	v.filler = v.imEnd
	v.embedStd = tableStd(m.Text.Embed)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5fa))
	if cfg.LoRARank > 0 {
		v.addLoRA(rng)
	}
	if cfg.FullFinetune {
		v.unfreezeText()
	}
	if cfg.TrainVision {
		v.unfreezeVision()
	}
	switch cfg.Head {
	case HeadChunk:
		v.initChunkHead(rng)
	case HeadTokens:
		if err := v.initTokensHead(rng, actBase); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// setNormalizers checks the statistics against the config and builds the
// action and state normalizers.
func (v *VLA) setNormalizers() error {
	if v.stats == nil {
		return errors.New("no normalization statistics: the model needs action stats (and state stats with a state)")
	}
	if err := v.stats.Validate(); err != nil {
		return fmt.Errorf("normalization statistics: %w", err)
	}
	mode, err := normalize.ParseMode(v.cfg.NormMode)
	if err != nil {
		return err
	}
	ncfg := normalize.Config{Mode: mode}
	if v.actNorm, err = v.stats.Normalizer(normalize.Action, ncfg); err != nil {
		return err
	}
	if d := v.actNorm.Dim(); d != v.cfg.ActionDim {
		return fmt.Errorf("action stats have %d dimensions, the config %d", d, v.cfg.ActionDim)
	}
	if v.levels, err = binaryLevels(v.stats.Features[normalize.Action], v.cfg.BinaryDims); err != nil {
		return err
	}
	if v.cfg.StateDim > 0 {
		if v.stNorm, err = v.stats.Normalizer(normalize.State, ncfg); err != nil {
			return err
		}
		if d := v.stNorm.Dim(); d != v.cfg.StateDim {
			return fmt.Errorf("state stats have %d dimensions, the config %d", d, v.cfg.StateDim)
		}
	}
	return nil
}

// binaryLevels returns the two values each binary action dimension snaps
// to: its minimum and maximum, or its 1st and 99th percentiles where the
// statistics lack extremes.
func binaryLevels(st *normalize.Stats, dims []int) ([][2]float64, error) {
	levels := make([][2]float64, len(dims))
	for i, d := range dims {
		lo, hi := st.Min, st.Max
		if lo == nil || hi == nil {
			lo, hi = st.Q01, st.Q99
		}
		if d >= len(lo) || d >= len(hi) {
			return nil, fmt.Errorf("binary action dim %d: the action stats have no min/max (or q01/q99) for it", d)
		}
		levels[i] = [2]float64{lo[d], hi[d]}
	}
	return levels, nil
}

// snapBinary sets every binary dimension of the H×D raw actions to the
// nearer of its two levels.
func (v *VLA) snapBinary(raw []float32) {
	d := v.cfg.ActionDim
	for i, dim := range v.cfg.BinaryDims {
		lo, hi := v.levels[i][0], v.levels[i][1]
		for k := dim; k < len(raw); k += d {
			if math.Abs(float64(raw[k])-lo) <= math.Abs(float64(raw[k])-hi) {
				raw[k] = float32(lo)
			} else {
				raw[k] = float32(hi)
			}
		}
	}
}

// tableStd estimates the standard deviation of an embedding table's
// entries from its first rows (at most 64K values), the scale new token
// and query embeddings start at.
func tableStd(t *tensor.Tensor) float64 {
	rows := min(t.Dim(0), max(1, 65536/t.Dim(1)))
	xs := tensor.Narrow(tensor.Inference(nil), t, 0, 0, rows).Float32s()
	var s, s2 float64
	for _, x := range xs {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(xs))
	sd := math.Sqrt(max(s2/n-(s/n)*(s/n), 0))
	if sd == 0 || math.IsNaN(sd) {
		return 0.02
	}
	return sd
}

// linears returns the adaptable linears of text layer i by target name.
func linears(l *qwen25vl.TextLayer) map[string]*qwen25vl.Linear {
	return map[string]*qwen25vl.Linear{"q": &l.Q, "k": &l.K, "v": &l.V, "o": &l.O, "gate": &l.Gate, "up": &l.Up, "down": &l.Down}
}

// addLoRA puts adapters on the configured decoder linears, initialised as
// PEFT does: A Kaiming-uniform (bound 1/sqrt(in)), B zero, scale
// alpha/rank, so the adapted model starts equal to the base.
func (v *VLA) addLoRA(rng *rand.Rand) {
	r := v.cfg.LoRARank
	scale := float32(v.cfg.LoRAAlpha / float64(r))
	for i := range v.backbone.Text.Layers {
		lin := linears(&v.backbone.Text.Layers[i])
		for _, name := range v.cfg.LoRATargets {
			l := lin[name]
			out, in := l.W.Dim(0), l.W.Dim(1)
			lo := &tensor.LoRA{A: uniform(rng, 1/math.Sqrt(float64(in)), r, in), B: tensor.New(out, r).SetRequiresGrad(true), Scale: scale}
			l.LoRA = lo
			p := fmt.Sprintf("lora.layers.%d.%s.", i, name)
			v.params = append(v.params, param{name: p + "A", ptr: &lo.A, decay: true}, param{name: p + "B", ptr: &lo.B, decay: true})
		}
	}
}

// uniform returns a trainable [shape] tensor uniform in [−bound, bound).
func uniform(rng *rand.Rand, bound float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	xs := t.Float32s()
	for i := range xs {
		xs[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return t.SetRequiresGrad(true)
}

// normal returns a trainable [shape] tensor of N(0, std²) samples.
func normal(rng *rand.Rand, std float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	xs := t.Float32s()
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * std)
	}
	return t.SetRequiresGrad(true)
}

// initChunkHead creates the action queries, the proprio projection and
// the MLP, initialised as PyTorch's nn.Linear (uniform ±1/sqrt(in)) and
// the queries at the scale of the token embeddings.
func (v *VLA) initChunkHead(rng *rand.Rand) {
	c, d, hh := &v.cfg, v.hidden, v.cfg.HeadHidden
	v.queries = normal(rng, v.embedStd, c.Horizon, d)
	v.params = append(v.params, param{name: "head.action_queries", ptr: &v.queries})
	if c.StateDim > 0 {
		b := 1 / math.Sqrt(float64(c.StateDim))
		v.projW, v.projB = uniform(rng, b, d, c.StateDim), uniform(rng, b, d)
		v.params = append(v.params, param{name: "head.proprio.weight", ptr: &v.projW, decay: true}, param{name: "head.proprio.bias", ptr: &v.projB})
	}
	b1, b2 := 1/math.Sqrt(float64(d)), 1/math.Sqrt(float64(hh))
	v.fc1W, v.fc1B = uniform(rng, b1, hh, d), uniform(rng, b1, hh)
	v.fc2W, v.fc2B = uniform(rng, b2, c.ActionDim, hh), uniform(rng, b2, c.ActionDim)
	v.params = append(v.params,
		param{name: "head.fc1.weight", ptr: &v.fc1W, decay: true}, param{name: "head.fc1.bias", ptr: &v.fc1B},
		param{name: "head.fc2.weight", ptr: &v.fc2W, decay: true}, param{name: "head.fc2.bias", ptr: &v.fc2B})
}

// unfreezeText replaces every text decoder weight by a trainable F32 copy
// (full fine-tuning), named as in the Hugging Face checkpoint. The LM head
// trains only for the tokens head (the chunk head never reads it) and only
// when it is not tied to the embeddings.
func (v *VLA) unfreezeText() {
	t := v.backbone.Text
	tied := t.LMHead == t.Embed
	add := func(name string, ptr **tensor.Tensor) {
		if *ptr == nil {
			return
		}
		*ptr = (*ptr).Clone(nil).SetRequiresGrad(true)
		v.params = append(v.params, param{name: name, ptr: ptr, decay: (*ptr).Dims() >= 2 && !strings.HasSuffix(name, "embed_tokens.weight"), backbone: v.cfg.FullFinetune})
	}
	lin := func(name string, l *qwen25vl.Linear) {
		add(name+".weight", &l.W)
		add(name+".bias", &l.B)
	}
	add("model.embed_tokens.weight", &t.Embed)
	for i := range t.Layers {
		l := &t.Layers[i]
		p := fmt.Sprintf("model.layers.%d.", i)
		add(p+"input_layernorm.weight", &l.InputNorm)
		add(p+"post_attention_layernorm.weight", &l.PostAttnNorm)
		lin(p+"self_attn.q_proj", &l.Q)
		lin(p+"self_attn.k_proj", &l.K)
		lin(p+"self_attn.v_proj", &l.V)
		lin(p+"self_attn.o_proj", &l.O)
		lin(p+"mlp.gate_proj", &l.Gate)
		lin(p+"mlp.up_proj", &l.Up)
		lin(p+"mlp.down_proj", &l.Down)
	}
	add("model.norm.weight", &t.Norm)
	switch {
	case tied:
		t.LMHead = t.Embed
	case v.cfg.Head == HeadTokens:
		add("lm_head.weight", &t.LMHead)
	}
}

// unfreezeVision replaces every vision tower weight by a trainable F32
// copy.
func (v *VLA) unfreezeVision() {
	vt := v.backbone.Vision
	add := func(name string, ptr **tensor.Tensor) {
		if *ptr == nil {
			return
		}
		*ptr = (*ptr).Clone(nil).SetRequiresGrad(true)
		v.params = append(v.params, param{name: "visual." + name, ptr: ptr, decay: (*ptr).Dims() >= 2, vision: true, backbone: v.cfg.FullFinetune})
	}
	lin := func(name string, l *qwen25vl.Linear) {
		add(name+".weight", &l.W)
		add(name+".bias", &l.B)
	}
	add("patch_embed.proj.weight", &vt.PatchEmbed)
	for i := range vt.Blocks {
		b := &vt.Blocks[i]
		p := fmt.Sprintf("blocks.%d.", i)
		add(p+"norm1.weight", &b.Norm1)
		add(p+"norm2.weight", &b.Norm2)
		lin(p+"attn.qkv", &b.QKV)
		lin(p+"attn.proj", &b.Proj)
		lin(p+"mlp.gate_proj", &b.Gate)
		lin(p+"mlp.up_proj", &b.Up)
		lin(p+"mlp.down_proj", &b.Down)
	}
	add("merger.ln_q.weight", &vt.MergerNorm)
	lin("merger.mlp.0", &vt.Merger1)
	lin("merger.mlp.2", &vt.Merger2)
}

// Config returns the model's configuration with defaults applied.
func (v *VLA) Config() Config { return v.cfg }

// Stats returns the normalization statistics the model applies.
func (v *VLA) Stats() *normalize.Set { return v.stats }

// Backbone returns the underlying Qwen2.5-VL model.
func (v *VLA) Backbone() *qwen25vl.Model { return v.backbone }

// Close releases the memory-mapped backbone weights. The model must not be
// used afterwards.
func (v *VLA) Close() error { return v.backbone.Close() }

// baseFiles lists the backbone files a saved model carries over unchanged.
func baseFiles(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			out = append(out, filepath.Base(p))
		}
	}
	return out, nil
}
