package control_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/control/controltest"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// wide is a simulated 2-D robot with wide, unlimited-rate dimensions, so the
// filter passes policy values unchanged.
func wide(t testing.TB, rate float64, extra string) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Parse(fmt.Appendf(nil, `name: wide
action_space: joint_velocity
control_rate_hz: %v
dims:
  - {name: a, min: -1000000, max: 1000000%s}
  - {name: b, min: -1000000, max: 1000000%s}
cameras: [{name: cam, width: 4, height: 3}]
state: [{name: s, dims: 2}]
`, rate, extra, extra), embodiment.YAML)
	require.NoError(t, err)
	return s
}

type rig struct {
	spec   *embodiment.Spec
	filter *safety.Filter
	sensor *controltest.Sensor
	act    *controltest.Actuator
	pol    *controltest.Policy
}

func newRig(t testing.TB, spec *embodiment.Spec, fc safety.Config, h int) *rig {
	t.Helper()
	f, err := safety.New(spec, fc)
	require.NoError(t, err)
	return &rig{spec: spec, filter: f, sensor: controltest.NewSensor(spec), act: &controltest.Actuator{}, pol: &controltest.Policy{D: spec.ActionDim(), H: h}}
}

func (r *rig) config() control.Config {
	return control.Config{Policy: r.pol, Sensor: r.sensor, Actuator: r.act, Filter: r.filter}
}

func run(t testing.TB, cfg control.Config) *control.Loop {
	t.Helper()
	l, err := control.New(cfg)
	require.NoError(t, err)
	require.NoError(t, l.Run(context.Background()))
	return l
}

func TestNewErrors(t *testing.T) {
	r := newRig(t, wide(t, 20, ""), safety.Config{}, 8)
	for _, ca := range []struct {
		name  string
		patch func(c *control.Config)
		err   string
	}{
		{"no policy", func(c *control.Config) { c.Policy = nil }, "control: Policy is nil"},
		{"no sensor", func(c *control.Config) { c.Sensor = nil }, "control: Sensor is nil"},
		{"no actuator", func(c *control.Config) { c.Actuator = nil }, "control: Actuator is nil"},
		{"no filter", func(c *control.Config) { c.Filter = nil }, "control: Filter is nil"},
		{"dims", func(c *control.Config) { c.Policy = &controltest.Policy{D: 7, H: 8} }, `control: policy "fake" emits 7-D actions, embodiment "wide" takes 2`},
		{"horizon", func(c *control.Config) { c.Policy = &controltest.Policy{D: 2} }, `control: policy "fake" has horizon 0, want positive`},
		{"execute", func(c *control.Config) { c.Execute = 9 }, "control: Execute 9 is outside [1, 8] (the policy's horizon)"},
		{"prefetch", func(c *control.Config) { c.PrefetchAt = 8 }, "control: PrefetchAt 8 is outside [-1, 7]"},
		{"decay", func(c *control.Config) { c.EnsembleDecay = math.NaN() }, "control: EnsembleDecay must be finite and non-negative, got NaN"},
		{"steps", func(c *control.Config) { c.Steps = -1 }, "control: Steps must not be negative, got -1"},
		{"camera", func(c *control.Config) { c.Policy = cameraPolicy{c.Policy} }, `control: policy "fake" reads camera "wrist", embodiment "wide" has none by that name`},
		{"too long for the watchdog", func(c *control.Config) { c.Policy = &controltest.Policy{D: 2, H: 30} }, "control: executing 30 actions per chunk at 20 Hz spans 1.45s, not under the safety filter's policy timeout 1s"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			cfg := r.config()
			ca.patch(&cfg)
			_, err := control.New(cfg)
			require.EqualError(t, err, ca.err)
		})
	}
	l, err := control.New(r.config())
	require.NoError(t, err)
	require.Equal(t, 8, l.Config().Execute)
	require.Equal(t, 4, l.Config().PrefetchAt)
	require.Equal(t, 0.01, l.Config().EnsembleDecay)
}

type cameraPolicy struct{ policy.Policy }

func (p cameraPolicy) Spec() policy.Spec {
	s := p.Policy.Spec()
	s.Cameras = []string{"wrist"}
	return s
}

