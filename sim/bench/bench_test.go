package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/suite"
	"github.com/vstgo/vst/vla/dataset"
)

const spatial = "libero_spatial"

// expertRun is a small expert run: task 0 of libero_spatial, 2 episodes.
func expertRun(t *testing.T, workers int, shard Shard) *Result {
	t.Helper()
	r, err := Run(context.Background(), Config{Suite: spatial, Tasks: []int{0}, Episodes: 2, Workers: workers,
		NewPolicy: Expert, NoRender: true, Shard: shard})
	require.NoError(t, err)
	return r
}

func TestRunExpertShardsAndMerge(t *testing.T) {
	full := expertRun(t, 2, Shard{})
	assert.Equal(t, 2, full.Successes)
	assert.Equal(t, 1.0, full.SuccessRate)
	require.Len(t, full.Tasks, 1)
	assert.Equal(t, TaskResult{Task: 0, Name: full.Tasks[0].Name, Instruction: full.Tasks[0].Instruction, Episodes: 2, Successes: 2, SuccessRate: 1}, full.Tasks[0])
	assert.NotEmpty(t, full.Tasks[0].Instruction)
	for i, ep := range full.Episodes {
		assert.Equal(t, i, ep.Episode)
		assert.Empty(t, ep.Reason)
		assert.Positive(t, ep.Steps)
		assert.LessOrEqual(t, ep.Steps, 220)
	}
	assert.Positive(t, full.EnvStepsPerSec)
	assert.Positive(t, full.SimStepsPerSec)
	assert.Equal(t, full.EnvSteps, full.PolicyLatencyMS.Calls) // the expert's chunks are 1 step
	assert.Nil(t, full.Shard)

	// One worker per shard: the second episode runs on a fresh env here,
	// and the same results must come out (determinism per episode).
	a, b := expertRun(t, 1, Shard{0, 2}), expertRun(t, 1, Shard{1, 2})
	require.Len(t, a.Episodes, 1)
	require.Len(t, b.Episodes, 1)
	assert.Equal(t, &Shard{0, 2}, a.Shard)
	m, err := Merge(b, a)
	require.NoError(t, err)
	assert.Equal(t, full.Episodes, m.Episodes)
	assert.Equal(t, full.Tasks, m.Tasks)
	assert.Equal(t, full.SuccessRate, m.SuccessRate)
	assert.InDelta(t, a.EnvStepsPerSec+b.EnvStepsPerSec, m.EnvStepsPerSec, 1e-9)
	assert.Equal(t, 2, m.Workers)
	assert.Nil(t, m.Shard)
}

