package ros1

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

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/geometry_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
)

// State sources: each state value comes from a joint's position in
// sensor_msgs/JointState or from a component of the end-effector pose.
const (
	// JointSource prefixes a joint name: "joint:elbow" is the position of
	// joint "elbow".
	JointSource = "joint:"
	// EEFSource prefixes a pose component: "eef:x", "eef:y", "eef:z"
	// (metres) or "eef:rx", "eef:ry", "eef:rz" (the orientation as an
	// axis-angle vector, radians, as LIBERO's eef_axis_angle).
	EEFSource = "eef:"
)

var eefComponents = []string{"x", "y", "z", "rx", "ry", "rz"}

// SensorConfig configures a Sensor.
type SensorConfig struct {
	// CameraTopics maps the embodiment's camera names to image topics. It
	// defaults, per camera, to the node's image topic (or compressed image
	// topic, with the compressed transport) for the first camera and to
	// /NAME/image_raw (or /NAME/image_raw/compressed) for the others.
	CameraTopics map[string]string
	// State gives the source of each state value, in state order (see
	// JointSource and EEFSource). It defaults to "joint:NAME" at the
	// state_index of every action dimension NAME that has one, and to
	// "eef:x", "eef:y", "eef:z" at the workspace's state field; other
	// layouts must be given.
	State []string
}

// SensorStats counts what a Sensor received.
type SensorStats struct {
	// Images, JointStates and Poses count the messages accepted.
	Images, JointStates, Poses uint64
	// Malformed counts rejected messages by topic.
	Malformed map[string]uint64
	// LastError describes the last rejected message.
	LastError string
}

type frame struct {
	im policy.Image
	at time.Time
}

type jointValue struct {
	pos float64
	at  time.Time
}

// stateSlot is one parsed State entry: a joint name, or a pose component
// (0–5 for x, y, z, rx, ry, rz).
type stateSlot struct {
	joint string
	eef   int
}

// Sensor subscribes to a robot's cameras, joint states and end-effector
// pose and keeps the latest of each with its arrival time (the local clock:
// header stamps come from other machines' clocks or from simulated time). It
// implements control.Sensor and PoseSource. Create it with NewSensor and
// release it with Close.
type Sensor struct {
	node    *Node
	spec    *embodiment.Spec
	cameras map[string]string // camera name → topic
	slots   []stateSlot
	subs    []*goroslib.Subscriber

	mu      sync.Mutex
	frames  map[string]frame
	joints  map[string]jointValue
	pose    Pose
	poseAt  time.Time
	stats   SensorStats
	lastLog string
}

var _ control.Sensor = (*Sensor)(nil)

// NewSensor subscribes to the topics spec needs: one image topic per camera,
// the joint states when the state reads joints, and the end-effector pose
// when the state reads it or the action space is eef_delta_pose_gripper.
func NewSensor(n *Node, spec *embodiment.Spec, cfg SensorConfig) (*Sensor, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros1: sensor needs a node and a spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ros1: sensor: %w", err)
	}
	s := &Sensor{
		node: n, spec: spec, cameras: map[string]string{},
		frames: map[string]frame{}, joints: map[string]jointValue{},
		stats: SensorStats{Malformed: map[string]uint64{}},
	}
	if err := s.resolveCameras(cfg.CameraTopics); err != nil {
		return nil, err
	}
	var err error
	if s.slots, err = parseState(spec, cfg.State); err != nil {
		return nil, err
	}
	if err := s.subscribe(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sensor) resolveCameras(topics map[string]string) error {
	nc := s.node.Config()
	for name := range topics {
		if !slices.ContainsFunc(s.spec.Cameras, func(c embodiment.Camera) bool { return c.Name == name }) {
			return fmt.Errorf("ros1: camera topic for %q: embodiment %q has no such camera", name, s.spec.Name)
		}
	}
	for i, c := range s.spec.Cameras {
		t := topics[c.Name]
		switch {
		case t != "":
		case i == 0 && nc.ImageTransport == TransportCompressed:
			t = nc.CompressedImageTopic
		case i == 0:
			t = nc.ImageTopic
		case nc.ImageTransport == TransportCompressed:
			t = "/" + c.Name + "/image_raw/compressed"
		default:
			t = "/" + c.Name + "/image_raw"
		}
		s.cameras[c.Name] = t
	}
	return nil
}

