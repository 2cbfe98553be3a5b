package finetune

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/vla/model"
)

// baseConfig is a small, fast run on the tiny backbone.
func baseConfig(base, data, out string) Config {
	return Config{
		Base: base, Data: data, Out: out, Horizon: 4, ImageSize: 56, LoRARank: 4,
		Steps: 8, Batch: 2, LR: 3e-3, CheckpointEvery: 3, Seed: 7,
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestTrainReducesLossAndWritesFiles(t *testing.T) {
	base := tinyBackbone(t)
	data := writeTestData(t, 2, 6, 56, "agentview", "wrist")
	out := filepath.Join(t.TempDir(), "model")
	cfg := baseConfig(base, data, out)
	cfg.Steps, cfg.CheckpointEvery, cfg.Warmup, cfg.LR = 30, 10, 3, 1e-2
	var progress bytes.Buffer
	cfg.Progress = &progress
	sum, err := Train(context.Background(), cfg)
	require.NoError(t, err)

	require.Equal(t, 30, sum.Steps)
	require.Len(t, sum.Losses, 30)
	first, last := mean(sum.Losses[:5]), mean(sum.Losses[25:])
	t.Logf("mean loss of the first 5 steps %.4f, of the last 5 %.4f", first, last)
	assert.Less(t, last, 0.7*first, "losses %v", sum.Losses)
	assert.Equal(t, 12, sum.Frames)
	assert.Equal(t, 2, sum.Episodes)
	assert.Equal(t, []string{"agentview", "wrist"}, sum.ModelConfig.Cameras)
	assert.Equal(t, 3, sum.ModelConfig.StateDim)
	assert.Equal(t, 7, sum.ModelConfig.ActionDim)
	assert.Equal(t, []int{6}, sum.ModelConfig.BinaryDims, "the gripper takes two values")
	assert.InDelta(t, 0.9, sum.ModelConfig.CenterCrop, 1e-12, "the mean of the 0.8-1.0 random crop")
	assert.Positive(t, sum.SamplesPerSec)
	for _, want := range []string{"step 30/30", "loss ", "lr ", "samples/s", "ETA", "checkpoint", "saved " + out} {
		assert.Contains(t, progress.String(), want)
	}

	// The final model loads and acts.
	v, err := model.Load(out)
	require.NoError(t, err)
	ch, err := v.Act(context.Background(), &policy.Observation{
		Images: map[string]policy.Image{"agentview": testImage(56, 1, 0), "wrist": testImage(56, 1, 1)},
		State:  []float32{0.1, 0, 0.5}, Prompt: "pick up the bowl",
	})
	require.NoError(t, err)
	assert.Equal(t, 4, ch.H)
	require.NoError(t, v.Close())

	// Loss table and plot.
	f, err := os.Open(filepath.Join(out, LossCSV))
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Len(t, rows, 31)
	assert.Equal(t, []string{"step", "loss", "loss_ema"}, rows[0])
	pf, err := os.Open(filepath.Join(out, LossPlot))
	require.NoError(t, err)
	im, err := png.Decode(pf)
	pf.Close()
	require.NoError(t, err)
	assert.Greater(t, im.Bounds().Dx(), 100)

	// Checkpoints: every 10 steps, latest names the last, no temporary
	// files left, each loadable.
	ckDir := out + "-checkpoints"
	latest, err := os.ReadFile(filepath.Join(ckDir, LatestFile))
	require.NoError(t, err)
	assert.Equal(t, "checkpoint-30\n", string(latest))
	entries, err := os.ReadDir(ckDir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"checkpoint-10", "checkpoint-20", "checkpoint-30", LatestFile, LossCSV, LossPlot}, names)
	for _, ck := range []string{"checkpoint-10", "checkpoint-30"} {
		v, err := model.Load(filepath.Join(ckDir, ck))
		require.NoError(t, err, ck)
		require.NoError(t, v.Close())
		for _, f := range []string{OptimizerFile, StateFile} {
			assert.FileExists(t, filepath.Join(ckDir, ck, f))
		}
	}
	dir, st, err := readLatest(ckDir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(ckDir, "checkpoint-30"), dir)
	assert.Equal(t, sum.Losses, st.Losses)
	assert.Equal(t, 60, st.SamplesSeen)
	assert.Equal(t, 5, st.Epoch)

	// A second run into the same place must not clobber it.
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "already holds a run")
	cfg.CheckpointDir = filepath.Join(t.TempDir(), "elsewhere")
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "already exists and is not empty")
}

