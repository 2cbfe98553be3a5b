// Package bench evaluates policies on the simulator's LIBERO-style task
// suites (package sim/suite) the way LIBERO, OpenVLA and openpi do: each
// (task, episode) pair starts from the task's fixed initial state number
// episode, the policy acts until the goal holds or the suite's step limit
// is reached, and the success rate is counted per task and per suite.
// Episodes run in parallel worker goroutines, each owning its simulator
// environments; a Shard selects a deterministic slice of the (task,
// episode) list so that a cluster can split a suite, and Merge joins the
// shards' results. Results print as a text table, save as JSON and plot as
// a PNG bar chart; rollouts can be saved as mp4 videos. Collect runs the
// scripted experts and writes their demonstrations as a LeRobot v3 data
// set.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/suite"
)

// controlHz is the simulator's control rate (sim.Config's default), the
// frame rate of videos and data sets.
const controlHz = 20

// PolicyFactory builds the policy a worker runs on one task's environment.
// Scripted experts read env's privileged state; other policies ignore both
// arguments. A worker calls it once per task it runs and keeps the policy
// for that task's episodes, calling policy.Resetter's Reset before each;
// policies that implement io.Closer are closed when the worker is done
// with the task.
type PolicyFactory func(task *suite.Task, env *sim.Env) (policy.Policy, error)

// Expert is the PolicyFactory of the suites' scripted experts.
func Expert(task *suite.Task, env *sim.Env) (policy.Policy, error) {
	return suite.NewExpert(task, env), nil
}

// VideoWriter encodes RGB frames of one size as a video file (mp4 at path,
// fps frames per second). robot/camera's WriteVideo implements it.
type VideoWriter interface {
	WriteVideo(path string, frames []policy.Image, fps float64) error
}

// Shard selects part of a run's (task, episode) list: the list, in task
// then episode order, is cut into Count contiguous slices of nearly equal
// length and shard Index (0-based) runs slice Index. The zero Shard runs
// everything.
type Shard struct {
	// Index is the shard's number, in [0, Count).
	Index int `json:"index"`
	// Count is the number of shards; 0 and 1 mean no sharding.
	Count int `json:"count"`
}

// ParseShard parses "i/n" (e.g. "0/4", the first of four shards).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q is not of the form i/n", s)
	}
	sh := Shard{Index: i, Count: n}
	return sh, sh.validate()
}

// String formats the shard as "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

func (s Shard) validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Count > 0 && s.Index >= s.Count) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("shard %d/%d: need 0 ≤ index < count", s.Index, s.Count)
	}
	return nil
}

// slice returns the shard's part of n items, [from, to).
func (s Shard) slice(n int) (from, to int) {
	if s.Count <= 1 {
		return 0, n
	}
	return s.Index * n / s.Count, (s.Index + 1) * n / s.Count
}

// Config configures Run.
type Config struct {
	// Suite names the task suite (suite.Names). Required.
	Suite string
	// Tasks are the indices of the tasks to run. It defaults to all of the
	// suite's tasks.
	Tasks []int
	// Episodes is the number of episodes per task (initial states 0 to
	// Episodes−1). It defaults to suite.EpisodesPerTask (50), the most
	// there are.
	Episodes int
	// Workers is the number of episodes run in parallel, each worker with
	// its own environment. It defaults to GOMAXPROCS.
	Workers int
	// NewPolicy builds the policy of each worker and task. Required.
	NewPolicy PolicyFactory
	// ReplanSteps is the number of actions executed from each chunk before
	// the policy is asked again (openpi's replan_steps). It defaults to 0:
	// the whole chunk.
	ReplanSteps int
	// Shard selects the part of the (task, episode) list to run. It
	// defaults to the zero Shard: everything.
	Shard Shard
	// ImageSize is the width and height of the camera images. It defaults
	// to 128.
	ImageSize int
	// NoRender skips rendering, for policies that read no images (the
	// experts, random). It defaults to false.
	NoRender bool
	// VideoDir, when set, receives one mp4 per episode with the agent-view
	// and wrist frames side by side, named
	// <suite>_task<TT>_ep<EEE>_<success|failure>.mp4. It defaults to ""
	// (no videos).
	VideoDir string
	// Video encodes the videos; required with VideoDir.
	Video VideoWriter
	// Progress, when set, is called after every episode from one
	// goroutine (see ProgressBar). It defaults to nil.
	Progress func(Progress)
}

