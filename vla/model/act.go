package model

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	p, err := v.buildPrompt(v.centerCrop(obs.Images), obs.Prompt)
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
	v.snapBinary(raw)
	st.since("post_ms", t0)
	st.since("infer_ms", start)
	return &policy.Chunk{Actions: raw, H: v.cfg.Horizon, D: v.cfg.ActionDim, Timing: st}, nil
}

// centerCrop returns the camera images cropped to the centred rectangle of
// Config.CenterCrop of their area (the same aspect ratio); images are
// returned unchanged without a crop. Pixels are copied, never shared.
func (v *VLA) centerCrop(images map[string]policy.Image) map[string]policy.Image {
	f := v.cfg.CenterCrop
	if f == 0 || f == 1 {
		return images
	}
	out := make(map[string]policy.Image, len(images))
	side := math.Sqrt(f)
	for name, im := range images {
		if im.Validate() != nil {
			out[name] = im // buildPrompt reports it
			continue
		}
		cw, ch := max(1, int(math.Round(float64(im.W)*side))), max(1, int(math.Round(float64(im.H)*side)))
		x0, y0 := (im.W-cw)/2, (im.H-ch)/2
		c := policy.Image{W: cw, H: ch, Pix: make([]uint8, cw*ch*3)}
		for y := range ch {
			copy(c.Pix[y*cw*3:(y+1)*cw*3], im.Pix[((y0+y)*im.W+x0)*3:])
		}
		out[name] = c
	}
	return out
}
