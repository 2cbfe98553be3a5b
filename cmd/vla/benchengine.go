package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/vlm/tensor/enginebench"
)

func newBenchEngineCmd() *cobra.Command {
	var (
		workloads []string
		reps      int
		warmup    int
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "bench-engine",
		Short: "Time the tensor engine's reference workloads (GEMM, decoder block forward and train step)",
		Long: `bench-engine runs the same workloads as scripts/bench_torch.py: a 1024³ and a
256×2048×2048 float32 GEMM, and one Qwen-style decoder block (seq 256, hidden 1024,
16 heads, SwiGLU MLP 2816, RMSNorm, RoPE, causal attention) forward, and forward +
backward + AdamW. It prints the median time, GFLOP/s and peak memory. Threads follow
GOMAXPROCS. For a side-by-side comparison with PyTorch use 'make bench-compare'.`,
		Example: `  vla bench-engine
  vla bench-engine --workload gemm1024 --reps 50
  GOMAXPROCS=1 vla bench-engine --workload block_fwd --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := enginebench.Names()
			if len(workloads) > 0 {
				names = workloads
			}
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			if !asJSON {
				fmt.Fprintln(tw, "workload\tmedian ms\tmin ms\tGFLOP/s\tpeak RSS MiB\tthreads\t")
			}
			for _, name := range names {
				if !slices.Contains(enginebench.Names(), name) {
					return fmt.Errorf("unknown workload %q (have %v)", name, enginebench.Names())
				}
				wl, err := enginebench.New(name)
				if err != nil {
					return err
				}
				res, err := enginebench.Measure(wl, warmup, reps)
				if err != nil {
					return err
				}
				if asJSON {
					if err := json.NewEncoder(w).Encode(res); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.1f\t%.0f\t%d\t\n", res.Workload, res.MS, res.MSMin, res.GFLOPs, res.PeakRSSMiB, res.Threads)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&workloads, "workload", nil, "workloads to run (default all: gemm1024, gemm256x2048, block_fwd, block_train)")
	f.IntVar(&reps, "reps", 20, "timed repetitions per workload")
	f.IntVar(&warmup, "warmup", 3, "untimed repetitions first")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per workload instead of a table")
	return cmd
}