// Progress is a run's state after an episode.
type Progress struct {
	// Done is the number of finished episodes, Total the number to run.
	Done, Total int
	// Successes counts the successful episodes so far.
	Successes int
	// Steps counts the environment steps so far.
	Steps int
	// Elapsed is the time since the run started.
	Elapsed time.Duration
}

// item is one (task, episode) pair of a run, seq its position in the run.
type item struct {
	task    *suite.Task
	episode int
	seq     int
}

// plan checks the selection and lists the run's items in task then episode
// order, restricted to the shard.
func plan(name string, tasks []int, episodes int, shard Shard) (*suite.Suite, []item, error) {
	s, err := suite.Get(name)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	if len(tasks) == 0 {
		for i := range s.Tasks {
			tasks = append(tasks, i)
		}
	}
	seen := map[int]bool{}
	for _, t := range tasks {
		if t < 0 || t >= len(s.Tasks) {
			return nil, nil, fmt.Errorf("bench: task %d outside [0, %d) of suite %s", t, len(s.Tasks), name)
		}
		if seen[t] {
			return nil, nil, fmt.Errorf("bench: task %d listed twice", t)
		}
		seen[t] = true
	}
	if episodes == 0 {
		episodes = suite.EpisodesPerTask
	}
	if episodes < 0 || episodes > suite.EpisodesPerTask {
		return nil, nil, fmt.Errorf("bench: episodes %d outside [1, %d]", episodes, suite.EpisodesPerTask)
	}
	if err := shard.validate(); err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	sorted := slices.Clone(tasks)
	slices.Sort(sorted)
	var all []item
	for _, t := range sorted {
		for ep := range episodes {
			all = append(all, item{task: s.Tasks[t], episode: ep})
		}
	}
	from, to := shard.slice(len(all))
	items := all[from:to]
	for i := range items {
		items[i].seq = i
	}
	return s, items, nil
}

// trajectory is an episode's observations and actions: obs[i] was seen
// before actions[i]; obs has one more entry, the final observation.
type trajectory struct {
	obs     []*sim.Obs
	actions [][]float32
}

// outcome is one finished episode.
type outcome struct {
	seq       int
	task      *suite.Task
	ep        Episode
	traj      *trajectory // only when the engine records
	latencies []float64   // policy call times in ms
	stepTime  time.Duration
}

// engine runs items on a pool of workers.
type engine struct {
	items     []item
	workers   int
	env       sim.Config
	newPolicy PolicyFactory
	replan    int
	record    bool
	// after runs on the worker goroutine once an episode is over (video
	// writing); it may be nil.
	after func(o *outcome) error
}

