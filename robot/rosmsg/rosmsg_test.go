package rosmsg

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

func TestResize(t *testing.T) {
	// 2×1, black then white, to 4×2: a ramp along x on both rows.
	im := Resize(policy.Image{Pix: []uint8{0, 0, 0, 255, 255, 255}, H: 1, W: 2}, 4, 2)
	require.NoError(t, im.Validate())
	row := []uint8{0, 0, 0, 64, 64, 64, 191, 191, 191, 255, 255, 255}
	require.Equal(t, append(append([]uint8(nil), row...), row...), im.Pix)
	same := policy.Image{Pix: []uint8{1, 2, 3}, H: 1, W: 1}
	require.Equal(t, same, Resize(same, 1, 1))
}

func TestCompressedAlphaDropped(t *testing.T) {
	// A translucent PNG decodes to NRGBA: its colour is kept, not
	// premultiplied.
	im := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	im.SetNRGBA(0, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 128})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, im))
	got, err := CompressedToRGB("png", b.Bytes())
	require.NoError(t, err)
	require.Equal(t, []uint8{200, 100, 50}, got.Pix)
}

func TestPoseMath(t *testing.T) {
	for _, v := range [][3]float64{{0, 0, 0}, {0.3, -0.2, 0.1}, {0, 0, math.Pi / 2}, {-1, 2, 0.5}} {
		got := AxisAngle(QuatFromAxisAngle(v))
		require.InDeltaSlice(t, v[:], got[:], 1e-12)
	}
	// Rotating about z by π/2 twice is a rotation by π.
	q := QuatFromAxisAngle([3]float64{0, 0, math.Pi / 2})
	p := ApplyDelta(Pose{Position: [3]float64{1, 2, 3}, Orientation: q, Frame: "base"}, [3]float64{0.1, 0, -0.1}, [3]float64{0, 0, math.Pi / 2})
	require.InDeltaSlice(t, []float64{1.1, 2, 2.9}, p.Position[:], 1e-12)
	require.InDeltaSlice(t, []float64{0, 0, 1, 0}, p.Orientation[:], 1e-12)
	require.Equal(t, "base", p.Frame)

	p, err := NewPose([3]float64{1, 2, 3}, [4]float64{0, 0, 0, 2}, "world")
	require.NoError(t, err)
	require.Equal(t, [4]float64{0, 0, 0, 1}, p.Orientation)
	_, err = NewPose([3]float64{math.NaN()}, [4]float64{0, 0, 0, 1}, "")
	require.EqualError(t, err, "pose holds NaN or Inf")
	_, err = NewPose([3]float64{}, [4]float64{}, "")
	require.EqualError(t, err, "quaternion [0 0 0 0] has no usable norm")
}

func builtin(t *testing.T, name string) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Builtin(name)
	require.NoError(t, err)
	return s
}

func TestParseState(t *testing.T) {
	slots, err := ParseState(builtin(t, "arm6dof"), nil, true)
	require.NoError(t, err)
	require.Equal(t, Slot{Joint: "joint1", EEF: -1}, slots[0])
	require.Equal(t, Slot{Joint: "gripper", EEF: -1}, slots[6])

	panda := builtin(t, "panda_sim")
	_, err = ParseState(panda, nil, true)
	require.EqualError(t, err, `state[3] has no source; set SensorConfig.State (e.g. "joint:NAME" or "eef:x")`)
	_, err = ParseState(panda, nil, false)
	require.EqualError(t, err, `state[0] source "": want joint:NAME (set SensorConfig.State)`)
	full := []string{"eef:x", "eef:y", "eef:z", "eef:rx", "eef:ry", "eef:rz", "joint:finger_l", "joint:finger_r"}
	slots, err = ParseState(panda, full, true)
	require.NoError(t, err)
	require.Equal(t, Slot{EEF: 5}, slots[5])
	_, err = ParseState(panda, full, false)
	require.EqualError(t, err, `state[0] source "eef:x": want joint:NAME (set SensorConfig.State)`)

	for _, ca := range []struct {
		state []string
		err   string
	}{
		{[]string{"eef:x"}, `1 state sources for embodiment "panda_sim"'s 8-value state`},
		{[]string{"eef:x", "eef:y", "eef:z", "eef:qw", "eef:ry", "eef:rz", "joint:a", "joint:b"}, `state[3] source "eef:qw": want eef:x, y, z, rx, ry or rz`},
		{[]string{"eef:x", "eef:y", "eef:z", "eef:rx", "eef:ry", "eef:rz", "joint:", "joint:b"}, `state[6] source "joint:": want joint:NAME or eef:COMPONENT`},
	} {
		_, err := ParseState(panda, ca.state, true)
		require.EqualError(t, err, ca.err)
	}
}

