//go:build ros2

package ros2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// TwistAxes are the geometry_msgs/Twist fields a base_twist dimension can
// drive.
var TwistAxes = []string{"linear.x", "linear.y", "linear.z", "angular.x", "angular.y", "angular.z"}

// twistShort are the usual dimension names of the TwistAxes, in order.
var twistShort = []string{"vx", "vy", "vz", "wx", "wy", "wz"}

// ActuatorConfig configures an Actuator.
type ActuatorConfig struct {
	// JointNames names the joint of each action dimension in
	// joint_position and joint_velocity commands. It defaults to the
	// dimensions' names.
	JointNames []string
	// Twist gives the TwistAxes entry each base_twist dimension drives. It
	// defaults to the dimension's name when that is an axis name or one of
	// vx, vy, vz, wx, wy, wz.
	Twist []string
}

// Actuator publishes safety-filtered commands for one embodiment and
// implements control.Actuator. Values are converted from action units to
// physical units with each dimension's scale.
//
//   - base_twist: a geometry_msgs/Twist on the node's CmdVelTopic.
//   - joint_position, joint_velocity: a trajectory_msgs/JointTrajectory on
//     JointTrajectoryCmdTopic with one point (positions or velocities)
//     reached after one control period, and a zero header stamp (start on
//     receipt).
//
// eef_delta_pose_gripper is not supported over ROS 2 yet.
type Actuator struct {
	spec   *embodiment.Spec
	joints []string
	axes   []int
	twist  *Publisher[*Twist]
	traj   *Publisher[*JointTrajectory]
}

var _ control.Actuator = (*Actuator)(nil)

// NewActuator creates the command publisher of spec's action space.
func NewActuator(n *Node, spec *embodiment.Spec, cfg ActuatorConfig) (*Actuator, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros2: actuator needs a node and a spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ros2: actuator: %w", err)
	}
	a := &Actuator{spec: spec}
	var err error
	switch spec.ActionSpace {
	case embodiment.BaseTwist:
		if a.axes, err = twistAxes(spec, cfg.Twist); err != nil {
			return nil, err
		}
		a.twist, err = NewPublisher[*Twist](n, n.cfg.CmdVelTopic, QoS{})
	case embodiment.JointPosition, embodiment.JointVelocity:
		a.joints = slices.Clone(cfg.JointNames)
		if a.joints == nil {
			for _, d := range spec.Dims {
				a.joints = append(a.joints, d.Name)
			}
		}
		if len(a.joints) != spec.ActionDim() || slices.Contains(a.joints, "") {
			return nil, fmt.Errorf("ros2: %d joint names for %d action dimensions, all non-empty", len(a.joints), spec.ActionDim())
		}
		a.traj, err = NewPublisher[*JointTrajectory](n, n.cfg.JointTrajectoryCmdTopic, QoS{})
	default:
		return nil, fmt.Errorf("ros2: action space %q is not supported over ROS 2 (use robot/ros1)", spec.ActionSpace)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func twistAxes(spec *embodiment.Spec, names []string) ([]int, error) {
	if names == nil {
		for _, d := range spec.Dims {
			names = append(names, d.Name)
		}
	}
	if len(names) != spec.ActionDim() {
		return nil, fmt.Errorf("ros2: %d twist axes for %d action dimensions", len(names), spec.ActionDim())
	}
	axes := make([]int, len(names))
	for i, name := range names {
		k := slices.Index(TwistAxes, name)
		if k < 0 {
			k = slices.Index(twistShort, name)
		}
		if k < 0 {
			return nil, fmt.Errorf("ros2: dimension %d (%q) maps to no twist axis; set ActuatorConfig.Twist (linear.x … angular.z)", i, name)
		}
		if slices.Contains(axes[:i], k) {
			return nil, fmt.Errorf("ros2: twist axis %s is driven twice", TwistAxes[k])
		}
		axes[i] = k
	}
	return axes, nil
}

// Send implements control.Actuator. It rejects commands of the wrong length
// or with non-finite values; nothing is published then.
func (a *Actuator) Send(ctx context.Context, cmd safety.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(cmd.Values) != a.spec.ActionDim() {
		return fmt.Errorf("ros2: command has %d values, embodiment %q takes %d", len(cmd.Values), a.spec.Name, a.spec.ActionDim())
	}
	v := make([]float64, len(cmd.Values))
	for i, x := range cmd.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("ros2: command value %d (%s) is %v", i, a.spec.Dims[i].Name, x)
		}
		v[i] = float64(x) * a.spec.ScaleOf(i)
	}
	if a.twist != nil {
		var f [6]float64
		for i, k := range a.axes {
			f[k] = v[i]
		}
		return a.twist.Publish(ctx, &Twist{Linear: Vector3{f[0], f[1], f[2]}, Angular: Vector3{f[3], f[4], f[5]}})
	}
	pt := JointTrajectoryPoint{TimeFromStart: DurationOf(a.spec.Period())}
	if a.spec.ActionSpace == embodiment.JointPosition {
		pt.Positions = v
	} else {
		pt.Velocities = v
	}
	return a.traj.Publish(ctx, &JointTrajectory{JointNames: a.joints, Points: []JointTrajectoryPoint{pt}})
}

