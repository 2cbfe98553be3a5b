package tensor_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vlm/tensor/enginebench"
)

// The engine's reference workloads (see package enginebench and
// scripts/bench_torch.py for the PyTorch side). Each reports GFLOP/s.

func benchWorkload(b *testing.B, name string) {
	w, err := enginebench.New(name)
	require.NoError(b, err)
	require.NoError(b, w.Run()) // warm up pools and pack buffers
	b.ResetTimer()
	for b.Loop() {
		if err := w.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(w.FLOPs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGEMM1024(b *testing.B)              { benchWorkload(b, "gemm1024") }
func BenchmarkGEMM256x2048(b *testing.B)          { benchWorkload(b, "gemm256x2048") }
func BenchmarkDecoderBlockForward(b *testing.B)   { benchWorkload(b, "block_fwd") }
func BenchmarkDecoderBlockTrainStep(b *testing.B) { benchWorkload(b, "block_train") }
