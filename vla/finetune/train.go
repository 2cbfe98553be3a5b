package finetune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/model"
	"github.com/vstgo/vst/vlm/tensor/optim"
)

// trainer is one run's state.
type trainer struct {
	cfg     Config
	data    *trainData
	v       *model.VLA
	opt     *optim.AdamW
	st      trainerState
	bar     *bar
	workers int    // samples processed at once
	saved   int    // step of the newest checkpoint (−1: none this run)
	ckpt    string // its directory
}

// Train fine-tunes a VLA on cfg.Data and saves it to cfg.Out (see the
// package documentation for the recipe, the files and resuming). When ctx
// ends it writes a checkpoint of the last finished step and returns the
// summary so far with an error wrapping ctx.Err().
func Train(ctx context.Context, cfg Config) (*Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	data, err := openData(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer data.close()
	t := &trainer{cfg: cfg, data: data, saved: -1}
	if err := t.setup(); err != nil {
		return nil, err
	}
	defer t.v.Close()
	sum, err := t.run(ctx)
	if sum != nil {
		sum.Elapsed = time.Since(start)
	}
	return sum, err
}

// setup builds the model and optimizer, from the latest checkpoint when
// resuming.
func (t *trainer) setup() error {
	cfg := &t.cfg
	mcfg := model.Config{
		Head: cfg.Head, Horizon: cfg.Horizon, ActionDim: t.data.actionDim(), StateDim: t.data.stateDim(),
		Cameras: t.data.modelCameras(), ImageSize: cfg.ImageSize, LoRARank: cfg.LoRARank, Seed: cfg.Seed,
		FullFinetune: cfg.FullFinetune, BinaryDims: t.data.binaryDims(), CenterCrop: cfg.Augment.meanCrop(),
	}
	ck, st, err := readLatest(cfg.CheckpointDir)
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	if st != nil && !cfg.Resume {
		return fmt.Errorf("finetune: %s already holds a run (checkpoint at step %d): resume it or choose another output", cfg.CheckpointDir, st.Step)
	}
	if st == nil && !cfg.Resume {
		if entries, err := os.ReadDir(cfg.Out); err == nil && len(entries) > 0 {
			return fmt.Errorf("finetune: output %s already exists and is not empty: choose another or remove it", cfg.Out)
		}
	}
	if st != nil {
		if st.Seed != cfg.Seed || st.Batch != cfg.Batch || st.Frames != t.data.ds.Len() {
			return fmt.Errorf("finetune: resume: the checkpoint was trained with seed %d, batch %d and %d frames, not %d, %d and %d (the data order would differ)",
				st.Seed, st.Batch, st.Frames, cfg.Seed, cfg.Batch, t.data.ds.Len())
		}
		if t.v, err = model.Load(ck); err != nil {
			return fmt.Errorf("finetune: resume: %w", err)
		}
		if err := sameModel(t.v.Config(), mcfg); err != nil {
			t.v.Close()
			return fmt.Errorf("finetune: resume %s: %w", ck, err)
		}
		t.st, t.saved, t.ckpt = *st, st.Step, ck
	} else {
		if t.v, err = model.New(cfg.Base, mcfg, t.data.stats); err != nil {
			return fmt.Errorf("finetune: %w", err)
		}
		t.st = trainerState{Format: stateFormat, Seed: cfg.Seed, Batch: cfg.Batch, Frames: t.data.ds.Len(), Losses: []float64{}, Evals: []EvalPoint{}}
	}
	t.st.Steps = cfg.Steps
	t.workers = cfg.Workers
	if t.workers == 0 {
		t.workers = autoWorkers(t.v.TrainableParams())
	}
	t.data.horizon = t.v.Config().Horizon
	wd := cfg.WeightDecay
	if wd == 0 {
		wd = optim.NoDecay
	}
	sched := optim.WarmupCosine{Peak: cfg.LR, Warmup: cfg.Warmup, Total: cfg.Steps, MinRatio: cfg.MinLRRatio}
	if t.opt, err = optim.NewAdamW(t.v.ParamGroups(), optim.AdamWConfig{Schedule: sched, WeightDecay: wd}); err == nil && st != nil {
		err = loadOptimizer(t.opt, filepath.Join(ck, OptimizerFile), st.Step)
	}
	if err != nil {
		t.v.Close()
		return fmt.Errorf("finetune: %w", err)
	}
	return nil
}

// autoWorkers is the default Config.Workers for a model with params: one
// per core below 50M trainable parameters, else 1.
func autoWorkers(params []optim.Param) int {
	n := 0
	for _, p := range params {
		n += p.T.Numel()
	}
	if n < 50_000_000 {
		return runtime.GOMAXPROCS(0)
	}
	return 1
}

// loadOptimizer restores the optimizer state of a checkpoint at step.
func loadOptimizer(opt *optim.AdamW, path string, step int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := opt.Load(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if opt.Steps() != step {
		return fmt.Errorf("%s: optimizer at step %d, the trainer at %d", path, opt.Steps(), step)
	}
	return nil
}

// sameModel checks that a resumed model has the shape this run asks for.
func sameModel(got, want model.Config) error {
	var errs []error
	check := func(what string, g, w any, set bool) {
		if set && fmt.Sprint(g) != fmt.Sprint(w) {
			errs = append(errs, fmt.Errorf("%s is %v in the checkpoint, %v here", what, g, w))
		}
	}
	check("head", got.Head, want.Head, want.Head != "")
	check("horizon", got.Horizon, want.Horizon, want.Horizon != 0)
	check("action dim", got.ActionDim, want.ActionDim, true)
	check("state dim", got.StateDim, want.StateDim, true)
	check("cameras", got.Cameras, want.Cameras, true)
	check("image size", got.ImageSize, want.ImageSize, want.ImageSize != 0)
	check("lora rank", got.LoRARank, want.LoRARank, want.LoRARank != 0)
	check("full fine-tuning", got.FullFinetune, want.FullFinetune, true)
	return errors.Join(errs...)
}

// run trains from the current step to cfg.Steps.
func (t *trainer) run(ctx context.Context) (*Summary, error) {
	cfg := &t.cfg
	first := t.st.Step
	t.bar = newBar(cfg.Progress, first, cfg.Steps, cfg.Batch, t.st.Losses)
	if first > 0 {
		t.bar.printf("resumed from %s at step %d", t.ckpt, first)
	}
	loadCtx, stopLoading := context.WithCancel(ctx)
	batches, loaded := t.data.loadBatches(loadCtx, first, cfg.Steps, cfg.Batch)
	defer func() {
		stopLoading()
		<-loaded // the data set closes after Train returns
	}()
	for t.st.Step < cfg.Steps {
		if err := ctx.Err(); err != nil {
			return t.interrupted(err)
		}
		var b batch
		select {
		case b = <-batches:
		case <-ctx.Done():
			return t.interrupted(ctx.Err())
		}
		if b.err != nil {
			return t.summary(), fmt.Errorf("finetune: data: %w", b.err)
		}
		lr := t.opt.LR()
		loss, err := t.v.Accumulate(ctx, b.samples, t.workers)
		if err != nil {
			t.opt.ZeroGrad()
			if ctx.Err() != nil {
				return t.interrupted(ctx.Err())
			}
			return t.summary(), fmt.Errorf("finetune: step %d: %w", t.st.Step+1, err)
		}
		var norm float64
		if cfg.GradClip > 0 {
			norm = optim.ClipGradNorm(t.opt.Params(), cfg.GradClip)
		} else {
			norm = optim.GradNorm(t.opt.Params())
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(norm) || math.IsInf(norm, 0) {
			t.opt.ZeroGrad()
			return t.summary(), fmt.Errorf("finetune: step %d: loss %g, gradient norm %g: training diverged (lower the learning rate)", t.st.Step+1, loss, norm)
		}
		if err := t.opt.Step(); err != nil {
			return t.summary(), fmt.Errorf("finetune: step %d: %w", t.st.Step+1, err)
		}
		t.opt.ZeroGrad()
		t.st.Step++
		t.st.Losses = append(t.st.Losses, loss)
		t.bar.step(t.st.Step, loss, lr)
		if cfg.OnStep != nil {
			cfg.OnStep(StepInfo{Step: t.st.Step, Loss: loss, LR: lr, GradNorm: norm})
		}
		last := t.st.Step == cfg.Steps
		periodic := cfg.EvalEvery > 0 && t.st.Step%cfg.EvalEvery == 0
		if cfg.EvalSuite != "" && (periodic || last) {
			if err := t.evaluate(ctx); err != nil {
				if ctx.Err() != nil {
					return t.interrupted(ctx.Err())
				}
				return t.summary(), err
			}
		}
		if cfg.CheckpointEvery > 0 && t.st.Step%cfg.CheckpointEvery == 0 && !last {
			if err := t.checkpoint(); err != nil {
				return t.summary(), err
			}
		}
	}
	return t.finish()
}

// evaluate runs the simulator evaluation of the current model.
func (t *trainer) evaluate(ctx context.Context) error {
	if n := len(t.st.Evals); n > 0 && t.st.Evals[n-1].Step == t.st.Step {
		return nil
	}
	defer t.bar.pause(time.Now())
	rate, err := t.cfg.Evaluate(ctx, policyOnly{t.v}, t.cfg.EvalSuite, t.cfg.EvalEpisodes)
	if err != nil {
		return fmt.Errorf("finetune: evaluation at step %d: %w", t.st.Step, err)
	}
	t.st.Evals = append(t.st.Evals, EvalPoint{Step: t.st.Step, SuccessRate: rate})
	t.bar.printf("step %d: %s success rate %.1f%% (%d episodes per task)", t.st.Step, t.cfg.EvalSuite, 100*rate, t.cfg.EvalEpisodes)
	return nil
}

// policyOnly hides the model's Close from evaluators that close the
// policies they are given.
type policyOnly struct{ policy.Policy }

// checkpoint writes the checkpoint of the current step.
func (t *trainer) checkpoint() error {
	defer t.bar.pause(time.Now())
	t.st.SamplesSeen = t.st.Step * t.cfg.Batch
	t.st.Epoch, t.st.EpochPosition = t.st.SamplesSeen/t.data.ds.Len(), t.st.SamplesSeen%t.data.ds.Len()
	ck, err := writeCheckpoint(t.cfg.CheckpointDir, t.v, t.opt, &t.st)
	if err != nil {
		return fmt.Errorf("finetune: checkpoint at step %d: %w", t.st.Step, err)
	}
	t.saved, t.ckpt = t.st.Step, ck
	t.bar.printf("step %d: checkpoint %s", t.st.Step, ck)
	return nil
}

// interrupted writes a checkpoint of the last finished step (unless one
// exists) and returns the summary with cause.
func (t *trainer) interrupted(cause error) (*Summary, error) {
	t.bar.done()
	if t.saved != t.st.Step {
		if err := t.checkpoint(); err != nil {
			return t.summary(), fmt.Errorf("finetune: interrupted at step %d (%w), and %w", t.st.Step, cause, err)
		}
	}
	return t.summary(), fmt.Errorf("finetune: interrupted at step %d, resume from %s: %w", t.st.Step, t.ckpt, cause)
}

// finish writes the last checkpoint and the final model with its loss
// files.
func (t *trainer) finish() (*Summary, error) {
	t.bar.done()
	if t.saved != t.st.Step {
		if err := t.checkpoint(); err != nil {
			return t.summary(), err
		}
	}
	if err := t.v.Save(t.cfg.Out); err != nil {
		return t.summary(), fmt.Errorf("finetune: %w", err)
	}
	if err := writeHistory(t.cfg.Out, t.st.Losses, t.st.Evals); err != nil {
		return t.summary(), fmt.Errorf("finetune: %w", err)
	}
	s := t.summary()
	s.Model = t.cfg.Out
	s.LossCSV, s.LossPlot = filepath.Join(t.cfg.Out, LossCSV), filepath.Join(t.cfg.Out, LossPlot)
	t.bar.printf("saved %s after %d steps (final loss %.4f)", t.cfg.Out, t.st.Step, lastOr(t.st.Losses))
	return s, nil
}

// summary describes the run so far.
func (t *trainer) summary() *Summary {
	first := t.bar.first
	return &Summary{
		Steps: t.st.Step, ResumedFrom: first, Losses: slices.Clone(t.st.Losses), Evals: slices.Clone(t.st.Evals),
		Checkpoint: t.ckpt, SamplesPerSec: t.bar.samplesPerSec(t.st.Step),
		Frames: t.data.ds.Len(), Episodes: len(t.data.ds.Episodes), ModelConfig: t.v.Config(),
	}
}

// lastOr returns the last value, or NaN for none.
func lastOr(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}