func runValues(cmds []safety.Command, n int) []float32 {
	var v []float32
	for _, c := range cmds[:min(n, len(cmds))] {
		v = append(v, c.Values[0])
	}
	return v
}

func TestOpenLoopExecutesFirstKOfH(t *testing.T) {
	r := newRig(t, wide(t, 20, ""), safety.Config{}, 6)
	cfg := r.config()
	cfg.Execute, cfg.PrefetchAt, cfg.Steps, cfg.Prompt = 4, -1, 12, "stack the cups"
	l := run(t, cfg)
	require.Equal(t, []float32{0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203}, runValues(r.act.Commands(), 12))
	require.Equal(t, 3, r.pol.Calls())
	for _, o := range r.pol.Observations() {
		require.Equal(t, "stack the cups", o.Prompt)
	}
	st := l.Stats()
	require.Equal(t, uint64(12), st.Ticks)
	require.Equal(t, uint64(3), st.Chunks)
	require.Zero(t, st.Starved)
}

func TestTemporalEnsembling(t *testing.T) {
	r := newRig(t, wide(t, 20, ""), safety.Config{}, 3)
	// Chunk n predicts 2^n for every step.
	r.pol.Value = func(n, _, _ int) float32 { return float32(math.Pow(2, float64(n))) }
	cfg := r.config()
	cfg.Ensemble, cfg.EnsembleDecay, cfg.Steps = true, 0.5, 4
	run(t, cfg)
	// Hand-computed with w = 1, e^-0.5 = 0.606531, e^-1 = 0.367879 (oldest
	// first); chunk 0 expires after tick 2.
	//   tick 0: 1
	//   tick 1: (1 + 2·0.606531) / 1.606531 = 1.377541
	//   tick 2: (1 + 2·0.606531 + 4·0.367879) / 1.974410 = 1.866167
	//   tick 3: (2 + 4·0.606531 + 8·0.367879) / 1.974410 = 3.732334
	require.InDeltaSlice(t, []float32{1, 1.377541, 1.866167, 3.732334}, runValues(r.act.Commands(), 4), 1e-5)
}

func TestPrefetchOverlapsInference(t *testing.T) {
	for _, ca := range []struct {
		name       string
		prefetchAt int
		gaps       bool
	}{
		{"prefetch", 30, false},
		{"no prefetch", -1, true},
	} {
		t.Run(ca.name, func(t *testing.T) {
			r := newRig(t, wide(t, 100, ""), safety.Config{}, 40)
			r.pol.Latency = 20 * time.Millisecond // two periods, far under the 30-action window
			cfg := r.config()
			cfg.PrefetchAt, cfg.Steps = ca.prefetchAt, 100
			l := run(t, cfg)
			cmds := r.act.Commands()
			first := -1
			gaps := 0
			for i, c := range cmds[:100] {
				if c.Mode == safety.ModeRun && first < 0 {
					first = i
				}
				if first >= 0 && c.Mode != safety.ModeRun {
					gaps++
				}
			}
			require.GreaterOrEqual(t, first, 1, "the first chunk takes time")
			st := l.Stats()
			require.Equal(t, uint64(first), st.Starved-uint64(gaps))
			if ca.gaps {
				require.GreaterOrEqual(t, gaps, 2, "each later chunk leaves a gap")
			} else {
				require.Zero(t, gaps, "prefetching leaves no gap once started")
				require.GreaterOrEqual(t, st.Chunks, uint64(8))
			}
		})
	}
}