// errAfter is a context whose Err reports cancellation from its limit-th
// call on: a deterministic interruption anywhere in the training loop,
// mid-batch included.
type errAfter struct {
	context.Context
	calls, limit atomic.Int64
}

func (c *errAfter) Err() error {
	if c.calls.Add(1) >= c.limit.Load() {
		return context.Canceled
	}
	return nil
}

func TestInterruptAndResumeBitForBit(t *testing.T) {
	base := tinyBackbone(t)
	data := writeTestData(t, 2, 5, 56, "agentview") // 10 frames: 16 samples cross an epoch
	tmp := t.TempDir()
	run := func(ctx context.Context, name string, resume bool, onStep func(StepInfo)) (*Summary, error) {
		cfg := baseConfig(base, data, filepath.Join(tmp, name))
		cfg.Resume, cfg.OnStep = resume, onStep
		return Train(ctx, cfg)
	}
	head := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(tmp, name, model.HeadFile))
		require.NoError(t, err)
		return b
	}

	want, err := run(context.Background(), "straight", false, nil)
	require.NoError(t, err)
	require.Len(t, want.Losses, 8)

	// Cancelled between steps 4 and 5.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	part, err := run(ctx, "between", false, func(s StepInfo) {
		if s.Step == 4 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 4, part.Steps)
	assert.Equal(t, want.Losses[:4], part.Losses)
	assert.NoDirExists(t, filepath.Join(tmp, "between"), "no final model when interrupted")
	latest, err := os.ReadFile(filepath.Join(tmp, "between-checkpoints", LatestFile))
	require.NoError(t, err)
	assert.Equal(t, "checkpoint-4\n", string(latest))
	got, err := run(context.Background(), "between", true, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, got.ResumedFrom)
	assert.Equal(t, want.Losses, got.Losses)
	assert.Equal(t, head("straight"), head("between"))

	// Cancelled in the middle of a batch's forward passes: the partial
	// step is dropped and redone on resume.
	mid := &errAfter{Context: context.Background()}
	mid.limit.Store(10 + 1 + 5*3 + 2) // the data scan, then into step 6
	part, err = run(mid, "mid", false, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 5, part.Steps)
	got, err = run(context.Background(), "mid", true, nil)
	require.NoError(t, err)
	assert.Equal(t, want.Losses, got.Losses)
	assert.Equal(t, head("straight"), head("mid"))

	// Resuming with another seed would change the data order.
	cfg := baseConfig(base, data, filepath.Join(tmp, "mid"))
	cfg.Resume, cfg.Seed, cfg.Steps = true, 8, 10
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "seed 7, batch 2 and 10 frames, not 8, 2 and 10")
}

