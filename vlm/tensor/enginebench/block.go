package enginebench

import (
	"math"
	"math/rand/v2"

	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tensor/optim"
)

// BlockConfig sizes the reference decoder block.
type BlockConfig struct {
	// Seq is the sequence length. It defaults to 256.
	Seq int
	// Hidden is the model width. It defaults to 1024.
	Hidden int
	// Heads is the number of attention heads (head dim = Hidden/Heads).
	// It defaults to 16.
	Heads int
	// MLP is the SwiGLU intermediate width. It defaults to 2816.
	MLP int
	// Theta is the RoPE base. It defaults to 1e6 (Qwen2.5).
	Theta float64
}

// DefaultBlockConfig is the size the issue and scripts/bench_torch.py use.
func DefaultBlockConfig() BlockConfig {
	return BlockConfig{Seq: 256, Hidden: 1024, Heads: 16, MLP: 2816, Theta: 1e6}
}

// FLOPs counts one forward pass (train: forward + backward ≈ 3× forward),
// projections and full unmasked attention, the same count as the torch
// script.
func (c BlockConfig) FLOPs(train bool) float64 {
	s, d, f := float64(c.Seq), float64(c.Hidden), float64(c.MLP)
	fwd := 2*s*d*d*4 + 2*s*d*f*3 + 2*2*s*s*d
	if train {
		return 3 * fwd
	}
	return fwd
}

// Block is a Qwen-style pre-norm decoder block: RMSNorm → Q/K/V → RoPE →
// causal softmax attention → output projection → residual → RMSNorm →
// SwiGLU MLP → residual. No biases (12.9 M parameters at the default size).
type Block struct {
	Cfg               BlockConfig
	Norm1, Norm2      *tensor.Tensor
	Wq, Wk, Wv, Wo    *tensor.Tensor
	WGate, WUp, WDown *tensor.Tensor
	rope              *tensor.RoPE
}

// NewBlock initialises a block with N(0, 1/fan_in) weights and unit norms.
func NewBlock(cfg BlockConfig, rng *rand.Rand) *Block {
	lin := func(out, in int) *tensor.Tensor {
		return tensor.Scale(nil, tensor.Randn(rng, out, in), float32(1/math.Sqrt(float64(in))))
	}
	d, f := cfg.Hidden, cfg.MLP
	pos := make([]int64, cfg.Seq)
	for i := range pos {
		pos[i] = int64(i)
	}
	return &Block{
		Cfg:   cfg,
		Norm1: tensor.Full(nil, 1, d), Norm2: tensor.Full(nil, 1, d),
		Wq: lin(d, d), Wk: lin(d, d), Wv: lin(d, d), Wo: lin(d, d),
		WGate: lin(f, d), WUp: lin(f, d), WDown: lin(d, f),
		rope: tensor.NewRoPE(pos, d/cfg.Heads, cfg.Theta),
	}
}

// Params lists the trainable tensors.
func (b *Block) Params() []optim.Param {
	return []optim.Param{
		{Name: "norm1", T: b.Norm1}, {Name: "norm2", T: b.Norm2},
		{Name: "wq", T: b.Wq}, {Name: "wk", T: b.Wk}, {Name: "wv", T: b.Wv}, {Name: "wo", T: b.Wo},
		{Name: "w_gate", T: b.WGate}, {Name: "w_up", T: b.WUp}, {Name: "w_down", T: b.WDown},
	}
}

// Forward maps x [Seq, Hidden] to the block output [Seq, Hidden].
func (b *Block) Forward(c *tensor.Ctx, x *tensor.Tensor) *tensor.Tensor {
	const eps = 1e-6
	s, hd := b.Cfg.Seq, b.Cfg.Hidden/b.Cfg.Heads
	h := tensor.RMSNorm(c, x, b.Norm1, eps)
	heads := func(w *tensor.Tensor) *tensor.Tensor {
		return tensor.Reshape(c, tensor.Linear(c, h, w, nil), s, b.Cfg.Heads, hd)
	}
	q, k, v := b.rope.Apply(c, heads(b.Wq)), b.rope.Apply(c, heads(b.Wk)), heads(b.Wv)
	a := tensor.Attention(c, q, k, v, tensor.AttnOptions{Causal: true})
	x = tensor.Add(c, x, tensor.Linear(c, tensor.Reshape(c, a, s, b.Cfg.Hidden), b.Wo, nil))
	h = tensor.RMSNorm(c, x, b.Norm2, eps)
	m := tensor.SwiGLU(c, tensor.Linear(c, h, b.WGate, nil), tensor.Linear(c, h, b.WUp, nil))
	return tensor.Add(c, x, tensor.Linear(c, m, b.WDown, nil))
}

// Trainer runs the block's training step: forward, MSE loss against a fixed
// target, backward, AdamW.
type Trainer struct {
	blk    *Block
	x, tgt *tensor.Tensor
	opt    *optim.AdamW
}

// NewTrainer makes the block's parameters trainable and sets up AdamW
// (lr 1e-4, weight decay 0.01 on every parameter, as the torch script).
func NewTrainer(b *Block, rng *rand.Rand) (*Trainer, error) {
	params := b.Params()
	for _, p := range params {
		p.T.SetRequiresGrad(true)
	}
	opt, err := optim.NewAdamW([]optim.Group{{Params: params}}, optim.AdamWConfig{LR: 1e-4, WeightDecay: 0.01})
	if err != nil {
		return nil, err
	}
	return &Trainer{
		blk: b,
		x:   tensor.Randn(rng, b.Cfg.Seq, b.Cfg.Hidden),
		tgt: tensor.Randn(rng, b.Cfg.Seq, b.Cfg.Hidden),
		opt: opt,
	}, nil
}

// Step does one training step and returns the loss before the update.
func (t *Trainer) Step() (float32, error) {
	var loss float32
	err := tensor.Catch(func() error {
		t.opt.ZeroGrad()
		l := tensor.MSELoss(nil, t.blk.Forward(nil, t.x), t.tgt)
		loss = l.Item()
		if err := tensor.Backward(l, nil); err != nil {
			return err
		}
		return t.opt.Step()
	})
	return loss, err
}
