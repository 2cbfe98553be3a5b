package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/sim/bench"
)

func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	res, plot, videos := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png"), filepath.Join(dir, "videos")
	out, err := run(t, "", "bench", "--suite", "libero_spatial", "--tasks", "0", "--episodes", "1", "--workers", "1",
		"--image-size", "32", "--json", res, "--plot", plot, "--video-dir", videos)
	require.NoError(t, err)
	assert.Contains(t, out, "1/1")
	assert.Contains(t, out, "100.0%")
	assert.FileExists(t, plot)
	r, err := bench.ReadResult(res)
	require.NoError(t, err)
	require.Len(t, r.Episodes, 1)
	ep := r.Episodes[0]
	frames, fps, err := camera.ReadVideo(filepath.Join(videos, ep.Video), camera.ReadOptions{})
	require.NoError(t, err)
	assert.Len(t, frames, ep.Steps+1)
	assert.Equal(t, [2]int{32, 64}, [2]int{frames[0].H, frames[0].W})
	assert.InDelta(t, 20, fps, 0.01)

	// Two shards with the random policy, then merge.
	var shards []string
	for _, s := range []string{"0/2", "1/2"} {
		path := filepath.Join(dir, "shard"+s[:1]+".json")
		_, err := run(t, "", "bench", "--suite", "libero_spatial", "--tasks", "2", "--episodes", "2", "--policy", "random=7",
			"--no-render", "--shard", s, "--json", path)
		require.NoError(t, err)
		shards = append(shards, path)
	}
	merged := filepath.Join(dir, "merged.json")
	out, err = run(t, "", append([]string{"bench", "merge", "--out", merged}, shards...)...)
	require.NoError(t, err)
	assert.Contains(t, out, "0/2")
	raw, err := os.ReadFile(merged)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, 0.0, m["success_rate"])
	assert.Len(t, m["tasks"], 1)

	_, err = run(t, "", "bench", "merge", "--out", merged, shards[0], shards[0])
	assert.ErrorContains(t, err, "task 2 episode 0 is in results 0 and 1")
}

func TestBenchCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, `required flag(s) "suite" not set`},
		{[]string{"bench", "--suite", "libero_spatial", "--policy", "magic"}, `unknown policy "magic" (known: expert, constant, model, random, server)`},
		{[]string{"bench", "--suite", "libero_spatial", "--policy", "model=/nonexistent/vla"}, "/nonexistent/vla"},
		{[]string{"bench", "--suite", "libero_spatial", "--shard", "2/2"}, "shard 2/2"},
		{[]string{"bench", "--suite", "nope"}, `unknown suite "nope"`},
		{[]string{"bench", "--suite", "libero_spatial", "--tasks", "0", "--episodes", "1", "--policy", "server="}, "server needs a URL"},
		{[]string{"bench", "merge", "--out", "x.json", "missing.json"}, "no such file"},
		{[]string{"bench", "merge", "a.json"}, `required flag(s) "out" not set`},
	} {
		_, err := run(t, "", tc.args...)
		assert.ErrorContains(t, err, tc.want, tc.args)
	}
}

func TestBenchHelp(t *testing.T) {
	for _, sub := range [][]string{{"bench", "--help"}, {"bench", "merge", "--help"}, {"sim", "collect", "--help"}, {"sim", "--help"}} {
		out, err := run(t, "", sub...)
		require.NoError(t, err, sub)
		assert.Contains(t, out, "Examples:", sub)
	}
}

// A shared model policy must not expose Close: bench closes each worker's
// policy when it is done, and the checkpoint is shared by all of them.
func TestSharedModelHasNoClose(t *testing.T) {
	var p policy.Policy = sharedModel{}
	_, ok := p.(io.Closer)
	require.False(t, ok)
}

// TestShippedModel checks the small VLA shipped in models/ (`make
// demo-train` reproduces it): it stays within 10 MB, loads as a policy and
// drives a simulator episode to its end.
func TestShippedModel(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "vla-libero-spatial-small")
	var size int64
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		size += fi.Size()
		return err
	}))
	assert.LessOrEqual(t, size, int64(10_000_000), "the shipped checkpoint must stay within 10 MB")
	res := filepath.Join(t.TempDir(), "r.json")
	out, err := run(t, "", "bench", "--suite", "libero_spatial", "--tasks", "2", "--episodes", "1", "--workers", "1",
		"--policy", "model="+dir, "--replan-steps", "4", "--json", res)
	require.NoError(t, err)
	assert.Contains(t, out, "libero_spatial")
	r, err := bench.ReadResult(res)
	require.NoError(t, err)
	require.Len(t, r.Episodes, 1)
	assert.NotContains(t, r.Episodes[0].Reason, "policy:", "the model must act without errors")
}
