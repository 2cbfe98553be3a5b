package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/safetensors"
	"github.com/vstgo/vst/vlm/tensor"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Create and run Qwen2.5-VL / VST backbone checkpoints",
		Example: `  vla model init --config tiny --out /tmp/tiny
  vla model forward --model /tmp/tiny --ids 301,10,11,302 --out logits.safetensors`,
	}
	cmd.AddCommand(newModelInitCmd(), newModelForwardCmd(), newModelBenchCmd())
	return cmd
}

func newModelInitCmd() *cobra.Command {
	var (
		preset, out, dtype, tok string
		seed                    uint64
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a random Qwen2.5-VL checkpoint in the exact Hugging Face layout",
		Long: `init writes config.json, generation_config.json, preprocessor_config.json and
model.safetensors (sharded above 5 GB, with model.safetensors.index.json) for a
randomly initialised model, so tests, demos and benchmarks need no download.
--config is a preset (tiny, 3b, 7b) or a config.json path.`,
		Example: `  vla model init --config tiny --out /tmp/tiny
  vla model init --config 3b --dtype bf16 --out /tmp/vst-3b-random
  vla model init --config my_config.json --dtype f32 --seed 7 --out /tmp/m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := qwen25vl.Preset(preset)
			if err != nil {
				return err
			}
			opts := qwen25vl.RandomOptions{Seed: seed, DType: strings.ToUpper(dtype)}
			bar := newProgress(cmd.ErrOrStderr(), "writing "+out)
			opts.Progress = bar.update
			start := time.Now()
			if err := qwen25vl.WriteRandomCheckpoint(out, cfg, opts); err != nil {
				return err
			}
			bar.done()
			if tok != "" {
				if err := copyTokenizer(tok, out); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s model (%s, seed %d) to %s in %s\n", preset, opts.DType, seed, out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&preset, "config", "tiny", "preset (tiny, 3b, 7b) or path to a config.json")
	f.StringVar(&out, "out", "", "output directory (created)")
	f.StringVar(&dtype, "dtype", "bf16", "weight dtype: bf16 or f32")
	f.Uint64Var(&seed, "seed", 0, "random seed")
	f.StringVar(&tok, "tokenizer", "", "directory with tokenizer.json (and tokenizer_config.json) to copy into the checkpoint")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// copyTokenizer copies tokenizer.json and, if present, tokenizer_config.json.
func copyTokenizer(from, to string) error {
	for i, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			if i > 0 && os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		if err := os.WriteFile(filepath.Join(to, name), data, 0o644); err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
	}
	return nil
}

func newModelForwardCmd() *cobra.Command {
	var (
		dir, idList, out, expect string
		images                   []string
		tol                      float64
	)
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Run one forward pass on token ids and write the logits",
		Long: `forward runs the model once on input ids given exactly as Hugging Face input_ids
(image pads already expanded to one per merged vision token; the count is checked
against each image's grid) and writes "logits" (F32 [seq, vocab]) and the M-RoPE
"position_ids" (I64 [3, seq]) to a safetensors file.`,
		Example: `  vla model forward --model /tmp/tiny --ids 301,10,11,302 --out logits.safetensors
  vla model forward --model DIR --ids "$(cat ids.txt)" --image cup.png --out out.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := parseIDs(idList)
			if err != nil {
				return err
			}
			m, err := qwen25vl.Load(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			in := &qwen25vl.Inputs{IDs: ids}
			if in.Images, err = loadImages(m, images); err != nil {
				return err
			}
			res, err := m.Forward(tensor.Inference(nil), in, qwen25vl.ForwardOptions{})
			if err != nil {
				return err
			}
			L := len(ids)
			pos := make([]int64, 0, 3*L)
			for _, p := range res.Positions {
				pos = append(pos, p...)
			}
			err = safetensors.Write(out, []safetensors.Tensor{
				safetensors.F32("logits", res.Logits.Shape(), res.Logits.Float32s()),
				safetensors.I64("position_ids", []int{3, L}, pos),
			}, map[string]string{"producer": "vst-go vla model forward"})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote logits %v to %s\n", res.Logits.Shape(), out)
			if expect == "" {
				return nil
			}
			return compareLogits(cmd, expect, res.Logits.Float32s(), tol)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "checkpoint directory")
	f.StringVar(&idList, "ids", "", "comma-separated input ids")
	f.StringSliceVar(&images, "image", nil, "image file (JPEG or PNG), repeatable, in prompt order")
	f.StringVar(&out, "out", "", "output .safetensors file")
	f.StringVar(&expect, "expect", "", "reference .safetensors holding \"logits\" (e.g. from Hugging Face) to compare against")
	f.Float64Var(&tol, "tol", 1e-4, "maximum absolute logit difference accepted with --expect")
	for _, n := range []string{"model", "ids", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

// compareLogits reports the largest absolute difference between got and the
// "logits" tensor of the reference file, failing above tol.
func compareLogits(cmd *cobra.Command, path string, got []float32, tol float64) error {
	ref, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer ref.Close()
	want, err := ref.Float32("logits")
	if err != nil {
		return fmt.Errorf("reference %s: %w", path, err)
	}
	if len(want) != len(got) {
		return fmt.Errorf("reference %s has %d logits, the model produced %d", path, len(want), len(got))
	}
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(want[i])-float64(got[i])))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "max |logit - reference| = %.3g (tolerance %.3g)\n", worst, tol)
	if !(worst <= tol) {
		return fmt.Errorf("logits differ from %s by %.3g, above %.3g", path, worst, tol)
	}
	return nil
}

// parseIDs parses "1,2,3" (spaces allowed).
func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for i, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--ids: item %d %q is not an integer", i, f)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--ids: no ids given")
	}
	return ids, nil
}

// loadImages decodes and preprocesses image files with the model's
// preprocessor settings.
func loadImages(m *qwen25vl.Model, paths []string) ([]*qwen25vl.Pixels, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	proc, err := qwen25vl.NewProcessor(m.Preprocessor)
	if err != nil {
		return nil, err
	}
	var out []*qwen25vl.Pixels
	for _, p := range paths {
		img, err := qwen25vl.LoadImage(p)
		if err != nil {
			return nil, err
		}
		px, err := proc.Image(img)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p, err)
		}
		out = append(out, px)
	}
	return out, nil
}
