package normalize

import (
	"fmt"
	"math"
	"slices"
)

// Accumulator computes the statistics of a vector feature from frames
// added one at a time, e.g. streamed episode by episode. Quantiles are exact
// (no histogram), so it keeps every value: memory is 4·D bytes per frame
// (28 MB for a million 7-D actions) plus 8·N bytes for one sorted column
// while Stats runs. It is not safe for concurrent use.
type Accumulator struct {
	cols [][]float32
}

// NewAccumulator returns an accumulator for a feature of dim dimensions.
func NewAccumulator(dim int) (*Accumulator, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("stats accumulator needs a positive dimension, got %d", dim)
	}
	return &Accumulator{cols: make([][]float32, dim)}, nil
}

// Add adds one frame; it must have the accumulator's dimension and finite
// values.
func (a *Accumulator) Add(x []float32) error {
	if len(x) != len(a.cols) {
		return fmt.Errorf("stats frame has %d values, want %d", len(x), len(a.cols))
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("stats frame value %d is %v", i, v)
		}
	}
	for i, v := range x {
		a.cols[i] = append(a.cols[i], v)
	}
	return nil
}

// Len returns the number of frames added.
func (a *Accumulator) Len() int { return len(a.cols[0]) }

// StatsOptions tunes Accumulator.Stats.
type StatsOptions struct {
	// PassThroughDims lists the dimensions whose mask is false (left
	// unnormalized, e.g. a gripper command). It defaults to none: every
	// dimension is normalized and the mask is all true.
	PassThroughDims []int
}

// Stats returns the statistics of the frames added so far: mean and
// population standard deviation (two passes in float64), min, max, count
// and the q01/q10/q50/q90/q99 quantiles computed like numpy.quantile's
// default "linear" method.
func (a *Accumulator) Stats(opt StatsOptions) (*Stats, error) {
	n := a.Len()
	if n == 0 {
		return nil, fmt.Errorf("stats need at least one frame")
	}
	d := len(a.cols)
	s := &Stats{
		Mean: make([]float64, d), Std: make([]float64, d), Min: make([]float64, d), Max: make([]float64, d),
		Q01: make([]float64, d), Q10: make([]float64, d), Q50: make([]float64, d), Q90: make([]float64, d), Q99: make([]float64, d),
		Count: int64(n), Mask: make([]bool, d),
	}
	for i := range s.Mask {
		s.Mask[i] = true
	}
	for _, i := range opt.PassThroughDims {
		if i < 0 || i >= d {
			return nil, fmt.Errorf("stats pass-through dimension %d is outside 0..%d", i, d-1)
		}
		s.Mask[i] = false
	}
	sorted := make([]float64, n)
	for i, col := range a.cols {
		var sum float64
		for j, v := range col {
			sorted[j] = float64(v)
			sum += float64(v)
		}
		mean := sum / float64(n)
		var ss float64
		for _, v := range sorted {
			ss += (v - mean) * (v - mean)
		}
		slices.Sort(sorted)
		s.Mean[i], s.Std[i] = mean, math.Sqrt(ss/float64(n))
		s.Min[i], s.Max[i] = sorted[0], sorted[n-1]
		s.Q01[i] = LinearQuantile(sorted, 0.01)
		s.Q10[i] = LinearQuantile(sorted, 0.10)
		s.Q50[i] = LinearQuantile(sorted, 0.50)
		s.Q90[i] = LinearQuantile(sorted, 0.90)
		s.Q99[i] = LinearQuantile(sorted, 0.99)
	}
	return s, nil
}

// LinearQuantile returns the q-quantile (0 ≤ q ≤ 1) of ascending values with
// numpy's default linear interpolation: virtual index h = (n−1)·q between
// sorted[⌊h⌋] and sorted[⌊h⌋+1], using numpy's two-sided lerp so results
// match bit for bit. It returns NaN for empty input or q outside [0, 1].
func LinearQuantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 || !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	h := float64(n-1) * q
	lo := math.Floor(h)
	i := int(lo)
	j := min(i+1, n-1)
	t := h - lo
	a, b := sorted[i], sorted[j]
	diff := b - a
	if t >= 0.5 {
		return b - diff*(1-t)
	}
	return a + diff*t
}
