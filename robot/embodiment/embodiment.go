// Package embodiment describes a robot as a controller sees it: the action
// space and its per-dimension limits, the control rate, the cameras, the
// proprioceptive state and, for end-effector control, the workspace box.
//
// A Spec is read from YAML or JSON (Load, Parse) and validated with errors
// that name the offending field, e.g. "dims[3].max: must be greater than min
// (1)". Three examples are built in (Builtin): the simulator's Panda, a real
// 6-DoF arm and a real mobile base.
package embodiment

import (
	"fmt"
	"math"
	"time"
)

// ActionKind names how an action vector drives the robot.
type ActionKind string

// The action spaces vst-go knows.
const (
	// EEFDeltaPoseGripper is a 7-D action: end-effector position deltas
	// (x, y, z), rotation deltas (axis-angle rx, ry, rz) and a gripper
	// command, as robosuite's OSC_POSE controller and LIBERO use. The first
	// three dimensions must be the position deltas and the last the gripper.
	EEFDeltaPoseGripper ActionKind = "eef_delta_pose_gripper"
	// JointPosition commands absolute joint positions (and optionally a
	// gripper position).
	JointPosition ActionKind = "joint_position"
	// JointVelocity commands joint velocities.
	JointVelocity ActionKind = "joint_velocity"
	// BaseTwist commands a mobile base's velocity (e.g. vx, vy, wz).
	BaseTwist ActionKind = "base_twist"
)

// StopMode says what a dimension does when the robot must stop.
type StopMode string

// The stop modes.
const (
	// StopZero ramps the commanded value to zero: the right stop for
	// velocity-like commands (deltas, velocities, twists).
	StopZero StopMode = "zero"
	// StopHold ramps the value's rate of change to zero and then keeps the
	// value: the right stop for position-like commands (joint positions,
	// grippers).
	StopHold StopMode = "hold"
)

// Dim is one action dimension. Values are in action units: the numbers the
// policy emits. Scale converts them to the physical Unit.
type Dim struct {
	// Name identifies the dimension (e.g. "dx", "joint3", "gripper").
	Name string `yaml:"name" json:"name"`
	// Unit is the physical unit after scaling (e.g. "m", "rad", "m/s").
	// It defaults to empty (dimensionless).
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Min and Max bound the commanded value, in action units.
	Min float64 `yaml:"min" json:"min"`
	Max float64 `yaml:"max" json:"max"`
	// Scale is the physical size of one action unit, in Unit (LIBERO: one
	// unit of dx is 0.05 m). It defaults to 1.
	Scale float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	// MaxVelocity bounds how fast the commanded value may change, in action
	// units per second. For velocity-like commands this is the robot's
	// acceleration limit. It defaults to 0: unbounded (simulated robots only;
	// real robots must set it).
	MaxVelocity float64 `yaml:"max_velocity,omitempty" json:"max_velocity,omitempty"`
	// MaxAcceleration bounds how fast that rate of change may change, in
	// action units per second². It defaults to 0: unbounded (simulated robots
	// only; real robots must set it).
	MaxAcceleration float64 `yaml:"max_acceleration,omitempty" json:"max_acceleration,omitempty"`
	// Stop is what the dimension does in a controlled stop. It defaults to
	// "hold" for joint_position actions and to "zero" otherwise.
	Stop StopMode `yaml:"stop,omitempty" json:"stop,omitempty"`
	// StateIndex, when set, is the index in the state vector of this
	// dimension's measured value: the safety filter starts rate limiting
	// from there (required for real position-controlled joints). It
	// defaults to unset.
	StateIndex *int `yaml:"state_index,omitempty" json:"state_index,omitempty"`
	// Initial is the value assumed to be commanded before the first command
	// when StateIndex is unset (LIBERO's gripper starts open: -1). It
	// defaults to 0.
	Initial float64 `yaml:"initial,omitempty" json:"initial,omitempty"`
}

// Camera is one camera the policy reads.
type Camera struct {
	// Name is the image key in policy observations (e.g. "agentview").
	Name string `yaml:"name" json:"name"`
	// Width and Height are the image size the policy expects, in pixels.
	Width  int `yaml:"width" json:"width"`
	Height int `yaml:"height" json:"height"`
}

// StateField is a named slice of the proprioceptive state vector. Fields are
// laid out in order.
type StateField struct {
	// Name identifies the field (e.g. "eef_pos").
	Name string `yaml:"name" json:"name"`
	// Dims is the number of values.
	Dims int `yaml:"dims" json:"dims"`
}

// Workspace is an axis-aligned box the end effector must stay in, in the
// frame of the position deltas and of the state's end-effector position
// (robosuite's OSC_POSE: the world frame).
type Workspace struct {
	// Min and Max are the box corners (x, y, z), in metres.
	Min [3]float64 `yaml:"min" json:"min"`
	Max [3]float64 `yaml:"max" json:"max"`
	// StateField names the state field whose first three values are the
	// current end-effector position.
	StateField string `yaml:"state_field" json:"state_field"`
}

