package normalize

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spatialQ01 and spatialQ99 are VST's libero_spatial action stats (vst.md 4.3).
var (
	spatialQ01 = []float64{-0.745473, -0.661607, -0.9375, -0.107143, -0.206786, -0.184286, 0}
	spatialQ99 = []float64{0.9375, 0.875893, 0.932143, 0.103929, 0.176786, 0.145714, 1}
)

func spatialSet() *Set {
	act := &Stats{
		Mean: make([]float64, 7), Std: make([]float64, 7), Min: append([]float64(nil), spatialQ01...),
		Max: append([]float64(nil), spatialQ99...), Q01: spatialQ01, Q99: spatialQ99,
		Mask: []bool{true, true, true, true, true, true, false},
	}
	prop := &Stats{Mean: make([]float64, 7), Std: make([]float64, 7), Min: make([]float64, 7),
		Max: make([]float64, 7), Q01: make([]float64, 7), Q99: make([]float64, 7)}
	return &Set{Features: map[string]*Stats{Action: act, State: prop}, NumTransitions: 52970, NumTrajectories: 432}
}

func TestLinearQuantileMatchesNumpy(t *testing.T) {
	ramp := make([]float64, 100)
	for i := range ramp {
		ramp[i] = float64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		// Values from numpy.quantile(x, q) (default method="linear").
		{"single", []float64{3}, 0.99, 3},
		{"pair q01", []float64{0, 1}, 0.01, 0.01},
		{"pair q99", []float64{0, 1}, 0.99, 0.99},
		{"ramp q01", ramp, 0.01, 1.99},
		{"ramp q50", ramp, 0.5, 50.5},
		{"ramp q99", ramp, 0.99, 99.01},
		{"ramp q0", ramp, 0, 1},
		{"ramp q1", ramp, 1, 100},
		{"ties", []float64{-1, -1, -1, 1}, 0.9, 0.40000000000000036},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, LinearQuantile(tt.sorted, tt.q))
		})
	}
	assert.True(t, math.IsNaN(LinearQuantile(nil, 0.5)))
	assert.True(t, math.IsNaN(LinearQuantile(ramp, 1.5)))
}

func TestAccumulator(t *testing.T) {
	acc, err := NewAccumulator(2)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, acc.Add([]float32{float32(i + 1), 5}))
	}
	require.Error(t, acc.Add([]float32{1}))
	require.Error(t, acc.Add([]float32{float32(math.NaN()), 1}))
	assert.Equal(t, 100, acc.Len())
	s, err := acc.Stats(StatsOptions{PassThroughDims: []int{1}})
	require.NoError(t, err)
	assert.Equal(t, []float64{50.5, 5}, s.Mean)
	assert.InDelta(t, 28.86607004772212, s.Std[0], 1e-12) // numpy.std(arange(1, 101))
	assert.Equal(t, 0.0, s.Std[1])
	assert.Equal(t, []float64{1, 5}, s.Min)
	assert.Equal(t, []float64{100, 5}, s.Max)
	assert.Equal(t, []float64{1.99, 5}, s.Q01)
	assert.Equal(t, []float64{10.9, 5}, s.Q10)
	assert.Equal(t, []float64{50.5, 5}, s.Q50)
	assert.Equal(t, []float64{90.10000000000001, 5}, s.Q90)
	assert.Equal(t, []float64{99.01, 5}, s.Q99)
	assert.Equal(t, int64(100), s.Count)
	assert.Equal(t, []bool{true, false}, s.Mask)

	_, err = acc.Stats(StatsOptions{PassThroughDims: []int{2}})
	assert.ErrorContains(t, err, "pass-through dimension 2")
	_, err = NewAccumulator(0)
	assert.Error(t, err)
	empty, err := NewAccumulator(1)
	require.NoError(t, err)
	_, err = empty.Stats(StatsOptions{})
	assert.Error(t, err)
}

