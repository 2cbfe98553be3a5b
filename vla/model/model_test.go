package model

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/normalize"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// chunkConfig is the chunk-head configuration of the tests.
var chunkConfig = Config{Horizon: 4, ActionDim: 7, StateDim: 3, ImageSize: 56, LoRARank: 4}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c, err := Config{}.withDefaults(64)
	require.NoError(t, err)
	require.Equal(t, Config{
		Head: HeadChunk, Horizon: 8, ActionDim: 7, Cameras: []string{"agentview", "wrist"}, ImageSize: 128,
		LoRARank: 8, LoRAAlpha: 8, LoRATargets: loraTargets, VisionLRScale: 0.1, Template: DefaultTemplate, HeadHidden: 64,
		NormMode: "quantile",
	}, c)
	c, err = Config{Head: HeadTokens, LoRATargets: []string{"q_proj", "V"}}.withDefaults(64)
	require.NoError(t, err)
	require.Equal(t, 1, c.Horizon)
	require.Equal(t, []string{"q", "v"}, c.LoRATargets)

	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"unknown head", Config{Head: "diffusion"}, `head "diffusion"`},
		{"tokens with horizon", Config{Head: HeadTokens, Horizon: 4}, "horizon 4, want 1"},
		{"tokens with state", Config{Head: HeadTokens, StateDim: 8}, "takes no state"},
		{"negative dim", Config{ActionDim: -1}, "action dim -1"},
		{"repeated camera", Config{Cameras: []string{"a", "a"}}, `camera name "a"`},
		{"no camera", Config{Cameras: []string{}}, "no cameras"},
		{"bad target", Config{LoRATargets: []string{"qkv"}}, `lora target "qkv"`},
		{"bad rank", Config{LoRARank: -3}, "lora rank -3"},
		{"template", Config{Template: "do it"}, "lacks {instruction}"},
		{"norm mode", Config{NormMode: "sigmoid"}, `unknown normalization mode "sigmoid"`},
		{"center crop", Config{CenterCrop: 1.5}, "center crop 1.5"},
		{"binary dim range", Config{BinaryDims: []int{7}}, "binary action dim 7"},
		{"binary dim repeated", Config{BinaryDims: []int{6, 6}}, "binary action dim 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults(64)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestActionTokens(t *testing.T) {
	for _, tc := range []struct {
		x     float32
		index int
	}{
		{-5, 255}, {-1, 255}, {1, 0}, {3, 0}, {0, 128}, {0.999, 1}, {-0.999, 255}, {-0.99, 254}, {float32(math.NaN()), 0},
	} {
		require.Equal(t, tc.index, ActionIndex(tc.x), "x=%v", tc.x)
	}
	require.InDelta(t, 0.996078, ActionValue(0), 1e-6)
	require.InDelta(t, 0.996078, ActionValue(1), 1e-6)
	require.InDelta(t, -0.996078, ActionValue(255), 1e-6)
	// Decoding the encoded value stays within one bin width.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		x := float32(2*rng.Float64() - 1)
		require.InDelta(t, x, ActionValue(ActionIndex(x)), 2.0/255)
	}
}

