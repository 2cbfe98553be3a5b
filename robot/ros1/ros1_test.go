package ros1_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/geometry_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/ros1"
	"github.com/vstgo/vst/robot/safety"
)

func spec(t *testing.T, yaml string) *embodiment.Spec {
	t.Helper()
	s, err := embodiment.Parse([]byte(yaml), embodiment.YAML)
	require.NoError(t, err)
	return s
}

// twistSpec is a simulated base: vx in m/s, and wz in action units of
// 2 rad/s.
const twistSpec = `name: base
action_space: base_twist
control_rate_hz: 20
dims:
  - {name: vx, min: -1, max: 1}
  - {name: wz, min: -1, max: 1, scale: 2}
`

// armSpec is a simulated 2-joint arm read from /joint_states.
const armSpec = `name: arm
action_space: joint_position
control_rate_hz: 20
dims:
  - {name: shoulder, min: -3, max: 3, state_index: 0}
  - {name: elbow, min: -3, max: 3, state_index: 1}
state: [{name: joint_pos, dims: 2}]
`

// eefSpec is LIBERO's action space with the end-effector state read from
// /eef_pose.
const eefSpec = `name: eef
action_space: eef_delta_pose_gripper
control_rate_hz: 20
dims:
  - {name: dx, min: -1, max: 1, scale: 0.05}
  - {name: dy, min: -1, max: 1, scale: 0.05}
  - {name: dz, min: -1, max: 1, scale: 0.05}
  - {name: drx, min: -1, max: 1, scale: 0.5}
  - {name: dry, min: -1, max: 1, scale: 0.5}
  - {name: drz, min: -1, max: 1, scale: 0.5}
  - {name: gripper, min: -1, max: 1, stop: hold}
state: [{name: eef_pos, dims: 3}, {name: eef_axis_angle, dims: 3}]
`

// subscribe collects a peer's messages on topic.
func subscribe[T any](t *testing.T, peer *goroslib.Node, topic string) func() []*T {
	t.Helper()
	var mu sync.Mutex
	var got []*T
	sub, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: peer, Topic: topic, Callback: func(m *T) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
	}})
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return func() []*T {
		mu.Lock()
		defer mu.Unlock()
		return append([]*T(nil), got...)
	}
}

func publisher(t *testing.T, peer *goroslib.Node, topic string, msg any, latch bool) *goroslib.Publisher {
	t.Helper()
	p, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: peer, Topic: topic, Msg: msg, Latch: latch})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// sendUntil sends cmd every 20 ms until done reports true (10 s at most).
func sendUntil(t *testing.T, a *ros1.Actuator, cmd safety.Command, done func() bool) {
	t.Helper()
	eventually(t, func() bool {
		require.NoError(t, a.Send(context.Background(), cmd))
		return done()
	}, "command never arrived")
}

// echoUntil runs `rostopic echo -n 1 TOPIC` while sending cmd, and returns
// rostopic's output.
func echoUntil(t *testing.T, m *master, a *ros1.Actuator, topic string, cmd safety.Command) string {
	t.Helper()
	wait := m.rostopicBackground(t, "echo", "-n", "1", topic)
	var out string
	exited := make(chan struct{})
	go func() { out = wait(); close(exited) }()
	sendUntil(t, a, cmd, func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	})
	return normalise(out)
}

var yamlLine = regexp.MustCompile(`^(\s*)([A-Za-z_]+):\s*(.*)$`)

// fields flattens rostopic echo's YAML for one message without lists into
// dotted keys ("pose.position.x"). Values are raw strings.
func fields(out string) map[string]string {
	res := map[string]string{}
	type level struct {
		indent int
		key    string
	}
	var stack []level
	for _, line := range strings.Split(out, "\n") {
		if line == "---" {
			break
		}
		m := yamlLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		var parts []string
		for _, l := range stack {
			parts = append(parts, l.key)
		}
		if m[3] == "" {
			stack = append(stack, level{indent, m[2]})
			continue
		}
		res[strings.Join(append(parts, m[2]), ".")] = m[3]
	}
	return res
}

