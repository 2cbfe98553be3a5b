package safety_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func builtin(t testing.TB, name string) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Builtin(name)
	require.NoError(t, err)
	return s
}

// twoDims is a simulated 2-D velocity robot at 10 Hz: dim 0 "zero" with
// vel 1, acc 10 (rate may change by 1 per step); dim 1 unbounded.
func twoDims(t testing.TB) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Parse([]byte(`name: two
action_space: joint_velocity
control_rate_hz: 10
dims:
  - {name: a, min: -1, max: 1, max_velocity: 1, max_acceleration: 10}
  - {name: b, min: -2, max: 2}
`), embodiment.YAML)
	require.NoError(t, err)
	return s
}

func fresh(now time.Time, action []float32, state []float32) safety.Input {
	return safety.Input{Action: action, State: state, ObservedAt: now, ChunkAt: now}
}

func kinds(events []safety.Event) []safety.EventKind {
	var k []safety.EventKind
	for _, e := range events {
		k = append(k, e.Kind)
	}
	return k
}

func TestNewErrors(t *testing.T) {
	_, err := safety.New(nil, safety.Config{})
	require.EqualError(t, err, "safety: nil spec")
	bad := *twoDims(t)
	bad.ControlRate = -1
	_, err = safety.New(&bad, safety.Config{})
	require.EqualError(t, err, "safety: control_rate_hz: must be in (0, 1000], got -1")
	_, err = safety.New(twoDims(t), safety.Config{PolicyTimeout: -time.Second})
	require.EqualError(t, err, "safety: timeouts must be positive, got observation 250ms, policy -1s")
	f, err := safety.New(twoDims(t), safety.Config{})
	require.NoError(t, err)
	require.Equal(t, safety.Config{ObservationTimeout: 250 * time.Millisecond, PolicyTimeout: time.Second}, f.Config())
	require.Equal(t, "two", f.Spec().Name)
}

func TestCheckCases(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, ca := range []struct {
		name   string
		in     func(now time.Time) safety.Input
		values []float32
		mode   safety.Mode
		reason string
		events []safety.EventKind
	}{
		{"passes", func(now time.Time) safety.Input { return fresh(now, []float32{0.05, -1.5}, nil) }, []float32{0.05, -1.5}, safety.ModeRun, "", nil},
		{"clamps", func(now time.Time) safety.Input { return fresh(now, []float32{0, 7}, nil) }, []float32{0, 2}, safety.ModeRun, "", []safety.EventKind{safety.EventClamp}},
		{"rate limits", func(now time.Time) safety.Input { return fresh(now, []float32{1, 0}, nil) }, []float32{0.1, 0}, safety.ModeRun, "", []safety.EventKind{safety.EventRateLimit}},
		{"nan", func(now time.Time) safety.Input { return fresh(now, []float32{nan, 1}, nil) }, []float32{0, 0}, safety.ModeStopped, "non-finite action", []safety.EventKind{safety.EventNonFinite}},
		{"inf", func(now time.Time) safety.Input { return fresh(now, []float32{0, -inf}, nil) }, []float32{0, 0}, safety.ModeStopped, "non-finite action", []safety.EventKind{safety.EventNonFinite}},
		{"length", func(now time.Time) safety.Input { return fresh(now, []float32{0}, nil) }, []float32{0, 0}, safety.ModeStopped, "bad action", []safety.EventKind{safety.EventBadLength}},
		{"no action", func(now time.Time) safety.Input { return fresh(now, nil, nil) }, []float32{0, 0}, safety.ModeStopped, "no action", []safety.EventKind{safety.EventNoAction}},
		{"stale observation", func(now time.Time) safety.Input {
			in := fresh(now, []float32{0.1, 1}, nil)
			in.ObservedAt = now.Add(-300 * time.Millisecond)
			return in
		}, []float32{0, 0}, safety.ModeStopped, "observation stale", []safety.EventKind{safety.EventObservationStale}},
		{"never observed", func(now time.Time) safety.Input {
			in := fresh(now, []float32{0.1, 1}, nil)
			in.ObservedAt = time.Time{}
			return in
		}, []float32{0, 0}, safety.ModeStopped, "observation stale", []safety.EventKind{safety.EventObservationStale}},
		{"stale chunk", func(now time.Time) safety.Input {
			in := fresh(now, []float32{0.1, 1}, nil)
			in.ChunkAt = now.Add(-1100 * time.Millisecond)
			return in
		}, []float32{0, 0}, safety.ModeStopped, "policy stale", []safety.EventKind{safety.EventPolicyStale}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			f, err := safety.New(twoDims(t), safety.Config{})
			require.NoError(t, err)
			cmd, ev := f.Check(t0, ca.in(t0))
			require.Equal(t, ca.values, cmd.Values)
			require.Equal(t, ca.mode, cmd.Mode)
			require.Equal(t, ca.reason, cmd.Reason)
			require.Equal(t, ca.events, kinds(ev))
			require.True(t, cmd.Send)
			require.Equal(t, uint64(1), cmd.Seq)
			st := f.Stats()
			require.Equal(t, uint64(1), st.Commands)
			require.Equal(t, uint64(len(ca.events)), func() (n uint64) {
				for _, c := range st.Events {
					n += c
				}
				return n
			}())
		})
	}
}

