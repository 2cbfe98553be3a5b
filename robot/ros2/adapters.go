//go:build ros2

package ros2

import (
	"context"
	"errors"
	"fmt"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/rosmsg"
	"github.com/vstgo/vst/robot/safety"
)

// TwistAxes are the geometry_msgs/Twist fields a base_twist dimension can
// drive.
var TwistAxes = rosmsg.TwistAxes

// ActuatorConfig configures an Actuator: the joint names and twist axes of
// the action dimensions.
type ActuatorConfig = rosmsg.ActuatorConfig

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
	cmds  *rosmsg.Commands
	twist *Publisher[*Twist]
	traj  *Publisher[*JointTrajectory]
}

var _ control.Actuator = (*Actuator)(nil)

// NewActuator creates the command publisher of spec's action space.
func NewActuator(n *Node, spec *embodiment.Spec, cfg ActuatorConfig) (*Actuator, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros2: actuator needs a node and a spec")
	}
	cmds, err := rosmsg.NewCommands("ros2", spec, cfg)
	if err != nil {
		return nil, err
	}
	a := &Actuator{cmds: cmds}
	switch spec.ActionSpace {
	case embodiment.BaseTwist:
		a.twist, err = NewPublisher[*Twist](n, n.cfg.CmdVelTopic, QoS{})
	case embodiment.JointPosition, embodiment.JointVelocity:
		a.traj, err = NewPublisher[*JointTrajectory](n, n.cfg.JointTrajectoryCmdTopic, QoS{})
	default:
		return nil, fmt.Errorf("ros2: action space %q is not supported over ROS 2 (use robot/ros1)", spec.ActionSpace)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Send implements control.Actuator. It rejects commands of the wrong length
// or with non-finite values; nothing is published then.
func (a *Actuator) Send(ctx context.Context, cmd safety.Command) error {
	return a.cmds.Send(ctx, cmd, (*sink)(a))
}

// sink publishes an Actuator's commands for rosmsg.Commands.
type sink Actuator

// Twist implements rosmsg.Sink.
func (a *sink) Twist(ctx context.Context, linear, angular [3]float64) error {
	return a.twist.Publish(ctx, &Twist{Linear: Vector3{linear[0], linear[1], linear[2]}, Angular: Vector3{angular[0], angular[1], angular[2]}})
}

// Trajectory implements rosmsg.Sink. ROS 2 headers carry no sequence
// number.
func (a *sink) Trajectory(ctx context.Context, _ uint64, joints []string, pt rosmsg.TrajectoryPoint) error {
	return a.traj.Publish(ctx, &JointTrajectory{JointNames: joints, Points: []JointTrajectoryPoint{{
		Positions: pt.Positions, Velocities: pt.Velocities, TimeFromStart: DurationOf(pt.TimeFromStart),
	}}})
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
const JointSource = rosmsg.JointSource

// SensorConfig configures a Sensor. End-effector pose sources are not
// supported over ROS 2 yet: the state takes "joint:NAME" sources only.
type SensorConfig = rosmsg.SensorConfig

// Sensor subscribes to a robot's cameras and joint states and keeps the
// latest of each with its arrival time (the local clock). It implements
// control.Sensor. Create it with NewSensor and release it with Close.
type Sensor struct {
	spec  *embodiment.Spec
	store *rosmsg.Store
	subs  []*Subscriber
}

var _ control.Sensor = (*Sensor)(nil)

// NewSensor subscribes to one image topic per camera (with the node's
// ImageQoS) and, when the state reads joints, to the joint states.
func NewSensor(n *Node, spec *embodiment.Spec, cfg SensorConfig) (*Sensor, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros2: sensor needs a node and a spec")
	}
	nc := n.Config()
	store, err := rosmsg.NewStore(rosmsg.StoreConfig{Prefix: "ros2", Spec: spec, Sensor: cfg, Topics: rosmsg.Topics{
		Image: nc.ImageTopic, CompressedImage: nc.CompressedImageTopic, Compressed: nc.ImageTransport == TransportCompressed,
		JointStates: nc.JointStatesTopic,
	}})
	if err != nil {
		return nil, err
	}
	s := &Sensor{spec: spec, store: store}
	if err := s.subscribe(n); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sensor) subscribe(n *Node) error {
	nc := n.Config()
	for _, c := range s.spec.Cameras {
		var sub *Subscriber
		var err error
		if nc.ImageTransport == TransportCompressed {
			sub, err = Subscribe(n, s.store.Topic(c.Name), nc.ImageQoS, func(m *CompressedImage) {
				s.store.OnImage(c, func() (policy.Image, error) { return CompressedToRGB(m) })
			})
		} else {
			sub, err = Subscribe(n, s.store.Topic(c.Name), nc.ImageQoS, func(m *Image) {
				s.store.OnImage(c, func() (policy.Image, error) { return ImageToRGB(m) })
			})
		}
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
	}
	if s.store.NeedsJoints() {
		sub, err := Subscribe(n, nc.JointStatesTopic, QoS{}, func(m *JointState) { s.store.OnJoints(m.Name, m.Position) })
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
	}
	return nil
}

// Observe implements control.Sensor: the latest frame of every camera
// (resized to the embodiment's size) and the state assembled from the latest
// joint positions. Reading.Time is the arrival time of the oldest part. It
// fails, without waiting, while a part has not arrived yet. Images are
// shared between observations and must not be modified.
func (s *Sensor) Observe(ctx context.Context) (control.Reading, error) { return s.store.Observe(ctx) }

// Malformed returns how many messages the sensor rejected, those that did
// not decode included, and why the last one that decoded was.
func (s *Sensor) Malformed() (uint64, string) {
	st := s.store.Stats()
	var n uint64
	for _, c := range st.Malformed {
		n += c
	}
	for _, sub := range s.subs {
		n += sub.Malformed()
	}
	return n, st.LastError
}

// Topics returns the topic each camera is read from.
func (s *Sensor) Topics() map[string]string { return s.store.Topics() }

// Close unsubscribes.
func (s *Sensor) Close() {
	for _, sub := range s.subs {
		sub.Close()
	}
	s.subs = nil
}