func number(t *testing.T, f map[string]string, key string) float64 {
	t.Helper()
	s, ok := f[key]
	require.True(t, ok, "no field %s in %v", key, f)
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, key)
	return v
}

func TestTwistGoToGo(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	a, err := ros1.NewActuator(n, spec(t, twistSpec), ros1.ActuatorConfig{})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	got := subscribe[geometry_msgs.Twist](t, m.peer(t), "/cmd_vel")

	sendUntil(t, a, safety.Command{Values: []float32{0.25, -0.5}, Seq: 1, Send: true}, func() bool { return len(got()) > 0 })
	require.Equal(t, geometry_msgs.Twist{
		Linear:  geometry_msgs.Vector3{X: 0.25},
		Angular: geometry_msgs.Vector3{Z: -1},
	}, *got()[0])

	require.EqualError(t, a.Send(context.Background(), safety.Command{Values: []float32{1}}),
		`ros1: command has 1 values, embodiment "base" takes 2`)
	require.EqualError(t, a.Send(context.Background(), safety.Command{Values: []float32{float32(math.NaN()), 0}}),
		"ros1: command value 0 (vx) is NaN")
}

func TestRostopicEchoCmdVel(t *testing.T) {
	t.Parallel()
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	a, err := ros1.NewActuator(n, spec(t, twistSpec), ros1.ActuatorConfig{})
	require.NoError(t, err)
	t.Cleanup(a.Close)

	out := echoUntil(t, m, a, "/cmd_vel", safety.Command{Values: []float32{0.25, 0.125}, Send: true})
	require.Contains(t, out, "linear:\n  x: 0.25\n  y: 0.0\n  z: 0.0\nangular:\n  x: 0.0\n  y: 0.0\n  z: 0.25\n---")
}

