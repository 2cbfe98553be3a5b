package sim

import (
	"fmt"
	"math"

	"github.com/vstgo/vst/sim/mujoco"
)

// State is a full simulator snapshot: enough to restore an episode's
// initial state exactly (as LIBERO's frozen init states).
type State struct {
	// Time is the simulated time.
	Time float64
	// Qpos, Qvel and Act are MuJoCo's generalized positions, velocities
	// and actuator activations.
	Qpos, Qvel, Act []float64
}

// State returns a snapshot of the current state.
func (e *Env) State() (State, error) {
	if e.data == nil {
		return State{}, errClosed
	}
	return State{Time: e.data.Time(), Qpos: e.data.Qpos(), Qvel: e.data.Qvel(), Act: e.data.Act()}, nil
}

// SetState restores a snapshot taken from an Env with the same scene and
// starts a new episode there (step 0, the controller holding that pose,
// gripper open).
func (e *Env) SetState(s State) error {
	if e.data == nil {
		return errClosed
	}
	if err := e.data.SetTime(s.Time); err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	if err := e.data.SetQpos(s.Qpos); err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	if err := e.data.SetQvel(s.Qvel); err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	if e.model.NA() > 0 {
		if err := e.data.SetAct(s.Act); err != nil {
			return fmt.Errorf("sim: state: %w", err)
		}
	}
	e.step, e.done = 0, false
	st := e.readArm()
	e.home = st.q
	return e.holdPose()
}

func (e *Env) object(name string) (objectIDs, error) {
	for _, o := range e.ids.objects {
		if o.name == name {
			return o, nil
		}
	}
	return objectIDs{}, fmt.Errorf("sim: no object named %q", name)
}

// ObjectPose returns an object's body pose (origin at its bottom centre).
func (e *Env) ObjectPose(name string) (Pose, error) {
	if e.data == nil {
		return Pose{}, errClosed
	}
	o, err := e.object(name)
	if err != nil {
		return Pose{}, err
	}
	return Pose{Pos: e.data.BodyPos(o.body), Quat: e.data.BodyQuat(o.body)}, nil
}

// SetObjectPose teleports a movable object (for building initial states,
// never during an episode) and zeroes its velocity.
func (e *Env) SetObjectPose(name string, p Pose) error {
	if e.data == nil {
		return errClosed
	}
	o, err := e.object(name)
	if err != nil {
		return err
	}
	if o.fixed {
		return fmt.Errorf("sim: object %q is a fixture and cannot move", name)
	}
	n := math.Sqrt(p.Quat[0]*p.Quat[0] + p.Quat[1]*p.Quat[1] + p.Quat[2]*p.Quat[2] + p.Quat[3]*p.Quat[3])
	if !(n > 1e-9) || math.IsInf(n, 0) {
		return fmt.Errorf("sim: object %q: quaternion %v is not normalisable", name, p.Quat)
	}
	q, v := e.data.Qpos(), e.data.Qvel()
	copy(q[o.qadr:], p.Pos[:])
	for k := range 4 {
		q[o.qadr+3+k] = p.Quat[k] / n
	}
	jid, err := e.model.ID(mujoco.ObjJoint, name+"_free")
	if err != nil {
		return err
	}
	clear(v[e.model.JointDofAdr(jid) : e.model.JointDofAdr(jid)+6])
	if err := e.data.SetQpos(q); err != nil {
		return err
	}
	if err := e.data.SetQvel(v); err != nil {
		return err
	}
	return e.data.Forward()
}

// JointPos returns a named 1-DoF joint's position (e.g. "cabinet_drawer0",
// "stove_knob", "microwave_door", "joint1").
func (e *Env) JointPos(name string) (float64, error) {
	if e.data == nil {
		return 0, errClosed
	}
	id, err := e.hingeOrSlide(name)
	if err != nil {
		return 0, err
	}
	return e.data.Qpos()[e.model.JointQposAdr(id)], nil
}