func TestVSTQuantileFormula(t *testing.T) {
	n, err := spatialSet().Normalizer(Action, Config{Mode: Quantile, Mask: MaskDecodeOnly})
	require.NoError(t, err)
	assert.Empty(t, n.Degenerate())

	// q01 → −1, q99 → just under +1 (the 1e-6 epsilon), beyond → clipped.
	atQ01 := make([]float32, 7)
	atQ99 := make([]float32, 7)
	for i := range 7 {
		atQ01[i], atQ99[i] = float32(spatialQ01[i]), float32(spatialQ99[i])
	}
	out, err := n.Normalize(atQ01)
	require.NoError(t, err)
	for i, v := range out {
		assert.InDelta(t, -1, v, 1e-6, "dim %d", i)
	}
	out, err = n.Normalize(atQ99)
	require.NoError(t, err)
	for i, v := range out {
		want := (float64(atQ99[i])-spatialQ01[i])/(spatialQ99[i]-spatialQ01[i]+1e-6)*2 - 1
		assert.Equal(t, float32(want), v, "dim %d", i)
		assert.Less(t, v, float32(1.0000001), "dim %d", i)
	}
	// LIBERO gripper: raw −1 → −3 → clipped −1; raw +1 → ≈0.999998 (VST normalizes the gripper).
	out, err = n.Normalize([]float32{0, 0, 0, 0, 0, 0, -1, 2, 0, 0, 0, 0, 0, 1})
	require.NoError(t, err)
	assert.Equal(t, float32(-1), out[6])
	assert.Equal(t, float32(1), out[7])
	assert.InDelta(t, 0.999998, out[13], 1e-6)

	// Decode: masked dims un-normalized without epsilon, gripper left as is.
	back, err := n.Unnormalize([]float32{-1, 1, 0, 0.5, -0.5, 0.25, 0.996})
	require.NoError(t, err)
	for i := range 6 {
		v := []float64{-1, 1, 0, 0.5, -0.5, 0.25}[i]
		assert.Equal(t, float32(0.5*(v+1)*(spatialQ99[i]-spatialQ01[i])+spatialQ01[i]), back[i], "dim %d", i)
	}
	assert.Equal(t, float32(0.996), back[6])
}

func TestRoundTripModes(t *testing.T) {
	st := &Stats{
		Mean: []float64{0.1, -2, 7}, Std: []float64{0.5, 3, 1e-6},
		Min: []float64{-1, -10, 7}, Max: []float64{1, 5, 7},
		Q01: []float64{-0.9, -8, 7}, Q99: []float64{0.9, 4, 7.00001},
		Mask: []bool{true, true, false},
	}
	x := []float32{0.3, -1, 7, -0.5, 2, 7}
	tests := []struct {
		mode Mode
		mask MaskMode
		tol  float64
	}{
		{Quantile, MaskBoth, 2e-6},
		{MeanStd, MaskBoth, 1e-6},
		{MinMax, MaskBoth, 2e-6},
		{Identity, MaskBoth, 0},
		{Quantile, MaskDecodeOnly, 2e-6},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			n, err := New(st, Config{Mode: tt.mode, Mask: tt.mask})
			require.NoError(t, err)
			y, err := n.Normalize(x)
			require.NoError(t, err)
			if tt.mode != Identity {
				// Dim 2 is degenerate (range or std < 1e-4): reported and passed through.
				assert.Equal(t, []int{2}, n.Degenerate())
				assert.Equal(t, float32(7), y[2])
			}
			z, err := n.Unnormalize(y)
			require.NoError(t, err)
			for i := range x {
				assert.InDelta(t, x[i], z[i], tt.tol, "value %d", i)
			}
		})
	}
}

func TestMaskModes(t *testing.T) {
	st := &Stats{Q01: []float64{0, 0}, Q99: []float64{1, 1}, Mask: []bool{true, false}}
	both, err := New(st, Config{})
	require.NoError(t, err)
	vst, err := New(st, Config{Mask: MaskDecodeOnly})
	require.NoError(t, err)
	y, err := both.Normalize([]float32{0.5, 0.5})
	require.NoError(t, err)
	assert.Equal(t, []float32{float32(0.5/(1+1e-6)*2 - 1), 0.5}, y)
	y, err = vst.Normalize([]float32{0.5, 0.5})
	require.NoError(t, err)
	assert.Equal(t, y[0], y[1])
	for _, n := range []*Normalizer{both, vst} {
		z, err := n.Unnormalize([]float32{0, 0.25})
		require.NoError(t, err)
		assert.Equal(t, []float32{0.5, 0.25}, z)
	}
}