// Close deletes the command publisher.
func (a *Actuator) Close() {
	if a.twist != nil {
		a.twist.Close()
	}
	if a.traj != nil {
		a.traj.Close()
	}
}

// JointSource prefixes a state source: "joint:elbow" is the position of
// joint "elbow" in sensor_msgs/JointState.
const JointSource = "joint:"

// SensorConfig configures a Sensor.
type SensorConfig struct {
	// CameraTopics maps the embodiment's camera names to image topics. It
	// defaults, per camera, to the node's image topic (or compressed image
	// topic, with the compressed transport) for the first camera and to
	// /NAME/image_raw (or /NAME/image_raw/compressed) for the others.
	CameraTopics map[string]string
	// State gives the source of each state value, in state order, as
	// "joint:NAME". It defaults to "joint:NAME" at the state_index of
	// every action dimension NAME that has one; other layouts must be
	// given. End-effector pose sources are not supported over ROS 2 yet.
	State []string
}

type frame struct {
	im policy.Image
	at time.Time
}

type jointValue struct {
	pos float64
	at  time.Time
}

// Sensor subscribes to a robot's cameras and joint states and keeps the
// latest of each with its arrival time (the local clock). It implements
// control.Sensor. Create it with NewSensor and release it with Close.
type Sensor struct {
	spec    *embodiment.Spec
	cameras map[string]string // camera name → topic
	joints  []string          // state slot → joint name
	subs    []*Subscriber

	mu        sync.Mutex
	frames    map[string]frame
	positions map[string]jointValue
	malformed uint64
	lastErr   string
}

var _ control.Sensor = (*Sensor)(nil)

// NewSensor subscribes to one image topic per camera (with the node's
// ImageQoS) and, when the state reads joints, to the joint states.
func NewSensor(n *Node, spec *embodiment.Spec, cfg SensorConfig) (*Sensor, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros2: sensor needs a node and a spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ros2: sensor: %w", err)
	}
	s := &Sensor{spec: spec, cameras: map[string]string{}, frames: map[string]frame{}, positions: map[string]jointValue{}}
	nc := n.Config()
	for name := range cfg.CameraTopics {
		if !slices.ContainsFunc(spec.Cameras, func(c embodiment.Camera) bool { return c.Name == name }) {
			return nil, fmt.Errorf("ros2: camera topic for %q: embodiment %q has no such camera", name, spec.Name)
		}
	}
	compressed := nc.ImageTransport == TransportCompressed
	for i, c := range spec.Cameras {
		t := cfg.CameraTopics[c.Name]
		switch {
		case t != "":
		case i == 0 && compressed:
			t = nc.CompressedImageTopic
		case i == 0:
			t = nc.ImageTopic
		case compressed:
			t = "/" + c.Name + "/image_raw/compressed"
		default:
			t = "/" + c.Name + "/image_raw"
		}
		s.cameras[c.Name] = t
	}
	state := cfg.State
	if state == nil {
		state = make([]string, spec.StateDim())
		for _, d := range spec.Dims {
			if d.StateIndex != nil {
				state[*d.StateIndex] = JointSource + d.Name
			}
		}
	}
	if len(state) != spec.StateDim() {
		return nil, fmt.Errorf("ros2: %d state sources for embodiment %q's %d-value state", len(state), spec.Name, spec.StateDim())
	}
	for i, src := range state {
		name, ok := strings.CutPrefix(src, JointSource)
		if !ok || name == "" {
			return nil, fmt.Errorf("ros2: state[%d] source %q: want joint:NAME (set SensorConfig.State)", i, src)
		}
		s.joints = append(s.joints, name)
	}
	if err := s.subscribe(n, compressed); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sensor) subscribe(n *Node, compressed bool) error {
	qos := n.Config().ImageQoS
	for _, c := range s.spec.Cameras {
		var sub *Subscriber
		var err error
		if compressed {
			sub, err = Subscribe(n, s.cameras[c.Name], qos, func(m *CompressedImage) {
				s.onImage(c, func() (policy.Image, error) { return CompressedToRGB(m) })
			})
		} else {
			sub, err = Subscribe(n, s.cameras[c.Name], qos, func(m *Image) {
				s.onImage(c, func() (policy.Image, error) { return ImageToRGB(m) })
			})
		}
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
	}
	if len(s.joints) > 0 {
		sub, err := Subscribe(n, n.Config().JointStatesTopic, QoS{}, s.onJoints)
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
	}
	return nil
}