func TestSafetyAppliedToEveryCommand(t *testing.T) {
	spec, err := embodiment.Parse([]byte(`name: limited
action_space: joint_velocity
control_rate_hz: 100
dims:
  - {name: a, min: -1, max: 1, max_velocity: 5, max_acceleration: 100}
`), embodiment.YAML)
	require.NoError(t, err)
	r := newRig(t, spec, safety.Config{}, 6)
	vals := []float32{1e30, float32(math.NaN()), -1e30, float32(math.Inf(1)), 3, -3}
	r.pol.Value = func(n, i, _ int) float32 { return vals[(n+i)%len(vals)] }
	cfg := r.config()
	cfg.Steps = 60
	l := run(t, cfg)
	cmds := r.act.Commands()
	require.NotEmpty(t, cmds)
	for i, c := range cmds {
		v := float64(c.Values[0])
		require.LessOrEqual(t, math.Abs(v), 1.0)
		if i > 0 {
			require.Equal(t, cmds[i-1].Seq+1, c.Seq, "every command comes from the filter, in order")
			require.LessOrEqual(t, math.Abs(v-float64(cmds[i-1].Values[0])), 5*0.01+1e-6)
		}
	}
	st := l.Stats()
	require.Equal(t, st.Sent, st.Safety.Sent)
	require.Equal(t, uint64(len(cmds)), st.Sent)
	require.NotZero(t, st.Safety.Events[safety.EventNonFinite])
	require.NotZero(t, st.Safety.Events[safety.EventClamp])
}

// hangingPolicy answers once, then never again (until cancelled).
type hangingPolicy struct {
	*controltest.Policy
}

func (p hangingPolicy) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	if p.Calls() == 0 {
		return p.Policy.Act(ctx, obs)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPolicyTimeoutStops(t *testing.T) {
	r := newRig(t, wide(t, 50, ", max_velocity: 1000, max_acceleration: 100000"), safety.Config{PolicyTimeout: 300 * time.Millisecond}, 5)
	r.pol.Value = func(int, int, int) float32 { return 1 }
	cfg := r.config()
	cfg.Policy = hangingPolicy{r.pol}
	cfg.Steps = 30
	l := run(t, cfg)
	cmds := r.act.Commands()
	// The chunk's 5 actions run, then the robot stops within the policy
	// timeout (15 ticks at 50 Hz) and stays stopped.
	runs := 0
	var stopAt time.Time
	var lastRun time.Time
	for _, c := range cmds {
		if c.Mode == safety.ModeRun {
			runs++
			lastRun = c.Time
			require.True(t, stopAt.IsZero(), "no run command after the stop began")
		} else if runs > 0 && stopAt.IsZero() {
			stopAt = c.Time
			require.Equal(t, "no action", c.Reason)
		}
	}
	require.Equal(t, 5, runs)
	require.Less(t, stopAt.Sub(lastRun), 300*time.Millisecond)
	require.Equal(t, safety.ModeStopped, cmds[len(cmds)-1].Mode)
	require.NotZero(t, l.Stats().Safety.Events[safety.EventNoAction])
}

func TestStaleObservationStops(t *testing.T) {
	for _, ca := range []struct {
		name string
		obs  func(r *rig, n *int) func(context.Context) (control.Reading, error)
	}{
		{"frozen camera", func(r *rig, n *int) func(context.Context) (control.Reading, error) {
			frozen := time.Now()
			return func(context.Context) (control.Reading, error) {
				obs := &policy.Observation{Images: map[string]policy.Image{"cam": {Pix: make([]uint8, 36), H: 3, W: 4}}, State: []float32{0, 0}}
				*n++
				if *n < 5 {
					return control.Reading{Observation: obs, Time: time.Now()}, nil
				}
				return control.Reading{Observation: obs, Time: frozen}, nil
			}
		}},
		{"sensor errors", func(r *rig, n *int) func(context.Context) (control.Reading, error) {
			good := controltest.NewSensor(r.spec)
			return func(ctx context.Context) (control.Reading, error) {
				*n++
				if *n < 5 {
					return good.Observe(ctx)
				}
				return control.Reading{}, errors.New("camera unplugged")
			}
		}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			r := newRig(t, wide(t, 50, ""), safety.Config{ObservationTimeout: 100 * time.Millisecond}, 40)
			n := 0
			r.sensor.ObserveFunc = ca.obs(r, &n)
			cfg := r.config()
			cfg.Steps = 25
			l := run(t, cfg)
			cmds := r.act.Commands()
			last := cmds[len(cmds)-1]
			require.Equal(t, safety.ModeStopped, last.Mode)
			require.Equal(t, "observation stale", last.Reason)
			require.Equal(t, uint64(1), l.Stats().Safety.Events[safety.EventObservationStale])
			require.Equal(t, 1, r.pol.Calls(), "no inference on stale or failed observations")
		})
	}
}

