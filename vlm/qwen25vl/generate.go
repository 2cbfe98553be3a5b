package qwen25vl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/vstgo/vst/vlm/tensor"
)

// Sampling controls how Generate picks tokens.
type Sampling struct {
	// MaxNewTokens bounds the generated length. It defaults to 128.
	MaxNewTokens int
	// Temperature divides the logits; 0 means greedy decoding. It defaults
	// to 0.
	Temperature float32
	// TopK keeps the k most likely tokens; 0 keeps all. It defaults to 0.
	TopK int
	// TopP keeps the smallest set of tokens whose probability reaches p;
	// 0 or 1 keeps all. It defaults to 0 (off).
	TopP float32
	// RepetitionPenalty divides positive (multiplies negative) logits of
	// tokens already in the prompt or output, as HF's
	// RepetitionPenaltyLogitsProcessor; 0 or 1 is off. It defaults to 0.
	RepetitionPenalty float32
	// Seed seeds sampling; equal seeds give equal outputs. It defaults to 0.
	Seed uint64
	// StopIDs end generation when produced (the stop token is included in
	// the output). It defaults to the config's eos_token_id list.
	StopIDs []int32
	// OnToken, when set, receives each token as it is produced (streaming);
	// returning false stops generation. It defaults to nil.
	OnToken func(id int32) bool
}

// SamplingFromConfig maps a checkpoint's generation_config.json onto
// Sampling (greedy when do_sample is false).
func SamplingFromConfig(g GenerationConfig) Sampling {
	s := Sampling{MaxNewTokens: g.MaxNewTokens, RepetitionPenalty: float32(g.RepetitionPenalty)}
	for _, id := range g.EOSTokenIDs {
		s.StopIDs = append(s.StopIDs, int32(id))
	}
	if g.DoSample {
		s.Temperature, s.TopK, s.TopP = float32(g.Temperature), g.TopK, float32(g.TopP)
	}
	return s
}

// Generate continues one prompt token by token with a KV cache and returns
// the new tokens. It stops at a stop id, at MaxNewTokens, when OnToken
// returns false, or when ctx is done (returning what it has and ctx's
// error).
func (m *Model) Generate(ctx context.Context, in *Inputs, s Sampling) ([]int32, error) {
	if s.MaxNewTokens <= 0 {
		s.MaxNewTokens = 128
	}
	if s.StopIDs == nil {
		for _, id := range m.Config.EOSTokenIDs {
			s.StopIDs = append(s.StopIDs, int32(id))
		}
	}
	cfg := &m.Config
	cache := tensor.NewKVCache(cfg.NumHiddenLayers, len(in.IDs)+s.MaxNewTokens, cfg.NumKeyValueHeads, cfg.HeadDim())
	// The prefill allocates from the heap: an arena would keep every layer's
	// intermediates alive until the pass ends (gigabytes for a 3B model),
	// while the garbage collector frees them layer by layer. Decode steps
	// are small and identical, so they reuse an arena.
	out, err := m.Forward(tensor.Inference(nil), in, ForwardOptions{Cache: cache, LastLogitsOnly: true})
	if err != nil {
		return nil, err
	}
	delta := out.RopeDelta
	logits := slices.Clone(out.Logits.Float32s())
	out = nil
	arena := tensor.NewArena()
	c := tensor.Inference(arena)

	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	seen := map[int32]bool{}
	if s.RepetitionPenalty > 0 && s.RepetitionPenalty != 1 {
		for _, id := range in.IDs {
			seen[id] = true
		}
	}
	var gen []int32
	for {
		if err := ctx.Err(); err != nil {
			return gen, err
		}
		penalize(logits, seen, s.RepetitionPenalty)
		id := int32(tensor.SampleLogits(logits, s.Temperature, s.TopK, s.TopP, rng))
		gen = append(gen, id)
		if len(seen) > 0 || (s.RepetitionPenalty > 0 && s.RepetitionPenalty != 1) {
			seen[id] = true
		}
		if s.OnToken != nil && !s.OnToken(id) {
			return gen, nil
		}
		if slices.Contains(s.StopIDs, id) || len(gen) == s.MaxNewTokens {
			return gen, nil
		}
		p := int64(len(in.IDs)+len(gen)-1) + delta
		err := tensor.Catch(func() error {
			x := m.Text.EmbedTokens(c, []int32{id})
			h := m.Text.Forward(c, x, m.rope(Positions{{p}, {p}, {p}}), cache, nil)
			copy(logits, m.Text.Logits(c, h).Float32s())
			return nil
		})
		arena.Reset()
		if err != nil {
			return gen, fmt.Errorf("generate step %d: %w", len(gen), err)
		}
	}
}

// penalize applies HF's repetition penalty in place.
func penalize(logits []float32, seen map[int32]bool, penalty float32) {
	if penalty <= 0 || penalty == 1 {
		return
	}
	for id := range seen {
		if int(id) < len(logits) {
			if v := logits[id]; v > 0 {
				logits[id] = v / penalty
			} else {
				logits[id] = v * penalty
			}
		}
	}
}

// GenerateBatch generates for several prompts (as RL rollouts need) and
// returns one output per prompt. Prompts run one after another, each using
// every core through the kernels; a failing prompt stops the batch and its
// error names the prompt.
func (m *Model) GenerateBatch(ctx context.Context, ins []*Inputs, s Sampling) ([][]int32, error) {
	outs := make([][]int32, len(ins))
	for i, in := range ins {
		si := s
		si.Seed = s.Seed + uint64(i)
		g, err := m.Generate(ctx, in, si)
		outs[i] = g
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return outs, err
			}
			return outs, fmt.Errorf("prompt %d: %w", i, err)
		}
	}
	return outs, nil
}