func TestRateLimitedRampLandsWithoutOvershoot(t *testing.T) {
	f, err := safety.New(twoDims(t), safety.Config{})
	require.NoError(t, err)
	var got []float32
	now := t0
	for range 14 {
		cmd, _ := f.Check(now, fresh(now, []float32{0.5, 0}, nil))
		got = append(got, cmd.Values[0])
		now = now.Add(100 * time.Millisecond)
	}
	// Accelerates by 0.1/step², cruises at 1/s (0.1 per step), brakes and
	// lands on 0.5 with zero rate.
	want := []float32{0.1, 0.2, 0.3, 0.4, 0.5}
	for i, w := range want {
		require.InDelta(t, w, got[i], 1e-6, "step %d: %v", i, got)
	}
	for _, v := range got[len(want):] {
		require.Equal(t, float32(0.5), v)
	}

	// A stop ramps to zero under the same limits.
	var stop []float32
	for range 10 {
		cmd, _ := f.Check(now, fresh(now, nil, nil))
		stop = append(stop, cmd.Values[0])
		now = now.Add(100 * time.Millisecond)
	}
	require.InDeltaSlice(t, []float32{0.4, 0.3, 0.2, 0.1, 0, 0, 0, 0, 0, 0}, stop, 1e-6)
	require.Equal(t, safety.ModeStopped, f.Stats().Mode)
}

func TestWorkspace(t *testing.T) {
	spec := builtin(t, "panda_sim")
	f, err := safety.New(spec, safety.Config{})
	require.NoError(t, err)
	state := func(x, y, z float32) []float32 { return []float32{x, y, z, 0, 0, 0, 0.04, 0.04} }

	// 1 cm below the top (z max 1.5): dz may be at most 0.2 (0.01 m / 0.05).
	cmd, ev := f.Check(t0, fresh(t0, []float32{0, 0, 1, 0, 0, 0, -1}, state(0, 0, 1.49)))
	require.InDelta(t, 0.2, cmd.Values[2], 1e-6)
	require.Equal(t, []safety.EventKind{safety.EventWorkspace}, kinds(ev))

	// Outside the box along x: moving further out is cut to 0, back in is fine.
	cmd, _ = f.Check(t0, fresh(t0, []float32{0.5, 0, 0, 0, 0, 0, -1}, state(0.5, 0, 1)))
	require.Equal(t, float32(0), cmd.Values[0])
	cmd, ev = f.Check(t0, fresh(t0, []float32{-0.5, 0, 0, 0, 0, 0, -1}, state(0.5, 0, 1)))
	require.Equal(t, float32(-0.5), cmd.Values[0])
	require.Empty(t, ev)

	// No end-effector position: stop.
	cmd, ev = f.Check(t0, fresh(t0, []float32{0.1, 0, 0, 0, 0, 0, -1}, nil))
	require.Equal(t, "no end-effector position", cmd.Reason)
	require.Equal(t, []safety.EventKind{safety.EventStateInvalid}, kinds(ev))
	cmd, _ = f.Check(t0, fresh(t0, []float32{0.1, 0, 0, 0, 0, 0, -1}, state(float32(math.NaN()), 0, 1)))
	require.Equal(t, "no end-effector position", cmd.Reason)

	// Property: from anywhere inside, the predicted position stays inside.
	rng := rand.New(rand.NewPCG(1, 2))
	w := spec.Workspace
	for range 5000 {
		var p [3]float32
		for a := range 3 {
			p[a] = float32(w.Min[a] + rng.Float64()*(w.Max[a]-w.Min[a]))
		}
		act := []float32{float32(rng.NormFloat64() * 3), float32(rng.NormFloat64() * 3), float32(rng.NormFloat64() * 3), 0, 0, 0, 1}
		cmd, _ := f.Check(t0, fresh(t0, act, state(p[0], p[1], p[2])))
		for a := range 3 {
			next := float64(p[a]) + float64(cmd.Values[a])*0.05
			require.GreaterOrEqual(t, next, w.Min[a]-1e-6)
			require.LessOrEqual(t, next, w.Max[a]+1e-6)
		}
	}
}