// Spec describes one embodiment.
type Spec struct {
	// Name identifies the embodiment.
	Name string `yaml:"name" json:"name"`
	// ActionSpace is the kind of action the robot takes.
	ActionSpace ActionKind `yaml:"action_space" json:"action_space"`
	// Dims describes each action dimension, in action-vector order.
	Dims []Dim `yaml:"dims" json:"dims"`
	// ControlRate is the control frequency in Hz.
	ControlRate float64 `yaml:"control_rate_hz" json:"control_rate_hz"`
	// Cameras lists the cameras the policy reads. It defaults to none.
	Cameras []Camera `yaml:"cameras,omitempty" json:"cameras,omitempty"`
	// State lists the proprioceptive state fields in order. It defaults to
	// none.
	State []StateField `yaml:"state,omitempty" json:"state,omitempty"`
	// Workspace, for eef_delta_pose_gripper actions, is the box the end
	// effector must stay in. It defaults to none.
	Workspace *Workspace `yaml:"workspace,omitempty" json:"workspace,omitempty"`
	// Real marks a physical robot (as opposed to a simulated one).
	Real bool `yaml:"real" json:"real"`
	// DryRun makes the safety layer compute commands without sending them.
	// It defaults to true for real robots and false for simulated ones.
	DryRun *bool `yaml:"dry_run,omitempty" json:"dry_run,omitempty"`
}

// ActionDim returns the number of action dimensions.
func (s *Spec) ActionDim() int { return len(s.Dims) }

// StateDim returns the length of the state vector.
func (s *Spec) StateDim() int {
	n := 0
	for _, f := range s.State {
		n += f.Dims
	}
	return n
}

// StateOffset returns where the named state field starts in the state vector
// and its length; ok is false when there is no such field.
func (s *Spec) StateOffset(name string) (offset, dims int, ok bool) {
	for _, f := range s.State {
		if f.Name == name {
			return offset, f.Dims, true
		}
		offset += f.Dims
	}
	return 0, 0, false
}

// Period returns the control period, 1/ControlRate.
func (s *Spec) Period() time.Duration {
	return time.Duration(float64(time.Second) / s.ControlRate)
}

// IsDryRun reports whether commands must stay unsent by default: DryRun when
// set, otherwise Real.
func (s *Spec) IsDryRun() bool {
	if s.DryRun != nil {
		return *s.DryRun
	}
	return s.Real
}

// StopMode returns dimension i's stop mode with its default applied.
func (s *Spec) StopMode(i int) StopMode {
	if m := s.Dims[i].Stop; m != "" {
		return m
	}
	if s.ActionSpace == JointPosition {
		return StopHold
	}
	return StopZero
}