// parseState checks the state sources, or derives them from spec.
func parseState(spec *embodiment.Spec, state []string) ([]stateSlot, error) {
	n := spec.StateDim()
	if state == nil {
		state = defaultState(spec)
	}
	if len(state) != n {
		return nil, fmt.Errorf("ros1: %d state sources for embodiment %q's %d-value state", len(state), spec.Name, n)
	}
	slots := make([]stateSlot, n)
	for i, src := range state {
		switch {
		case src == "":
			return nil, fmt.Errorf("ros1: state[%d] has no source; set SensorConfig.State (e.g. \"joint:NAME\" or \"eef:x\")", i)
		case strings.HasPrefix(src, JointSource) && len(src) > len(JointSource):
			slots[i] = stateSlot{joint: strings.TrimPrefix(src, JointSource), eef: -1}
		case strings.HasPrefix(src, EEFSource):
			k := slices.Index(eefComponents, strings.TrimPrefix(src, EEFSource))
			if k < 0 {
				return nil, fmt.Errorf("ros1: state[%d] source %q: want eef:x, y, z, rx, ry or rz", i, src)
			}
			slots[i] = stateSlot{eef: k}
		default:
			return nil, fmt.Errorf("ros1: state[%d] source %q: want joint:NAME or eef:COMPONENT", i, src)
		}
	}
	return slots, nil
}

func defaultState(spec *embodiment.Spec) []string {
	state := make([]string, spec.StateDim())
	for _, d := range spec.Dims {
		if d.StateIndex != nil {
			state[*d.StateIndex] = JointSource + d.Name
		}
	}
	if w := spec.Workspace; w != nil {
		off, _, _ := spec.StateOffset(w.StateField)
		for k := range 3 {
			state[off+k] = EEFSource + eefComponents[k]
		}
	}
	return state
}

func (s *Sensor) subscribe() error {
	nc := s.node.Config()
	for _, c := range s.spec.Cameras {
		name, topic := c.Name, s.cameras[c.Name]
		var cb any = func(m *sensor_msgs.Image) {
			s.onImage(name, topic, c, func() (policy.Image, error) { return ImageToRGB(m) })
		}
		if nc.ImageTransport == TransportCompressed {
			cb = func(m *sensor_msgs.CompressedImage) {
				s.onImage(name, topic, c, func() (policy.Image, error) { return CompressedToRGB(m) })
			}
		}
		if err := s.sub(topic, cb); err != nil {
			return err
		}
	}
	needJoints, needPose := false, s.spec.ActionSpace == embodiment.EEFDeltaPoseGripper
	for _, sl := range s.slots {
		needJoints = needJoints || sl.joint != ""
		needPose = needPose || sl.joint == ""
	}
	if needJoints {
		t := nc.JointStatesTopic
		if err := s.sub(t, func(m *sensor_msgs.JointState) { s.onJoints(t, m) }); err != nil {
			return err
		}
	}
	if needPose {
		t := nc.EEFPoseTopic
		if err := s.sub(t, func(m *geometry_msgs.PoseStamped) { s.onPose(t, m) }); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sensor) sub(topic string, cb any) error {
	sub, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: s.node.node, Topic: topic, Callback: cb})
	if err != nil {
		return fmt.Errorf("ros1: subscribe %s: %w", topic, err)
	}
	s.subs = append(s.subs, sub)
	return nil
}

// reject counts a malformed message; it logs when the problem changes.
// Call with s.mu held.
func (s *Sensor) reject(topic string, err error) {
	s.stats.Malformed[topic]++
	s.stats.LastError = topic + ": " + err.Error()
	if s.stats.LastError != s.lastLog {
		s.lastLog = s.stats.LastError
		s.node.cfg.Logger.Warn("ros1: malformed message", "topic", topic, "err", err)
	}
}

