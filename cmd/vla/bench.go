package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/bench"
	"github.com/vstgo/vst/sim/suite"
)

// cameraVideo encodes rollout and data-set videos through OpenCV.
type cameraVideo struct{}

// WriteVideo implements bench.VideoWriter and dataset.VideoEncoder.
func (cameraVideo) WriteVideo(path string, frames []policy.Image, fps float64) error {
	return camera.WriteVideo(path, frames, fps)
}

// benchPolicy turns a --policy spec into the factory the workers call:
// "expert" is the suites' scripted expert, anything else goes through
// policyRegistry and is built once per worker and task (a server=ws://…
// policy opens one connection per worker).
func benchPolicy(ctx context.Context, spec, token string, opts policy.BuildOptions) (bench.PolicyFactory, error) {
	if spec == "expert" {
		return bench.Expert, nil
	}
	reg := policyRegistry(token)
	kind, _, _ := strings.Cut(spec, "=")
	if !slices.Contains(reg.Kinds(), kind) {
		return nil, fmt.Errorf("unknown policy %q (known: expert, %s)", kind, strings.Join(reg.Kinds(), ", "))
	}
	return func(*suite.Task, *sim.Env) (policy.Policy, error) { return reg.Build(ctx, spec, opts) }, nil
}

func newBenchCmd() *cobra.Command {
	var (
		cfg                    bench.Config
		spec, token            string
		jsonOut, plotOut, shrd string
		opts                   policy.BuildOptions
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Evaluate a policy on a simulated LIBERO task suite",
		Long: `bench runs a policy on the simulator's LIBERO-style suites (libero_spatial,
libero_object, libero_goal, libero_10) with LIBERO's protocol: each episode starts from
the task's fixed initial state number k (after 10 settle steps), the policy acts until
the goal holds or the suite's step limit (220/280/300/520) is reached. Policy errors
and simulator instabilities end an episode as a failure with the reason recorded.

Episodes run in parallel workers, each with its own simulator. The per-task and
per-suite success table goes to stdout, a progress bar to stderr; --json saves the
result (suite, success_rate, tasks[], env_steps_per_sec, per-episode details, policy
latency), --plot a bar chart, --video-dir one mp4 per episode (agent view | wrist).

--shard i/n runs the i-th of n contiguous slices of the (task, episode) list, e.g.
one per pod of a Kubernetes indexed Job (--shard $JOB_COMPLETION_INDEX/n); join the
JSON files with "vla bench merge".

Policies: expert (scripted, privileged state), random[=SEED], constant[=v1,…],
server=ws://host:port (an openpi-protocol policy server), model=DIR (a VLA checkpoint).`,
		Example: `  vla bench --suite libero_spatial --episodes 10 --policy expert --workers 2
  vla bench --suite libero_object --tasks 0,3 --episodes 5 --policy random --no-render
  vla bench --suite libero_spatial --policy server=ws://gpu-box:8000 --replan-steps 5 \
      --image-size 224 --json spatial.json --plot spatial.png --video-dir rollouts/
  vla bench --suite libero_spatial --shard 0/4 --json shard0.json   # one of four pods
  vla bench merge --out spatial.json shard0.json shard1.json shard2.json shard3.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var err error
			if shrd != "" {
				if cfg.Shard, err = bench.ParseShard(shrd); err != nil {
					return err
				}
			}
			if cfg.NewPolicy, err = benchPolicy(ctx, spec, token, opts); err != nil {
				return err
			}
			if cfg.VideoDir != "" {
				cfg.Video = cameraVideo{}
			}
			label := cfg.Suite
			if cfg.Shard.Count > 1 {
				label += " shard " + cfg.Shard.String()
			}
			cfg.Progress = bench.ProgressBar(cmd.ErrOrStderr(), label)
			r, err := bench.Run(ctx, cfg)
			if err != nil {
				return err
			}
			return report(cmd.OutOrStdout(), r, jsonOut, plotOut)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Suite, "suite", "", "task suite: "+strings.Join(suite.Names(), ", "))
	f.IntSliceVar(&cfg.Tasks, "tasks", nil, "task indices to run, e.g. 0,3 (default all)")
	f.IntVar(&cfg.Episodes, "episodes", suite.EpisodesPerTask, "episodes (initial states) per task, at most 50")
	f.StringVar(&spec, "policy", "expert", "policy: expert, random[=SEED], constant[=v1,…], server=ws://host:port, model=DIR")
	f.IntVar(&cfg.Workers, "workers", 0, "episodes run in parallel (default GOMAXPROCS)")
	f.IntVar(&cfg.ReplanSteps, "replan-steps", 0, "actions executed from each chunk before asking the policy again (default the whole chunk)")
	f.IntVar(&cfg.ImageSize, "image-size", 128, "camera image width and height")
	f.BoolVar(&cfg.NoRender, "no-render", false, "skip rendering (policies that read no images)")
	f.StringVar(&shrd, "shard", "", "run shard i of n of the (task, episode) list, as i/n")
	f.StringVar(&jsonOut, "json", "", "write the result as JSON to this file")
	f.StringVar(&plotOut, "plot", "", "write a success-rate bar chart to this PNG file")
	f.StringVar(&cfg.VideoDir, "video-dir", "", "write one mp4 per episode into this folder")
	f.StringVar(&token, "token", "", "bearer token for a server=ws://… policy")
	f.IntVar(&opts.Horizon, "horizon", 8, "action chunk length of constant and random policies")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the random policy")
	_ = cmd.MarkFlagRequired("suite")
	cmd.AddCommand(newBenchMergeCmd())
	return cmd
}

// report prints a result's table and writes its JSON and plot files.
func report(w io.Writer, r *bench.Result, jsonOut, plotOut string) error {
	if err := r.WriteTable(w); err != nil {
		return err
	}
	if jsonOut != "" {
		if err := r.WriteJSON(jsonOut); err != nil {
			return err
		}
		fmt.Fprintln(w, "wrote", jsonOut)
	}
	if plotOut != "" {
		if err := r.WritePlot(plotOut); err != nil {
			return err
		}
		fmt.Fprintln(w, "wrote", plotOut)
	}
	return nil
}

func newBenchMergeCmd() *cobra.Command {
	var out, plotOut string
	cmd := &cobra.Command{
		Use:   "merge --out FILE RESULT.json…",
		Short: "Join the JSON results of benchmark shards",
		Long: `merge joins the JSON results of "vla bench --shard i/n" runs of one suite into one
result, recomputing the per-task and per-suite success rates from the episodes, and
prints its table. It fails when the results are of different suites or share an
episode.`,
		Example: `  vla bench merge --out spatial.json shard0.json shard1.json shard2.json shard3.json
  vla bench merge --out spatial.json --plot spatial.png results/*.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []*bench.Result
			for _, path := range args {
				r, err := bench.ReadResult(path)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			m, err := bench.Merge(rs...)
			if err != nil {
				return err
			}
			return report(cmd.OutOrStdout(), m, out, plotOut)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the merged result to this JSON file (required)")
	cmd.Flags().StringVar(&plotOut, "plot", "", "write a success-rate bar chart to this PNG file")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
