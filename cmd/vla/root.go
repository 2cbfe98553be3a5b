package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// newRootCmd builds the vla command tree.
func newRootCmd() *cobra.Command {
	var cpuProfile string
	var profFile *os.File
	root := &cobra.Command{
		Use:   "vla",
		Short: "vst-go: spatially tuned vision-language-action models for robots, in Go",
		Long: `vla runs the vst-go stack: a Qwen2.5-VL backbone tuned for spatial reasoning (the VST
recipe), an action head on top of it, and the tools around it: benchmarks, fine-tuning,
serving and robot control.`,
		Example: `  vla version
  vla bench-engine --workload gemm1024
  vla --cpuprofile cpu.pprof finetune ...   # then: go tool pprof -top bin/vla cpu.pprof`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if cpuProfile == "" {
				return nil
			}
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return fmt.Errorf("cpu profile: %w", err)
			}
			profFile = f
			return nil
		},
		PersistentPostRunE: func(*cobra.Command, []string) error {
			if profFile == nil {
				return nil
			}
			pprof.StopCPUProfile()
			return profFile.Close()
		},
	}
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (go tool pprof)")
	root.AddCommand(newVersionCmd(), newBenchEngineCmd(), newModelCmd(), newTokenizeCmd(), newChatCmd(), newServeCmd(), newBenchCmd(), newSimCmd(), newFinetuneCmd(), newRunCmd())
	return root
}