func TestGripperStartsAtInitialAndHolds(t *testing.T) {
	f, err := safety.New(builtin(t, "panda_sim"), safety.Config{})
	require.NoError(t, err)
	st := []float32{0, 0, 1, 0, 0, 0, 0.04, 0.04}
	cmd, _ := f.Check(t0, fresh(t0, nil, st))
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0, -1}, cmd.Values)
	cmd, _ = f.Check(t0, fresh(t0, []float32{1, 0, 0, 0, 0, 0, 1}, st))
	require.Equal(t, []float32{1, 0, 0, 0, 0, 0, 1}, cmd.Values)
	// Stop: the delta goes to zero, the gripper stays closed.
	cmd, _ = f.Check(t0, fresh(t0, nil, st))
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0, 1}, cmd.Values)
}

func TestJointPositionPrimesFromState(t *testing.T) {
	spec := builtin(t, "arm6dof")
	f, err := safety.New(spec, safety.Config{})
	require.NoError(t, err)
	require.True(t, f.DryRun())
	q := []float32{0.5, -0.2, 0.1, 0, 0, 0, 0.04}

	cmd, ev := f.Check(t0, fresh(t0, q, []float32{0.5}))
	require.Nil(t, cmd.Values)
	require.False(t, cmd.Send)
	require.Equal(t, []safety.EventKind{safety.EventStateInvalid}, kinds(ev))

	// From the measured state, a far target is approached at the limits.
	cmd, _ = f.Check(t0, fresh(t0, []float32{2, -0.2, 0.1, 0, 0, 0, 0.04}, q))
	require.False(t, cmd.Send, "dry run")
	require.InDelta(t, 0.5+2.0*0.05*0.05, cmd.Values[0], 1e-6) // acc 2 rad/s² for one 50 ms step
	require.InDelta(t, -0.2, cmd.Values[1], 1e-6)
	st := f.Stats()
	require.Equal(t, uint64(1), st.Withheld)
	require.Equal(t, uint64(0), st.Sent)
}

func TestEStopLatchesUntilReset(t *testing.T) {
	f, err := safety.New(twoDims(t), safety.Config{})
	require.NoError(t, err)
	now := t0
	for range 5 {
		f.Check(now, fresh(now, []float32{1, 1}, nil))
		now = now.Add(100 * time.Millisecond)
	}
	ev := f.EStop(now, "")
	require.Equal(t, safety.EventEStop, ev.Kind)
	require.True(t, f.EStopped())
	var last safety.Command
	for range 20 {
		last, _ = f.Check(now, fresh(now, []float32{1, 1}, nil))
		require.NotEqual(t, safety.ModeRun, last.Mode)
		require.Equal(t, "e-stop", last.Reason)
		now = now.Add(100 * time.Millisecond)
	}
	require.Equal(t, safety.ModeStopped, last.Mode)
	require.Equal(t, []float32{0, 0}, last.Values)
	f.Reset(now)
	require.False(t, f.EStopped())
	cmd, _ := f.Check(now, fresh(now, []float32{0.05, 1}, nil))
	require.Equal(t, safety.ModeRun, cmd.Mode)
	st := f.Stats()
	require.Equal(t, uint64(1), st.Events[safety.EventEStop])
	require.Equal(t, uint64(1), st.Events[safety.EventReset])
}

