//go:build ros2

package ros2

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

func builtin(t *testing.T, name string) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Builtin(name)
	require.NoError(t, err)
	return s
}

func TestActuatorPublishes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, spec string
		values     []float32
		check      func(t *testing.T, n *Node) func() bool
	}{
		{"mobile base twist", "mobile_base", []float32{0.2, -0.1, 0.5}, func(t *testing.T, n *Node) func() bool {
			got := make(chan *Twist, 100)
			_, err := Subscribe(n, "/cmd_vel", QoS{}, func(m *Twist) { got <- m })
			require.NoError(t, err)
			return func() bool {
				select {
				case m := <-got:
					assert.InDelta(t, 0.2, m.Linear.X, 1e-6)
					assert.InDelta(t, -0.1, m.Linear.Y, 1e-6)
					assert.InDelta(t, 0.5, m.Angular.Z, 1e-6)
					return true
				default:
					return false
				}
			}
		}},
		{"arm joint trajectory", "arm6dof", []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.04}, func(t *testing.T, n *Node) func() bool {
			got := make(chan *JointTrajectory, 100)
			_, err := Subscribe(n, "/joint_trajectory_cmd", QoS{}, func(m *JointTrajectory) { got <- m })
			require.NoError(t, err)
			return func() bool {
				select {
				case m := <-got:
					assert.Equal(t, []string{"joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "gripper"}, m.JointNames)
					require.Len(t, m.Points, 1)
					assert.InDelta(t, 0.04, m.Points[0].Positions[6], 1e-6)
					assert.Equal(t, Duration{Nanosec: 50000000}, m.Points[0].TimeFromStart)
					return true
				default:
					return false
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, Config{})
			received := tc.check(t, n)
			a, err := NewActuator(n, builtin(t, tc.spec), ActuatorConfig{})
			require.NoError(t, err)
			defer a.Close()
			assert.Error(t, a.Send(ctx, safety.Command{Values: []float32{1}}), "wrong length")
			require.Eventually(t, func() bool {
				require.NoError(t, a.Send(ctx, safety.Command{Values: tc.values, Send: true}))
				return received()
			}, 5*time.Second, 20*time.Millisecond)
		})
	}
	n := newTestNode(t, Config{})
	_, err := NewActuator(n, builtin(t, "panda_sim"), ActuatorConfig{})
	assert.Error(t, err, "eef deltas are not supported")
}

func TestSensorObserves(t *testing.T) {
	ctx := context.Background()
	n := newTestNode(t, Config{ImageQoS: SensorDataQoS})
	spec := builtin(t, "arm6dof")
	s, err := NewSensor(n, spec, SensorConfig{})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, map[string]string{"front": "/camera/image_raw", "wrist": "/wrist/image_raw"}, s.Topics())
	_, err = s.Observe(ctx)
	assert.Error(t, err, "nothing received yet")

	front, err := NewPublisher[*Image](n, "/camera/image_raw", SensorDataQoS)
	require.NoError(t, err)
	wrist, err := NewPublisher[*Image](n, "/wrist/image_raw", SensorDataQoS)
	require.NoError(t, err)
	joints, err := NewPublisher[*JointState](n, "/joint_states", QoS{})
	require.NoError(t, err)
	// A 2x2 bgr8 frame (upscaled to 224x224) and a 224x224 rgb8 frame.
	small := &Image{Height: 2, Width: 2, Encoding: "bgr8", Step: 6, Data: []byte{
		0, 0, 255, 0, 0, 255,
		0, 0, 255, 0, 0, 255,
	}}
	big := &Image{Height: 224, Width: 224, Encoding: "rgb8", Step: 672, Data: make([]byte, 224*672)}
	js := &JointState{Name: []string{"gripper", "joint1", "joint2", "joint3", "joint4", "joint5", "joint6"},
		Position: []float64{0.07, 1, 2, 3, 4, 5, 6}}
	var rd error
	require.Eventually(t, func() bool {
		require.NoError(t, front.Publish(ctx, small))
		require.NoError(t, wrist.Publish(ctx, big))
		require.NoError(t, joints.Publish(ctx, js))
		r, err := s.Observe(ctx)
		rd = err
		if err != nil {
			return false
		}
		assert.Equal(t, []float32{1, 2, 3, 4, 5, 6, 0.07}, r.Observation.State)
		im := r.Observation.Images["front"]
		assert.Equal(t, 224, im.W)
		assert.Equal(t, []uint8{255, 0, 0}, im.Pix[:3], "bgr8 converted to RGB")
		assert.WithinDuration(t, time.Now(), r.Time, time.Second)
		return true
	}, 5*time.Second, 20*time.Millisecond, "last error: %v", rd)

	// Malformed frames are counted, not delivered.
	require.NoError(t, front.Publish(ctx, &Image{Height: 2, Width: 2, Encoding: "rgb8", Step: 6, Data: []byte{1}}))
	require.Eventually(t, func() bool { c, _ := s.Malformed(); return c > 0 }, 5*time.Second, 10*time.Millisecond)
}
