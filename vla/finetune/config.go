package finetune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/vla/dataset"
	"github.com/vstgo/vst/vla/model"
)

// Evaluator runs pol in the simulator on the named suite for episodes
// episodes per task and returns the success rate in [0, 1]. Train calls it
// between optimizer steps, so pol may be used concurrently (Act is safe for
// concurrent use) but must not be closed.
type Evaluator func(ctx context.Context, pol policy.Policy, suite string, episodes int) (float64, error)

// Config configures Train. The zero value of every optional field means
// its default.
type Config struct {
	// Base is the backbone checkpoint: a Hugging Face Qwen2.5-VL directory
	// with tokenizer.json (such as `vla model init --config tiny --out
	// DIR` writes, or a released VST checkpoint). Required.
	Base string
	// Data is the training data: a LeRobotDataset v3 folder (one with
	// meta/info.json) or a folder of LIBERO-style parquet files, told
	// apart by meta/info.json. Required.
	Data string
	// Video decodes the frames of video features of a LeRobot data set. It
	// defaults to nil: data sets must then keep their images in the
	// parquet files.
	Video dataset.VideoDecoder
	// Embodiment, when set, is checked against the data: its action
	// dimension, its state dimension (when it lists state fields) and its
	// cameras (when it lists any, they must all be in the data and set the
	// cameras' prompt order). It defaults to nil: the data alone decides.
	Embodiment *embodiment.Spec
	// Out is the directory the final model is saved to (model.Save, which
	// replaces the directory as a whole), followed by loss.csv, loss.png
	// and, with evaluations, eval.csv. Required.
	Out string
	// CheckpointDir receives checkpoint-<step>/ directories and the file
	// latest naming the newest complete one. It defaults to Out +
	// "-checkpoints" (a sibling of Out, since saving the final model
	// replaces Out).
	CheckpointDir string

	// Head is model.HeadChunk or model.HeadTokens. It defaults to
	// model.HeadChunk.
	Head string
	// LoRARank is the adapters' rank; model.NoLoRA trains none. It
	// defaults to 8.
	LoRARank int
	// FullFinetune trains every backbone weight (text decoder and vision
	// tower, F32) instead of LoRA adapters: model.Config.FullFinetune, the
	// recipe for small backbones trained from scratch. LoRARank must then
	// be 0 or model.NoLoRA. It defaults to false.
	FullFinetune bool
	// Horizon is H, the actions per target chunk: the action of the frame
	// and the H−1 after it in the same episode, padded with the episode's
	// last action (as OpenVLA-OFT). It defaults to 8 for the chunk head and
	// is always 1 for the tokens head.
	Horizon int
	// ImageSize is the side camera images are resized to before the
	// backbone's processor. It defaults to 128.
	ImageSize int
	// NoState keeps the proprioceptive state out of the chunk head even
	// when the data has one. It defaults to false (the tokens head never
	// takes a state).
	NoState bool

	// Steps is the number of optimizer steps. It defaults to 1000.
	Steps int
	// Batch is the number of samples per optimizer step; their gradients
	// are accumulated one sample at a time. It defaults to 8.
	Batch int
	// Workers is the number of samples of a batch processed at once, each
	// by its own goroutine (model.VLA.Accumulate). It defaults to 0, which
	// picks GOMAXPROCS for models with under 50M trainable parameters
	// (small models cannot keep the cores busy one sample at a time) and 1
	// otherwise. A resumed run is bit-for-bit identical to an uninterrupted
	// one only with the same count.
	Workers int
	// LR is the peak learning rate. It defaults to 5e-4 (LoRA and head).
	LR float64
	// Warmup is the number of linear warmup steps before the cosine decay
	// to MinLRRatio·LR at the last step. It defaults to Steps/20; a
	// negative value means none.
	Warmup int
	// MinLRRatio is the final learning rate as a fraction of LR. It
	// defaults to 0.
	MinLRRatio float64
	// WeightDecay is AdamW's decoupled weight decay on matrices. It
	// defaults to 0 (none, OpenVLA's LoRA recipe).
	WeightDecay float64
	// GradClip is the global gradient norm clipped to before each step. It
	// defaults to 1.0; a negative value means no clipping.
	GradClip float64
	// Seed seeds the head and adapter initialisation, the data order and
	// the augmentations. It defaults to 0.
	Seed uint64
	// Augment configures the image augmentations. Its zero value is
	// VST's: random resized crop of 0.8 to 1.0 of the area and colour
	// jitter.
	Augment AugmentConfig

	// CheckpointEvery is the number of steps between checkpoints. It
	// defaults to 100; a negative value writes checkpoints only at the end
	// and on interruption.
	CheckpointEvery int
	// Resume continues from the checkpoint CheckpointDir/latest names,
	// reproducing an uninterrupted run exactly (same data order, same
	// results); without a checkpoint it starts afresh. It defaults to
	// false: an existing latest checkpoint is an error.
	Resume bool

	// EvalSuite names the simulator suite evaluated at checkpoints. It
	// defaults to "" (no evaluation).
	EvalSuite string
	// EvalEpisodes is the number of episodes per task of each evaluation.
	// It defaults to 10.
	EvalEpisodes int
	// EvalEvery is the number of steps between evaluations (also run at the
	// end). It defaults to CheckpointEvery.
	EvalEvery int
	// Evaluate runs an evaluation; required with EvalSuite (sim/bench
	// provides it).
	Evaluate Evaluator

	// Progress receives a one-line progress bar (step, loss EMA, learning
	// rate, samples/s, ETA) and one line per checkpoint and evaluation. It
	// defaults to nil (silent).
	Progress io.Writer
	// OnStep, when set, is called after every optimizer step. It defaults
	// to nil.
	OnStep func(StepInfo)
}

