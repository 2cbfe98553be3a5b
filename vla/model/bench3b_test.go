package model

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor/optim"
)

// TestBench3B runs the chunk head's code path on a 3B-shaped checkpoint
// (`vla model init --config 3b --out DIR`, or a real VST-3B) given by
// VST_BENCH_3B_DIR: one training step (forward, backward, AdamW) and one
// chunk inference, logging their times and the peak resident memory. A
// directory without tokenizer.json gets Qwen's tokenizer from the tokenizer
// package's test data. Run it with `VST_BENCH_3B_DIR=DIR go test -run '^$'
// -bench Bench3B -benchtime 1x ./vla/model/`; without the directory (7.5 GB,
// not generated here) the benchmark reports that it has nothing to measure.
func BenchmarkBench3B(b *testing.B) {
	t := b
	src := os.Getenv("VST_BENCH_3B_DIR")
	if src == "" {
		b.Skip("needs VST_BENCH_3B_DIR: a 3B checkpoint from `vla model init --config 3b`")
	}
	dir := filepath.Join(t.TempDir(), "base")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		abs, err := filepath.Abs(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.Symlink(abs, filepath.Join(dir, e.Name())))
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); os.IsNotExist(err) {
		const testdata = "../../vlm/tokenizer/testdata/"
		in, err := os.Open(testdata + "tokenizer.json.gz")
		require.NoError(t, err)
		defer in.Close()
		zr, err := gzip.NewReader(in)
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dir, "tokenizer.json"))
		require.NoError(t, err)
		_, err = io.Copy(out, zr)
		require.NoError(t, err)
		require.NoError(t, out.Close())
		cfg, err := os.ReadFile(testdata + "tokenizer_config.json")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644))
	}

	cfg := Config{StateDim: 8} // defaults: chunk head, H 8, D 7, two cameras at 128 px, LoRA rank 8 on all linears
	start := time.Now()
	v, err := New(dir, cfg, testStats(7, 8))
	require.NoError(t, err)
	defer v.Close()
	t.Logf("load: %v, peak RSS %d MiB", time.Since(start).Round(time.Millisecond), peakRSSMiB(t))
	n := 0
	for _, p := range v.TrainableParams() {
		n += p.T.Numel()
	}
	t.Logf("trainable parameters: %d (%.1f M)", n, float64(n)/1e6)

	batch := testSamples(v.Config(), 1)
	for k := range batch[0].Images {
		batch[0].Images[k] = testImage(256, 1)
	}
	opt, err := optim.NewAdamW(v.ParamGroups(), optim.AdamWConfig{LR: 1e-4})
	require.NoError(t, err)
	start = time.Now()
	loss, err := v.Accumulate(context.Background(), batch, 1)
	require.NoError(t, err)
	fb := time.Since(start)
	require.NoError(t, opt.Step())
	opt.ZeroGrad()
	t.Logf("train step (1 sample, forward+backward %v, total %v): loss %.4f, peak RSS %d MiB",
		fb.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), loss, peakRSSMiB(t))

	start = time.Now()
	ch, err := v.Act(context.Background(), observation(batch[0]))
	require.NoError(t, err)
	require.NoError(t, ch.Validate())
	t.Logf("act: chunk %dx%d in %v, timing %v, peak RSS %d MiB", ch.H, ch.D, time.Since(start).Round(time.Millisecond), ch.Timing, peakRSSMiB(t))
}

// peakRSSMiB reads the process's peak resident set (VmHWM) in MiB.
func peakRSSMiB(t testing.TB) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Logf("peak RSS unavailable: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}