func TestRostopicPubJointStates(t *testing.T) {
	t.Parallel()
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	s, err := ros1.NewSensor(n, spec(t, armSpec), ros1.SensorConfig{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.Observe(context.Background())
	require.EqualError(t, err, `ros1: no position yet for joint "shoulder" on /joint_states`)

	// rostopic latches the message for 3 s after publishing; the test goes
	// on as soon as the message is seen and stops rostopic on cleanup.
	start := time.Now()
	m.rostopicBackground(t, "pub", "-1", "/joint_states", "sensor_msgs/JointState",
		"{name: [gripper, elbow, shoulder], position: [0.04, -1.25, 0.5]}")
	var rd control.Reading
	eventually(t, func() bool {
		rd, err = s.Observe(context.Background())
		return err == nil
	}, "joint state from rostopic never arrived")
	require.Equal(t, []float32{0.5, -1.25}, rd.Observation.State)
	require.WithinRange(t, rd.Time, start, time.Now())
	require.Equal(t, uint64(1), s.Stats().JointStates)
}

func rgbImage(enc string, w, h, step int, data []uint8) *sensor_msgs.Image {
	return &sensor_msgs.Image{Width: uint32(w), Height: uint32(h), Encoding: enc, Step: uint32(step), Data: data}
}

func TestImageGoToGo(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	peer := m.peer(t)
	// A 2×1 image: a red pixel, then a blue one.
	want := []uint8{255, 0, 0, 0, 0, 255}
	for _, ca := range []struct {
		name string
		msg  *sensor_msgs.Image
	}{
		{"rgb8", rgbImage("rgb8", 2, 1, 6, []uint8{255, 0, 0, 0, 0, 255})},
		{"bgr8", rgbImage("bgr8", 2, 1, 6, []uint8{0, 0, 255, 255, 0, 0})},
		{"bgr8 padded", rgbImage("bgr8", 2, 1, 8, []uint8{0, 0, 255, 255, 0, 0, 9, 9})},
	} {
		t.Run(ca.name, func(t *testing.T) {
			topic := "/cam_" + strings.ReplaceAll(ca.name, " ", "_") + "/image_raw"
			publisher(t, peer, topic, &sensor_msgs.Image{}, true).Write(ca.msg)
			s, err := ros1.NewSensor(n, spec(t, "name: cam\naction_space: joint_velocity\ncontrol_rate_hz: 10\ndims: [{name: j, min: -1, max: 1}]\ncameras: [{name: front, width: 2, height: 1}]\n"),
				ros1.SensorConfig{CameraTopics: map[string]string{"front": topic}})
			require.NoError(t, err)
			t.Cleanup(s.Close)
			var rd control.Reading
			eventually(t, func() bool { rd, err = s.Observe(context.Background()); return err == nil }, "image never arrived")
			require.Equal(t, policy.Image{Pix: want, H: 1, W: 2}, rd.Observation.Images["front"])
		})
	}
}

func TestCompressedImageGoToGo(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{ImageTransport: ros1.TransportCompressed})
	im := image.NewRGBA(image.Rect(0, 0, 2, 1))
	im.Pix = []uint8{255, 0, 0, 255, 0, 0, 255, 255}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, im))
	publisher(t, m.peer(t), "/camera/image_raw/compressed", &sensor_msgs.CompressedImage{}, true).
		Write(&sensor_msgs.CompressedImage{Format: "rgb8; png compressed", Data: b.Bytes()})
	s, err := ros1.NewSensor(n, spec(t, "name: cam\naction_space: joint_velocity\ncontrol_rate_hz: 10\ndims: [{name: j, min: -1, max: 1}]\ncameras: [{name: front, width: 2, height: 1}]\n"), ros1.SensorConfig{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	var rd control.Reading
	eventually(t, func() bool { rd, err = s.Observe(context.Background()); return err == nil }, "compressed image never arrived")
	require.Equal(t, policy.Image{Pix: []uint8{255, 0, 0, 0, 0, 255}, H: 1, W: 2}, rd.Observation.Images["front"])
}

func TestMalformedImageCounted(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	s, err := ros1.NewSensor(n, spec(t, "name: cam\naction_space: joint_velocity\ncontrol_rate_hz: 10\ndims: [{name: j, min: -1, max: 1}]\ncameras: [{name: front, width: 4, height: 2}]\n"), ros1.SensorConfig{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.Equal(t, map[string]string{"front": "/camera/image_raw"}, s.Topics())
	p := publisher(t, m.peer(t), "/camera/image_raw", &sensor_msgs.Image{}, true)

	p.Write(rgbImage("rgb8", 2, 1, 5, make([]uint8, 5))) // step under 2×3
	eventually(t, func() bool { return s.Stats().Malformed["/camera/image_raw"] == 1 }, "malformed image not counted")
	require.Equal(t, "/camera/image_raw: rgb8 image step 5 is under width 2 × 3 bytes", s.Stats().LastError)
	_, err = s.Observe(context.Background())
	require.EqualError(t, err, `ros1: no frame yet from camera "front" on /camera/image_raw`)

	p.Write(rgbImage("mono16", 2, 1, 4, make([]uint8, 4)))
	p.Write(rgbImage("mono8", 2, 1, 2, []uint8{10, 200})) // resized to 4×2
	eventually(t, func() bool { return s.Stats().Images == 1 }, "good image not received after malformed ones")
	st := s.Stats()
	require.Equal(t, uint64(2), st.Malformed["/camera/image_raw"])
	require.Equal(t, `/camera/image_raw: unsupported image encoding "mono16" (want rgb8, bgr8, rgba8, bgra8 or mono8)`, st.LastError)
	rd, err := s.Observe(context.Background())
	require.NoError(t, err)
	im := rd.Observation.Images["front"]
	require.NoError(t, im.Validate())
	require.Equal(t, 4, im.W)
	require.Equal(t, []uint8{10, 10, 10}, im.Pix[:3])
}

func TestRostopicEchoPoseStamped(t *testing.T) {
	t.Parallel()
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	sp := spec(t, eefSpec)
	s, err := ros1.NewSensor(n, sp, ros1.SensorConfig{State: []string{"eef:x", "eef:y", "eef:z", "eef:rx", "eef:ry", "eef:rz"}})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	a, err := ros1.NewActuator(n, sp, ros1.ActuatorConfig{Pose: s, PoseTimeout: time.Hour})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	cmd := safety.Command{Values: []float32{1, 0, -0.5, 0, 0, 1, 0.5}, Seq: 7, Time: time.Unix(100, 5e8), Send: true}
	require.EqualError(t, a.Send(context.Background(), cmd), "ros1: no end-effector pose yet on /eef_pose")

	peer := m.peer(t)
	gripper := subscribe[std_msgs.Float64](t, peer, "/gripper_cmd")
	// The measured pose: rotated π/2 about z.
	publisher(t, peer, "/eef_pose", &geometry_msgs.PoseStamped{}, true).Write(&geometry_msgs.PoseStamped{
		Header: std_msgs.Header{FrameId: "base_link"},
		Pose: geometry_msgs.Pose{
			Position:    geometry_msgs.Point{X: 0.4, Y: 0.1, Z: 0.3},
			Orientation: geometry_msgs.Quaternion{Z: math.Sqrt2 / 2, W: math.Sqrt2 / 2},
		},
	})
	var rd control.Reading
	eventually(t, func() bool { rd, err = s.Observe(context.Background()); return err == nil }, "pose never arrived")
	require.InDeltaSlice(t, []float32{0.4, 0.1, 0.3, 0, 0, math.Pi / 2}, rd.Observation.State, 1e-6)

	f := fields(echoUntil(t, m, a, "/eef_pose_cmd", cmd))
	require.Equal(t, "7", f["header.seq"])
	require.Equal(t, "100", f["header.stamp.secs"])
	require.Equal(t, "500000000", f["header.stamp.nsecs"])
	require.Equal(t, `"base_link"`, f["header.frame_id"])
	for key, want := range map[string]float64{
		"pose.position.x": 0.45, "pose.position.y": 0.1, "pose.position.z": 0.275,
		// π/2 + 0.5 rad about z.
		"pose.orientation.x": 0, "pose.orientation.y": 0,
		"pose.orientation.z": math.Sin((math.Pi/2 + 0.5) / 2), "pose.orientation.w": math.Cos((math.Pi/2 + 0.5) / 2),
	} {
		require.InDelta(t, want, number(t, f, key), 1e-9, key)
	}
	eventually(t, func() bool { return len(gripper()) > 0 }, "gripper command never arrived")
	require.InDelta(t, 0.5, gripper()[0].Data, 1e-9)
}

func TestRostopicEchoJointTrajectory(t *testing.T) {
	t.Parallel()
	m := startMaster(t)
	n := m.node(t, ros1.Config{JointTrajectoryCmdTopic: "/arm/command"})
	a, err := ros1.NewActuator(n, spec(t, armSpec), ros1.ActuatorConfig{JointNames: []string{"arm_shoulder", "arm_elbow"}})
	require.NoError(t, err)
	t.Cleanup(a.Close)

	out := echoUntil(t, m, a, "/arm/command", safety.Command{Values: []float32{0.5, -1.25}, Seq: 3, Send: true})
	// A zero stamp: trajectory controllers start the trajectory on receipt.
	require.Equal(t, `header:
  seq: 3
  stamp:
    secs: 0
    nsecs:         0
  frame_id: ''
joint_names:
  - arm_shoulder
  - arm_elbow
points:
  -
    positions: [0.5, -1.25]
    velocities: []
    accelerations: []
    effort: []
    time_from_start:
      secs: 0
      nsecs:  50000000
---
`, out)
}

func TestParameters(t *testing.T) {
	m := startMaster(t)
	peer := m.peer(t)
	require.NoError(t, peer.ParamSetString("/vla_test/cmd_vel_topic", "/base/cmd_vel"))
	require.NoError(t, peer.ParamSetString("/vla_test/image_transport", "compressed"))

	// Parameters fill empty fields; explicit fields win; the rest default.
	c := m.node(t, ros1.Config{StatusTopic: "/robot1/status"}).Config()
	require.Equal(t, "/base/cmd_vel", c.CmdVelTopic)
	require.Equal(t, "compressed", c.ImageTransport)
	require.Equal(t, "/robot1/status", c.StatusTopic)
	require.Equal(t, "/camera/image_raw/compressed", c.CompressedImageTopic)
	require.Equal(t, "/joint_states", c.JointStatesTopic)
	require.Equal(t, "/eef_pose_cmd", c.EEFPoseCmdTopic)
	require.Equal(t, "/joint_trajectory_cmd", c.JointTrajectoryCmdTopic)
	c = m.node(t, ros1.Config{Name: "other", CmdVelTopic: "/explicit"}).Config()
	require.Equal(t, "/explicit", c.CmdVelTopic)
	require.Equal(t, "raw", c.ImageTransport)

	require.NoError(t, peer.ParamSetInt("/bad/cmd_vel_topic", 3))
	_, err := ros1.New(ros1.Config{MasterURI: m.uri, Host: "127.0.0.1", Name: "bad"})
	require.ErrorContains(t, err, "ros1: parameter /bad/cmd_vel_topic must be a string")
	_, err = ros1.New(ros1.Config{MasterURI: m.uri, Host: "127.0.0.1", Name: "worse", ImageTransport: "theora"})
	require.EqualError(t, err, `ros1: image transport "theora": want "raw" or "compressed"`)
}

func TestStatusLatched(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	require.NoError(t, n.PublishStatus(context.Background(), "running: pick up the cup"))
	got := subscribe[std_msgs.String](t, m.peer(t), "/vla/status")
	eventually(t, func() bool { return len(got()) > 0 }, "latched status never arrived")
	require.Equal(t, "running: pick up the cup", got()[0].Data)
	n.Close()
	require.EqualError(t, n.PublishStatus(context.Background(), "x"), "ros1: node is closed")
}

// TestControlLoop runs the control loop end to end over ROS: a robot peer
// streams camera frames and joint states, the loop's commands come back as
// twists.
func TestControlLoop(t *testing.T) {
	m := startMaster(t)
	n := m.node(t, ros1.Config{})
	sp := spec(t, twistSpec+"cameras: [{name: front, width: 4, height: 2}]\nstate: [{name: wheels, dims: 2}]\n")
	s, err := ros1.NewSensor(n, sp, ros1.SensorConfig{State: []string{"joint:wheel_left", "joint:wheel_right"}})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	a, err := ros1.NewActuator(n, sp, ros1.ActuatorConfig{})
	require.NoError(t, err)
	t.Cleanup(a.Close)

	peer := m.peer(t)
	twists := subscribe[geometry_msgs.Twist](t, peer, "/cmd_vel")
	img := publisher(t, peer, "/camera/image_raw", &sensor_msgs.Image{}, false)
	js := publisher(t, peer, "/joint_states", &sensor_msgs.JointState{}, false)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { // the robot: 50 Hz frames (8×4, resized to 4×2) and joint states
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			img.Write(rgbImage("bgr8", 8, 4, 24, make([]uint8, 96)))
			js.Write(&sensor_msgs.JointState{Name: []string{"wheel_left", "wheel_right"}, Position: []float64{1, 2}})
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	eventually(t, func() bool { _, err := s.Observe(ctx); return err == nil }, "no observation")

	pol, err := policy.NewConstant([]float32{0.2, 0.25}, 4)
	require.NoError(t, err)
	f, err := safety.New(sp, safety.Config{})
	require.NoError(t, err)
	l, err := control.New(control.Config{Policy: pol, Sensor: s, Actuator: a, Filter: f, Steps: 10})
	require.NoError(t, err)
	require.NoError(t, l.Run(context.Background()))
	st := l.Stats()
	require.Positive(t, st.Sent)
	eventually(t, func() bool {
		for _, tw := range twists() {
			if tw.Linear.X == float64(float32(0.2)) && tw.Angular.Z == 0.5 {
				return true
			}
		}
		return false
	}, "the policy's twist never reached the robot")
}
