package optim

import "math"

// Schedule gives the learning rate of each optimizer step. Step k (the
// (k+1)-th call to Step, counting from 0) uses LR(k).
type Schedule interface {
	LR(step int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR returns c.
func (c Constant) LR(int) float64 { return float64(c) }

// warmupFactor returns the linear-warmup multiplier step/warmup and whether
// step is still in the warmup.
func warmupFactor(step, warmup int) (float64, bool) {
	if step < warmup {
		return float64(step) / float64(max(1, warmup)), true
	}
	return 0, false
}

// WarmupCosine is linear warmup from 0 to Peak over Warmup steps, then a
// cosine decay to MinRatio·Peak at step Total, as Hugging Face's
// get_cosine_with_min_lr_schedule_with_warmup (get_cosine_schedule_with_warmup
// when MinRatio is 0):
//
//	step < Warmup:  Peak · step/Warmup
//	otherwise:      Peak · (MinRatio + (1-MinRatio)·½(1 + cos(2π·Cycles·progress)))
//
// with progress = (step-Warmup)/(Total-Warmup). Past Total it follows the
// cosine on (with the default half cycle it rises again), as the Hugging
// Face schedule does; set Total to the real number of steps.
type WarmupCosine struct {
	// Peak is the learning rate at the end of warmup.
	Peak float64
	// Warmup is the number of warmup steps. It defaults to 0.
	Warmup int
	// Total is the number of training steps, warmup included.
	Total int
	// MinRatio is the final learning rate as a fraction of Peak. It
	// defaults to 0.
	MinRatio float64
	// Cycles is the number of cosine periods over the decay. It defaults to
	// 0.5: one decay from Peak to the minimum.
	Cycles float64
}

// LR returns the learning rate of step.
func (s WarmupCosine) LR(step int) float64 {
	if f, ok := warmupFactor(step, s.Warmup); ok {
		return s.Peak * f
	}
	cycles := s.Cycles
	if cycles == 0 {
		cycles = 0.5
	}
	progress := float64(step-s.Warmup) / float64(max(1, s.Total-s.Warmup))
	f := 0.5 * (1 + math.Cos(math.Pi*cycles*2*progress))
	f = f*(1-s.MinRatio) + s.MinRatio
	return s.Peak * max(0, f)
}

// WarmupLinear is linear warmup from 0 to Peak over Warmup steps, then a
// linear decay to 0 at step Total (and 0 after), as Hugging Face's
// get_linear_schedule_with_warmup.
type WarmupLinear struct {
	// Peak is the learning rate at the end of warmup.
	Peak float64
	// Warmup is the number of warmup steps. It defaults to 0.
	Warmup int
	// Total is the number of training steps, warmup included.
	Total int
}

// LR returns the learning rate of step.
func (s WarmupLinear) LR(step int) float64 {
	if f, ok := warmupFactor(step, s.Warmup); ok {
		return s.Peak * f
	}
	f := float64(s.Total-step) / float64(max(1, s.Total-s.Warmup))
	return s.Peak * max(0, f)
}
