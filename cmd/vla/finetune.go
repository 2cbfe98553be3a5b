package main

import (
	"container/list"
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/bench"
	"github.com/vstgo/vst/sim/suite"
	"github.com/vstgo/vst/vla/finetune"
	"github.com/vstgo/vst/vla/model"
)

func newFinetuneCmd() *cobra.Command {
	var (
		cfg        finetune.Config
		embFile    string
		cacheMB    int
		noAug      bool
		evalSize   int
		evalReplan int
	)
	cmd := &cobra.Command{
		Use:   "finetune",
		Short: "Fine-tune a VLA (LoRA + action head) on demonstrations for an embodiment",
		Long: `finetune trains LoRA adapters and an action head on a Qwen2.5-VL / VST backbone
(--base) from demonstrations (--data) and saves the model to --out, where "vla bench
--policy model=DIR", "vla run" and "vla serve" load it.

--data is a LeRobotDataset v3 folder ("vla sim collect" writes one; mp4 videos are
decoded with OpenCV) or a folder of LIBERO-style parquet files with image bytes. The
action and state sizes and the cameras come from the data; --embodiment checks them
against a robot spec and sets the camera order. Targets are the next --horizon actions
of the episode from each frame (padded with its last action); images get VST's random
crop (0.8-1.0 of the area) and colour jitter.

A progress bar (loss, learning rate, samples/s, ETA) goes to stderr. Every
--checkpoint-every steps, and on Ctrl-C, a checkpoint is written atomically to
OUT-checkpoints/checkpoint-<step> and OUT-checkpoints/latest names it; --resume
continues from it with the same data order and results as an uninterrupted run. The
final model is followed by loss.csv and loss.png in --out. With --eval-suite the model
runs in the simulator every --eval-every steps and at the end, and the success rates
are logged and saved to eval.csv.`,
		Example: `  vla model init --config tiny --out /tmp/tiny
  vla sim collect --suite libero_spatial --episodes 5 --out /tmp/demos
  vla finetune --base /tmp/tiny --data /tmp/demos --out /tmp/vla --steps 2000 --batch 8
  vla finetune --base /tmp/tiny --data /tmp/demos --out /tmp/vla --steps 4000 --resume
  vla finetune --base VST-3B --data libero_spatial_no_noops --embodiment robot/embodiment/examples/panda_sim.yaml \
      --out vla-3b --lora-rank 32 --steps 20000 --eval-suite libero_spatial --eval-episodes 5 --eval-every 2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if embFile != "" {
				spec, err := embodiment.Load(embFile)
				if err != nil {
					return err
				}
				cfg.Embodiment = spec
			}
			if cacheMB < 0 {
				return fmt.Errorf("video cache of %d MB is negative", cacheMB)
			}
			cfg.Video = newVideoFrames(int64(cacheMB) << 20)
			cfg.Augment.Off = noAug
			if cfg.FullFinetune && !cmd.Flags().Changed("lora-rank") {
				cfg.LoRARank = 0 // the model's default: no adapters
			}
			if cfg.EvalSuite != "" {
				cfg.Evaluate = simEvaluator(evalSize, evalReplan)
			}
			cfg.Progress = cmd.ErrOrStderr()
			sum, err := finetune.Train(ctx, cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "trained %d steps on %d frames (%d episodes) in %s, %.2f samples/s\n",
				sum.Steps, sum.Frames, sum.Episodes, sum.Elapsed.Round(1e9), sum.SamplesPerSec)
			if n := len(sum.Losses); n > 0 {
				fmt.Fprintf(w, "loss %.4f (first step %.4f)\n", sum.Losses[n-1], sum.Losses[0])
			}
			for _, e := range sum.Evals {
				fmt.Fprintf(w, "step %6d  %s success %.1f%%\n", e.Step, cfg.EvalSuite, 100*e.SuccessRate)
			}
			fmt.Fprintf(w, "model: %s\nloss curve: %s\nlast checkpoint: %s\n", sum.Model, sum.LossPlot, sum.Checkpoint)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Base, "base", "", "backbone checkpoint directory (Hugging Face Qwen2.5-VL layout with tokenizer.json)")
	f.StringVar(&cfg.Data, "data", "", "training data: LeRobotDataset v3 folder or LIBERO-style parquet folder")
	f.StringVar(&cfg.Out, "out", "", "directory the final model is saved to (replaced as a whole)")
	f.StringVar(&cfg.CheckpointDir, "checkpoint-dir", "", "checkpoint directory (default OUT-checkpoints)")
	f.StringVar(&embFile, "embodiment", "", "robot embodiment spec (.yaml or .json) to check the data against")
	f.StringVar(&cfg.Head, "head", model.HeadChunk, "action head: chunk (parallel H×D chunk, L1) or tokens (VST action tokens)")
	f.IntVar(&cfg.LoRARank, "lora-rank", 8, "LoRA rank of the decoder adapters; -1 trains none")
	f.BoolVar(&cfg.FullFinetune, "full", false, "train every backbone weight (text decoder and vision tower, F32) instead of LoRA adapters: for small backbones trained from scratch")
	f.IntVar(&cfg.Steps, "steps", 1000, "optimizer steps")
	f.IntVar(&cfg.Batch, "batch", 8, "samples per optimizer step (gradients accumulated one sample at a time)")
	f.Float64Var(&cfg.LR, "lr", 5e-4, "peak learning rate (linear warmup, cosine decay)")
	f.IntVar(&cfg.Warmup, "warmup", 0, "warmup steps (default 5% of --steps; -1 none)")
	f.Float64Var(&cfg.WeightDecay, "weight-decay", 0, "AdamW weight decay on matrices")
	f.Float64Var(&cfg.GradClip, "grad-clip", 1, "global gradient norm clip; -1 none")
	f.IntVar(&cfg.Horizon, "horizon", 0, "actions per chunk H (default 8 for the chunk head, 1 for tokens)")
	f.IntVar(&cfg.ImageSize, "image-size", 128, "side camera images are resized to for the backbone")
	f.BoolVar(&cfg.NoState, "no-state", false, "do not feed the proprioceptive state to the chunk head")
	f.BoolVar(&noAug, "no-augment", false, "disable the random crop and colour jitter")
	f.Float64Var(&cfg.Augment.MinScale, "crop-min-scale", 0.8, "smallest fraction of the image area the random crop keeps (1: no crop, colour jitter only); the model centre-crops to the mean at inference")
	f.IntVar(&cfg.CheckpointEvery, "checkpoint-every", 100, "steps between checkpoints; -1 only at the end and on interruption")
	f.BoolVar(&cfg.Resume, "resume", false, "continue from the latest checkpoint (start afresh when there is none)")
	f.StringVar(&cfg.EvalSuite, "eval-suite", "", "simulator suite to evaluate at checkpoints: "+fmt.Sprint(suite.Names()))
	f.IntVar(&cfg.EvalEpisodes, "eval-episodes", 10, "episodes per task of each evaluation")
	f.IntVar(&cfg.EvalEvery, "eval-every", 0, "steps between evaluations (default --checkpoint-every)")
	f.IntVar(&evalSize, "eval-image-size", 128, "camera image size of the simulator during evaluation")
	f.IntVar(&evalReplan, "eval-replan-steps", 0, "actions executed from each chunk during evaluation before asking the model again (default the whole chunk)")
	f.IntVar(&cfg.Workers, "workers", 0, "samples of a batch processed at once, one goroutine each (default: one per core for models under 50M trainable parameters, else 1)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the head initialisation, the data order and the augmentations")
	f.IntVar(&cacheMB, "video-cache-mb", 2048, "memory for decoded data-set videos (training reads frames in random order)")
	for _, name := range []string{"base", "data", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// simEvaluator runs a training model on a simulator suite through
// sim/bench, all its tasks, one worker per CPU.
func simEvaluator(imageSize, replan int) finetune.Evaluator {
	return func(ctx context.Context, pol policy.Policy, suiteName string, episodes int) (float64, error) {
		r, err := bench.Run(ctx, bench.Config{
			Suite: suiteName, Episodes: episodes, ImageSize: imageSize, ReplanSteps: replan,
			NewPolicy: func(*suite.Task, *sim.Env) (policy.Policy, error) { return pol, nil },
		})
		if err != nil {
			return 0, err
		}
		return r.SuccessRate, nil
	}
}

// videoFrames decodes data-set videos with OpenCV and keeps whole decoded
// files in memory up to a byte budget, least recently used out first:
// training visits frames in random order, and decoding a file per frame
// would dominate the run.
type videoFrames struct {
	mu     sync.Mutex
	budget int64
	used   int64
	files  map[string]*list.Element
	lru    list.List // of *videoFile, most recent first
}

type videoFile struct {
	path   string
	frames []policy.Image
	bytes  int64
}

func newVideoFrames(budget int64) *videoFrames {
	return &videoFrames{budget: budget, files: map[string]*list.Element{}}
}

// ReadFrame implements dataset.VideoDecoder.
func (v *videoFrames) ReadFrame(path string, frame int) (policy.Image, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	el, ok := v.files[path]
	if ok {
		v.lru.MoveToFront(el)
	} else {
		frames, _, err := camera.ReadVideo(path, camera.ReadOptions{})
		if err != nil {
			return policy.Image{}, err
		}
		f := &videoFile{path: path, frames: frames}
		for _, im := range frames {
			f.bytes += int64(len(im.Pix))
		}
		el = v.lru.PushFront(f)
		v.files[path] = el
		v.used += f.bytes
		for v.used > v.budget && v.lru.Len() > 1 {
			old := v.lru.Remove(v.lru.Back()).(*videoFile)
			delete(v.files, old.path)
			v.used -= old.bytes
		}
	}
	frames := el.Value.(*videoFile).frames
	if frame < 0 || frame >= len(frames) {
		return policy.Image{}, fmt.Errorf("video %s: frame %d is outside 0..%d", path, frame, len(frames)-1)
	}
	return frames[frame], nil
}
