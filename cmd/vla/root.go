package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd builds the vla command tree.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vla",
		Short: "vst-go: spatially tuned vision-language-action models for robots, in Go",
		Long: `vla runs the vst-go stack: a Qwen2.5-VL backbone tuned for spatial reasoning (the VST
recipe), an action head on top of it, and the tools around it: benchmarks, fine-tuning,
serving and robot control.`,
		Example: `  vla version
  vla bench-engine --workload gemm1024`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newBenchEngineCmd(), newModelCmd(), newTokenizeCmd(), newChatCmd(), newServeCmd(), newBenchCmd(), newSimCmd(), newFinetuneCmd(), newRunCmd())
	return root
}