func TestDryRunOverride(t *testing.T) {
	live := false
	f, err := safety.New(builtin(t, "mobile_base"), safety.Config{DryRun: &live})
	require.NoError(t, err)
	cmd, _ := f.Check(t0, fresh(t0, []float32{0.01, 0, 0}, nil))
	require.True(t, cmd.Send)
	dry := true
	f, err = safety.New(builtin(t, "panda_sim"), safety.Config{DryRun: &dry})
	require.NoError(t, err)
	cmd, _ = f.Check(t0, fresh(t0, nil, nil))
	require.False(t, cmd.Send)
}

func TestEventKindNames(t *testing.T) {
	require.Equal(t, "non_finite", safety.EventNonFinite.String())
	require.Equal(t, "reset", safety.EventReset.String())
	require.Equal(t, "unknown", safety.EventKind(99).String())
	require.Equal(t, "stopping", safety.ModeStopping.String())
}

// nasty returns a policy output drawn from a mix of regimes: in range,
// huge, NaN/Inf, alternating extremes, wrong length, missing.
func nasty(rng *rand.Rand, step int, spec *embodiment.Spec) []float32 {
	n := spec.ActionDim()
	a := make([]float32, n)
	regime := rng.IntN(10)
	for i, d := range spec.Dims {
		switch regime {
		case 0, 1, 2:
			a[i] = float32(d.Min + rng.Float64()*(d.Max-d.Min))
		case 3:
			a[i] = float32(rng.NormFloat64() * 1e30)
		case 4:
			a[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0}[rng.IntN(4)]
		case 5, 6:
			if step%2 == 0 {
				a[i] = float32(d.Max * 10)
			} else {
				a[i] = float32(d.Min * 10)
			}
		case 7:
			a[i] = math.MaxFloat32 * float32(rng.IntN(3)-1)
		default:
			a[i] = float32(rng.NormFloat64() * (d.Max - d.Min))
		}
	}
	switch rng.IntN(40) {
	case 0:
		return nil
	case 1:
		return a[:n-1]
	}
	return a
}

// TestPropertyLimits drives each built-in embodiment with thousands of nasty
// actions and checks every emitted command: within [min, max], rate and
// rate change within the limits between consecutive commands, and only
// stop commands from an e-stop until Reset.
func TestPropertyLimits(t *testing.T) {
	for _, name := range embodiment.Builtins() {
		t.Run(name, func(t *testing.T) {
			spec := builtin(t, name)
			f, err := safety.New(spec, safety.Config{})
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(42, uint64(len(name))))
			dt := 1 / spec.ControlRate
			period := spec.Period()
			// The state: joints at mid-range, the end effector mid-box.
			state := make([]float32, spec.StateDim())
			for _, d := range spec.Dims {
				if d.StateIndex != nil {
					state[*d.StateIndex] = float32((d.Min + d.Max) / 2)
				}
			}
			if w := spec.Workspace; w != nil {
				off, _, _ := spec.StateOffset(w.StateField)
				for a := range 3 {
					state[off+a] = float32((w.Min[a] + w.Max[a]) / 2)
				}
			}
			now := t0
			var prev, prev2 []float32
			estopUntil := -1
			for step := range 20000 {
				now = now.Add(period)
				if estopUntil < 0 && rng.IntN(500) == 0 {
					f.EStop(now, "test")
					estopUntil = step + 5 + rng.IntN(60)
				}
				if step == estopUntil {
					f.Reset(now)
					estopUntil = -1
				}
				in := fresh(now, nasty(rng, step, spec), state)
				if rng.IntN(200) == 0 {
					in.ObservedAt = now.Add(-time.Second)
				}
				cmd, _ := f.Check(now, in)
				require.Len(t, cmd.Values, spec.ActionDim())
				if estopUntil >= 0 {
					require.NotEqual(t, safety.ModeRun, cmd.Mode, "step %d: run command during e-stop", step)
				}
				for i, d := range spec.Dims {
					v := float64(cmd.Values[i])
					require.False(t, math.IsNaN(v) || math.IsInf(v, 0))
					require.GreaterOrEqual(t, v, d.Min, "step %d dim %d", step, i)
					require.LessOrEqual(t, v, d.Max, "step %d dim %d", step, i)
					if prev == nil || d.MaxVelocity == 0 {
						continue
					}
					dv := v - float64(prev[i])
					require.LessOrEqual(t, math.Abs(dv), d.MaxVelocity*dt*(1+1e-6)+1e-6, "step %d dim %d velocity", step, i)
					if prev2 == nil || d.MaxAcceleration == 0 {
						continue
					}
					ddv := dv - (float64(prev[i]) - float64(prev2[i]))
					require.LessOrEqual(t, math.Abs(ddv), d.MaxAcceleration*dt*dt*(1+1e-6)+2e-6, "step %d dim %d acceleration", step, i)
				}
				prev2, prev = prev, cmd.Values
				// The robot tracks its position commands perfectly, so a
				// limiter restarted from the state after Reset continues
				// where it was.
				for i, d := range spec.Dims {
					if d.StateIndex != nil {
						state[*d.StateIndex] = cmd.Values[i]
					}
				}
			}
			st := f.Stats()
			require.Equal(t, uint64(20000), st.Commands)
			require.NotZero(t, st.Events[safety.EventNonFinite])
			require.NotZero(t, st.Events[safety.EventClamp])
			require.NotZero(t, st.Events[safety.EventEStop])
			require.NotZero(t, st.Events[safety.EventObservationStale])
		})
	}
}