// FieldError is a validation error that names the field, as a path from the
// document root (e.g. "dims[3].max").
type FieldError struct {
	// Field is the path of the offending field.
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error implements the error interface.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Validate checks the spec and returns the first problem as a *FieldError.
func (s *Spec) Validate() error {
	if s.Name == "" {
		return fieldErr("name", "must not be empty")
	}
	switch s.ActionSpace {
	case EEFDeltaPoseGripper, JointPosition, JointVelocity, BaseTwist:
	case "":
		return fieldErr("action_space", "must be set")
	default:
		return fieldErr("action_space", "unknown kind %q (want eef_delta_pose_gripper, joint_position, joint_velocity or base_twist)", s.ActionSpace)
	}
	if err := s.validateDims(); err != nil {
		return err
	}
	if !finite(s.ControlRate) || s.ControlRate <= 0 || s.ControlRate > 1000 {
		return fieldErr("control_rate_hz", "must be in (0, 1000], got %v", s.ControlRate)
	}
	seen := map[string]bool{}
	for i, c := range s.Cameras {
		f := fmt.Sprintf("cameras[%d]", i)
		switch {
		case c.Name == "":
			return fieldErr(f+".name", "must not be empty")
		case seen[c.Name]:
			return fieldErr(f+".name", "duplicate camera %q", c.Name)
		case c.Width <= 0:
			return fieldErr(f+".width", "must be positive, got %d", c.Width)
		case c.Height <= 0:
			return fieldErr(f+".height", "must be positive, got %d", c.Height)
		}
		seen[c.Name] = true
	}
	seen = map[string]bool{}
	for i, st := range s.State {
		f := fmt.Sprintf("state[%d]", i)
		switch {
		case st.Name == "":
			return fieldErr(f+".name", "must not be empty")
		case seen[st.Name]:
			return fieldErr(f+".name", "duplicate state field %q", st.Name)
		case st.Dims <= 0:
			return fieldErr(f+".dims", "must be positive, got %d", st.Dims)
		}
		seen[st.Name] = true
	}
	for i, d := range s.Dims {
		if d.StateIndex != nil && *d.StateIndex >= s.StateDim() {
			return fieldErr(fmt.Sprintf("dims[%d].state_index", i), "%d is outside the %d-value state", *d.StateIndex, s.StateDim())
		}
	}
	return s.validateWorkspace()
}

func (s *Spec) validateDims() error {
	n := len(s.Dims)
	switch {
	case n == 0:
		return fieldErr("dims", "must not be empty")
	case n > 64:
		return fieldErr("dims", "has %d dimensions, at most 64 allowed", n)
	case s.ActionSpace == EEFDeltaPoseGripper && n != 7:
		return fieldErr("dims", "eef_delta_pose_gripper needs 7 dimensions (dx dy dz drx dry drz gripper), got %d", n)
	case s.ActionSpace == BaseTwist && n > 6:
		return fieldErr("dims", "base_twist has at most 6 dimensions, got %d", n)
	}
	seen := map[string]bool{}
	for i, d := range s.Dims {
		f := fmt.Sprintf("dims[%d]", i)
		switch {
		case d.Name == "":
			return fieldErr(f+".name", "must not be empty")
		case seen[d.Name]:
			return fieldErr(f+".name", "duplicate dimension %q", d.Name)
		case !finite(d.Min):
			return fieldErr(f+".min", "must be finite, got %v", d.Min)
		case !finite(d.Max):
			return fieldErr(f+".max", "must be finite, got %v", d.Max)
		case d.Max <= d.Min:
			return fieldErr(f+".max", "must be greater than min (%v)", d.Min)
		case !finite(d.Scale) || d.Scale < 0:
			return fieldErr(f+".scale", "must be positive, got %v", d.Scale)
		case !finite(d.MaxVelocity) || d.MaxVelocity < 0:
			return fieldErr(f+".max_velocity", "must be zero (unbounded) or positive, got %v", d.MaxVelocity)
		case !finite(d.MaxAcceleration) || d.MaxAcceleration < 0:
			return fieldErr(f+".max_acceleration", "must be zero (unbounded) or positive, got %v", d.MaxAcceleration)
		case s.Real && d.MaxVelocity == 0:
			return fieldErr(f+".max_velocity", "must be set for a real robot")
		case s.Real && d.MaxAcceleration == 0:
			return fieldErr(f+".max_acceleration", "must be set for a real robot")
		case d.StateIndex != nil && *d.StateIndex < 0:
			return fieldErr(f+".state_index", "must not be negative, got %d", *d.StateIndex)
		}
		seen[d.Name] = true
		switch d.Stop {
		case "", StopZero, StopHold:
		default:
			return fieldErr(f+".stop", "unknown stop mode %q (want zero or hold)", d.Stop)
		}
		if s.StopMode(i) == StopZero && (d.Min > 0 || d.Max < 0) {
			return fieldErr(f+".stop", "zero is outside [%v, %v]", d.Min, d.Max)
		}
		if !finite(d.Initial) || d.Initial < d.Min || d.Initial > d.Max {
			return fieldErr(f+".initial", "%v is outside [%v, %v]", d.Initial, d.Min, d.Max)
		}
		if s.StopMode(i) == StopZero && d.Initial != 0 {
			return fieldErr(f+".initial", "must be 0 for a dimension that stops at zero")
		}
		if s.Real && s.ActionSpace == JointPosition && d.StateIndex == nil {
			return fieldErr(f+".state_index", "must be set for a real position-controlled joint")
		}
	}
	return nil
}

func (s *Spec) validateWorkspace() error {
	w := s.Workspace
	if w == nil {
		return nil
	}
	if s.ActionSpace != EEFDeltaPoseGripper {
		return fieldErr("workspace", "only applies to eef_delta_pose_gripper actions, not %s", s.ActionSpace)
	}
	for a, axis := range []string{"x", "y", "z"} {
		switch {
		case !finite(w.Min[a]):
			return fieldErr(fmt.Sprintf("workspace.min[%d]", a), "must be finite, got %v", w.Min[a])
		case !finite(w.Max[a]):
			return fieldErr(fmt.Sprintf("workspace.max[%d]", a), "must be finite, got %v", w.Max[a])
		case w.Max[a] <= w.Min[a]:
			return fieldErr(fmt.Sprintf("workspace.max[%d]", a), "must be greater than min along %s (%v)", axis, w.Min[a])
		}
	}
	if w.StateField == "" {
		return fieldErr("workspace.state_field", "must name the state field holding the end-effector position")
	}
	_, dims, ok := s.StateOffset(w.StateField)
	switch {
	case !ok:
		return fieldErr("workspace.state_field", "no state field %q", w.StateField)
	case dims < 3:
		return fieldErr("workspace.state_field", "%q has %d values, needs at least 3 (x, y, z)", w.StateField, dims)
	}
	return nil
}

// ScaleOf returns dimension i's scale with its default applied.
func (s *Spec) ScaleOf(i int) float64 {
	if sc := s.Dims[i].Scale; sc > 0 {
		return sc
	}
	return 1
}
