package model

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
		l, err := v.sampleLoss(ctx, nil, &batch[i])
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

// Accumulate runs the forward and backward pass of each sample, adding
// the gradients of the mean loss over batch into the trainable parameters'
// Grad (gradient accumulation: one sample's activations in memory per
// worker), and returns the mean loss. workers samples are processed at
// once, each worker on its own goroutine into its own gradient sink; the
// sinks are merged in worker order, so for a given workers count the
// result is deterministic (1 processes the samples one after another; a
// different count changes the floating-point summation order). Small
// backbones, whose per-sample operations are too small to keep every core
// busy, train several times faster with workers = the number of cores.
// The caller clips, steps the optimizer and zeroes the gradients.
func (v *VLA) Accumulate(ctx context.Context, batch []Sample, workers int) (float64, error) {
	if len(batch) == 0 {
		return 0, errors.New("accumulate: empty batch")
	}
	workers = max(1, min(workers, len(batch)))
	losses := make([]float64, len(batch))
	sinks := make([]*tensor.GradSink, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		var c *tensor.Ctx
		if workers > 1 {
			sinks[w] = tensor.NewGradSink()
			c = &tensor.Ctx{Grads: sinks[w]}
		}
		wg.Go(func() {
			for i := w; i < len(batch) && errs[w] == nil; i += workers {
				losses[i], errs[w] = v.sampleBackward(ctx, c, &batch[i], 1/float32(len(batch)))
				if errs[w] != nil {
					errs[w] = fmt.Errorf("accumulate: sample %d: %w", i, errs[w])
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	for _, s := range sinks {
		if s != nil {
			s.Flush()
		}
	}
	var sum float64
	for _, l := range losses {
		sum += l
	}
	return sum / float64(len(batch)), nil
}

// sampleBackward runs one sample's forward pass in c, back-propagates its
// loss scaled by scale and returns the unscaled loss.
func (v *VLA) sampleBackward(ctx context.Context, c *tensor.Ctx, s *Sample, scale float32) (float64, error) {
	l, err := v.sampleLoss(ctx, c, s)
	if err != nil {
		return 0, err
	}
	loss := float64(l.Item())
	return loss, tensor.Backward(l, tensor.Full(nil, scale, l.Shape()...))
}

// sampleLoss is the loss of one sample, with gradients recorded in c (nil:
// the heap, into the parameters' Grad).
func (v *VLA) sampleLoss(ctx context.Context, tc *tensor.Ctx, s *Sample) (loss *tensor.Tensor, err error) {
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
			loss, err = v.tokensLoss(tc, p, target)
			return err
		}
		y, err := v.chunkForward(tc, p, state, nil)
		if err != nil {
			return err
		}
		loss = tensor.L1Loss(tc, y, tensor.FromFloat32(target, c.Horizon, c.ActionDim))
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