// TestPropertyEStopReachesRest checks that after an e-stop the commands
// settle: zero dimensions at zero, every rate at zero, within a bounded
// number of steps, and then stay constant.
func TestPropertyEStopReachesRest(t *testing.T) {
	spec := builtin(t, "arm6dof")
	rng := rand.New(rand.NewPCG(7, 7))
	state := []float32{0, 0, 0, 0, 0, 0, 0.04}
	for trial := range 300 {
		f, err := safety.New(spec, safety.Config{})
		require.NoError(t, err)
		now := t0
		for step := range rng.IntN(40) {
			now = now.Add(spec.Period())
			f.Check(now, fresh(now, nasty(rng, step, spec), state))
		}
		f.EStop(now, "test")
		var last safety.Command
		steps := 0
		for ; steps < 200; steps++ {
			now = now.Add(spec.Period())
			last, _ = f.Check(now, fresh(now, nasty(rng, steps, spec), state))
			if last.Mode == safety.ModeStopped {
				break
			}
			require.Equal(t, safety.ModeStopping, last.Mode)
		}
		require.Equal(t, safety.ModeStopped, last.Mode, "trial %d did not settle", trial)
		for range 5 {
			now = now.Add(spec.Period())
			cmd, _ := f.Check(now, fresh(now, nasty(rng, 0, spec), state))
			require.Equal(t, last.Values, cmd.Values)
			require.Equal(t, safety.ModeStopped, cmd.Mode)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	f, err := safety.New(twoDims(t), safety.Config{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
				switch {
				case g == 0 && i%50 == 0:
					f.EStop(now, "")
				case g == 1 && i%50 == 25:
					f.Reset(now)
				default:
					f.Check(now, fresh(now, []float32{float32(g) / 4, 1}, nil))
				}
				_ = f.Stats()
			}
		})
	}
	wg.Wait()
	require.NotZero(t, f.Stats().Commands)
}

func BenchmarkCheck(b *testing.B) {
	spec := builtin(b, "panda_sim")
	f, err := safety.New(spec, safety.Config{})
	require.NoError(b, err)
	state := []float32{0, 0, 1, 0, 0, 0, 0.04, 0.04}
	rng := rand.New(rand.NewPCG(1, 1))
	actions := make([][]float32, 64)
	for i := range actions {
		a := make([]float32, 7)
		for j := range a {
			a[j] = float32(rng.Float64()*2 - 1)
		}
		actions[i] = a
	}
	now := t0
	i := 0
	for b.Loop() {
		now = now.Add(50 * time.Millisecond)
		f.Check(now, fresh(now, actions[i%len(actions)], state))
		i++
	}
}