func (s *Sensor) reject(err error) {
	s.malformed++
	s.lastErr = err.Error()
}

func (s *Sensor) onImage(c embodiment.Camera, convert func() (policy.Image, error)) {
	at := time.Now()
	im, err := convert()
	if err == nil {
		im = resize(im, c.Width, c.Height)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reject(fmt.Errorf("camera %q: %w", c.Name, err))
		return
	}
	s.frames[c.Name] = frame{im: im, at: at}
}

func (s *Sensor) onJoints(m *JointState) {
	at := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(m.Position) != len(m.Name) {
		s.reject(fmt.Errorf("joint state has %d names and %d positions", len(m.Name), len(m.Position)))
		return
	}
	for i, p := range m.Position {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			s.reject(fmt.Errorf("joint %q position is %v", m.Name[i], p))
			return
		}
	}
	for i, name := range m.Name {
		s.positions[name] = jointValue{pos: m.Position[i], at: at}
	}
}

// Observe implements control.Sensor: the latest frame of every camera
// (resized to the embodiment's size) and the state assembled from the latest
// joint positions. Reading.Time is the arrival time of the oldest part. It
// fails, without waiting, while a part has not arrived yet. Images are
// shared between observations and must not be modified.
func (s *Sensor) Observe(ctx context.Context) (control.Reading, error) {
	if err := ctx.Err(); err != nil {
		return control.Reading{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obs := &policy.Observation{Images: make(map[string]policy.Image, len(s.frames))}
	var oldest time.Time
	older := func(t time.Time) {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	for _, c := range s.spec.Cameras {
		f, ok := s.frames[c.Name]
		if !ok {
			return control.Reading{}, fmt.Errorf("ros2: no frame yet from camera %q on %s", c.Name, s.cameras[c.Name])
		}
		obs.Images[c.Name] = f.im
		older(f.at)
	}
	if len(s.joints) > 0 {
		obs.State = make([]float32, len(s.joints))
	}
	for i, name := range s.joints {
		j, ok := s.positions[name]
		if !ok {
			return control.Reading{}, fmt.Errorf("ros2: no position yet for joint %q", name)
		}
		obs.State[i] = float32(j.pos)
		older(j.at)
	}
	if oldest.IsZero() {
		oldest = time.Now()
	}
	return control.Reading{Observation: obs, Time: oldest}, nil
}

// Malformed returns how many messages the sensor rejected and why the last
// one was.
func (s *Sensor) Malformed() (uint64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var decode uint64
	for _, sub := range s.subs {
		decode += sub.Malformed()
	}
	return s.malformed + decode, s.lastErr
}

// Topics returns the topic each camera is read from.
func (s *Sensor) Topics() map[string]string { return maps.Clone(s.cameras) }

// Close unsubscribes.
func (s *Sensor) Close() {
	for _, sub := range s.subs {
		sub.Close()
	}
	s.subs = nil
}
