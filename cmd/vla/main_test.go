package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
)

// run executes the vla command tree in-process with args and returns its
// standard output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const golden = "../../vlm/qwen25vl/testdata/tiny"

func TestVersionAndHelp(t *testing.T) {
	out, err := run(t, "", "version")
	require.NoError(t, err)
	require.Contains(t, out, "vla dev")
	for _, sub := range [][]string{{"--help"}, {"model", "init", "--help"}, {"model", "forward", "--help"}, {"model", "bench", "--help"}, {"chat", "--help"}, {"tokenize", "--help"}, {"bench-engine", "--help"}} {
		out, err := run(t, "", sub...)
		require.NoError(t, err, sub)
		require.Contains(t, out, "Usage:", sub)
		if len(sub) > 1 || sub[0] != "--help" {
			require.Contains(t, out, "Examples:", sub)
		}
	}
}

func TestModelForwardMatchesHF(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "", "model", "forward", "--model", golden, "--out", filepath.Join(dir, "l.safetensors"),
		"--image", golden+"/image56.png",
		"--ids", "301,10,11,12,302,13,301,14,13,309,312,312,312,312,310,20,21,22,302,13,301,15,13",
		"--expect", golden+"/case_b_image56.safetensors")
	require.NoError(t, err)
	require.Contains(t, out, "max |logit - reference|")

	_, err = run(t, "", "model", "forward", "--model", golden, "--out", filepath.Join(dir, "l.safetensors"),
		"--image", golden+"/image56.png", "--ids", "301,309,312,312,310")
	require.ErrorContains(t, err, "grid {1 4 4} needs 4 pad tokens (id 312) at position 2, found 2")
	_, err = run(t, "", "model", "forward", "--model", golden, "--out", filepath.Join(dir, "l.safetensors"), "--ids", "1,x")
	require.ErrorContains(t, err, `item 1 "x" is not an integer`)
	_, err = run(t, "", "model", "forward", "--model", golden, "--out", filepath.Join(dir, "l.safetensors"),
		"--ids", "301,17,42", "--expect", golden+"/case_a_text.safetensors")
	require.ErrorContains(t, err, "has 4480 logits, the model produced 960")
}

func TestModelInitThenBench(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	_, err := run(t, "", "model", "init", "--config", "tiny", "--dtype", "f32", "--out", dir)
	require.NoError(t, err)
	out, err := run(t, "", "model", "bench", "--model", dir, "--image-size", "56", "--decode", "4", "--reps", "1")
	require.NoError(t, err)
	for _, want := range []string{"load", "prefill", "tokens/s", "peak RSS"} {
		require.Contains(t, out, want)
	}
	_, err = run(t, "", "model", "init", "--config", "huge", "--out", dir)
	require.Error(t, err)
}

func TestBenchEngineJSON(t *testing.T) {
	out, err := run(t, "", "bench-engine", "--workload", "gemm1024", "--reps", "1", "--warmup", "0", "--json")
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "gemm1024", res["workload"])
	require.Greater(t, res["gflops"], 0.0)
	_, err = run(t, "", "bench-engine", "--workload", "nope")
	require.ErrorContains(t, err, `unknown workload "nope"`)
}

func TestTokenize(t *testing.T) {
	out, err := run(t, "{\"text\": \"Hello, world!\"}\n\n{\"text\": \"<|im_start|>user\"}\n", "tokenize", "--tokenizer", "../../vlm/tokenizer/testdata/tokenizer.json.gz")
	require.NoError(t, err)
	require.Equal(t, "{\"ids\":[9707,11,1879,0]}\n{\"ids\":[151644,872]}\n", out)
	_, err = run(t, "{\"txt\": 1}\n", "tokenize", "--tokenizer", "../../vlm/tokenizer/testdata/tokenizer.json.gz")
	require.ErrorContains(t, err, "stdin line 1: no \"text\" field")
}

func TestChatOnTinyRandomModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	_, err := run(t, "", "model", "init", "--config", "tiny", "--out", dir, "--seed", "2")
	require.NoError(t, err)
	args := []string{"chat", "--model", dir, "--image", golden + "/image56.png", "--max-tokens", "8", "what is this?"}
	a, err := run(t, "", args...)
	require.NoError(t, err)
	b, err := run(t, "", args...)
	require.NoError(t, err)
	require.Equal(t, a, b, "greedy decoding is deterministic")
	require.NotEmpty(t, strings.TrimSpace(a))
}

func TestChatWithVideo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	_, err := run(t, "", "model", "init", "--config", "tiny", "--out", dir, "--seed", "2")
	require.NoError(t, err)
	frames := make([]policy.Image, 12)
	for i := range frames {
		pix := make([]uint8, 64*64*3)
		for j := range pix {
			pix[j] = uint8(i*20 + j%7)
		}
		frames[i] = policy.Image{Pix: pix, H: 64, W: 64}
	}
	clip := filepath.Join(t.TempDir(), "clip.avi")
	require.NoError(t, camera.WriteVideo(clip, frames, 4))
	out, err := run(t, "", "chat", "--model", dir, "--video", clip, "--max-tokens", "4", "what moves?")
	require.NoError(t, err)
	require.NotEmpty(t, out)
	_, err = run(t, "", "chat", "--model", dir, "--video", clip+".missing", "x")
	require.Error(t, err)
}