func TestDryRunNeverReachesActuator(t *testing.T) {
	spec, err := embodiment.Builtin("arm6dof")
	require.NoError(t, err)
	require.True(t, spec.IsDryRun())
	r := newRig(t, spec, safety.Config{}, 8)
	r.pol.Value = func(_, i, _ int) float32 { return 0.01 * float32(i) }
	cfg := r.config()
	cfg.Steps = 8
	l := run(t, cfg)
	require.Empty(t, r.act.Commands())
	st := l.Stats()
	require.Zero(t, st.Sent)
	require.GreaterOrEqual(t, st.DryRun, uint64(8))
	require.Equal(t, st.DryRun, st.Safety.Withheld)
	require.True(t, st.Safety.DryRun)
}

func TestCancelEndsWithControlledStop(t *testing.T) {
	r := newRig(t, wide(t, 100, ", max_velocity: 100, max_acceleration: 1000"), safety.Config{}, 50)
	r.pol.Value = func(int, int, int) float32 { return 1 }
	cfg := r.config()
	cfg.Execute = 50
	l, err := control.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	require.Eventually(t, func() bool {
		c := r.act.Commands()
		return len(c) > 0 && c[len(c)-1].Values[0] == 1
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	cmds := r.act.Commands()
	last := cmds[len(cmds)-1]
	require.Equal(t, safety.ModeStopped, last.Mode)
	require.Equal(t, []float32{0, 0}, last.Values)
	require.Greater(t, len(cmds), 2)
	require.Equal(t, safety.ModeStopping, cmds[len(cmds)-2].Mode, "the stop is a ramp, not a jump")

	// A second Run works after the first returned.
	cfg.Steps = 1
	l2, err := control.New(cfg)
	require.NoError(t, err)
	require.NoError(t, l2.Run(context.Background()))
}

func TestStatsPopulated(t *testing.T) {
	r := newRig(t, wide(t, 100, ""), safety.Config{}, 8)
	r.pol.Latency = time.Millisecond
	cfg := r.config()
	cfg.Steps = 40
	l := run(t, cfg)
	st := l.Stats()
	require.Equal(t, uint64(40), st.Ticks)
	for _, stage := range []string{control.StageCapture, control.StagePreprocess, control.StageInference, control.StageSafety, control.StagePublish, control.StageTick} {
		lat := st.Latency[stage]
		require.NotZero(t, lat.Count, stage)
		require.LessOrEqual(t, lat.P50, lat.P99, stage)
		require.LessOrEqual(t, lat.P99, lat.Max, stage)
	}
	require.GreaterOrEqual(t, st.Latency[control.StageInference].P50, time.Millisecond)
	require.GreaterOrEqual(t, st.Safety.Commands, uint64(40))
}

// BenchmarkLoopOverhead20Hz runs the loop at the Panda's 20 Hz with a
// zero-latency policy, two 224×224 cameras and a live actuator, one tick
// per b.N, and reports the per-tick work (everything but the model and the
// wait for the next tick). Use -benchtime=400x or so: each tick takes 50 ms.
func BenchmarkLoopOverhead20Hz(b *testing.B) {
	spec, err := embodiment.Builtin("panda_sim")
	require.NoError(b, err)
	r := newRig(b, spec, safety.Config{}, 8)
	r.sensor.SetState([]float32{0, 0, 1, 0, 0, 0, 0.04, 0.04})
	r.pol.Value = func(n, i, d int) float32 { return float32(math.Sin(float64(n*8+i+d))) * 0.5 }
	cfg := r.config()
	cfg.Steps = b.N
	b.ResetTimer()
	l := run(b, cfg)
	b.StopTimer()
	st := l.Stats()
	tick := st.Latency[control.StageTick]
	b.ReportMetric(float64(tick.P50.Microseconds())/1000, "p50-ms/tick")
	b.ReportMetric(float64(tick.P99.Microseconds())/1000, "p99-ms/tick")
	b.ReportMetric(float64(tick.Max.Microseconds())/1000, "max-ms/tick")
	b.ReportMetric(float64(st.Overruns), "overruns")
}