func TestNormalizerErrors(t *testing.T) {
	tests := []struct {
		name string
		st   *Stats
		cfg  Config
		want string
	}{
		{"empty", &Stats{}, Config{}, "no values"},
		{"no quantiles", &Stats{Mean: []float64{0}, Std: []float64{1}}, Config{}, "needs stats q01 and q99"},
		{"no minmax", &Stats{Mean: []float64{0}, Std: []float64{1}}, Config{Mode: MinMax}, "min and max"},
		{"ragged", &Stats{Q01: []float64{0}, Q99: []float64{1, 2}}, Config{}, "q99 has 2 values, want 1"},
		{"nan", &Stats{Q01: []float64{math.NaN()}, Q99: []float64{1}}, Config{}, "q01[0] is NaN"},
		{"negative std", &Stats{Mean: []float64{0}, Std: []float64{-1}}, Config{Mode: MeanStd}, "negative"},
		{"mask length", &Stats{Q01: []float64{0}, Q99: []float64{1}, Mask: []bool{true, true}}, Config{}, "mask has 2"},
		{"bad mode", &Stats{Q01: []float64{0}, Q99: []float64{1}}, Config{Mode: 9}, "unknown normalization mode"},
		{"bad mask mode", &Stats{Q01: []float64{0}, Q99: []float64{1}}, Config{Mask: 9}, "unknown mask mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.st, tt.cfg)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	n, err := New(&Stats{Q01: []float64{0, 0}, Q99: []float64{1, 1}}, Config{})
	require.NoError(t, err)
	_, err = n.Normalize([]float32{1, 2, 3})
	assert.ErrorContains(t, err, "whole number of 2-D vectors")
	_, err = n.Unnormalize(nil)
	assert.Error(t, err)
	_, err = spatialSet().Normalizer("nope", Config{})
	assert.ErrorContains(t, err, `no feature "nope"`)
}

func TestGuardOff(t *testing.T) {
	st := &Stats{Q01: []float64{0}, Q99: []float64{0}}
	n, err := New(st, Config{MinRange: -1, NoClip: true})
	require.NoError(t, err)
	assert.Empty(t, n.Degenerate())
	y, err := n.Normalize([]float32{1e-6})
	require.NoError(t, err)
	assert.InDelta(t, 1, y[0], 1e-6) // VST's formula, unguarded
}

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Mode
	}{{"quantile", Quantile}, {"Q99", Quantile}, {"mean_std", MeanStd}, {"bounds", MinMax}, {"identity", Identity}} {
		m, err := ParseMode(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, m)
	}
	_, err := ParseMode("zipf")
	assert.ErrorContains(t, err, `"zipf"`)
}

func TestFormatsRoundTrip(t *testing.T) {
	set := spatialSet()
	lr, err := set.MarshalLeRobot()
	require.NoError(t, err)
	vst, err := set.MarshalVST()
	require.NoError(t, err)
	ovla, err := set.MarshalOpenVLA("libero_spatial_no_noops")
	require.NoError(t, err)
	opi, err := set.MarshalOpenPI()
	require.NoError(t, err)
	tests := []struct {
		name     string
		data     []byte
		format   Format
		mask     bool
		counts   bool
		minmax   bool
		features int
	}{
		{"lerobot", lr, LeRobot, false, false, true, 2},
		{"vst", vst, VST, true, true, true, 2},
		{"openvla", ovla, OpenVLA, true, true, true, 2},
		{"openpi", opi, OpenPI, false, false, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := Parse(tt.data)
			require.NoError(t, err)
			assert.Equal(t, tt.format, f)
			assert.Len(t, got.Features, tt.features)
			a := got.Features[Action]
			assert.Equal(t, spatialQ01, a.Q01)
			assert.Equal(t, spatialQ99, a.Q99)
			if tt.minmax {
				assert.Equal(t, spatialQ99, a.Max)
			}
			if tt.mask {
				assert.Equal(t, set.Features[Action].Mask, a.Mask)
			}
			if tt.counts {
				assert.Equal(t, int64(52970), got.NumTransitions)
				assert.Equal(t, int64(432), got.NumTrajectories)
			}
			// Normalizing with the parsed stats gives the same numbers.
			want, err := set.Normalizer(Action, Config{})
			require.NoError(t, err)
			have, err := got.Normalizer(Action, Config{})
			require.NoError(t, err)
			x := []float32{0.1, -0.2, 0.3, 0.01, -0.02, 0.05, 1}
			wy, _ := want.Normalize(x)
			hy, _ := have.Normalize(x)
			if tt.mask {
				assert.Equal(t, wy, hy)
			} else {
				assert.Equal(t, wy[:6], hy[:6])
			}
		})
	}
}

