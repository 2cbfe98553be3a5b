package qwen25vl

import (
	"fmt"

	"github.com/vstgo/vst/vlm/tensor"
)

// TextLayer is one Qwen2 decoder layer: pre-norm GQA self-attention with
// q/k/v biases and M-RoPE, then a pre-norm SwiGLU MLP, each with a residual.
type TextLayer struct {
	InputNorm, PostAttnNorm *tensor.Tensor
	Q, K, V, O              Linear
	Gate, Up, Down          Linear
}

// TextModel is the language model: token embeddings, decoder layers, final
// RMSNorm and the LM head (tied to the embeddings when the config says so).
type TextModel struct {
	cfg    *Config
	Embed  *tensor.Tensor
	Layers []TextLayer
	Norm   *tensor.Tensor
	LMHead *tensor.Tensor
}

func bindText(b *binder, cfg *Config, prefix string) *TextModel {
	d, f, hd := cfg.HiddenSize, cfg.IntermediateSize, cfg.HeadDim()
	qd, kvd := cfg.NumAttentionHeads*hd, cfg.NumKeyValueHeads*hd
	m := &TextModel{cfg: cfg, Embed: b.get(prefix+"embed_tokens.weight", cfg.VocabSize, d)}
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("%slayers.%d.", prefix, i)
		m.Layers = append(m.Layers, TextLayer{
			InputNorm:    b.get(p+"input_layernorm.weight", d),
			PostAttnNorm: b.get(p+"post_attention_layernorm.weight", d),
			Q:            b.linear(p+"self_attn.q_proj", qd, d, true),
			K:            b.linear(p+"self_attn.k_proj", kvd, d, true),
			V:            b.linear(p+"self_attn.v_proj", kvd, d, true),
			O:            b.linear(p+"self_attn.o_proj", d, qd, false),
			Gate:         b.linear(p+"mlp.gate_proj", f, d, false),
			Up:           b.linear(p+"mlp.up_proj", f, d, false),
			Down:         b.linear(p+"mlp.down_proj", d, f, false),
		})
	}
	m.Norm = b.get(prefix+"norm.weight", d)
	switch {
	case b.has("lm_head.weight"):
		m.LMHead = b.get("lm_head.weight", cfg.VocabSize, d)
	case cfg.TieWordEmbeddings:
		m.LMHead = m.Embed
	default:
		b.get("lm_head.weight", cfg.VocabSize, d) // records the missing tensor
	}
	return m
}

// Forward runs the decoder layers over x [L, D] (token embeddings with any
// vision features already in place) at the positions rope encodes, and
// returns the hidden states after the final norm, [L, D]. With a cache, the
// L new positions are appended to it and attend to everything cached before
// them. trace, if not nil, receives each layer's raw output.
func (m *TextModel) Forward(c *tensor.Ctx, x *tensor.Tensor, rope *tensor.RoPE, cache *tensor.KVCache, trace TraceFunc) *tensor.Tensor {
	cfg := m.cfg
	L, hd := x.Dim(0), cfg.HeadDim()
	eps := float32(cfg.RMSNormEps)
	for i := range m.Layers {
		l := &m.Layers[i]
		h := tensor.RMSNorm(c, x, l.InputNorm, eps)
		q := rope.Apply(c, tensor.Reshape(c, l.Q.Forward(c, h), L, cfg.NumAttentionHeads, hd))
		k := rope.Apply(c, tensor.Reshape(c, l.K.Forward(c, h), L, cfg.NumKeyValueHeads, hd))
		v := tensor.Reshape(c, l.V.Forward(c, h), L, cfg.NumKeyValueHeads, hd)
		if cache != nil {
			k, v = cache.Layer(i).Append(k, v)
		}
		a := tensor.Attention(c, q, k, v, tensor.AttnOptions{Causal: true})
		x = tensor.Add(c, x, l.O.Forward(c, tensor.Reshape(c, a, L, cfg.NumAttentionHeads*hd)))
		h = tensor.RMSNorm(c, x, l.PostAttnNorm, eps)
		x = tensor.Add(c, x, l.Down.Forward(c, tensor.SwiGLU(c, l.Gate.Forward(c, h), l.Up.Forward(c, h))))
		trace.emit(fmt.Sprintf("text.layer_out.%d", i), x)
	}
	return tensor.RMSNorm(c, x, m.Norm, eps)
}

// Logits projects hidden states [L, D] to vocabulary logits [L, V].
func (m *TextModel) Logits(c *tensor.Ctx, h *tensor.Tensor) *tensor.Tensor {
	return tensor.Linear(c, h, m.LMHead, nil)
}

// Embed looks up token embeddings [L, D] for ids.
func (m *TextModel) EmbedTokens(c *tensor.Ctx, ids []int32) *tensor.Tensor {
	return tensor.Embedding(c, m.Embed, tensor.FromInt32(ids, len(ids)))
}

// TraceFunc receives named intermediate tensors during a forward pass (for
// parity tests and debugging). Names follow the golden files:
// "text.layer_out.i", "vision.patch_embed", "vision.block_out.i", ...
type TraceFunc func(name string, t *tensor.Tensor)

func (f TraceFunc) emit(name string, t *tensor.Tensor) {
	if f != nil {
		f(name, t)
	}
}