func TestNewErrors(t *testing.T) {
	dir := tinyBackbone(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		dims [2]int
		err  string
	}{
		{"action dims", chunkConfig, [2]int{6, 3}, "action stats have 6 dimensions, the config 7"},
		{"state missing", chunkConfig, [2]int{7, 0}, `no feature "observation.state"`},
		{"bad config", Config{Head: "x"}, [2]int{7, 0}, `head "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(dir, tc.cfg, testStats(tc.dims[0], tc.dims[1]))
			require.ErrorContains(t, err, tc.err)
		})
	}
	_, err := New(dir, chunkConfig, nil)
	require.ErrorContains(t, err, "no normalization statistics")
	_, err = New(filepath.Join(dir, "absent"), chunkConfig, testStats(7, 3))
	require.Error(t, err)
}

func TestChunkActShapesAndErrors(t *testing.T) {
	v, err := New(tinyBackbone(t), chunkConfig, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	spec := v.Spec()
	require.Equal(t, 7, spec.ActionDim)
	require.Equal(t, 4, spec.Horizon)
	require.Equal(t, 3, spec.StateDim)
	require.Equal(t, []string{"agentview", "wrist"}, spec.Cameras)

	s := testSamples(v.Config(), 1)[0]
	ch, err := v.Act(context.Background(), observation(s))
	require.NoError(t, err)
	require.NoError(t, ch.Validate())
	require.Equal(t, 4, ch.H)
	require.Equal(t, 7, ch.D)
	for _, a := range ch.Actions {
		require.False(t, math.IsNaN(float64(a)) || math.IsInf(float64(a), 0))
	}
	for _, k := range []string{"infer_ms", "preprocess_ms", "vision_ms", "llm_ms", "head_ms"} {
		require.Contains(t, ch.Timing, k)
	}
	// Act returns raw units: the head's normalized output mapped through
	// q01/q99 = ±2 doubles it.
	p, err := v.buildPrompt(s.Images, s.Instruction)
	require.NoError(t, err)
	st, err := v.normState(s.State)
	require.NoError(t, err)
	y, err := v.chunkForward(tensor.Inference(nil), p, st, nil)
	require.NoError(t, err)
	for i, n := range y.Float32s() {
		require.InDelta(t, 0.5*(n+1)*4-2, ch.Actions[i], 1e-5)
	}

	// Concurrent calls give the same answer as a lone one.
	var wg sync.WaitGroup
	got := make([][]float32, 3)
	for i := range got {
		wg.Go(func() {
			c, err := v.Act(context.Background(), observation(s))
			if err == nil {
				got[i] = c.Actions
			}
		})
	}
	wg.Wait()
	for _, g := range got {
		require.Equal(t, ch.Actions, g)
	}

	for _, tc := range []struct {
		name string
		obs  *policy.Observation
		err  string
	}{
		{"nil", nil, "nil observation"},
		{"missing camera", &policy.Observation{Images: map[string]policy.Image{"agentview": s.Images["agentview"]}, State: s.State}, `lacks camera "wrist"`},
		{"bad image", &policy.Observation{Images: map[string]policy.Image{"agentview": {H: 4, W: 4}, "wrist": s.Images["wrist"]}, State: s.State}, `camera "agentview"`},
		{"state length", &policy.Observation{Images: s.Images, State: []float32{1}}, "state has 1 values, the model takes 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Act(context.Background(), tc.obs)
			require.ErrorContains(t, err, tc.err)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.Act(ctx, observation(s))
	require.ErrorIs(t, err, context.Canceled)
	_, err = v.Loss(context.Background(), nil)
	require.ErrorContains(t, err, "empty batch")
	bad := s
	bad.Actions = bad.Actions[:2]
	_, err = v.Loss(context.Background(), []Sample{bad})
	require.ErrorContains(t, err, "target has 2 actions, the horizon is 4")
}

func TestParamGroups(t *testing.T) {
	cfg := chunkConfig
	cfg.TrainVision = true
	v, err := New(tinyBackbone(t), cfg, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	groups := map[string][]string{}
	for _, g := range v.ParamGroups() {
		for _, p := range g.Params {
			groups[g.Name] = append(groups[g.Name], p.Name)
			require.True(t, p.T.RequiresGrad(), p.Name)
		}
		if g.Name == "vision" || g.Name == "vision_no_decay" {
			require.InDelta(t, 0.1, g.LRScale, 0)
		}
	}
	require.Len(t, groups, 4)
	require.Contains(t, groups["decay"], "lora.layers.1.down.A")
	require.Contains(t, groups["decay"], "head.fc1.weight")
	require.Contains(t, groups["no_decay"], "head.action_queries")
	require.Contains(t, groups["no_decay"], "head.proprio.bias")
	require.Contains(t, groups["vision"], "visual.blocks.0.attn.qkv.weight")
	require.Contains(t, groups["vision_no_decay"], "visual.merger.ln_q.weight")
	// 2 layers × 7 targets × (A, B) + queries + proprio (2) + MLP (4).
	require.Len(t, append(groups["decay"], groups["no_decay"]...), 28+1+2+4)

	// A training step reaches the vision tower.
	_, err = v.Accumulate(context.Background(), testSamples(v.Config(), 1), 1)
	require.NoError(t, err)
	for _, p := range v.TrainableParams() {
		if p.Name == "visual.patch_embed.proj.weight" || p.Name == "head.fc2.bias" || p.Name == "lora.layers.0.q.B" {
			require.NotNil(t, p.T.Grad(), p.Name)
		}
	}
}

// TestGradCheck checks the gradients of the chunk head's parameters
// (queries, proprio projection, both MLP layers, LoRA A and B of an
// attention and an MLP linear) against central finite differences of the
// whole forward pass (vision tower, decoder, head) in float32. The output
// checked is the normalized chunk itself (a smooth function; the L1 loss
// has kinks), projected on a fixed random direction. With Eps 1e-2 the
// float32 rounding noise of the difference quotient is about
// 1e-7·|f|/Eps ≈ 1e-5 and the truncation error O(Eps²), well inside the
// default tolerance of 2e-3 + 2%.
func TestGradCheck(t *testing.T) {
	v, err := New(tinyBackbone(t), chunkConfig, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	names := []string{"head.action_queries", "head.proprio.weight", "head.proprio.bias", "head.fc1.weight", "head.fc2.weight",
		"lora.layers.0.q.A", "lora.layers.0.q.B", "lora.layers.1.down.A", "lora.layers.1.down.B"}
	slots := make([]**tensor.Tensor, len(names))
	inputs := make([]*tensor.Tensor, len(names))
	for i, n := range names {
		slots[i] = paramByName(t, v, n)
		inputs[i] = *slots[i]
		if n[len(n)-1] == 'B' { // B starts at zero, which would make A's gradient vanish
			xs := inputs[i].Float32s()
			for j := range xs {
				xs[j] = float32(rng.NormFloat64() * 0.3)
			}
		}
	}
	s := testSamples(v.Config(), 1)[0]
	p, err := v.buildPrompt(s.Images, s.Instruction)
	require.NoError(t, err)
	st, err := v.normState(s.State)
	require.NoError(t, err)
	f := func(c *tensor.Ctx, in []*tensor.Tensor) *tensor.Tensor {
		for i, slot := range slots {
			*slot = in[i]
		}
		defer func() {
			for i, slot := range slots {
				*slot = inputs[i]
			}
		}()
		y, err := v.chunkForward(c, p, st, nil)
		require.NoError(t, err)
		return y
	}
	require.NoError(t, tensor.GradCheck(f, inputs, tensor.GradCheckConfig{MaxPerInput: 5}))
}

func TestChunkOverfitAndSaveLoad(t *testing.T) {
	v, err := New(tinyBackbone(t), chunkConfig, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	batch := testSamples(v.Config(), 3)
	first, last := train(t, v, batch, 60, 6e-3)
	t.Logf("chunk head L1: %.4f -> %.4f", first, last)
	require.Less(t, last, first/10)

	// Loss agrees with Accumulate.
	l, err := v.Loss(context.Background(), batch)
	require.NoError(t, err)
	acc, err := v.Accumulate(context.Background(), batch, 1)
	require.NoError(t, err)
	require.InDelta(t, acc, l.Item(), 1e-5)

	// The trained policy reproduces its training chunks in raw units (the
	// normalized L1 of ~0.03 is ~0.06 raw with q01/q99 = ±2).
	want := make([][]float32, len(batch))
	var errSum float64
	for k, s := range batch {
		ch, err := v.Act(context.Background(), observation(s))
		require.NoError(t, err)
		want[k] = ch.Actions
		for h, a := range s.Actions {
			for i, x := range a {
				errSum += math.Abs(float64(x - ch.Action(h)[i]))
			}
		}
	}
	require.Less(t, errSum/float64(len(batch)*28), 0.12)

	dir := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, v.Save(dir))
	require.NoError(t, v.Save(dir)) // overwriting a checkpoint (also the one the model now reads)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json", "generation_config.json", ConfigFile, HeadFile, StatsFile} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	w, err := Load(dir)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, v.Config(), w.Config())
	for k, s := range batch {
		ch, err := w.Act(context.Background(), observation(s))
		require.NoError(t, err)
		require.Equal(t, want[k], ch.Actions, "sample %d", k)
	}

	// A failing save leaves the existing checkpoint as it was.
	before, err := os.ReadFile(filepath.Join(dir, HeadFile))
	require.NoError(t, err)
	w.baseDir = filepath.Join(t.TempDir(), "broken")
	require.NoError(t, os.MkdirAll(filepath.Join(w.baseDir, "config.json"), 0o755)) // a directory cannot be copied
	require.ErrorContains(t, w.Save(dir), "config.json")
	after, err := os.ReadFile(filepath.Join(dir, HeadFile))
	require.NoError(t, err)
	require.Equal(t, before, after)
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary directories are left behind")
}

func TestLoadErrors(t *testing.T) {
	v, err := New(tinyBackbone(t), chunkConfig, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	dir := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, v.Save(dir))

	_, err = Load(filepath.Join(t.TempDir(), "absent"))
	require.ErrorContains(t, err, ConfigFile)

	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"format": 1, "horizon": 5, "action_dim": 7, "state_dim": 3, "image_size": 56, "lora_rank": 4}`), 0o644))
	_, err = Load(dir)
	require.ErrorContains(t, err, `tensor "head.action_queries" has shape [4 64], want [5 64]`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"format": 1, "colour": 1}`), 0o644))
	_, err = Load(dir)
	require.ErrorContains(t, err, "unknown field")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), cfg, 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, StatsFile)))
	_, err = Load(dir)
	require.ErrorContains(t, err, StatsFile)
}

func TestTokensHead(t *testing.T) {
	cfg := Config{Head: HeadTokens, ActionDim: 4, Cameras: []string{"agentview"}, ImageSize: 56, LoRARank: 4}
	v, err := New(tinyBackbone(t), cfg, testStats(4, 0))
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, 1, v.Spec().Horizon)
	id0, ok := v.tok.TokenID("<|action_0|>")
	require.True(t, ok)
	require.Equal(t, 314, id0) // right after the tiny tokenizer's 314 tokens; the backbone has 320 rows
	require.Equal(t, []int{id0 + 255}, v.tok.Encode("<|action_255|>"))

	batch := testSamples(v.Config(), 3)
	first, last := train(t, v, batch, 30, 2e-2)
	t.Logf("tokens head CE: %.4f -> %.4f", first, last)
	require.Less(t, last, first/10)

	binRaw := float32(4.0 / 255) // bin width 2/255 in normalized units, ×2 for q01/q99 = ±2
	want := make([][]float32, len(batch))
	for k, s := range batch {
		ch, err := v.Act(context.Background(), observation(s))
		require.NoError(t, err)
		require.NoError(t, ch.Validate())
		require.Contains(t, ch.Timing, "decode_ms")
		for i, x := range s.Actions[0] {
			require.InDelta(t, x, ch.Actions[i], float64(binRaw), "sample %d dim %d", k, i)
		}
		want[k] = ch.Actions
	}

	dir := filepath.Join(t.TempDir(), "tok")
	require.NoError(t, v.Save(dir))
	tok, err := tokenizer.Load(dir)
	require.NoError(t, err)
	id, ok := tok.TokenID("<|action_255|>")
	require.True(t, ok)
	require.Equal(t, id0+255, id)
	require.Equal(t, id0+256, tok.VocabSize())
	w, err := Load(dir)
	require.NoError(t, err)
	defer w.Close()
	for k, s := range batch {
		ch, err := w.Act(context.Background(), observation(s))
		require.NoError(t, err)
		require.Equal(t, want[k], ch.Actions)
	}
}

// TestFullFinetune checks that full fine-tuning trains every backbone
// weight (text decoder and vision tower at the full learning rate, no
// adapters), that the chunk head then fits its batch, and that Save/Load
// restore the trained backbone over the base checkpoint's weights.
func TestFullFinetune(t *testing.T) {
	c, err := Config{FullFinetune: true}.withDefaults(64)
	require.NoError(t, err)
	require.Equal(t, NoLoRA, c.LoRARank)
	require.True(t, c.TrainVision)
	require.InDelta(t, 1, c.VisionLRScale, 0)
	_, err = Config{FullFinetune: true, LoRARank: 4}.withDefaults(64)
	require.ErrorContains(t, err, "full fine-tuning trains every weight: lora rank 4")

	base := tinyBackbone(t)
	cfg := chunkConfig
	cfg.LoRARank = 0
	cfg.FullFinetune = true
	v, err := New(base, cfg, testStats(7, 3))
	require.NoError(t, err)
	defer v.Close()
	groups := map[string][]string{}
	for _, g := range v.ParamGroups() {
		for _, p := range g.Params {
			groups[g.Name] = append(groups[g.Name], p.Name)
			require.True(t, p.T.RequiresGrad(), p.Name)
			require.Equal(t, tensor.Float32, p.T.DType(), p.Name)
		}
		require.InDelta(t, 1, g.LRScale, 0, g.Name)
	}
	require.Contains(t, groups["decay"], "model.layers.1.mlp.down_proj.weight")
	require.Contains(t, groups["no_decay"], "model.embed_tokens.weight")
	require.Contains(t, groups["no_decay"], "model.layers.0.self_attn.q_proj.bias")
	require.Contains(t, groups["no_decay"], "model.norm.weight")
	require.Contains(t, groups["vision"], "visual.blocks.1.mlp.up_proj.weight")
	require.NotContains(t, groups["decay"], "lm_head.weight", "the chunk head never reads the LM head")
	for _, names := range groups {
		for _, n := range names {
			require.NotContains(t, n, "lora", n)
		}
	}

	batch := testSamples(v.Config(), 3)
	embed0 := slices.Clone(v.backbone.Text.Embed.Float32s())
	first, last := train(t, v, batch, 40, 3e-3)
	t.Logf("full fine-tuning L1: %.4f -> %.4f", first, last)
	require.Less(t, last, first/5)
	require.NotEqual(t, embed0, v.backbone.Text.Embed.Float32s(), "the token embeddings train")

	dir := filepath.Join(t.TempDir(), "full")
	require.NoError(t, v.Save(dir))
	w, err := Load(dir)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, v.Config(), w.Config())
	require.Equal(t, v.backbone.Text.Layers[1].Down.W.Float32s(), w.backbone.Text.Layers[1].Down.W.Float32s())
	for _, s := range batch {
		a, err := v.Act(context.Background(), observation(s))
		require.NoError(t, err)
		b, err := w.Act(context.Background(), observation(s))
		require.NoError(t, err)
		require.Equal(t, a.Actions, b.Actions)
	}

	// The trained backbone is a plain Qwen2.5-VL checkpoint; the head file
	// holds only the head.
	plain, err := qwen25vl.Load(dir)
	require.NoError(t, err)
	defer plain.Close()
	require.Equal(t, v.backbone.Text.Layers[1].Down.W.Float32s(), plain.Text.Layers[1].Down.W.ToFloat32(nil).Float32s())
	head, err := safetensors.Open(filepath.Join(dir, HeadFile))
	require.NoError(t, err)
	defer head.Close()
	for _, n := range head.Names() {
		require.True(t, strings.HasPrefix(n, "head."), n)
	}
}

func TestInferenceCropAndBinarySnap(t *testing.T) {
	cfg := chunkConfig
	cfg.CenterCrop, cfg.BinaryDims = 0.25, []int{6}
	stats := testStats(7, 3)
	stats.Features[normalize.Action].Min = []float64{-3, -3, -3, -3, -3, -3, -1}
	stats.Features[normalize.Action].Max = []float64{3, 3, 3, 3, 3, 3, 1}
	v, err := New(tinyBackbone(t), cfg, stats)
	require.NoError(t, err)
	defer v.Close()

	// The crop keeps the centred half of each side, pixels copied.
	im := testImage(8, 1)
	got := v.centerCrop(map[string]policy.Image{"agentview": im})["agentview"]
	require.Equal(t, 4, got.W)
	require.Equal(t, 4, got.H)
	for y := range 4 {
		require.Equal(t, im.Pix[((y+2)*8+2)*3:((y+2)*8+6)*3], got.Pix[y*12:(y+1)*12])
	}
	got.Pix[0]++
	require.NotEqual(t, got.Pix[0], im.Pix[(2*8+2)*3])

	// Act snaps the gripper of every step to −1 or +1 and leaves the rest.
	s := testSamples(v.Config(), 1)[0]
	ch, err := v.Act(context.Background(), observation(s))
	require.NoError(t, err)
	for h := range ch.H {
		a := ch.Action(h)
		require.Contains(t, []float32{-1, 1}, a[6])
		require.NotContains(t, []float32{-1, 1}, a[0])
	}

	// Without extremes in the statistics, q01 and q99 are the levels.
	levels, err := binaryLevels(testStats(7, 0).Features[normalize.Action], []int{6})
	require.NoError(t, err)
	require.Equal(t, [][2]float64{{-2, 2}}, levels)
}

// TestAccumulateWorkers checks that processing a batch's samples on
// several goroutines (each into its own gradient sink) gives the gradients
// of the one-after-another pass, bit-identically from run to run, for
// LoRA and for full fine-tuning (every weight, vision tower included).
func TestAccumulateWorkers(t *testing.T) {
	base := tinyBackbone(t)
	full := chunkConfig
	full.LoRARank, full.FullFinetune = 0, true
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"lora", chunkConfig}, {"full", full}} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(base, tc.cfg, testStats(7, 3))
			require.NoError(t, err)
			defer v.Close()
			batch := testSamples(v.Config(), 5)
			grads := func(workers int) (float64, map[string][]float32) {
				defer func() {
					for _, p := range v.TrainableParams() {
						p.T.ZeroGrad()
					}
				}()
				loss, err := v.Accumulate(context.Background(), batch, workers)
				require.NoError(t, err)
				g := map[string][]float32{}
				for _, p := range v.TrainableParams() {
					if p.T.Grad() != nil {
						g[p.Name] = slices.Clone(p.T.Grad().Float32s())
					}
				}
				return loss, g
			}
			loss1, want := grads(1)
			require.NotEmpty(t, want)
			loss2, got := grads(2)
			_, again := grads(2)
			require.Equal(t, got, again, "two workers: not deterministic")
			loss3, _ := grads(3)
			require.InDelta(t, loss1, loss2, 1e-6)
			require.InDelta(t, loss1, loss3, 1e-6)
			require.Len(t, got, len(want))
			for name, w := range want {
				for i := range w {
					require.InDelta(t, w[i], got[name][i], 1e-5+1e-4*math.Abs(float64(w[i])), "%s[%d]", name, i)
				}
			}
		})
	}
}