func TestResultJSONSchema(t *testing.T) {
	r := &Result{Suite: spatial, Episodes: []Episode{{Task: 1, Episode: 0, Success: true, Steps: 90}, {Task: 1, Episode: 1, Steps: 220, Reason: "step limit 220 reached"}}}
	r.summarize(map[int]TaskResult{1: {Name: "t1", Instruction: "do it"}})
	path := filepath.Join(t.TempDir(), "r.json")
	require.NoError(t, r.WriteJSON(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, k := range []string{"suite", "success_rate", "tasks", "env_steps_per_sec"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, spatial, m["suite"])
	assert.Equal(t, 0.5, m["success_rate"])
	tasks := m["tasks"].([]any)
	require.Len(t, tasks, 1)
	task := tasks[0].(map[string]any)
	assert.Equal(t, map[string]any{"task": 1.0, "name": "t1", "instruction": "do it", "episodes": 2.0, "successes": 1.0, "success_rate": 0.5}, task)

	back, err := ReadResult(path)
	require.NoError(t, err)
	assert.Equal(t, r, back)
	_, err = ReadResult(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(path, []byte(`{"x": 1}`), 0o644))
	_, err = ReadResult(path)
	assert.ErrorContains(t, err, "not a benchmark result")
}

func TestMergeErrors(t *testing.T) {
	one := func(suiteName string, task, ep int) *Result {
		return &Result{Suite: suiteName, Episodes: []Episode{{Task: task, Episode: ep}}}
	}
	for _, tc := range []struct {
		name    string
		results []*Result
		want    string
	}{
		{"none", nil, "no results"},
		{"nil", []*Result{one(spatial, 0, 0), nil}, "result 1 is nil"},
		{"suites differ", []*Result{one(spatial, 0, 0), one("libero_object", 0, 1)}, `suite "libero_object"`},
		{"overlap", []*Result{one(spatial, 0, 0), one(spatial, 0, 1), one(spatial, 0, 1)}, "task 0 episode 1 is in results 1 and 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.results...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestShards(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/4", Shard{0, 4}, ""},
		{" 3 / 4 ", Shard{3, 4}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"4/4", Shard{}, "0 ≤ index < count"},
		{"-1/4", Shard{}, "0 ≤ index < count"},
		{"1/0", Shard{}, "0 ≤ index < count"},
		{"3", Shard{}, "not of the form i/n"},
		{"a/b", Shard{}, "not of the form i/n"},
	} {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, strings.ReplaceAll(tc.in, " ", ""), got.String())
	}

	// The shards of a suite partition its (task, episode) list.
	type key struct{ task, ep int }
	_, all, err := plan(spatial, nil, 0, Shard{})
	require.NoError(t, err)
	require.Len(t, all, 500)
	for _, n := range []int{1, 2, 3, 7, 16} {
		seen := map[key]int{}
		for i := range n {
			_, items, err := plan(spatial, nil, 0, Shard{i, n})
			require.NoError(t, err)
			assert.InDelta(t, 500/n, len(items), 1)
			for _, it := range items {
				seen[key{it.task.Index, it.episode}]++
			}
		}
		require.Len(t, seen, 500, n)
		for k, c := range seen {
			require.Equal(t, 1, c, "%d shards: %v", n, k)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Suite: spatial, Tasks: []int{0}, Episodes: 1, NewPolicy: Expert, NoRender: true}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"unknown suite", func(c *Config) { c.Suite = "libero_100" }, `unknown suite "libero_100"`},
		{"task range", func(c *Config) { c.Tasks = []int{10} }, "task 10 outside [0, 10)"},
		{"task twice", func(c *Config) { c.Tasks = []int{1, 1} }, "task 1 listed twice"},
		{"episodes", func(c *Config) { c.Episodes = 51 }, "episodes 51 outside [1, 50]"},
		{"shard", func(c *Config) { c.Shard = Shard{2, 2} }, "shard 2/2"},
		{"policy", func(c *Config) { c.NewPolicy = nil }, "NewPolicy is required"},
		{"replan", func(c *Config) { c.ReplanSteps = -1 }, "replan steps -1"},
		{"image size", func(c *Config) { c.ImageSize = 8 }, "image size 8"},
		{"video writer", func(c *Config) { c.VideoDir = t.TempDir() }, "needs a Video writer"},
		{"video render", func(c *Config) { c.VideoDir, c.Video = t.TempDir(), &fakeVideo{} }, "needs rendering"},
		{"policy build", func(c *Config) {
			c.NewPolicy = func(*suite.Task, *sim.Env) (policy.Policy, error) { return nil, errors.New("no server") }
		}, "task 0: policy: no server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := Run(context.Background(), c)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// badPolicy fails in the ways a model or a server can.
type badPolicy struct {
	chunk *policy.Chunk
	err   error
}

func (p *badPolicy) Spec() policy.Spec { return policy.Spec{Name: "bad"} }

func (p *badPolicy) Act(context.Context, *policy.Observation) (*policy.Chunk, error) {
	return p.chunk, p.err
}

func TestEpisodeFailures(t *testing.T) {
	nan := float32(0)
	nan /= nan
	for _, tc := range []struct {
		name string
		p    policy.Policy
		want string
	}{
		{"act error", &badPolicy{err: errors.New("server went away")}, "policy: server went away"},
		{"bad shape", &badPolicy{chunk: &policy.Chunk{Actions: make([]float32, 5), H: 1, D: 7}}, "policy: action chunk 1x7 needs 7 values, has 5"},
		{"wrong dimension", &badPolicy{chunk: &policy.Chunk{Actions: make([]float32, 6), H: 1, D: 6}}, "policy: actions have 6 dimensions, the environment takes 7"},
		{"nan action", &badPolicy{chunk: &policy.Chunk{Actions: []float32{nan, 0, 0, 0, 0, 0, 0}, H: 1, D: 7}}, "step: sim: action[0] is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(context.Background(), Config{Suite: spatial, Tasks: []int{0}, Episodes: 1, NoRender: true,
				NewPolicy: func(*suite.Task, *sim.Env) (policy.Policy, error) { return tc.p, nil }})
			require.NoError(t, err)
			require.Len(t, r.Episodes, 1)
			assert.False(t, r.Episodes[0].Success)
			assert.Equal(t, tc.want, r.Episodes[0].Reason)
			assert.Zero(t, r.SuccessRate)
		})
	}
}

