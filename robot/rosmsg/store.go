package rosmsg

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
)

// SensorConfig configures a sensor adapter.
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
	// layouts must be given. Over a transport that does not read the
	// end-effector pose (robot/ros2, so far) only joint sources are
	// accepted, and there are no eef defaults.
	State []string
}

// Topics names the topics a sensor adapter reads, from its node's
// configuration.
type Topics struct {
	// Image and CompressedImage are the first camera's topics; Compressed
	// selects the latter transport for every camera.
	Image, CompressedImage string
	Compressed             bool
	// JointStates and EEFPose carry sensor_msgs/JointState and the
	// end-effector pose; an empty EEFPose means the transport does not read
	// the pose, so the state may not use it.
	JointStates, EEFPose string
}

// StoreConfig configures a Store.
type StoreConfig struct {
	// Prefix starts every error and log message, e.g. "ros1".
	Prefix string
	// Spec is the embodiment observed.
	Spec *embodiment.Spec
	// Sensor and Topics give the camera topics (see CameraTopics) and the
	// state sources (see ParseState).
	Sensor SensorConfig
	Topics Topics
	// Logger, when set, receives a warning each time the reason messages
	// are rejected for changes.
	Logger *slog.Logger
}

// Stats counts what a Store received.
type Stats struct {
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

// Store keeps the latest frame of every camera, position of every joint and
// end-effector pose of one embodiment, each with its arrival time (the local
// clock: header stamps come from other machines' clocks or from simulated
// time), and assembles observations from them. A transport's subscription
// callbacks feed it; it is safe for concurrent use. It implements
// PoseSource.
type Store struct {
	cfg     StoreConfig
	cameras map[string]string // camera name → topic
	slots   []Slot

	mu      sync.Mutex
	frames  map[string]frame
	joints  map[string]jointValue
	pose    Pose
	poseAt  time.Time
	stats   Stats
	lastLog string
}

var _ PoseSource = (*Store)(nil)

// NewStore validates the spec, resolves the camera topics and parses the
// state sources.
func NewStore(cfg StoreConfig) (*Store, error) {
	if err := cfg.Spec.Validate(); err != nil {
		return nil, fmt.Errorf("%s: sensor: %w", cfg.Prefix, err)
	}
	t := cfg.Topics
	cameras, err := CameraTopics(cfg.Spec, cfg.Sensor.CameraTopics, t.Compressed, t.Image, t.CompressedImage)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Prefix, err)
	}
	slots, err := ParseState(cfg.Spec, cfg.Sensor.State, t.EEFPose != "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Prefix, err)
	}
	return &Store{
		cfg: cfg, cameras: cameras, slots: slots,
		frames: map[string]frame{}, joints: map[string]jointValue{},
		stats: Stats{Malformed: map[string]uint64{}},
	}, nil
}

// Topic returns the topic camera is read from.
func (s *Store) Topic(camera string) string { return s.cameras[camera] }

// Topics returns the topic each camera is read from.
func (s *Store) Topics() map[string]string { return maps.Clone(s.cameras) }

// NeedsJoints reports whether the state reads joint positions.
func (s *Store) NeedsJoints() bool {
	for _, sl := range s.slots {
		if sl.Joint != "" {
			return true
		}
	}
	return false
}

// NeedsPose reports whether the state reads the end-effector pose or the
// action space applies deltas to it.
func (s *Store) NeedsPose() bool {
	if s.cfg.Spec.ActionSpace == embodiment.EEFDeltaPoseGripper && s.cfg.Topics.EEFPose != "" {
		return true
	}
	for _, sl := range s.slots {
		if sl.Joint == "" {
			return true
		}
	}
	return false
}

// reject counts a malformed message; it logs when the problem changes.
// Call with s.mu held.
func (s *Store) reject(topic string, err error) {
	s.stats.Malformed[topic]++
	s.stats.LastError = topic + ": " + err.Error()
	if s.stats.LastError != s.lastLog {
		s.lastLog = s.stats.LastError
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn(s.cfg.Prefix+": malformed message", "topic", topic, "err", err)
		}
	}
}

// OnImage converts a frame of camera c with convert, resizes it to the
// camera's size and keeps it, or counts it as malformed.
func (s *Store) OnImage(c embodiment.Camera, convert func() (policy.Image, error)) {
	at := time.Now()
	im, err := convert()
	if err == nil {
		im = Resize(im, c.Width, c.Height)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reject(s.cameras[c.Name], err)
		return
	}
	s.stats.Images++
	s.frames[c.Name] = frame{im: im, at: at}
}

// OnJoints keeps the positions of a sensor_msgs/JointState, or counts it as
// malformed when the lengths differ or a position is not finite. Joints
// that the message does not name keep their earlier values, so several
// publishers may each report some joints.
func (s *Store) OnJoints(names []string, positions []float64) {
	at := time.Now()
	topic := s.cfg.Topics.JointStates
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(positions) != len(names) {
		s.reject(topic, fmt.Errorf("joint state has %d names and %d positions", len(names), len(positions)))
		return
	}
	for i, p := range positions {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			s.reject(topic, fmt.Errorf("joint %q position is %v", names[i], p))
			return
		}
	}
	for i, name := range names {
		s.joints[name] = jointValue{pos: positions[i], at: at}
	}
	s.stats.JointStates++
}

// OnPose keeps the pose convert returns, or counts the message as
// malformed.
func (s *Store) OnPose(convert func() (Pose, error)) {
	at := time.Now()
	p, err := convert()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reject(s.cfg.Topics.EEFPose, err)
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
func (s *Store) Observe(ctx context.Context) (control.Reading, error) {
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
	for _, c := range s.cfg.Spec.Cameras {
		f, ok := s.frames[c.Name]
		if !ok {
			return control.Reading{}, fmt.Errorf("%s: no frame yet from camera %q on %s", s.cfg.Prefix, c.Name, s.cameras[c.Name])
		}
		obs.Images[c.Name] = f.im
		older(f.at)
	}
	if len(s.slots) > 0 {
		obs.State = make([]float32, len(s.slots))
	}
	var aa [3]float64
	if !s.poseAt.IsZero() {
		aa = AxisAngle(s.pose.Orientation)
	}
	for i, sl := range s.slots {
		if sl.Joint != "" {
			j, ok := s.joints[sl.Joint]
			if !ok {
				return control.Reading{}, fmt.Errorf("%s: no position yet for joint %q on %s", s.cfg.Prefix, sl.Joint, s.cfg.Topics.JointStates)
			}
			obs.State[i] = float32(j.pos)
			older(j.at)
			continue
		}
		if s.poseAt.IsZero() {
			return control.Reading{}, s.noPose()
		}
		if sl.EEF < 3 {
			obs.State[i] = float32(s.pose.Position[sl.EEF])
		} else {
			obs.State[i] = float32(aa[sl.EEF-3])
		}
		older(s.poseAt)
	}
	if oldest.IsZero() {
		oldest = time.Now() // nothing to read: always fresh
	}
	return control.Reading{Observation: obs, Time: oldest}, nil
}

func (s *Store) noPose() error {
	return fmt.Errorf("%s: no end-effector pose yet on %s", s.cfg.Prefix, s.cfg.Topics.EEFPose)
}

// EEFPose implements PoseSource.
func (s *Store) EEFPose() (Pose, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poseAt.IsZero() {
		return Pose{}, time.Time{}, s.noPose()
	}
	return s.pose, s.poseAt, nil
}

// Stats returns a snapshot of the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Malformed = maps.Clone(s.stats.Malformed)
	return st
}
