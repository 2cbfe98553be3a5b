package rosmsg

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// TwistAxes are the geometry_msgs/Twist fields a base_twist dimension can
// drive, in the order of MapTwist's indices.
var TwistAxes = []string{"linear.x", "linear.y", "linear.z", "angular.x", "angular.y", "angular.z"}

// twistShort are the usual dimension names of the TwistAxes, in order.
var twistShort = []string{"vx", "vy", "vz", "wx", "wy", "wz"}

// MapTwist returns the TwistAxes index each of spec's action dimensions
// drives. names gives the axis of each dimension and defaults to the
// dimensions' names; an entry may be an axis name or one of vx, vy, vz, wx,
// wy, wz. No axis may be driven twice.
func MapTwist(spec *embodiment.Spec, names []string) ([]int, error) {
	if names == nil {
		for _, d := range spec.Dims {
			names = append(names, d.Name)
		}
	}
	if len(names) != spec.ActionDim() {
		return nil, fmt.Errorf("%d twist axes for %d action dimensions", len(names), spec.ActionDim())
	}
	axes := make([]int, len(names))
	for i, name := range names {
		k := slices.Index(TwistAxes, name)
		if k < 0 {
			k = slices.Index(twistShort, name)
		}
		if k < 0 {
			return nil, fmt.Errorf("dimension %d (%q) maps to no twist axis; set ActuatorConfig.Twist (linear.x … angular.z)", i, name)
		}
		if slices.Contains(axes[:i], k) {
			return nil, fmt.Errorf("twist axis %s is driven twice", TwistAxes[k])
		}
		axes[i] = k
	}
	return axes, nil
}

// ActuatorConfig names the ROS side of an embodiment's action dimensions.
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

// TrajectoryPoint is the one point of a trajectory_msgs/JointTrajectory
// command.
type TrajectoryPoint struct {
	// Positions (joint_position) or Velocities (joint_velocity) hold one
	// value per joint; the other is nil.
	Positions, Velocities []float64
	// TimeFromStart is one control period.
	TimeFromStart time.Duration
}

// Sink publishes commands on a transport.
type Sink interface {
	// Twist publishes a geometry_msgs/Twist.
	Twist(ctx context.Context, linear, angular [3]float64) error
	// Trajectory publishes a trajectory_msgs/JointTrajectory with one
	// point; seq is the command's sequence number.
	Trajectory(ctx context.Context, seq uint64, joints []string, pt TrajectoryPoint) error
}

// PoseSink is a Sink that also publishes eef_delta_pose_gripper commands.
type PoseSink interface {
	Sink
	// EEFDelta publishes cmd, whose values v in physical units are the
	// position delta, the axis-angle rotation delta and the gripper.
	EEFDelta(ctx context.Context, cmd safety.Command, v []float64) error
}

// Commands checks safety-filtered commands of one embodiment, converts
// them from action units to physical units with each dimension's scale and
// hands them to a Sink as the message of the action space:
//
//   - base_twist: a Twist, each dimension on its axis (see MapTwist);
//   - joint_position, joint_velocity: a one-point Trajectory reached after
//     one control period;
//   - eef_delta_pose_gripper: PoseSink.EEFDelta.
type Commands struct {
	prefix string
	spec   *embodiment.Spec
	joints []string
	axes   []int
}

// NewCommands validates spec and cfg's naming of its action dimensions (see
// MapTwist for the twist axes). Errors start with prefix, e.g. "ros1".
func NewCommands(prefix string, spec *embodiment.Spec, cfg ActuatorConfig) (*Commands, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%s: actuator: %w", prefix, err)
	}
	c := &Commands{prefix: prefix, spec: spec}
	switch spec.ActionSpace {
	case embodiment.BaseTwist:
		axes, err := MapTwist(spec, cfg.Twist)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", prefix, err)
		}
		c.axes = axes
	case embodiment.JointPosition, embodiment.JointVelocity:
		c.joints = slices.Clone(cfg.JointNames)
		if cfg.JointNames == nil {
			for _, d := range spec.Dims {
				c.joints = append(c.joints, d.Name)
			}
		}
		if len(c.joints) != spec.ActionDim() || slices.Contains(c.joints, "") {
			return nil, fmt.Errorf("%s: %d joint names for %d action dimensions, all non-empty", prefix, len(c.joints), spec.ActionDim())
		}
	}
	return c, nil
}

// Send implements control.Actuator's Send for sink. It rejects commands of
// the wrong length or with non-finite values; nothing is published then.
// Errors of ctx and sink are returned as they are.
func (c *Commands) Send(ctx context.Context, cmd safety.Command, sink Sink) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(cmd.Values) != c.spec.ActionDim() {
		return fmt.Errorf("%s: command has %d values, embodiment %q takes %d", c.prefix, len(cmd.Values), c.spec.Name, c.spec.ActionDim())
	}
	v := make([]float64, len(cmd.Values))
	for i, x := range cmd.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%s: command value %d (%s) is %v", c.prefix, i, c.spec.Dims[i].Name, x)
		}
		v[i] = float64(x) * c.spec.ScaleOf(i)
	}
	switch c.spec.ActionSpace {
	case embodiment.BaseTwist:
		var f [6]float64
		for i, k := range c.axes {
			f[k] = v[i]
		}
		return sink.Twist(ctx, [3]float64{f[0], f[1], f[2]}, [3]float64{f[3], f[4], f[5]})
	case embodiment.JointPosition, embodiment.JointVelocity:
		pt := TrajectoryPoint{TimeFromStart: c.spec.Period()}
		if c.spec.ActionSpace == embodiment.JointPosition {
			pt.Positions = v
		} else {
			pt.Velocities = v
		}
		return sink.Trajectory(ctx, cmd.Seq, c.joints, pt)
	case embodiment.EEFDeltaPoseGripper:
		if ps, ok := sink.(PoseSink); ok {
			return ps.EEFDelta(ctx, cmd, v)
		}
	}
	return fmt.Errorf("%s: action space %q is not supported", c.prefix, c.spec.ActionSpace)
}