// run runs every item and hands each outcome to sink on the calling
// goroutine, in completion order. The first error (from a worker, after or
// sink) stops the run.
func (e *engine) run(ctx context.Context, sink func(*outcome) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan item)
	results := make(chan *outcome)
	var wg sync.WaitGroup
	workers := max(1, min(e.workers, len(e.items)))
	for range workers {
		wg.Go(func() {
			if err := e.worker(ctx, work, results); err != nil {
				cancel(err)
			}
		})
	}
	go func() {
		defer close(work)
		for _, it := range e.items {
			select {
			case work <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	for o := range results {
		if ctx.Err() != nil {
			continue // drain
		}
		if err := sink(o); err != nil {
			cancel(err)
		}
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// worker runs items until work is closed, keeping one task's environment
// and policy at a time.
func (e *engine) worker(ctx context.Context, work <-chan item, results chan<- *outcome) error {
	var (
		cur *suite.Task
		env *sim.Env
		pol policy.Policy
	)
	release := func() {
		if c, ok := pol.(io.Closer); ok {
			c.Close()
		}
		if env != nil {
			env.Close()
		}
		cur, env, pol = nil, nil, nil
	}
	defer release()
	for it := range work {
		if it.task != cur {
			release()
			var err error
			if env, err = it.task.NewEnv(ctx, e.env); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			cur = it.task
			if pol, err = e.newPolicy(it.task, env); err != nil {
				return fmt.Errorf("bench: task %d: policy: %w", it.task.Index, err)
			}
		}
		o, err := e.episode(ctx, it, env, pol)
		if err != nil {
			return err
		}
		if e.after != nil {
			if err := e.after(o); err != nil {
				return err
			}
		}
		select {
		case results <- o:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// episode runs one episode. Policy, reset and simulator failures end it
// as a failure with a reason; only a cancelled context is an error.
func (e *engine) episode(ctx context.Context, it item, env *sim.Env, pol policy.Policy) (*outcome, error) {
	t := it.task
	o := &outcome{seq: it.seq, task: t, ep: Episode{Task: t.Index, Episode: it.episode}}
	obs, err := t.Reset(env, it.episode)
	if err != nil {
		o.ep.Reason = "reset: " + err.Error()
		return o, nil
	}
	if r, ok := pol.(policy.Resetter); ok {
		r.Reset()
	}
	if e.record {
		o.traj = &trajectory{obs: []*sim.Obs{obs}}
	}
	dim := env.ActionDim()
	for o.ep.Steps < t.MaxSteps {
		start := time.Now()
		c, err := pol.Act(ctx, obs.Policy(t.Instruction))
		o.latencies = append(o.latencies, float64(time.Since(start))/1e6)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if err == nil {
			err = c.Validate()
		}
		if err == nil && c.D != dim {
			err = fmt.Errorf("actions have %d dimensions, the environment takes %d", c.D, dim)
		}
		if err != nil {
			o.ep.Reason = "policy: " + err.Error()
			return o, nil
		}
		n := c.H
		if e.replan > 0 {
			n = min(n, e.replan)
		}
		for i := range n {
			a := c.Action(i)
			start := time.Now()
			next, info, err := env.Step(a)
			o.stepTime += time.Since(start)
			if err != nil {
				o.ep.Reason = "step: " + err.Error()
				return o, nil
			}
			o.ep.Steps++
			obs = next
			if o.traj != nil {
				o.traj.obs = append(o.traj.obs, obs)
				o.traj.actions = append(o.traj.actions, slices.Clone(a))
			}
			if info.Done {
				o.ep.Success = info.Success
				switch {
				case info.Failure != "":
					o.ep.Reason = info.Failure
				case !info.Success:
					o.ep.Reason = fmt.Sprintf("step limit %d reached", t.MaxSteps)
				}
				return o, nil
			}
		}
	}
	o.ep.Reason = fmt.Sprintf("step limit %d reached", t.MaxSteps)
	return o, nil
}

// envConfig is the environments' configuration for an image size.
func envConfig(size int, noRender bool) (sim.Config, error) {
	if size == 0 {
		size = 128
	}
	if size < 16 || size > 512 {
		return sim.Config{}, fmt.Errorf("bench: image size %d outside [16, 512]", size)
	}
	return sim.Config{Width: size, Height: size, NoRender: noRender}, nil
}

// Run evaluates a policy on the configured episodes and returns the
// result. Episode failures (policy errors, simulator instabilities, the
// step limit) are results, not errors; errors are bad configuration,
// environments or policies that cannot be built, video write failures and
// a cancelled ctx.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	s, items, err := plan(cfg.Suite, cfg.Tasks, cfg.Episodes, cfg.Shard)
	if err != nil {
		return nil, err
	}
	if cfg.NewPolicy == nil {
		return nil, errors.New("bench: config: NewPolicy is required")
	}
	if cfg.ReplanSteps < 0 {
		return nil, fmt.Errorf("bench: config: replan steps %d is negative", cfg.ReplanSteps)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	envCfg, err := envConfig(cfg.ImageSize, cfg.NoRender)
	if err != nil {
		return nil, err
	}
	e := &engine{items: items, workers: cfg.Workers, env: envCfg, newPolicy: cfg.NewPolicy, replan: cfg.ReplanSteps}
	if cfg.VideoDir != "" {
		switch {
		case cfg.Video == nil:
			return nil, errors.New("bench: config: VideoDir needs a Video writer")
		case cfg.NoRender:
			return nil, errors.New("bench: config: VideoDir needs rendering (NoRender is set)")
		}
		if err := os.MkdirAll(cfg.VideoDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		e.record = true
		e.after = func(o *outcome) error { return writeVideo(cfg.VideoDir, s.Name, cfg.Video, o) }
	}
	t := newTally(len(items), cfg.Progress)
	if err := e.run(ctx, func(o *outcome) error { t.add(o); return nil }); err != nil {
		return nil, err
	}
	r := t.result(s, min(cfg.Workers, len(items)))
	if cfg.Shard.Count > 1 {
		sh := cfg.Shard
		r.Shard = &sh
	}
	return r, nil
}

// tally accumulates a run's outcomes.
type tally struct {
	p         Progress
	start     time.Time
	progress  func(Progress)
	eps       []Episode
	latencies []float64
	stepTime  time.Duration
}

func newTally(total int, progress func(Progress)) *tally {
	return &tally{p: Progress{Total: total}, start: time.Now(), progress: progress}
}

// add counts an outcome and reports progress.
func (t *tally) add(o *outcome) {
	t.eps = append(t.eps, o.ep)
	t.latencies = append(t.latencies, o.latencies...)
	t.stepTime += o.stepTime
	t.p.Done++
	t.p.Steps += o.ep.Steps
	if o.ep.Success {
		t.p.Successes++
	}
	t.p.Elapsed = time.Since(t.start)
	if t.progress != nil {
		t.progress(t.p)
	}
}

// result summarizes the run so far.
func (t *tally) result(s *suite.Suite, workers int) *Result {
	elapsed := time.Since(t.start)
	r := &Result{Suite: s.Name, Workers: workers, ElapsedSec: elapsed.Seconds(),
		PolicyLatencyMS: latencyOf(t.latencies), Episodes: t.eps}
	if elapsed > 0 {
		r.EnvStepsPerSec = float64(t.p.Steps) / elapsed.Seconds()
	}
	if t.stepTime > 0 {
		r.SimStepsPerSec = float64(t.p.Steps) / t.stepTime.Seconds()
	}
	r.summarize(taskInfo(s))
	return r
}

// taskInfo lists a suite's tasks as empty TaskResults by index.
func taskInfo(s *suite.Suite) map[int]TaskResult {
	m := make(map[int]TaskResult, len(s.Tasks))
	for _, t := range s.Tasks {
		m[t.Index] = TaskResult{Task: t.Index, Name: t.Name, Instruction: t.Instruction}
	}
	return m
}

// videoName is the file name of an episode's video.
func videoName(suiteName string, ep Episode) string {
	res := "failure"
	if ep.Success {
		res = "success"
	}
	return fmt.Sprintf("%s_task%02d_ep%03d_%s.mp4", suiteName, ep.Task, ep.Episode, res)
}

// writeVideo writes an episode's frames, agent view left and wrist right,
// and records the file name in o.
func writeVideo(dir, suiteName string, vw VideoWriter, o *outcome) error {
	frames := make([]policy.Image, 0, len(o.traj.obs))
	for _, obs := range o.traj.obs {
		frames = append(frames, sideBySide(obs.Images[sim.AgentView], obs.Images[sim.Wrist]))
	}
	name := videoName(suiteName, o.ep)
	if err := vw.WriteVideo(filepath.Join(dir, name), frames, controlHz); err != nil {
		return fmt.Errorf("bench: video of task %d episode %d: %w", o.ep.Task, o.ep.Episode, err)
	}
	o.ep.Video = name
	return nil
}

// sideBySide joins two images of the same height horizontally.
func sideBySide(a, b policy.Image) policy.Image {
	out := policy.Image{H: a.H, W: a.W + b.W, Pix: make([]uint8, 3*a.H*(a.W+b.W))}
	for y := range a.H {
		row := out.Pix[3*y*out.W:]
		copy(row, a.Pix[3*y*a.W:3*(y+1)*a.W])
		copy(row[3*a.W:], b.Pix[3*y*b.W:3*(y+1)*b.W])
	}
	return out
}

// percentile returns the q-quantile (0..1) of sorted values, nearest rank.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// latencyOf summarizes policy call times in milliseconds.
func latencyOf(ms []float64) Latency {
	sort.Float64s(ms)
	return Latency{Calls: len(ms), P50: percentile(ms, 0.5), P99: percentile(ms, 0.99)}
}