// StepInfo describes a finished optimizer step.
type StepInfo struct {
	// Step counts the steps done (1 after the first).
	Step int
	// Loss is the mean loss of the step's batch.
	Loss float64
	// LR is the learning rate the step used.
	LR float64
	// GradNorm is the global gradient norm before clipping.
	GradNorm float64
}

// EvalPoint is one evaluation's result.
type EvalPoint struct {
	// Step is the number of steps trained before the evaluation.
	Step int `json:"step"`
	// SuccessRate is the fraction of successful episodes.
	SuccessRate float64 `json:"success_rate"`
}

// Summary describes a finished (or interrupted) run.
type Summary struct {
	// Steps is the number of optimizer steps done, resumed ones included.
	Steps int
	// ResumedFrom is the step the run resumed at (0 for a fresh run).
	ResumedFrom int
	// Losses holds the mean batch loss of every step, resumed ones
	// included.
	Losses []float64
	// Evals lists the evaluations, resumed ones included.
	Evals []EvalPoint
	// Model is the directory of the final model ("" when interrupted).
	Model string
	// Checkpoint is the newest checkpoint's directory.
	Checkpoint string
	// LossCSV and LossPlot are the loss files of the final model ("" when
	// interrupted; the checkpoint directory holds copies).
	LossCSV, LossPlot string
	// SamplesPerSec is the training throughput of this run.
	SamplesPerSec float64
	// Elapsed is the wall time of this run.
	Elapsed time.Duration
	// Frames and Episodes count the training data.
	Frames, Episodes int
	// ModelConfig is the model's configuration, defaults applied.
	ModelConfig model.Config
}

// withDefaults fills zero fields and validates c.
func (c Config) withDefaults() (Config, error) {
	if c.Steps == 0 {
		c.Steps = 1000
	}
	if c.Batch == 0 {
		c.Batch = 8
	}
	if c.LR == 0 {
		c.LR = 5e-4
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = c.Steps / 20
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.GradClip == 0 {
		c.GradClip = 1
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 100
	}
	if c.EvalEpisodes == 0 {
		c.EvalEpisodes = 10
	}
	if c.EvalEvery == 0 {
		c.EvalEvery = c.CheckpointEvery
	}
	if c.Out != "" {
		c.Out = filepath.Clean(c.Out)
		if c.CheckpointDir == "" {
			c.CheckpointDir = c.Out + "-checkpoints"
		}
	}
	if c.Head == model.HeadTokens {
		c.NoState = true
	}
	var err error
	if c.Augment, err = c.Augment.withDefaults(); err != nil {
		return c, fmt.Errorf("finetune: %w", err)
	}
	return c, c.validate()
}

// validate checks a config whose defaults are applied.
func (c *Config) validate() error {
	var errs []error
	if c.Base == "" {
		errs = append(errs, errors.New("no base model directory"))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("no data directory"))
	}
	if c.Out == "" {
		errs = append(errs, errors.New("no output directory"))
	} else if filepath.Clean(c.CheckpointDir) == c.Out {
		errs = append(errs, fmt.Errorf("checkpoint directory %s is the output directory, which saving the final model replaces", c.Out))
	}
	if c.Steps < 0 {
		errs = append(errs, fmt.Errorf("steps %d is negative", c.Steps))
	}
	if c.Batch < 0 {
		errs = append(errs, fmt.Errorf("batch %d is negative", c.Batch))
	}
	if !(c.LR > 0) {
		errs = append(errs, fmt.Errorf("learning rate %g is not positive", c.LR))
	}
	if c.MinLRRatio < 0 || c.MinLRRatio > 1 {
		errs = append(errs, fmt.Errorf("min lr ratio %g is outside [0, 1]", c.MinLRRatio))
	}
	if c.WeightDecay < 0 {
		errs = append(errs, fmt.Errorf("weight decay %g is negative", c.WeightDecay))
	}
	if c.Horizon < 0 {
		errs = append(errs, fmt.Errorf("horizon %d is negative", c.Horizon))
	}
	if c.EvalEpisodes < 0 {
		errs = append(errs, fmt.Errorf("eval episodes %d is negative", c.EvalEpisodes))
	}
	if c.EvalSuite != "" && c.Evaluate == nil {
		errs = append(errs, fmt.Errorf("eval suite %q needs an Evaluate function", c.EvalSuite))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	return nil
}