func TestCameraTopics(t *testing.T) {
	arm := builtin(t, "arm6dof")
	got, err := CameraTopics(arm, nil, false, "/cam", "/cam/compressed")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"front": "/cam", "wrist": "/wrist/image_raw"}, got)
	got, err = CameraTopics(arm, map[string]string{"wrist": "/w"}, true, "/cam", "/cam/compressed")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"front": "/cam/compressed", "wrist": "/w"}, got)
	_, err = CameraTopics(arm, map[string]string{"top": "/t"}, false, "/cam", "")
	require.EqualError(t, err, `camera topic for "top": embodiment "arm6dof" has no such camera`)
}

func TestMapTwist(t *testing.T) {
	base := builtin(t, "mobile_base")
	axes, err := MapTwist(base, nil)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 5}, axes)
	axes, err = MapTwist(base, []string{"linear.x", "linear.z", "angular.y"})
	require.NoError(t, err)
	require.Equal(t, []int{0, 2, 4}, axes)
	_, err = MapTwist(base, []string{"vx", "vx", "wz"})
	require.EqualError(t, err, "twist axis linear.x is driven twice")
	_, err = MapTwist(base, []string{"vx", "up", "wz"})
	require.EqualError(t, err, `dimension 1 ("up") maps to no twist axis; set ActuatorConfig.Twist (linear.x … angular.z)`)
	_, err = MapTwist(base, []string{"vx"})
	require.EqualError(t, err, "1 twist axes for 3 action dimensions")
}