func TestEvaluation(t *testing.T) {
	base := tinyBackbone(t)
	data := writeTestData(t, 2, 4, 56, "agentview")
	out := filepath.Join(t.TempDir(), "model")
	cfg := baseConfig(base, data, out)
	cfg.Steps, cfg.CheckpointEvery, cfg.EvalEvery = 4, 2, 3
	var calls []int
	cfg.EvalSuite, cfg.EvalEpisodes = "libero_spatial", 2
	cfg.Evaluate = func(ctx context.Context, pol policy.Policy, suite string, episodes int) (float64, error) {
		if _, ok := pol.(io.Closer); ok {
			return 0, errors.New("the evaluator must not be able to close the model")
		}
		if suite != "libero_spatial" || episodes != 2 {
			return 0, errors.New("wrong suite or episodes")
		}
		ch, err := pol.Act(ctx, &policy.Observation{
			Images: map[string]policy.Image{"agentview": testImage(56, 0, 0)}, State: []float32{0, 0, 0.5}, Prompt: "open the drawer"})
		if err != nil {
			return 0, err
		}
		calls = append(calls, len(calls))
		return float64(ch.H) / 8, nil
	}
	sum, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, []EvalPoint{{Step: 3, SuccessRate: 0.5}, {Step: 4, SuccessRate: 0.5}}, sum.Evals)
	b, err := os.ReadFile(filepath.Join(out, EvalCSV))
	require.NoError(t, err)
	assert.Equal(t, "step,success_rate\n3,0.5\n4,0.5\n", string(b))

	cfg.Out = filepath.Join(t.TempDir(), "failing")
	cfg.Evaluate = func(context.Context, policy.Policy, string, int) (float64, error) {
		return 0, errors.New("simulator broke")
	}
	_, err = Train(context.Background(), cfg)
	require.ErrorContains(t, err, "evaluation at step 3: simulator broke")
}

func TestDataChecks(t *testing.T) {
	base := tinyBackbone(t)
	data := writeTestData(t, 1, 3, 56, "agentview", "wrist")
	dims := func(n int) []embodiment.Dim {
		out := make([]embodiment.Dim, n)
		for i := range out {
			out[i] = embodiment.Dim{Name: string(rune('a' + i)), Min: -1, Max: 1}
		}
		return out
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no base", func(c *Config) { c.Base = "" }, "no base model directory"},
		{"no data", func(c *Config) { c.Data = "" }, "no data directory"},
		{"no out", func(c *Config) { c.Out = "" }, "no output directory"},
		{"checkpoints in out", func(c *Config) { c.CheckpointDir = c.Out }, "which saving the final model replaces"},
		{"negative steps", func(c *Config) { c.Steps = -3 }, "steps -3 is negative"},
		{"bad lr", func(c *Config) { c.LR = -1 }, "learning rate -1 is not positive"},
		{"eval without evaluator", func(c *Config) { c.EvalSuite = "libero_spatial" }, "needs an Evaluate function"},
		{"bad crop", func(c *Config) { c.Augment.MinScale = 1.5 }, "crop scale [1.5, 1] is not within (0, 1]"},
		{"bad hue", func(c *Config) { c.Augment.Hue = 0.7 }, "hue 0.7 is above 0.5"},
		{"missing data", func(c *Config) { c.Data = filepath.Join(c.Data, "nope") }, "nope: no such file or directory"},
		{"action dim", func(c *Config) {
			c.Embodiment = &embodiment.Spec{Name: "arm6", Dims: dims(6)}
		}, `embodiment "arm6" has 6 action dimensions, the data 7`},
		{"state dim", func(c *Config) {
			c.Embodiment = &embodiment.Spec{Name: "panda", Dims: dims(7), State: []embodiment.StateField{{Name: "q", Dims: 8}}}
		}, `embodiment "panda" has 8 state dimensions, the data 3`},
		{"camera", func(c *Config) {
			c.Embodiment = &embodiment.Spec{Name: "panda", Dims: dims(7), Cameras: []embodiment.Camera{{Name: "front"}}}
		}, `camera "front" is not in the data (it has [agentview wrist])`},
		{"bad base", func(c *Config) { c.Base = c.Data }, "new vla"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(base, data, filepath.Join(t.TempDir(), "out"))
			tt.edit(&cfg)
			_, err := Train(context.Background(), cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}

	// An embodiment that matches sets the camera order.
	cfg := baseConfig(base, data, filepath.Join(t.TempDir(), "out"))
	cfg.Steps, cfg.Batch = 1, 1
	cfg.Embodiment = &embodiment.Spec{Name: "panda", Dims: dims(7), Cameras: []embodiment.Camera{{Name: "wrist"}, {Name: "agentview"}},
		State: []embodiment.StateField{{Name: "q", Dims: 3}}}
	sum, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"wrist", "agentview"}, sum.ModelConfig.Cameras)
}

