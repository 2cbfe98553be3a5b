package ros1

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/geometry_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"

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
	spec    *embodiment.Spec
	cfg     ActuatorConfig
	axes    []int // base_twist: TwistAxes index per dimension
	pub     *goroslib.Publisher
	gripper *goroslib.Publisher
}

var _ control.Actuator = (*Actuator)(nil)

// NewActuator advertises the command topic of spec's action space.
func NewActuator(n *Node, spec *embodiment.Spec, cfg ActuatorConfig) (*Actuator, error) {
	if n == nil || spec == nil {
		return nil, errors.New("ros1: actuator needs a node and a spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ros1: actuator: %w", err)
	}
	if cfg.PoseTimeout == 0 {
		cfg.PoseTimeout = 250 * time.Millisecond
	}
	if cfg.PoseTimeout < 0 {
		return nil, fmt.Errorf("ros1: pose timeout must be positive, got %v", cfg.PoseTimeout)
	}
	a := &Actuator{spec: spec, cfg: cfg}
	nc := n.Config()
	var topic string
	var msg any
	switch spec.ActionSpace {
	case embodiment.BaseTwist:
		axes, err := twistAxes(spec, cfg.Twist)
		if err != nil {
			return nil, err
		}
		a.axes, topic, msg = axes, nc.CmdVelTopic, &geometry_msgs.Twist{}
	case embodiment.JointPosition, embodiment.JointVelocity:
		a.cfg.JointNames = slices.Clone(cfg.JointNames)
		if cfg.JointNames == nil {
			for _, d := range spec.Dims {
				a.cfg.JointNames = append(a.cfg.JointNames, d.Name)
			}
		}
		if len(a.cfg.JointNames) != spec.ActionDim() || slices.Contains(a.cfg.JointNames, "") {
			return nil, fmt.Errorf("ros1: %d joint names for %d action dimensions, all non-empty", len(a.cfg.JointNames), spec.ActionDim())
		}
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

func twistAxes(spec *embodiment.Spec, names []string) ([]int, error) {
	if names == nil {
		for _, d := range spec.Dims {
			names = append(names, d.Name)
		}
	}
	if len(names) != spec.ActionDim() {
		return nil, fmt.Errorf("ros1: %d twist axes for %d action dimensions", len(names), spec.ActionDim())
	}
	axes := make([]int, len(names))
	for i, name := range names {
		k := slices.Index(TwistAxes, name)
		if k < 0 {
			k = slices.Index(twistShort, name)
		}
		if k < 0 {
			return nil, fmt.Errorf("ros1: dimension %d (%q) maps to no twist axis; set ActuatorConfig.Twist (linear.x … angular.z)", i, name)
		}
		if slices.Contains(axes[:i], k) {
			return nil, fmt.Errorf("ros1: twist axis %s is driven twice", TwistAxes[k])
		}
		axes[i] = k
	}
	return axes, nil
}

// Send implements control.Actuator. It rejects commands of the wrong length
// or with non-finite values and, for end-effector deltas, fails when the
// measured pose is missing or older than PoseTimeout; nothing is published
// then.
func (a *Actuator) Send(ctx context.Context, cmd safety.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(cmd.Values) != a.spec.ActionDim() {
		return fmt.Errorf("ros1: command has %d values, embodiment %q takes %d", len(cmd.Values), a.spec.Name, a.spec.ActionDim())
	}
	v := make([]float64, len(cmd.Values))
	for i, x := range cmd.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("ros1: command value %d (%s) is %v", i, a.spec.Dims[i].Name, x)
		}
		v[i] = float64(x) * a.spec.ScaleOf(i)
	}
	switch a.spec.ActionSpace {
	case embodiment.BaseTwist:
		a.pub.Write(twist(a.axes, v))
	case embodiment.JointPosition, embodiment.JointVelocity:
		pt := trajectory_msgs.JointTrajectoryPoint{TimeFromStart: a.spec.Period()}
		if a.spec.ActionSpace == embodiment.JointPosition {
			pt.Positions = v
		} else {
			pt.Velocities = v
		}
		a.pub.Write(&trajectory_msgs.JointTrajectory{
			Header:     std_msgs.Header{Seq: uint32(cmd.Seq)},
			JointNames: a.cfg.JointNames,
			Points:     []trajectory_msgs.JointTrajectoryPoint{pt},
		})
	case embodiment.EEFDeltaPoseGripper:
		return a.sendPose(cmd, v)
	}
	return nil
}

func twist(axes []int, v []float64) *geometry_msgs.Twist {
	var f [6]float64
	for i, k := range axes {
		f[k] = v[i]
	}
	return &geometry_msgs.Twist{
		Linear:  geometry_msgs.Vector3{X: f[0], Y: f[1], Z: f[2]},
		Angular: geometry_msgs.Vector3{X: f[3], Y: f[4], Z: f[5]},
	}
}

func (a *Actuator) sendPose(cmd safety.Command, v []float64) error {
	cur, at, err := a.cfg.Pose.EEFPose()
	if err != nil {
		return err
	}
	if age := time.Since(at); age > a.cfg.PoseTimeout {
		return fmt.Errorf("ros1: end-effector pose is %v old, over %v", age.Round(time.Millisecond), a.cfg.PoseTimeout)
	}
	t := applyDelta(cur, [3]float64{v[0], v[1], v[2]}, [3]float64{v[3], v[4], v[5]})
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
