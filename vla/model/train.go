package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tensor/optim"
)

// Sample is one training example in raw (unnormalized) units.
type Sample struct {
	// Images maps each configured camera to its frame (any size; it is
	// resized to Config.ImageSize).
	Images map[string]policy.Image
	// State is the proprioceptive state, StateDim values (ignored when
	// StateDim is 0).
	State []float32
	// Instruction is the task instruction.
	Instruction string
	// Actions is the target chunk: Horizon actions of ActionDim values.
	Actions [][]float32
}

// Loss returns the mean loss over batch as one differentiable scalar: the
// L1 distance between the predicted and target normalized chunks for the
// chunk head, the answer-token cross-entropy for the tokens head. The
// engine has no batch axis, so each sample is its own forward pass and the
// graph of every sample stays alive until Backward; use Accumulate to keep
// only one sample's activations at a time.
func (v *VLA) Loss(ctx context.Context, batch []Sample) (*tensor.Tensor, error) {
	if len(batch) == 0 {
		return nil, errors.New("loss: empty batch")
	}
	var total *tensor.Tensor
	for i := range batch {
		l, err := v.sampleLoss(ctx, &batch[i])
		if err != nil {
			return nil, fmt.Errorf("loss: sample %d: %w", i, err)
		}
		if total == nil {
			total = l
		} else {
			total = tensor.Add(nil, total, l)
		}
	}
	return tensor.Scale(nil, total, 1/float32(len(batch))), nil
}

// Accumulate runs the forward and backward pass of each sample in turn,
// adding the gradients of the mean loss over batch into the trainable
// parameters' Grad (gradient accumulation: one sample's activations in
// memory at a time), and returns the mean loss. The caller clips, steps
// the optimizer and zeroes the gradients.
func (v *VLA) Accumulate(ctx context.Context, batch []Sample) (float64, error) {
	if len(batch) == 0 {
		return 0, errors.New("accumulate: empty batch")
	}
	var sum float64
	for i := range batch {
		l, err := v.sampleLoss(ctx, &batch[i])
		if err != nil {
			return 0, fmt.Errorf("accumulate: sample %d: %w", i, err)
		}
		sum += float64(l.Item())
		if err := tensor.Backward(l, tensor.Full(nil, 1/float32(len(batch)), l.Shape()...)); err != nil {
			return 0, fmt.Errorf("accumulate: sample %d: %w", i, err)
		}
	}
	return sum / float64(len(batch)), nil
}

// sampleLoss is the loss of one sample, with gradients recorded.
func (v *VLA) sampleLoss(ctx context.Context, s *Sample) (loss *tensor.Tensor, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &v.cfg
	if len(s.Actions) != c.Horizon {
		return nil, fmt.Errorf("target has %d actions, the horizon is %d", len(s.Actions), c.Horizon)
	}
	flat := make([]float32, 0, c.Horizon*c.ActionDim)
	for i, a := range s.Actions {
		if len(a) != c.ActionDim {
			return nil, fmt.Errorf("target action %d has %d values, want %d", i, len(a), c.ActionDim)
		}
		flat = append(flat, a...)
	}
	target, err := v.actNorm.Normalize(flat)
	if err != nil {
		return nil, err
	}
	state, err := v.normState(s.State)
	if err != nil {
		return nil, err
	}
	p, err := v.buildPrompt(s.Images, s.Instruction)
	if err != nil {
		return nil, err
	}
	err = tensor.Catch(func() error {
		if c.Head == HeadTokens {
			loss, err = v.tokensLoss(nil, p, target)
			return err
		}
		y, err := v.chunkForward(nil, p, state, nil)
		if err != nil {
			return err
		}
		loss = tensor.L1Loss(nil, y, tensor.FromFloat32(target, c.Horizon, c.ActionDim))
		return nil
	})
	return loss, err
}

// normState checks and normalizes a raw state (nil when the model takes
// none).
func (v *VLA) normState(s []float32) ([]float32, error) {
	if v.cfg.StateDim == 0 {
		return nil, nil
	}
	if len(s) != v.cfg.StateDim {
		return nil, fmt.Errorf("state has %d values, the model takes %d", len(s), v.cfg.StateDim)
	}
	return v.stNorm.Normalize(s)
}

// TrainableParams lists the tensors that train, named as in
// vla_head.safetensors: the LoRA adapters, the head (action queries,
// proprio projection and MLP, or the action-token rows) and, when
// Config.TrainVision is set, the vision tower. The base weights are frozen,
// except with Config.FullFinetune, where every backbone weight trains
// (as an F32 copy) and there are no adapters.
func (v *VLA) TrainableParams() []optim.Param {
	var out []optim.Param
	for _, g := range v.ParamGroups() {
		out = append(out, g.Params...)
	}
	return out
}

// ParamGroups splits the trainable tensors into optimizer groups: "decay"
// (adapter, head and token-row matrices) and "no_decay" (biases, action
// queries and action-token embeddings) at the base learning rate, and
// "vision" / "vision_no_decay" at Config.VisionLRScale times it. Empty
// groups are left out.
func (v *VLA) ParamGroups() []optim.Group {
	gs := []optim.Group{
		{Name: "decay", LRScale: 1},
		{Name: "no_decay", LRScale: 1, WeightDecay: optim.NoDecay},
		{Name: "vision", LRScale: v.cfg.VisionLRScale},
		{Name: "vision_no_decay", LRScale: v.cfg.VisionLRScale, WeightDecay: optim.NoDecay},
	}
	for _, p := range v.params {
		i := 0
		if !p.decay {
			i++
		}
		if p.vision {
			i += 2
		}
		gs[i].Params = append(gs[i].Params, optim.Param{Name: p.name, T: *p.ptr})
	}
	out := gs[:0]
	for _, g := range gs {
		if len(g.Params) > 0 {
			out = append(out, g)
		}
	}
	return out
}