func TestTargetsAndOrder(t *testing.T) {
	d := &trainData{
		actions: [][]float32{{0}, {1}, {2}, {3}, {4}},
		epEnd:   []int{3, 3, 3, 5, 5},
		horizon: 3,
	}
	assert.Equal(t, [][]float32{{0}, {1}, {2}}, d.target(0))
	assert.Equal(t, [][]float32{{2}, {2}, {2}}, d.target(2), "padded with the episode's last action")
	assert.Equal(t, [][]float32{{3}, {4}, {4}}, d.target(3))

	data := writeTestData(t, 2, 3, 8, "agentview")
	cfg := Config{Data: data, Seed: 1}
	td, err := openData(context.Background(), &cfg)
	require.NoError(t, err)
	defer td.close()
	seen := map[int]int{}
	var first []int
	for k := range 12 {
		i := td.frameAt(k)
		seen[i]++
		if k < 6 {
			first = append(first, i)
		}
	}
	assert.Len(t, seen, 6)
	for i, n := range seen {
		assert.Equal(t, 2, n, "frame %d visited once per epoch", i)
	}
	again := &trainData{ds: td.ds, seed: 1, epoch: -1}
	for k := range 6 {
		assert.Equal(t, first[k], again.frameAt(k), "the order depends on the seed only")
	}
	assert.NotEqual(t, []int{0, 1, 2, 3, 4, 5}, first)
	assert.False(t, math.IsNaN(td.stats.Features["action"].Q99[0]))
	assert.Equal(t, int64(6), td.stats.Features["observation.state"].Count)
}

// BenchmarkTrainStep measures training throughput on the tiny backbone
// with two 128-px cameras, a state and H = 8 (data loading and
// augmentation included, setup excluded).
func BenchmarkTrainStep(b *testing.B) {
	base := tinyBackbone(b)
	data := writeTestData(b, 2, 10, 128, "agentview", "wrist")
	for i := 0; b.Loop(); i++ {
		cfg := Config{Base: base, Data: data, Out: filepath.Join(b.TempDir(), "out"), Horizon: 8, ImageSize: 128,
			Steps: 10, Batch: 4, CheckpointEvery: -1}
		sum, err := Train(context.Background(), cfg)
		require.NoError(b, err)
		b.ReportMetric(sum.SamplesPerSec, "samples/s")
	}
}

// liberoRow is one frame of a LIBERO-style parquet file.
type liberoRow struct {
	Image   []byte    `parquet:"image"`
	Wrist   []byte    `parquet:"wrist_image"`
	State   []float32 `parquet:"state,list"`
	Actions []float32 `parquet:"actions,list"`
	Task    string    `parquet:"language_instruction"`
	Episode int64     `parquet:"episode_index"`
}

func TestLIBEROData(t *testing.T) {
	dir := t.TempDir()
	var rows []liberoRow
	for g := range 8 {
		var im, wr bytes.Buffer
		require.NoError(t, png.Encode(&im, toRGBA(testImage(56, g, 0))))
		require.NoError(t, png.Encode(&wr, toRGBA(testImage(56, g, 1))))
		rows = append(rows, liberoRow{Image: im.Bytes(), Wrist: wr.Bytes(), State: []float32{float32(g % 4), 1},
			Actions: []float32{float32(g%4) / 4, -1, 0.5, 0, 0, 0, float32(g / 4)}, Task: "open the drawer", Episode: int64(g / 4)})
	}
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "episodes.parquet"), rows))
	cfg := baseConfig(tinyBackbone(t), dir, filepath.Join(t.TempDir(), "out"))
	cfg.Steps = 2
	sum, err := Train(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"agentview", "wrist"}, sum.ModelConfig.Cameras, "LIBERO's columns take the simulator's camera names")
	assert.Equal(t, 2, sum.ModelConfig.StateDim)
	assert.Equal(t, 2, sum.Episodes)
}

// toRGBA converts a policy image for image/png.
func toRGBA(im policy.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
	for i := range im.W * im.H {
		copy(out.Pix[4*i:4*i+3], im.Pix[3*i:3*i+3])
		out.Pix[4*i+3] = 255
	}
	return out
}
