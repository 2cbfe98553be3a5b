package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/sim/bench"
	"github.com/vstgo/vst/sim/suite"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Work with the MuJoCo tabletop simulator",
		Long:  `sim groups the simulator's tools; "vla bench" evaluates policies in it.`,
		Example: `  vla sim collect --suite libero_spatial --episodes 50 --out data/libero_spatial_expert
  vla bench --suite libero_spatial --episodes 10`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSimCollectCmd())
	return cmd
}

func newSimCollectCmd() *cobra.Command {
	var (
		cfg       bench.CollectConfig
		inParquet bool
	)
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Record scripted-expert demonstrations as a LeRobot v3 data set",
		Long: `collect runs the suites' scripted experts (planners on privileged simulator state)
from the tasks' fixed initial states and writes the successful episodes as a
LeRobotDataset v3 folder: agentview and wrist frames (mp4 videos, or PNG inside the
parquet files with --images-in-parquet), observation.state (8-D: end-effector position
and axis-angle, two finger positions), action (7-D LIBERO delta end-effector action),
the instruction as the task, 20 frames per second, meta/info.json and meta/stats.json.
Failed episodes are dropped unless --keep-failures. The expert's success table is
printed at the end; "vla finetune" reads the folder.`,
		Example: `  vla sim collect --suite libero_spatial --episodes 50 --out data/libero_spatial_expert
  vla sim collect --suite libero_object --tasks 0,1 --episodes 5 --out /tmp/demo --image-size 224 --workers 4
  vla sim collect --suite libero_spatial --episodes 2 --out /tmp/small --images-in-parquet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if !inParquet {
				cfg.Video = cameraVideo{}
			}
			cfg.Progress = bench.ProgressBar(cmd.ErrOrStderr(), cfg.Suite+" expert")
			res, err := bench.Collect(ctx, cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := res.Result.WriteTable(w); err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote %d episodes (%d frames) of %d to %s\n", res.Kept, res.Frames, res.Result.EpisodeCount, cfg.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Suite, "suite", "", "task suite: libero_spatial, libero_object, libero_goal, libero_10")
	f.IntSliceVar(&cfg.Tasks, "tasks", nil, "task indices to record, e.g. 0,3 (default all)")
	f.IntVar(&cfg.Episodes, "episodes", suite.EpisodesPerTask, "episodes (initial states) per task, at most 50")
	f.StringVar(&cfg.Out, "out", "", "new data set folder")
	f.IntVar(&cfg.ImageSize, "image-size", 128, "camera image width and height")
	f.IntVar(&cfg.Workers, "workers", 0, "episodes run in parallel (default GOMAXPROCS)")
	f.BoolVar(&cfg.KeepFailures, "keep-failures", false, "also record failed episodes (marked unsuccessful)")
	f.BoolVar(&inParquet, "images-in-parquet", false, "store frames as PNG in the parquet files instead of mp4 videos")
	_ = cmd.MarkFlagRequired("suite")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