func TestRandomPolicyFails(t *testing.T) {
	low, high := []float32{-1, -1, -1, -1, -1, -1, -1}, []float32{1, 1, 1, 1, 1, 1, 1}
	var calls []int
	r, err := Run(context.Background(), Config{Suite: spatial, Tasks: []int{3}, Episodes: 2, Workers: 2, NoRender: true, ReplanSteps: 4,
		NewPolicy: func(t *suite.Task, _ *sim.Env) (policy.Policy, error) {
			return policy.NewRandom(low, high, 10, uint64(t.Index))
		},
		Progress: func(p Progress) { calls = append(calls, p.Done) }})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, calls)
	assert.Zero(t, r.Successes)
	for _, ep := range r.Episodes {
		assert.False(t, ep.Success)
		assert.NotEmpty(t, ep.Reason)
		if ep.Reason == "step limit 220 reached" {
			assert.Equal(t, 220, ep.Steps)
		}
	}
	// 4 of every 10-action chunk run, so 55 calls per full episode.
	assert.GreaterOrEqual(t, r.PolicyLatencyMS.Calls, (r.EnvSteps+3)/4)
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Config{Suite: spatial, Tasks: []int{0}, Episodes: 2, NewPolicy: Expert, NoRender: true})
	assert.ErrorIs(t, err, context.Canceled)
}

// fakeVideo records what it is asked to write.
type fakeVideo struct {
	mu     sync.Mutex
	paths  []string
	frames [][]policy.Image
	fps    float64
	err    error
}

func (v *fakeVideo) WriteVideo(path string, frames []policy.Image, fps float64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		return v.err
	}
	v.paths, v.frames, v.fps = append(v.paths, path), append(v.frames, frames), fps
	return os.WriteFile(path, []byte("mp4"), 0o644)
}

func TestVideos(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "videos")
	v := &fakeVideo{}
	r, err := Run(context.Background(), Config{Suite: spatial, Tasks: []int{0}, Episodes: 1, ImageSize: 32,
		NewPolicy: Expert, VideoDir: dir, Video: v})
	require.NoError(t, err)
	require.Len(t, v.paths, 1)
	ep := r.Episodes[0]
	require.True(t, ep.Success)
	assert.Equal(t, "libero_spatial_task00_ep000_success.mp4", ep.Video)
	assert.Equal(t, filepath.Join(dir, ep.Video), v.paths[0])
	assert.FileExists(t, v.paths[0])
	assert.Equal(t, 20.0, v.fps)
	frames := v.frames[0]
	require.Len(t, frames, ep.Steps+1) // the first observation and one per step
	for _, f := range frames {
		require.NoError(t, f.Validate())
		require.Equal(t, [2]int{32, 64}, [2]int{f.H, f.W})
	}
	assert.NotEqual(t, frames[0].Pix, frames[len(frames)-1].Pix, "the arm moved")

	_, err = Run(context.Background(), Config{Suite: spatial, Tasks: []int{0}, Episodes: 1, ImageSize: 32,
		NewPolicy: Expert, VideoDir: dir, Video: &fakeVideo{err: errors.New("disk full")}})
	assert.ErrorContains(t, err, "video of task 0 episode 0: disk full")
}

func TestSideBySide(t *testing.T) {
	a := policy.Image{H: 1, W: 2, Pix: []uint8{1, 1, 1, 2, 2, 2}}
	b := policy.Image{H: 1, W: 1, Pix: []uint8{3, 3, 3}}
	assert.Equal(t, policy.Image{H: 1, W: 3, Pix: []uint8{1, 1, 1, 2, 2, 2, 3, 3, 3}}, sideBySide(a, b))
}

