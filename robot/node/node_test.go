package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/control/controltest"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/mqtt"
	"github.com/vstgo/vst/robot/node"
	"github.com/vstgo/vst/robot/safety"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/suite"
)

func fakeController(t *testing.T, steps int, dry bool) (*node.Controller, *node.Recorder, *controltest.Policy) {
	t.Helper()
	spec, err := embodiment.Builtin("mobile_base")
	require.NoError(t, err)
	spec.ControlRate = 50
	f, err := safety.New(spec, safety.Config{DryRun: &dry})
	require.NoError(t, err)
	p := &controltest.Policy{D: 3, H: 4, Value: func(n, i, d int) float32 { return 0.2 }}
	rec := &node.Recorder{Next: node.Guard{Filter: f, Next: node.Discard{}}}
	c, err := node.NewController(context.Background(), node.Config{Loop: control.Config{
		Policy: p, Sensor: node.NewFake(spec), Actuator: rec, Filter: f, Steps: steps, Prompt: "go"}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, rec, p
}

func TestControllerEpisodesAndCommands(t *testing.T) {
	c, rec, _ := fakeController(t, 0, false)
	require.NoError(t, c.Start(""))
	require.Eventually(t, func() bool { return c.Telemetry(nil).Mode == "running" }, 3*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return rec.Record().Commands > 10 }, 3*time.Second, 10*time.Millisecond)

	// e-stop: commands ramp to zero and the mode says so.
	require.NoError(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdEStop}))
	require.Eventually(t, func() bool {
		l := rec.Record().Last
		return l[0] == 0 && l[1] == 0 && l[2] == 0
	}, 3*time.Second, 10*time.Millisecond)
	tel := c.Telemetry(rec.Record().Last)
	require.Equal(t, "estop", tel.Mode)
	require.Equal(t, "go", tel.Task)
	require.ErrorContains(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdStart, Instruction: "x"}), "e-stop is latched")
	require.NoError(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdReset}))

	// start: a new episode with the new instruction.
	require.NoError(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdStart, Instruction: "turn left"}))
	ep := <-c.Episodes()
	require.Equal(t, node.EndStopped, ep.Ended)
	require.Equal(t, "go", ep.Prompt)
	require.Eventually(t, func() bool { return c.Telemetry(nil).Task == "turn left" && c.Running() }, 3*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdStop}))
	ep = <-c.Episodes()
	require.Equal(t, 1, ep.Number)
	require.Equal(t, "turn left", ep.Prompt)
	require.Equal(t, "idle", c.Telemetry(nil).Mode)
	require.ErrorContains(t, c.Handle(context.Background(), mqtt.Command{Cmd: mqtt.CmdStop}), "no episode is running")
}

func TestControllerStepsAndDryRun(t *testing.T) {
	c, rec, _ := fakeController(t, 20, true)
	require.NoError(t, c.Start(""))
	ep := <-c.Episodes()
	require.Equal(t, node.EndSteps, ep.Ended)
	require.EqualValues(t, 20, ep.Stats.Ticks)
	require.Zero(t, ep.Stats.Sent)
	require.NotZero(t, ep.Stats.DryRun)
	require.Zero(t, rec.Record().Commands)
	// The guard refuses even a command marked sendable while the filter runs dry.
	require.ErrorIs(t, node.Guard{Filter: c.Filter(), Next: node.Discard{}}.Send(context.Background(), safety.Command{Values: []float32{0, 0, 0}, Send: true}), node.ErrDryRun)
}

func TestMonitorReportsBurstsOnce(t *testing.T) {
	var m node.Monitor
	st := safety.Stats{Events: map[safety.EventKind]uint64{safety.EventClamp: 5}}
	require.Empty(t, m.Poll(st))
	st = safety.Stats{Events: map[safety.EventKind]uint64{safety.EventNonFinite: 1, safety.EventClamp: 9}, Reason: "non-finite action"}
	ev := m.Poll(st)
	require.Equal(t, []mqtt.Event{{Type: mqtt.EventSafety, Kind: "non_finite", Message: "non-finite action"}}, ev)
	st.Events = map[safety.EventKind]uint64{safety.EventNonFinite: 4}
	require.Empty(t, m.Poll(st), "still the same burst")
	require.Empty(t, m.Poll(st))
	st.Events = map[safety.EventKind]uint64{safety.EventNonFinite: 5, safety.EventEStop: 1}
	require.Len(t, m.Poll(st), 2)
}

type frames struct{ f camera.Frame }

func (f frames) Latest() (camera.Frame, bool) { return f.f, !f.f.Time.IsZero() }

func TestCameraSensorCombines(t *testing.T) {
	spec, err := embodiment.Builtin("arm6dof")
	require.NoError(t, err)
	old := time.Now().Add(-time.Second)
	img := policy.Image{H: 2, W: 2, Pix: make([]uint8, 12)}
	rest := controltest.NewSensor(spec)
	s := &node.CameraSensor{Cameras: map[string]node.Frames{"front": frames{camera.Frame{Image: img, Time: old}}}, Rest: rest}
	rd, err := s.Observe(context.Background())
	require.NoError(t, err)
	require.Equal(t, old, rd.Time)
	require.Equal(t, img, rd.Observation.Images["front"])
	require.Contains(t, rd.Observation.Images, "wrist")
	require.Len(t, rd.Observation.State, 7)
	s.Cameras["wrist"] = frames{}
	_, err = s.Observe(context.Background())
	require.ErrorContains(t, err, `camera "wrist" has no frame yet`)
}

func TestSimEpisode(t *testing.T) {
	s, err := suite.Get("libero_spatial")
	require.NoError(t, err)
	task := s.Tasks[0]
	env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
	require.NoError(t, err)
	defer env.Close()
	sm := node.NewSim(task, env)
	_, err = sm.Observe(context.Background())
	require.ErrorContains(t, err, "not reset")
	require.NoError(t, sm.Reset(3))
	x := sm.Locked(suite.NewExpert(task, sm.Env()))
	x.(policy.Resetter).Reset()
	for range 300 {
		rd, err := sm.Observe(context.Background())
		require.NoError(t, err)
		require.Len(t, rd.Observation.State, 8)
		c, err := x.Act(context.Background(), rd.Observation)
		require.NoError(t, err)
		require.NoError(t, sm.Send(context.Background(), safety.Command{Values: c.Action(0), Send: true}))
		select {
		case <-sm.Done():
			r := sm.Result()
			require.True(t, r.Success, r.Reason)
			require.Equal(t, "success", r.Result())
			require.Equal(t, 3, r.Episode)
			require.NoError(t, sm.Send(context.Background(), safety.Command{Values: c.Action(0)}), "ignored after the end")
			return
		default:
		}
	}
	t.Fatal("the expert did not finish in 300 steps")
}
