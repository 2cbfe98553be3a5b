package model

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/normalize"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tensor/optim"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// tinyBackbone writes the tiny random Qwen2.5-VL (F32 weights, so that
// finite differences are meaningful) with a byte-level tokenizer whose
// special tokens land on the tiny config's ids, and returns its directory.
func tinyBackbone(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	cfg, err := qwen25vl.Preset("tiny")
	require.NoError(t, err)
	require.NoError(t, qwen25vl.WriteRandomCheckpoint(dir, cfg, qwen25vl.RandomOptions{DType: "F32", Seed: 3}))
	bigrams := strings.Fields("th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be")
	n := cfg.ImageTokenID - 12 - 256
	require.LessOrEqual(t, n, len(bigrams))
	merges := make([][2]string, n)
	for i, b := range bigrams[:n] {
		merges[i] = [2]string{b[:1], b[1:]}
	}
	tok, err := tokenizer.NewByteLevel(merges, tokenizer.QwenSpecialTokens)
	require.NoError(t, err)
	id, _ := tok.TokenID(tokenizer.ImagePad)
	require.Equal(t, cfg.ImageTokenID, id)
	require.NoError(t, tok.Save(dir))
	return dir
}

// testStats returns q01/q99 statistics for actions of dimension d (range
// [−2, 2] on every axis) and states of dimension s (range [0, 1]).
func testStats(d, s int) *normalize.Set {
	act := &normalize.Stats{Q01: make([]float64, d), Q99: make([]float64, d)}
	for i := range d {
		act.Q01[i], act.Q99[i] = -2, 2
	}
	set := &normalize.Set{Features: map[string]*normalize.Stats{normalize.Action: act}}
	if s > 0 {
		st := &normalize.Stats{Q01: make([]float64, s), Q99: make([]float64, s)}
		for i := range s {
			st.Q99[i] = 1
		}
		set.Features[normalize.State] = st
	}
	return set
}

// testImage returns a size×size image: a background colour and a bright
// square whose place depends on k.
func testImage(size, k int) policy.Image {
	im := policy.Image{H: size, W: size, Pix: make([]uint8, size*size*3)}
	x0, y0 := (k*17)%(size/2), (k*29)%(size/2)
	for y := range size {
		for x := range size {
			o := (y*size + x) * 3
			im.Pix[o], im.Pix[o+1], im.Pix[o+2] = uint8(40*k), uint8(200-30*k), uint8(x+y)
			if x >= x0 && x < x0+size/3 && y >= y0 && y < y0+size/3 {
				im.Pix[o], im.Pix[o+1], im.Pix[o+2] = 255, 255, uint8(60*k)
			}
		}
	}
	return im
}

var instructions = []string{
	"pick up the black bowl and place it on the plate",
	"open the top drawer",
	"put the cream cheese in the bowl",
	"turn on the stove",
}

// testSamples returns n distinct samples for cfg (raw actions in [−1.8,
// 1.8], states in [0, 1]).
func testSamples(cfg Config, n int) []Sample {
	out := make([]Sample, n)
	for k := range n {
		s := Sample{Images: map[string]policy.Image{}, Instruction: instructions[k%len(instructions)]}
		for j, cam := range cfg.Cameras {
			s.Images[cam] = testImage(56, k+3*j)
		}
		for i := range cfg.StateDim {
			s.State = append(s.State, float32((k+i)%5)/5)
		}
		for h := range cfg.Horizon {
			a := make([]float32, cfg.ActionDim)
			for i := range a {
				a[i] = float32(((k*7+h*3+i*5)%13)-6) * 0.3
			}
			s.Actions = append(s.Actions, a)
		}
		out[k] = s
	}
	return out
}

// observation turns a sample into a policy observation.
func observation(s Sample) *policy.Observation {
	return &policy.Observation{Images: s.Images, State: s.State, Prompt: s.Instruction}
}

// train runs steps of AdamW on batch and returns the losses before and
// after.
func train(t *testing.T, v *VLA, batch []Sample, steps int, lr float64) (first, last float64) {
	t.Helper()
	opt, err := optim.NewAdamW(v.ParamGroups(), optim.AdamWConfig{LR: lr, WeightDecay: optim.NoDecay})
	require.NoError(t, err)
	for i := range steps {
		l, err := v.Accumulate(context.Background(), batch, 1)
		require.NoError(t, err)
		if i == 0 {
			first = l
		}
		last = l
		optim.ClipGradNorm(opt.Params(), 1)
		require.NoError(t, opt.Step())
		opt.ZeroGrad()
	}
	return first, last
}

// paramByName returns the trainable tensor slot called name.
func paramByName(t *testing.T, v *VLA, name string) **tensor.Tensor {
	t.Helper()
	for _, p := range v.params {
		if p.name == name {
			return p.ptr
		}
	}
	t.Fatalf("no parameter %q", name)
	return nil
}
