package ros1

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/rosmsg"
)

// State sources: each state value comes from a joint's position in
// sensor_msgs/JointState or from a component of the end-effector pose.
const (
	// JointSource prefixes a joint name: "joint:elbow" is the position of
	// joint "elbow".
	JointSource = rosmsg.JointSource
	// EEFSource prefixes a pose component: "eef:x", "eef:y", "eef:z"
	// (metres) or "eef:rx", "eef:ry", "eef:rz" (the orientation as an
	// axis-angle vector, radians, as LIBERO's eef_axis_angle).
	EEFSource = rosmsg.EEFSource
)

// SensorConfig configures a Sensor.
type SensorConfig = rosmsg.SensorConfig

// SensorStats counts what a Sensor received.
type SensorStats = rosmsg.Stats

// Sensor subscribes to a robot's cameras, joint states and end-effector
// pose and keeps the latest of each with its arrival time (the local clock:
// header stamps come from other machines' clocks or from simulated time). It
// implements control.Sensor and PoseSource. Create it with NewSensor and
// release it with Close.
type Sensor struct {
	node  *Node
	spec  *embodiment.Spec
	store *rosmsg.Store
	subs  []*goroslib.Subscriber
}

var _ control.Sensor = (*Sensor)(nil)

// NewSensor subscribes to the topics spec needs: one image topic per camera,
// the joint states when the state reads joints, and the end-effector pose
// when the state reads it or the action space is eef_delta_pose_gripper.
func NewSensor(n *Node, spec *embodiment.Spec, cfg SensorConfig) (*Sensor, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros1: sensor needs a node and a spec")
	}
	nc := n.Config()
	store, err := rosmsg.NewStore(rosmsg.StoreConfig{Prefix: "ros1", Spec: spec, Sensor: cfg, Topics: nc.topics(), Logger: nc.Logger})
	if err != nil {
		return nil, err
	}
	s := &Sensor{node: n, spec: spec, store: store}
	if err := s.subscribe(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sensor) subscribe() error {
	nc := s.node.Config()
	for _, c := range s.spec.Cameras {
		var cb any = func(m *sensor_msgs.Image) {
			s.store.OnImage(c, func() (policy.Image, error) { return ImageToRGB(m) })
		}
		if nc.ImageTransport == TransportCompressed {
			cb = func(m *sensor_msgs.CompressedImage) {
				s.store.OnImage(c, func() (policy.Image, error) { return CompressedToRGB(m) })
			}
		}
		if err := s.sub(s.store.Topic(c.Name), cb); err != nil {
			return err
		}
	}
	if s.store.NeedsJoints() {
		if err := s.sub(nc.JointStatesTopic, s.onJoints); err != nil {
			return err
		}
	}
	if s.store.NeedsPose() {
		if err := s.sub(nc.EEFPoseTopic, s.onPose); err != nil {
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

func (s *Sensor) onJoints(m *sensor_msgs.JointState) { s.store.OnJoints(m.Name, m.Position) }

// Observe implements control.Sensor: the latest frame of every camera
// (resized to the embodiment's size) and the state assembled from the latest
// joint positions and pose. Reading.Time is the arrival time of the oldest
// part. It fails, without waiting, while a part has not arrived yet. Images
// are shared between observations and must not be modified.
func (s *Sensor) Observe(ctx context.Context) (control.Reading, error) { return s.store.Observe(ctx) }

// Stats returns a snapshot of the sensor's counters.
func (s *Sensor) Stats() SensorStats { return s.store.Stats() }

// Topics returns the topic each camera is read from.
func (s *Sensor) Topics() map[string]string { return s.store.Topics() }

// Close unsubscribes.
func (s *Sensor) Close() {
	for _, sub := range s.subs {
		sub.Close()
	}
	s.subs = nil
}
