package ros1

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/geometry_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"

	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/rosmsg"
	"github.com/vstgo/vst/robot/safety"
)

// TwistAxes are the geometry_msgs/Twist fields a base_twist dimension can
// drive.
var TwistAxes = rosmsg.TwistAxes

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
	// Pose supplies the measured end-effector pose that
	// eef_delta_pose_gripper deltas are added to. It is required for that
	// action space; a Sensor for the same embodiment is one.
	Pose PoseSource
	// PoseTimeout is the oldest the measured pose may be for a delta to be
	// applied to it. It defaults to 250 ms.
	PoseTimeout time.Duration
}

// Actuator publishes safety-filtered commands for one embodiment and
// implements control.Actuator. Values are converted from action units to
// physical units with each dimension's scale. Create it with NewActuator and
// release it with Close.
//
//   - base_twist: a geometry_msgs/Twist on the node's CmdVelTopic.
//   - joint_position, joint_velocity: a trajectory_msgs/JointTrajectory on
//     JointTrajectoryCmdTopic with one point, positions or velocities,
//     time_from_start one control period, and a zero header stamp (ROS
//     trajectory controllers start such a trajectory on receipt).
//   - eef_delta_pose_gripper: a geometry_msgs/PoseStamped on
//     EEFPoseCmdTopic, the target pose: the measured pose (from
//     ActuatorConfig.Pose) plus the position delta, with the axis-angle
//     rotation delta applied after the measured orientation about the axes of
//     the measured pose's frame (robosuite's OSC_POSE convention). The target
//     carries the measured pose's frame_id, the command's time as stamp and
//     its sequence number. The gripper dimension goes out as a
//     std_msgs/Float64 on GripperCmdTopic.
type Actuator struct {
	cmds    *rosmsg.Commands
	cfg     ActuatorConfig
	pub     *goroslib.Publisher
	gripper *goroslib.Publisher
}

var _ control.Actuator = (*Actuator)(nil)

// NewActuator advertises the command topic of spec's action space.
func NewActuator(n *Node, spec *embodiment.Spec, cfg ActuatorConfig) (*Actuator, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros1: actuator needs a node and a spec")
	}
	cmds, err := rosmsg.NewCommands("ros1", spec, rosmsg.ActuatorConfig{JointNames: cfg.JointNames, Twist: cfg.Twist})
	if err != nil {
		return nil, err
	}
	if cfg.PoseTimeout == 0 {
		cfg.PoseTimeout = 250 * time.Millisecond
	}
	if cfg.PoseTimeout < 0 {
		return nil, fmt.Errorf("ros1: pose timeout must be positive, got %v", cfg.PoseTimeout)
	}
	a := &Actuator{cmds: cmds, cfg: cfg}
	nc := n.Config()
	var topic string
	var msg any
	switch spec.ActionSpace {
	case embodiment.BaseTwist:
		topic, msg = nc.CmdVelTopic, &geometry_msgs.Twist{}
	case embodiment.JointPosition, embodiment.JointVelocity:
		topic, msg = nc.JointTrajectoryCmdTopic, &trajectory_msgs.JointTrajectory{}
	case embodiment.EEFDeltaPoseGripper:
		if cfg.Pose == nil {
			return nil, errors.New("ros1: eef_delta_pose_gripper needs ActuatorConfig.Pose, the measured end-effector pose")
		}
		topic, msg = nc.EEFPoseCmdTopic, &geometry_msgs.PoseStamped{}
		g, err := advertise(n, nc.GripperCmdTopic, &std_msgs.Float64{})
		if err != nil {
			return nil, err
		}
		a.gripper = g
	}
	pub, err := advertise(n, topic, msg)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.pub = pub
	return a, nil
}

func advertise(n *Node, topic string, msg any) (*goroslib.Publisher, error) {
	p, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: n.node, Topic: topic, Msg: msg})
	if err != nil {
		return nil, fmt.Errorf("ros1: advertise %s: %w", topic, err)
	}
	return p, nil
}

// Send implements control.Actuator. It rejects commands of the wrong length
// or with non-finite values and, for end-effector deltas, fails when the
// measured pose is missing or older than PoseTimeout; nothing is published
// then.
func (a *Actuator) Send(ctx context.Context, cmd safety.Command) error {
	return a.cmds.Send(ctx, cmd, (*sink)(a))
}

// sink publishes an Actuator's commands for rosmsg.Commands.
type sink Actuator

// Twist implements rosmsg.Sink.
func (a *sink) Twist(_ context.Context, linear, angular [3]float64) error {
	a.pub.Write(&geometry_msgs.Twist{
		Linear:  geometry_msgs.Vector3{X: linear[0], Y: linear[1], Z: linear[2]},
		Angular: geometry_msgs.Vector3{X: angular[0], Y: angular[1], Z: angular[2]},
	})
	return nil
}

// Trajectory implements rosmsg.Sink.
func (a *sink) Trajectory(_ context.Context, seq uint64, joints []string, pt rosmsg.TrajectoryPoint) error {
	a.pub.Write(&trajectory_msgs.JointTrajectory{
		Header:     std_msgs.Header{Seq: uint32(seq)},
		JointNames: joints,
		Points: []trajectory_msgs.JointTrajectoryPoint{{
			Positions: pt.Positions, Velocities: pt.Velocities, TimeFromStart: pt.TimeFromStart,
		}},
	})
	return nil
}

// EEFDelta implements rosmsg.PoseSink: it publishes the target pose, the
// measured pose plus the delta, and the gripper command.
func (a *sink) EEFDelta(_ context.Context, cmd safety.Command, v []float64) error {
	cur, at, err := a.cfg.Pose.EEFPose()
	if err != nil {
		return err
	}
	if age := time.Since(at); age > a.cfg.PoseTimeout {
		return fmt.Errorf("ros1: end-effector pose is %v old, over %v", age.Round(time.Millisecond), a.cfg.PoseTimeout)
	}
	t := rosmsg.ApplyDelta(cur, [3]float64{v[0], v[1], v[2]}, [3]float64{v[3], v[4], v[5]})
	stamp := cmd.Time
	if stamp.IsZero() {
		stamp = time.Now()
	}
	a.pub.Write(&geometry_msgs.PoseStamped{
		Header: std_msgs.Header{Seq: uint32(cmd.Seq), Stamp: stamp, FrameId: t.Frame},
		Pose: geometry_msgs.Pose{
			Position:    geometry_msgs.Point{X: t.Position[0], Y: t.Position[1], Z: t.Position[2]},
			Orientation: geometry_msgs.Quaternion{X: t.Orientation[0], Y: t.Orientation[1], Z: t.Orientation[2], W: t.Orientation[3]},
		},
	})
	a.gripper.Write(&std_msgs.Float64{Data: v[6]})
	return nil
}

// Close unadvertises the command topics.
func (a *Actuator) Close() {
	for _, p := range []*goroslib.Publisher{a.pub, a.gripper} {
		if p != nil {
			p.Close()
		}
	}
}