func TestStoreJoints(t *testing.T) {
	sp := builtin(t, "arm6dof")
	spec := *sp
	spec.Cameras = nil // joints only
	s, err := NewStore(StoreConfig{Prefix: "ros9", Spec: &spec,
		Sensor: SensorConfig{State: DefaultState(sp, true)}, Topics: Topics{JointStates: "/joint_states", EEFPose: "/eef_pose"}})
	require.NoError(t, err)
	require.True(t, s.NeedsJoints())
	require.False(t, s.NeedsPose())

	// The arm and the gripper report on separate publishers: merged.
	s.OnJoints([]string{"joint1", "joint2", "joint3", "joint4", "joint5", "joint6"}, []float64{1, 2, 3, 4, 5, 6})
	_, err = s.Observe(context.Background())
	require.EqualError(t, err, `ros9: no position yet for joint "gripper" on /joint_states`)
	s.OnJoints([]string{"gripper"}, []float64{0.04})
	rd, err := s.Observe(context.Background())
	require.NoError(t, err)
	require.Equal(t, []float32{1, 2, 3, 4, 5, 6, 0.04}, rd.Observation.State)

	s.OnJoints([]string{"joint1"}, []float64{1, 2})
	s.OnJoints([]string{"joint1"}, []float64{math.Inf(1)})
	st := s.Stats()
	require.Equal(t, uint64(2), st.JointStates)
	require.Equal(t, map[string]uint64{"/joint_states": 2}, st.Malformed)
	require.Equal(t, `/joint_states: joint "joint1" position is +Inf`, st.LastError)
	rd, err = s.Observe(context.Background())
	require.NoError(t, err)
	require.Equal(t, float32(1), rd.Observation.State[0])

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Observe(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestStorePose(t *testing.T) {
	panda := builtin(t, "panda_sim")
	state := []string{"eef:x", "eef:y", "eef:z", "eef:rx", "eef:ry", "eef:rz", "joint:finger_l", "joint:finger_r"}
	s, err := NewStore(StoreConfig{Prefix: "ros9", Spec: panda,
		Sensor: SensorConfig{State: state}, Topics: Topics{Image: "/cam", EEFPose: "/eef_pose"}})
	require.NoError(t, err)
	require.True(t, s.NeedsPose())
	_, _, err = s.EEFPose()
	require.EqualError(t, err, "ros9: no end-effector pose yet on /eef_pose")
	for _, c := range panda.Cameras {
		s.OnImage(c, func() (policy.Image, error) { return policy.Image{Pix: []uint8{1, 2, 3}, H: 1, W: 1}, nil })
	}
	s.OnJoints([]string{"finger_l", "finger_r"}, []float64{0.01, 0.02})
	_, err = s.Observe(context.Background())
	require.EqualError(t, err, "ros9: no end-effector pose yet on /eef_pose")

	s.OnPose(func() (Pose, error) { return NewPose([3]float64{0.5, 0, 0.2}, [4]float64{}, "base") })
	require.Equal(t, "/eef_pose: quaternion [0 0 0 0] has no usable norm", s.Stats().LastError)
	q := QuatFromAxisAngle([3]float64{0, 0, 0.5})
	s.OnPose(func() (Pose, error) { return NewPose([3]float64{0.5, 0, 0.2}, q, "base") })
	rd, err := s.Observe(context.Background())
	require.NoError(t, err)
	require.InDeltaSlice(t, []float32{0.5, 0, 0.2, 0, 0, 0.5, 0.01, 0.02}, rd.Observation.State, 1e-6)
	c := panda.Cameras[0]
	require.Equal(t, c.Width, rd.Observation.Images[c.Name].W, "resized to the camera's size")
	st := s.Stats()
	require.Equal(t, uint64(1), st.Poses)
	require.Equal(t, uint64(len(panda.Cameras)), st.Images)
}

// sink records what Commands hands it.
type sink struct {
	linear, angular [3]float64
	seq             uint64
	joints          []string
	pt              TrajectoryPoint
}

func (s *sink) Twist(_ context.Context, linear, angular [3]float64) error {
	s.linear, s.angular = linear, angular
	return nil
}

func (s *sink) Trajectory(_ context.Context, seq uint64, joints []string, pt TrajectoryPoint) error {
	s.seq, s.joints, s.pt = seq, joints, pt
	return nil
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	base := builtin(t, "mobile_base")
	c, err := NewCommands("ros9", base, ActuatorConfig{Twist: []string{"linear.x", "linear.z", "angular.y"}})
	require.NoError(t, err)
	var k sink
	require.NoError(t, c.Send(ctx, safety.Command{Values: []float32{0.5, -0.25, 1}}, &k))
	require.Equal(t, [3]float64{0.5 * base.ScaleOf(0), 0, -0.25 * base.ScaleOf(1)}, k.linear)
	require.Equal(t, [3]float64{0, base.ScaleOf(2), 0}, k.angular)
	require.EqualError(t, c.Send(ctx, safety.Command{Values: []float32{1}}, &k), `ros9: command has 1 values, embodiment "mobile_base" takes 3`)
	require.EqualError(t, c.Send(ctx, safety.Command{Values: []float32{0, float32(math.NaN()), 0}}, &k),
		"ros9: command value 1 ("+base.Dims[1].Name+") is NaN")
	_, err = NewCommands("ros9", base, ActuatorConfig{Twist: []string{"vx"}})
	require.EqualError(t, err, "ros9: 1 twist axes for 3 action dimensions")

	arm := builtin(t, "arm6dof")
	c, err = NewCommands("ros9", arm, ActuatorConfig{})
	require.NoError(t, err)
	require.NoError(t, c.Send(ctx, safety.Command{Values: make([]float32, arm.ActionDim()), Seq: 7}, &k))
	require.Equal(t, uint64(7), k.seq)
	require.Equal(t, "gripper", k.joints[6])
	require.Len(t, k.pt.Positions, arm.ActionDim())
	require.Nil(t, k.pt.Velocities)
	require.Equal(t, arm.Period(), k.pt.TimeFromStart)
	_, err = NewCommands("ros9", arm, ActuatorConfig{JointNames: []string{"a"}})
	require.EqualError(t, err, "ros9: 1 joint names for 7 action dimensions, all non-empty")

	c, err = NewCommands("ros9", builtin(t, "panda_sim"), ActuatorConfig{})
	require.NoError(t, err)
	require.EqualError(t, c.Send(ctx, safety.Command{Values: make([]float32, 7)}, &k), `ros9: action space "eef_delta_pose_gripper" is not supported`)

	cctx, cancel := context.WithTimeout(ctx, -time.Second)
	defer cancel()
	require.ErrorIs(t, c.Send(cctx, safety.Command{}, &k), context.DeadlineExceeded)
}
