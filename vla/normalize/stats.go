// Package normalize holds per-feature dataset statistics and the
// normalizers built from them: q01/q99 quantile scaling to [−1, 1] with
// clipping (the VST/OpenVLA/π0-FAST convention), mean/std and min/max.
//
// Statistics are computed from data with an Accumulator (exact quantiles,
// numpy's default linear interpolation) and read from or written to the four
// stats files in use: LeRobot's meta/stats.json, VST's norm_stats JSON,
// OpenVLA's dataset_statistics.json and openpi's norm_stats.json. Inside this
// package features are named the LeRobot way (Action, State); the readers and
// writers translate VST's and OpenVLA's "proprio" and openpi's "actions" and
// "state".
package normalize

import (
	"fmt"
	"math"
)

// Canonical feature names (LeRobot's).
const (
	// Action is the action feature.
	Action = "action"
	// State is the proprioceptive state feature.
	State = "observation.state"
)

// Stats are the statistics of one vector feature, one value per dimension.
// A nil field is absent from the file it came from.
type Stats struct {
	// Mean and Std are the mean and population standard deviation (numpy's
	// ddof=0).
	Mean, Std []float64
	// Min and Max are the extremes.
	Min, Max []float64
	// Q01, Q10, Q50, Q90 and Q99 are the 1st, 10th, 50th, 90th and 99th
	// percentiles.
	Q01, Q10, Q50, Q90, Q99 []float64
	// Count is the number of samples (frames) the statistics cover; 0 when
	// unknown.
	Count int64
	// Mask tells, per dimension, whether the dimension is normalized
	// (true) or passes through (false, e.g. a gripper). Nil means all true.
	Mask []bool
}

// fields returns the named value fields in a fixed order.
func (s *Stats) fields() []struct {
	name string
	v    []float64
} {
	return []struct {
		name string
		v    []float64
	}{
		{"mean", s.Mean}, {"std", s.Std}, {"min", s.Min}, {"max", s.Max},
		{"q01", s.Q01}, {"q10", s.Q10}, {"q50", s.Q50}, {"q90", s.Q90}, {"q99", s.Q99},
	}
}

// Dim returns the number of dimensions: the length of the first present
// value field, or 0 when none is (a mask alone does not count).
func (s *Stats) Dim() int {
	for _, f := range s.fields() {
		if f.v != nil {
			return len(f.v)
		}
	}
	return 0
}

// Validate checks that at least one field is present, that all present
// fields (and the mask) have the same non-zero length, that every value is
// finite and that no standard deviation is negative.
func (s *Stats) Validate() error {
	d := s.Dim()
	if d == 0 {
		return fmt.Errorf("stats have no values")
	}
	for _, f := range s.fields() {
		if f.v == nil {
			continue
		}
		if len(f.v) != d {
			return fmt.Errorf("stats field %s has %d values, want %d", f.name, len(f.v), d)
		}
		for i, x := range f.v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("stats field %s[%d] is %v", f.name, i, x)
			}
			if f.name == "std" && x < 0 {
				return fmt.Errorf("stats field std[%d] is negative (%v)", i, x)
			}
		}
	}
	if s.Mask != nil && len(s.Mask) != d {
		return fmt.Errorf("stats mask has %d values, want %d", len(s.Mask), d)
	}
	if s.Count < 0 {
		return fmt.Errorf("stats count is negative (%d)", s.Count)
	}
	return nil
}

// Masked reports whether dimension i is normalized according to the mask.
func (s *Stats) Masked(i int) bool { return s.Mask == nil || (i < len(s.Mask) && s.Mask[i]) }

// Set is the statistics of a data set, by feature name.
type Set struct {
	// Features maps feature names (Action, State, …) to their statistics.
	Features map[string]*Stats
	// NumTransitions and NumTrajectories are the frame and episode counts
	// that VST's and OpenVLA's files record; 0 when unknown.
	NumTransitions, NumTrajectories int64
}

// Validate checks every feature's statistics.
func (s *Set) Validate() error {
	if len(s.Features) == 0 {
		return fmt.Errorf("stats set has no features")
	}
	for name, st := range s.Features {
		if st == nil {
			return fmt.Errorf("stats for feature %q are missing", name)
		}
		if err := st.Validate(); err != nil {
			return fmt.Errorf("feature %q: %w", name, err)
		}
	}
	if s.NumTransitions < 0 || s.NumTrajectories < 0 {
		return fmt.Errorf("stats set counts are negative (%d transitions, %d trajectories)", s.NumTransitions, s.NumTrajectories)
	}
	return nil
}

// Normalizer builds the normalizer of one feature of the set.
func (s *Set) Normalizer(feature string, cfg Config) (*Normalizer, error) {
	st, ok := s.Features[feature]
	if !ok || st == nil {
		return nil, fmt.Errorf("stats set has no feature %q", feature)
	}
	n, err := New(st, cfg)
	if err != nil {
		return nil, fmt.Errorf("feature %q: %w", feature, err)
	}
	return n, nil
}