func TestTableAndPlot(t *testing.T) {
	r := &Result{Suite: spatial, EnvStepsPerSec: 321, Workers: 2, Episodes: []Episode{
		{Task: 0, Episode: 0, Success: true, Steps: 100}, {Task: 0, Episode: 1, Success: true, Steps: 110},
		{Task: 2, Episode: 0, Steps: 220}, {Task: 2, Episode: 1, Success: true, Steps: 120}}}
	r.summarize(map[int]TaskResult{0: {Instruction: "first task"}, 2: {Instruction: "third task"}})
	var buf bytes.Buffer
	require.NoError(t, r.WriteTable(&buf))
	out := buf.String()
	for _, want := range []string{"2/2", "100.0%", "first task", "1/2", "50.0%", "3/4", "75.0%", "libero_spatial", "321 steps/s"} {
		assert.Contains(t, out, want)
	}
	path := filepath.Join(t.TempDir(), "plot.png")
	require.NoError(t, r.WritePlot(path))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	im, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, im.Bounds().Dx(), 200)
	assert.Error(t, (&Result{Suite: spatial}).WritePlot(path))
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := ProgressBar(&buf, "libero_spatial")
	bar(Progress{Done: 1, Total: 4, Successes: 1, Steps: 100, Elapsed: 2e9})
	assert.Contains(t, buf.String(), "1/4 episodes, success 100.0%, 50 steps/s, ETA 6s")
	bar(Progress{Done: 2, Total: 4, Successes: 1, Steps: 200, Elapsed: 4e9}) // throttled
	assert.NotContains(t, buf.String(), "2/4")
	bar(Progress{Done: 4, Total: 4, Successes: 3, Steps: 400, Elapsed: 8e9})
	assert.Contains(t, buf.String(), "4/4 episodes, success 75.0%, 50 steps/s, done in 8s \n")
	assert.Zero(t, Progress{Total: 3}.ETA())
}

func TestCollect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demos")
	var last Progress
	res, err := Collect(context.Background(), CollectConfig{Suite: spatial, Tasks: []int{0}, Episodes: 2, Workers: 2,
		Out: dir, ImageSize: 32, Progress: func(p Progress) { last = p }})
	require.NoError(t, err)
	assert.Equal(t, 2, last.Done)
	assert.Equal(t, 2, res.Result.Successes)
	assert.Equal(t, 2, res.Kept)
	d, err := dataset.Open(dir, dataset.ReaderConfig{})
	require.NoError(t, err)
	defer d.Close()
	require.Len(t, d.Episodes, 2)
	assert.Equal(t, res.Frames, d.Len())
	assert.Equal(t, res.Result.EnvSteps, d.Len())
	for i, ep := range d.Episodes {
		assert.Equal(t, res.Result.Episodes[i].Steps, ep.Length)
		assert.True(t, ep.Success)
	}
	s, err := suite.Get(spatial)
	require.NoError(t, err)
	assert.Equal(t, []string{s.Tasks[0].Instruction}, d.Tasks)
	assert.ElementsMatch(t, []string{sim.AgentView, sim.Wrist}, d.Cameras)
	smp, err := d.Sample(d.Len() - 1)
	require.NoError(t, err)
	assert.Len(t, smp.State, 8)
	assert.Len(t, smp.Action, 7)
	assert.Equal(t, 1, smp.EpisodeIndex)
	assert.InDelta(t, float32(smp.FrameIndex)/20, smp.Timestamp, 1e-6)
	im := smp.Images[sim.Wrist]
	assert.Equal(t, [2]int{32, 32}, [2]int{im.H, im.W})
	require.NotNil(t, d.Stats)

	_, err = Collect(context.Background(), CollectConfig{Suite: spatial, Tasks: []int{0}, Episodes: 1, Out: dir})
	assert.ErrorContains(t, err, "already holds a data set")
	_, err = Collect(context.Background(), CollectConfig{Suite: spatial})
	assert.ErrorContains(t, err, "Out is required")
}

func TestEmptyShard(t *testing.T) {
	// 2 episodes in 4 shards: shard 0 gets none.
	r, err := Run(context.Background(), Config{Suite: spatial, Tasks: []int{0}, Episodes: 2, NewPolicy: Expert, NoRender: true, Shard: Shard{0, 4}})
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tasks":[]`)
	assert.Contains(t, string(b), `"episode_results":[]`)
	assert.Zero(t, r.SuccessRate)
}
