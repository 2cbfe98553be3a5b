package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vlm/tensor"
)

// Spec implements policy.Policy.
func (v *VLA) Spec() policy.Spec {
	return policy.Spec{
		Name:      "vla-" + v.cfg.Head,
		ActionDim: v.cfg.ActionDim,
		Horizon:   v.cfg.Horizon,
		Cameras:   slices.Clone(v.cfg.Cameras),
		StateDim:  v.cfg.StateDim,
		Metadata: map[string]any{
			"head": v.cfg.Head, "image_size": v.cfg.ImageSize, "lora_rank": v.cfg.LoRARank,
			"full_finetune": v.cfg.FullFinetune,
		},
	}
}

// Act implements policy.Policy: it returns the next action chunk for obs
// in raw units (normalization of the state and unnormalization of the
// actions use the model's statistics). Gradients are not recorded; each
// call takes its own arena, so concurrent calls share only the read-only
// weights. Timing holds "infer_ms" (the whole call) and the stages
// "preprocess_ms", "embed_ms", "vision_ms", "llm_ms", then "head_ms" (chunk
// head) or "decode_ms" (tokens head), and "post_ms".
func (v *VLA) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	if obs == nil {
		return nil, errors.New("act: nil observation")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	st := stages{}
	state, err := v.normState(obs.State)
	if err != nil {
		return nil, fmt.Errorf("act: %w", err)
	}
	p, err := v.buildPrompt(obs.Images, obs.Prompt)
	if err != nil {
		return nil, fmt.Errorf("act: %w", err)
	}
	st.since("preprocess_ms", start)
	arena, _ := v.arenas.Get().(*tensor.Arena)
	if arena == nil {
		arena = tensor.NewArena()
	}
	defer func() {
		arena.Reset()
		v.arenas.Put(arena)
	}()
	c := tensor.Inference(arena)
	var norm []float32
	err = tensor.Catch(func() error {
		if v.cfg.Head == HeadTokens {
			norm, err = v.tokensDecode(c, p, st)
			return err
		}
		y, err := v.chunkForward(c, p, state, st)
		if err != nil {
			return err
		}
		norm = slices.Clone(y.Float32s())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("act: %w", err)
	}
	t0 := time.Now()
	raw, err := v.actNorm.Unnormalize(norm)
	if err != nil {
		return nil, fmt.Errorf("act: %w", err)
	}
	st.since("post_ms", t0)
	st.since("infer_ms", start)
	return &policy.Chunk{Actions: raw, H: v.cfg.Horizon, D: v.cfg.ActionDim, Timing: st}, nil
}
