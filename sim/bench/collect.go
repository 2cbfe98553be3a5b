package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/vla/dataset"
)

// CollectConfig configures Collect.
type CollectConfig struct {
	// Suite names the task suite. Required.
	Suite string
	// Tasks are the indices of the tasks to record. It defaults to all.
	Tasks []int
	// Episodes is the number of expert episodes per task. It defaults to
	// suite.EpisodesPerTask (50), the most there are.
	Episodes int
	// Workers is the number of episodes run in parallel. It defaults to
	// GOMAXPROCS.
	Workers int
	// Out is the new data set's folder. Required.
	Out string
	// ImageSize is the width and height of both cameras' frames. It
	// defaults to 128.
	ImageSize int
	// KeepFailures also records the episodes the expert failed (marked
	// unsuccessful in the episodes table). It defaults to false: they are
	// dropped.
	KeepFailures bool
	// Video encodes the camera streams as mp4 files. It defaults to nil:
	// frames are stored as PNG images inside the parquet data files.
	Video dataset.VideoEncoder
	// Progress, when set, is called after every episode from one
	// goroutine (see ProgressBar). It defaults to nil.
	Progress func(Progress)
}

// CollectResult reports a collection run.
type CollectResult struct {
	// Result is the expert's benchmark result over every episode run.
	Result *Result
	// Kept is the number of episodes written; Frames their total frames.
	Kept int
	// Frames is the total number of frames written.
	Frames int
}

// StateNames and ActionNames name the dimensions of the recorded
// observation.state (sim.Obs.State) and action (LIBERO's OSC deltas).
var (
	StateNames  = []string{"eef_x", "eef_y", "eef_z", "eef_rx", "eef_ry", "eef_rz", "gripper_left", "gripper_right"}
	ActionNames = []string{"dx", "dy", "dz", "drx", "dry", "drz", "gripper"}
)

// Collect runs the scripted expert on the configured episodes and writes
// them as a LeRobot v3 data set in cfg.Out: agent-view and wrist frames,
// the 8-D state, the 7-D action and the task instruction per frame, at 20
// frames per second, one data-set episode per successful simulator episode
// (failures too with KeepFailures), in task then episode order whatever
// the number of workers. Memory: a few episodes' frames per worker. When
// the run stops early (an error, a cancelled ctx) the data set is closed
// with the episodes written so far.
func Collect(ctx context.Context, cfg CollectConfig) (*CollectResult, error) {
	if cfg.Out == "" {
		return nil, errors.New("bench: collect: Out is required")
	}
	s, items, err := plan(cfg.Suite, cfg.Tasks, cfg.Episodes, Shard{})
	if err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	envCfg, err := envConfig(cfg.ImageSize, false)
	if err != nil {
		return nil, err
	}
	cams := []dataset.Camera{
		{Name: sim.AgentView, Height: envCfg.Height, Width: envCfg.Width},
		{Name: sim.Wrist, Height: envCfg.Height, Width: envCfg.Width},
	}
	w, err := dataset.New(cfg.Out, dataset.Spec{FPS: controlHz, RobotType: "panda", StateDim: 8, ActionDim: 7,
		StateNames: StateNames, ActionNames: ActionNames, Cameras: cams},
		dataset.WriterConfig{Video: cfg.Video, ImagesInParquet: cfg.Video == nil})
	if err != nil {
		return nil, fmt.Errorf("bench: collect: %w", err)
	}
	e := &engine{items: items, workers: cfg.Workers, env: envCfg, newPolicy: Expert, record: true}
	res := &CollectResult{}
	t := newTally(len(items), cfg.Progress)
	// Episodes finish out of order; write them in item order.
	pending := map[int]*outcome{}
	next := 0
	err = e.run(ctx, func(o *outcome) error {
		t.add(o)
		pending[o.seq] = o
		for ; pending[next] != nil; next++ {
			o := pending[next]
			delete(pending, next)
			if o.traj == nil || len(o.traj.actions) == 0 || (!o.ep.Success && !cfg.KeepFailures) {
				continue
			}
			if err := writeEpisode(w, o); err != nil {
				return err
			}
			res.Kept++
			res.Frames += len(o.traj.actions)
		}
		return nil
	})
	if err != nil {
		// Keep what was written: every recorded episode is complete.
		if cerr := w.Close(); cerr != nil {
			return nil, errors.Join(err, fmt.Errorf("bench: collect: %w", cerr))
		}
		return nil, fmt.Errorf("%w (the data set keeps the %d episodes written before)", err, res.Kept)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("bench: collect: %w", err)
	}
	res.Result = t.result(s, min(cfg.Workers, len(items)))
	return res, nil
}

// writeEpisode records an episode's (observation, action) pairs.
func writeEpisode(w *dataset.Writer, o *outcome) error {
	for i, a := range o.traj.actions {
		obs := o.traj.obs[i]
		f := dataset.Frame{
			Images:    map[string]dataset.RGB{sim.AgentView: obs.Images[sim.AgentView], sim.Wrist: obs.Images[sim.Wrist]},
			State:     obs.State(),
			Action:    a,
			Timestamp: float32(i) / controlHz,
			Task:      o.task.Instruction,
		}
		if err := w.AddFrame(f); err != nil {
			w.DiscardEpisode()
			return fmt.Errorf("bench: collect: task %d episode %d: %w", o.ep.Task, o.ep.Episode, err)
		}
	}
	if err := w.EndEpisode(o.ep.Success); err != nil {
		return fmt.Errorf("bench: collect: task %d episode %d: %w", o.ep.Task, o.ep.Episode, err)
	}
	return nil
}