func (s *Sensor) onImage(name, topic string, c embodiment.Camera, convert func() (policy.Image, error)) {
	at := time.Now()
	im, err := convert()
	if err == nil {
		im = resize(im, c.Width, c.Height)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reject(topic, err)
		return
	}
	s.stats.Images++
	s.frames[name] = frame{im: im, at: at}
}

func (s *Sensor) onJoints(topic string, m *sensor_msgs.JointState) {
	at := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(m.Position) != len(m.Name) {
		s.reject(topic, fmt.Errorf("joint state has %d names and %d positions", len(m.Name), len(m.Position)))
		return
	}
	for i, p := range m.Position {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			s.reject(topic, fmt.Errorf("joint %q position is %v", m.Name[i], p))
			return
		}
	}
	// Several publishers may each report some joints: keep every joint's
	// latest value.
	for i, name := range m.Name {
		s.joints[name] = jointValue{pos: m.Position[i], at: at}
	}
	s.stats.JointStates++
}

func (s *Sensor) onPose(topic string, m *geometry_msgs.PoseStamped) {
	at := time.Now()
	p, err := poseFromMsg(&m.Pose, m.Header.FrameId)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reject(topic, err)
		return
	}
	s.pose, s.poseAt = p, at
	s.stats.Poses++
}

// Observe implements control.Sensor: the latest frame of every camera
// (resized to the embodiment's size) and the state assembled from the latest
// joint positions and pose. Reading.Time is the arrival time of the oldest
// part. It fails, without waiting, while a part has not arrived yet. Images
// are shared between observations and must not be modified.
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
			return control.Reading{}, fmt.Errorf("ros1: no frame yet from camera %q on %s", c.Name, s.cameras[c.Name])
		}
		obs.Images[c.Name] = f.im
		older(f.at)
	}
	if len(s.slots) > 0 {
		obs.State = make([]float32, len(s.slots))
	}
	var aa [3]float64
	if !s.poseAt.IsZero() {
		aa = axisAngle(s.pose.Orientation)
	}
	for i, sl := range s.slots {
		if sl.joint != "" {
			j, ok := s.joints[sl.joint]
			if !ok {
				return control.Reading{}, fmt.Errorf("ros1: no position yet for joint %q on %s", sl.joint, s.node.cfg.JointStatesTopic)
			}
			obs.State[i] = float32(j.pos)
			older(j.at)
			continue
		}
		if s.poseAt.IsZero() {
			return control.Reading{}, fmt.Errorf("ros1: no end-effector pose yet on %s", s.node.cfg.EEFPoseTopic)
		}
		if sl.eef < 3 {
			obs.State[i] = float32(s.pose.Position[sl.eef])
		} else {
			obs.State[i] = float32(aa[sl.eef-3])
		}
		older(s.poseAt)
	}
	if oldest.IsZero() {
		oldest = time.Now() // nothing to read: always fresh
	}
	return control.Reading{Observation: obs, Time: oldest}, nil
}

// EEFPose implements PoseSource.
func (s *Sensor) EEFPose() (Pose, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poseAt.IsZero() {
		return Pose{}, time.Time{}, fmt.Errorf("ros1: no end-effector pose yet on %s", s.node.cfg.EEFPoseTopic)
	}
	return s.pose, s.poseAt, nil
}

// Stats returns a snapshot of the sensor's counters.
func (s *Sensor) Stats() SensorStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Malformed = maps.Clone(s.stats.Malformed)
	return st
}

// Topics returns the topic each camera is read from.
func (s *Sensor) Topics() map[string]string {
	return maps.Clone(s.cameras)
}

// Close unsubscribes.
func (s *Sensor) Close() {
	for _, sub := range s.subs {
		sub.Close()
	}
	s.subs = nil
}
