// Package enginebench defines the tensor engine's reference workloads — two
// GEMM shapes and a Qwen-style decoder block (forward, and forward + backward
// + AdamW) — so that the Go benchmarks in vlm/tensor, `vla bench-engine` and
// the PyTorch anchor (scripts/bench_torch.py) all measure the same thing.
package enginebench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/vstgo/vst/vlm/tensor"
	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// Workload is one measurable unit of work.
type Workload struct {
	// Name identifies the workload ("gemm1024", "block_train", ...).
	Name string
	// FLOPs is the floating-point operation count of one Run, used to
	// report GFLOP/s. Attention is counted in full (unmasked), as torch does.
	FLOPs float64
	// Run performs the work once.
	Run func() error
}

// Names lists the workloads in the order reports show them.
func Names() []string { return []string{"gemm1024", "gemm256x2048", "block_fwd", "block_train"} }

// New builds the named workload with fixed-seed data.
func New(name string) (*Workload, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	switch name {
	case "gemm1024":
		return gemmWorkload(name, rng, 1024, 1024, 1024), nil
	case "gemm256x2048":
		return gemmWorkload(name, rng, 256, 2048, 2048), nil
	case "block_fwd":
		blk := NewBlock(DefaultBlockConfig(), rng)
		x := tensor.Randn(rng, blk.Cfg.Seq, blk.Cfg.Hidden)
		arena := tensor.NewArena()
		c := tensor.Inference(arena)
		return &Workload{Name: name, FLOPs: blk.Cfg.FLOPs(false), Run: func() error {
			defer arena.Reset()
			return tensor.Catch(func() error { blk.Forward(c, x); return nil })
		}}, nil
	case "block_train":
		blk := NewBlock(DefaultBlockConfig(), rng)
		tr, err := NewTrainer(blk, rng)
		if err != nil {
			return nil, err
		}
		return &Workload{Name: name, FLOPs: blk.Cfg.FLOPs(true), Run: func() error {
			_, err := tr.Step()
			return err
		}}, nil
	}
	return nil, fmt.Errorf("unknown workload %q (have %v)", name, Names())
}

func gemmWorkload(name string, rng *rand.Rand, m, k, n int) *Workload {
	a, b := tensor.Randn(rng, m, k), tensor.Randn(rng, k, n)
	arena := tensor.NewArena()
	c := tensor.Inference(arena)
	return &Workload{Name: name, FLOPs: 2 * float64(m) * float64(n) * float64(k), Run: func() error {
		defer arena.Reset()
		return tensor.Catch(func() error { tensor.MatMul(c, a, b); return nil })
	}}
}

// Result is the timing of one workload, in the JSON form
// scripts/bench_compare.sh reads.
type Result struct {
	Workload   string  `json:"workload"`
	Engine     string  `json:"engine"`
	MS         float64 `json:"ms"`
	MSMin      float64 `json:"ms_min"`
	GFLOPs     float64 `json:"gflops"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Threads    int     `json:"threads"`
}

// Measure runs w warmup times untimed, then reps times, and reports the
// median and minimum time and the process's peak resident memory.
func Measure(w *Workload, warmup, reps int) (Result, error) {
	for range warmup {
		if err := w.Run(); err != nil {
			return Result{}, fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	times := make([]float64, 0, reps)
	for range reps {
		t := time.Now()
		if err := w.Run(); err != nil {
			return Result{}, fmt.Errorf("%s: %w", w.Name, err)
		}
		times = append(times, float64(time.Since(t).Nanoseconds())/1e6)
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	return Result{
		Workload:   w.Name,
		Engine:     "vst-go",
		MS:         med,
		MSMin:      slices.Min(times),
		GFLOPs:     w.FLOPs / med / 1e6,
		PeakRSSMiB: peakRSSMiB(),
		Threads:    parallel.Workers(),
	}, nil
}

// peakRSSMiB is the process's peak resident set size.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