func TestParseVSTFile(t *testing.T) {
	// The shape of VST's norm_stats_libero_spatial.json (values rounded as in vst.md).
	data := []byte(`{"norm_stats": {"action": {
	  "mean": [0.15, 0.13, -0.15, -0.005, 0.0, 0.003, 0.5],
	  "std": [0.41, 0.35, 0.5, 0.04, 0.07, 0.07, 0.49],
	  "max": [0.9375, 0.9375, 0.9375, 0.1971, 0.3354, 0.375, 1.0],
	  "min": [-0.9375, -0.9375, -0.9375, -0.1875, -0.3675, -0.36, 0.0],
	  "q01": [-0.745473, -0.661607, -0.9375, -0.107143, -0.206786, -0.184286, 0.0],
	  "q99": [0.9375, 0.875893, 0.932143, 0.103929, 0.176786, 0.145714, 1.0],
	  "mask": [true, true, true, true, true, true, false]},
	 "proprio": {"mean": [0,0,0,0,0,0,0], "std": [0,0,0,0,0,0,0], "max": [0,0,0,0,0,0,0],
	  "min": [0,0,0,0,0,0,0], "q01": [0,0,0,0,0,0,0], "q99": [0,0,0,0,0,0,0]},
	 "num_transitions": 52970, "num_trajectories": 432}}`)
	set, f, err := Parse(data)
	require.NoError(t, err)
	assert.Equal(t, VST, f)
	assert.Equal(t, spatialQ01, set.Features[Action].Q01)
	assert.Equal(t, spatialQ99, set.Features[Action].Q99)
	assert.False(t, set.Features[Action].Masked(6))
	// VST's all-zero proprio stats are degenerate: reported, passed through.
	n, err := set.Normalizer(State, Config{})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, n.Degenerate())
	again, err := set.MarshalVST()
	require.NoError(t, err)
	set2, err := ParseVST(again)
	require.NoError(t, err)
	assert.Equal(t, set, set2)
}

func TestParseLeRobotImageStats(t *testing.T) {
	data := []byte(`{"observation.images.agentview": {"mean": [[[0.5]],[[0.4]],[[0.3]]], "std": [[[0.2]],[[0.2]],[[0.2]]],
	  "min": [[[0]],[[0]],[[0]]], "max": [[[1]],[[1]],[[1]]], "count": [300]},
	  "action": {"mean": [0.1], "std": [1], "min": [-1], "max": [1], "count": [300], "q01": [-0.9], "q10": [-0.5], "q50": [0], "q90": [0.5], "q99": [0.9]}}`)
	set, err := ParseLeRobot(data)
	require.NoError(t, err)
	assert.Equal(t, []float64{0.5, 0.4, 0.3}, set.Features["observation.images.agentview"].Mean)
	assert.Equal(t, int64(300), set.Features[Action].Count)
	assert.Equal(t, []float64{0.5}, set.Features[Action].Q90)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"not json", `nope`, "not a JSON object"},
		{"lerobot empty", `{}`, "no features"},
		{"lerobot bad field", `{"action": {"mean": ["x"]}}`, "feature \"action\": stats field mean"},
		{"lerobot bad count", `{"action": {"mean": [1], "count": [1.5]}}`, "count"},
		{"lerobot ragged", `{"action": {"mean": [1], "std": [1, 2]}}`, "std has 2 values"},
		{"vst no action", `{"norm_stats": {"proprio": {"mean": [0]}}}`, `no "action" stats`},
		{"vst mask", `{"norm_stats": {"action": {"q01": [0], "q99": [1], "mask": [1]}}}`, "mask"},
		{"openpi no actions", `{"norm_stats": {"actions": 3}}`, "actions"},
		{"openvla two", `{"a": {"action": {"q01": [0]}}, "b": {"action": {"q01": [0]}}}`, "feature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.data))
			assert.ErrorContains(t, err, tt.want)
		})
	}
	two := []byte(`{"a": {"action": {"q01": [0], "q99": [1]}}, "b": {"action": {"q01": [0], "q99": [1]}}}`)
	_, err := ParseOpenVLA(two, "")
	assert.ErrorContains(t, err, "2 datasets (a, b)")
	s, err := ParseOpenVLA(two, "b")
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, s.Features[Action].Q99)
	_, err = ParseOpenVLA(two, "c")
	assert.ErrorContains(t, err, `no dataset "c"`)
	_, err = (&Set{}).MarshalVST()
	assert.Error(t, err)
	_, err = spatialSet().MarshalOpenVLA("")
	assert.Error(t, err)
	_, err = (&Set{Features: map[string]*Stats{Action: {Q01: []float64{0}, Q99: []float64{1}}}}).MarshalOpenPI()
	assert.ErrorContains(t, err, "lacks mean or std")
}

func TestWriteReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta", "stats.json")
	data, err := spatialSet().MarshalLeRobot()
	require.NoError(t, err)
	require.NoError(t, WriteFile(path, data))
	set, f, err := ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, LeRobot, f)
	assert.Equal(t, spatialQ99, set.Features[Action].Q99)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
	_, _, err = ReadFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
}
