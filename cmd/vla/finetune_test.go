package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/dataset"
	"github.com/vstgo/vst/vla/finetune"
	"github.com/vstgo/vst/vla/model"
	"github.com/vstgo/vst/vlm/qwen25vl"
)

// runFinetune executes newFinetuneCmd with args and returns its stdout and
// stderr.
func runFinetune(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newFinetuneCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestFinetuneCommand(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "tiny")
	cfg, err := qwen25vl.Preset("tiny")
	require.NoError(t, err)
	require.NoError(t, qwen25vl.WriteRandomCheckpoint(base, cfg, qwen25vl.RandomOptions{DType: "F32"}))
	require.NoError(t, writeSmallTokenizer(cfg, base))

	data := filepath.Join(tmp, "data")
	w, err := dataset.New(data, dataset.Spec{FPS: 20, StateDim: 8, ActionDim: 7, Cameras: []dataset.Camera{
		{Name: "agentview", Height: 56, Width: 56}, {Name: "wrist", Height: 56, Width: 56}}}, dataset.WriterConfig{ImagesInParquet: true})
	require.NoError(t, err)
	for e := range 2 {
		for i := range 5 {
			im := policy.Image{H: 56, W: 56, Pix: bytes.Repeat([]byte{byte(40 * i), byte(100 + e), 7}, 56*56)}
			require.NoError(t, w.AddFrame(dataset.Frame{
				Images: map[string]policy.Image{"agentview": im, "wrist": im},
				State:  make([]float32, 8), Action: []float32{float32(i) / 5, 0, 0, 0, 0, 0, float32(e)},
				Timestamp: float32(i) / 20, Task: "put the bowl on the plate",
			}))
		}
		require.NoError(t, w.EndEpisode(true))
	}
	require.NoError(t, w.Close())

	out := filepath.Join(tmp, "vla")
	args := []string{"--base", base, "--data", data, "--out", out, "--embodiment", "../../robot/embodiment/examples/panda_sim.yaml",
		"--steps", "4", "--batch", "2", "--lr", "1e-3", "--horizon", "3", "--image-size", "56", "--lora-rank", "2", "--checkpoint-every", "2", "--seed", "3"}
	stdout, stderr, err := runFinetune(t, args...)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "trained 4 steps on 10 frames (2 episodes)")
	assert.Contains(t, stdout, "loss curve: "+filepath.Join(out, finetune.LossPlot))
	assert.Contains(t, stderr, "step 4/4")
	assert.Contains(t, stderr, "checkpoint-2")
	v, err := model.Load(out)
	require.NoError(t, err)
	assert.Equal(t, 3, v.Config().Horizon)
	assert.Equal(t, []string{"agentview", "wrist"}, v.Config().Cameras)
	require.NoError(t, v.Close())
	assert.FileExists(t, filepath.Join(out+"-checkpoints", "checkpoint-4", finetune.StateFile))

	// Again without --resume: refused; with it and more steps: continues.
	_, _, err = runFinetune(t, args...)
	require.ErrorContains(t, err, "already holds a run")
	stdout, stderr, err = runFinetune(t, append(args[:len(args):len(args)], "--resume", "--steps", "6")...)
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "resumed from")
	assert.Contains(t, stdout, "trained 6 steps")

	// --full trains the whole backbone without adapters (the default
	// --lora-rank is dropped; an explicit one is refused).
	full := filepath.Join(tmp, "vla-full")
	fullArgs := []string{"--base", base, "--data", data, "--out", full, "--full", "--steps", "2", "--batch", "2", "--horizon", "3", "--image-size", "56"}
	_, stderr, err = runFinetune(t, fullArgs...)
	require.NoError(t, err, stderr)
	v, err = model.Load(full)
	require.NoError(t, err)
	assert.True(t, v.Config().FullFinetune)
	assert.Equal(t, model.NoLoRA, v.Config().LoRARank)
	require.NoError(t, v.Close())

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"full with lora", []string{"--base", base, "--data", data, "--out", filepath.Join(tmp, "x"), "--full", "--lora-rank", "4"}, "lora rank 4"},
		{"missing flags", []string{"--base", base}, `required flag(s) "data", "out" not set`},
		{"bad embodiment", []string{"--base", base, "--data", data, "--out", filepath.Join(tmp, "x"), "--embodiment", filepath.Join(tmp, "none.yaml")}, "no such file"},
		{"bad head", []string{"--base", base, "--data", data, "--out", filepath.Join(tmp, "x"), "--head", "mlp"}, `head "mlp"`},
		{"bad cache", []string{"--base", base, "--data", data, "--out", filepath.Join(tmp, "x"), "--video-cache-mb", "-1"}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runFinetune(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err = os.Stat(filepath.Join(tmp, "x"))
	assert.True(t, os.IsNotExist(err), "failed runs write no model")

	help, _, err := runFinetune(t, "--help")
	require.NoError(t, err)
	for _, want := range []string{"Examples:", "--resume", "--eval-suite", "--lora-rank", "--full", "--checkpoint-every"} {
		assert.Contains(t, help, want)
	}
}
