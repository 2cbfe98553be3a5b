package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/vlm/qwen25vl"
)

func newModelBenchCmd() *cobra.Command {
	var (
		dir             string
		imageSize, text int
		decode, reps    int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure load time, memory, image-prompt prefill and decode speed of a checkpoint",
		Long: `bench loads a checkpoint, then builds a prompt of one random RGB image of
--image-size² pixels (processed with the checkpoint's preprocessor) between text tokens,
and times the prefill (vision tower + decoder over the prompt) and greedy decoding of
--decode tokens with the KV cache. Memory is the process's resident set (VmRSS) after
loading and its peak (VmHWM). Token ids are synthetic, so no tokenizer is needed.`,
		Example: `  vla model init --config 3b --out /tmp/vst-3b && vla model bench --model /tmp/vst-3b
  vla model bench --model /tmp/tiny --image-size 56 --decode 64 --reps 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0 := time.Now()
			m, err := qwen25vl.Load(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			load := time.Since(t0)
			rssLoad, _ := procStatusMiB("VmRSS")
			proc, err := qwen25vl.NewProcessor(m.Preprocessor)
			if err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(1, 1))
			rgb := make([]byte, imageSize*imageSize*3)
			for i := range rgb {
				rgb[i] = byte(rng.IntN(256))
			}
			px, err := proc.ImageRGB(rgb, imageSize, imageSize)
			if err != nil {
				return err
			}
			cfg := &m.Config
			merge := cfg.Vision.SpatialMergeSize
			nImg := px.Grid.Patches() / (merge * merge)
			ids := make([]int32, 0, 2*text+nImg+2)
			for i := range text {
				ids = append(ids, int32(i%256))
			}
			ids = append(ids, int32(cfg.VisionStartTokenID))
			for range nImg {
				ids = append(ids, int32(cfg.ImageTokenID))
			}
			ids = append(ids, int32(cfg.VisionEndTokenID))
			for i := range text {
				ids = append(ids, int32((i+7)%256))
			}
			in := &qwen25vl.Inputs{IDs: ids, Images: []*qwen25vl.Pixels{px}}
			var prefill, step []time.Duration
			for range reps {
				var first time.Time
				t1 := time.Now()
				n := 0
				_, err := m.Generate(context.Background(), in, qwen25vl.Sampling{MaxNewTokens: decode, StopIDs: []int32{}, OnToken: func(int32) bool {
					n++
					if n == 1 {
						first = time.Now()
					}
					return true
				}})
				if err != nil {
					return err
				}
				prefill = append(prefill, first.Sub(t1))
				if n > 1 {
					step = append(step, time.Since(first)/time.Duration(n-1))
				}
			}
			peak, _ := procStatusMiB("VmHWM")
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "model\t%s (%d layers, hidden %d, vision depth %d, %s weights)\n", dir, cfg.NumHiddenLayers, cfg.HiddenSize, cfg.Vision.Depth, m.Text.Embed.DType())
			fmt.Fprintf(w, "load\t%s\n", load.Round(time.Millisecond))
			fmt.Fprintf(w, "RSS after load\t%.0f MiB\n", rssLoad)
			fmt.Fprintf(w, "prompt\t%d tokens (%dx%d image -> grid %v, %d vision tokens)\n", len(ids), imageSize, imageSize, px.Grid, nImg)
			fmt.Fprintf(w, "prefill (median of %d)\t%s\n", reps, median(prefill).Round(time.Microsecond))
			if len(step) > 0 {
				d := median(step)
				fmt.Fprintf(w, "decode\t%.2f tokens/s (%s per token)\n", 1/d.Seconds(), d.Round(time.Microsecond))
			}
			fmt.Fprintf(w, "peak RSS\t%.0f MiB\n", peak)
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "checkpoint directory")
	f.IntVar(&imageSize, "image-size", 256, "side of the square test image in pixels")
	f.IntVar(&text, "text-tokens", 16, "text tokens before and after the image")
	f.IntVar(&decode, "decode", 16, "tokens to decode")
	f.IntVar(&reps, "reps", 3, "repetitions (medians are reported)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// procStatusMiB reads a "kB" field of /proc/self/status (Linux only).
func procStatusMiB(field string) (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no %s", field)
}