// SetJointPos sets a named 1-DoF joint (e.g. to start with a drawer open),
// clamped to its range, with zero velocity.
func (e *Env) SetJointPos(name string, x float64) error {
	if e.data == nil {
		return errClosed
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("sim: joint %q: position %v is not finite", name, x)
	}
	id, err := e.hingeOrSlide(name)
	if err != nil {
		return err
	}
	if lo, hi, lim := e.model.JointRange(id); lim {
		x = math.Max(lo, math.Min(hi, x))
	}
	q, v := e.data.Qpos(), e.data.Qvel()
	q[e.model.JointQposAdr(id)] = x
	v[e.model.JointDofAdr(id)] = 0
	if err := e.data.SetQpos(q); err != nil {
		return err
	}
	if err := e.data.SetQvel(v); err != nil {
		return err
	}
	return e.data.Forward()
}

func (e *Env) hingeOrSlide(name string) (int, error) {
	id, err := e.model.ID(mujoco.ObjJoint, name)
	if err != nil {
		return -1, fmt.Errorf("sim: %w", err)
	}
	if t := e.model.JointType(id); t != mujoco.JointHinge && t != mujoco.JointSlide {
		return -1, fmt.Errorf("sim: joint %q is not a hinge or slide joint", name)
	}
	return id, nil
}

// InContact reports whether any geom of body a (or its descendants'
// geoms attached to the same root, for fixtures with moving parts) touches
// any geom of body b, by body name.
func (e *Env) InContact(a, b string) (bool, error) {
	if e.data == nil {
		return false, errClosed
	}
	ia, err := e.model.ID(mujoco.ObjBody, a)
	if err != nil {
		return false, fmt.Errorf("sim: %w", err)
	}
	ib, err := e.model.ID(mujoco.ObjBody, b)
	if err != nil {
		return false, fmt.Errorf("sim: %w", err)
	}
	owner := func(g int) int {
		body := e.model.GeomBody(g)
		// Parts of a fixture (drawers, doors, knobs) count as the fixture.
		for body != 0 && body != ia && body != ib {
			body = e.model.BodyParent(body)
		}
		return body
	}
	for _, c := range e.data.Contacts() {
		b1, b2 := owner(c.Geom1), owner(c.Geom2)
		if (b1 == ia && b2 == ib) || (b1 == ib && b2 == ia) {
			return true, nil
		}
	}
	return false, nil
}

// Region is a box site (drawer interiors, cook regions, containers) in
// world coordinates.
type Region struct {
	// Pos is the box centre.
	Pos [3]float64
	// Rot is the world-from-site rotation, row-major.
	Rot [9]float64
	// HalfSize is the half-extent along the site's x, y and z axes.
	HalfSize [3]float64
}

// Region returns the named site's box (e.g. "basket_contain_region",
// "cabinet_drawer0_region", "stove_cook_region", "cabinet_top_side").
func (e *Env) Region(site string) (Region, error) {
	if e.data == nil {
		return Region{}, errClosed
	}
	id, err := e.model.ID(mujoco.ObjSite, site)
	if err != nil {
		return Region{}, fmt.Errorf("sim: %w", err)
	}
	return Region{Pos: e.data.SitePos(id), Rot: e.data.SiteMat(id), HalfSize: e.model.SiteSize(id)}, nil
}

// EEF returns the end-effector (grip site) pose and the finger joint
// positions (left, right) without rendering: what scripted experts read
// each step.
func (e *Env) EEF() (Pose, [2]float64, error) {
	if e.data == nil {
		return Pose{}, [2]float64{}, errClosed
	}
	q := e.data.Qpos()
	return Pose{Pos: e.data.SitePos(e.ids.eef), Quat: matQuat(e.data.SiteMat(e.ids.eef))},
		[2]float64{q[e.ids.fingerQ[0]], q[e.ids.fingerQ[1]]}, nil
}
