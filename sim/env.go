// Package sim is vst-go's tabletop manipulation simulator: scenes generated
// as MJCF from Go specs (a table, a Franka Panda built from primitives with
// its real kinematics, a friction-gripping parallel-jaw hand, and
// primitive-built objects and articulated fixtures), real contact physics
// in MuJoCo (package sim/mujoco), LIBERO's 7-D delta end-effector action
// space on an operational-space controller at 20 Hz, and observations with
// rendered agent-view and wrist images, proprioception, privileged object
// state and camera calibration.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vstgo/vst/sim/mujoco"
)

// Camera names.
const (
	// AgentView is the fixed third-person camera facing the robot.
	AgentView = "agentview"
	// Wrist is the camera on the hand, looking between the fingers.
	Wrist = "wrist"
)

// Goal decides task success from the simulator state; task suites
// implement it with their predicates.
type Goal interface {
	// Check reports whether the goal holds in e's current state.
	Check(e *Env) (bool, error)
}

// DefaultTimestep is the default physics step: 1/240 s, 12 substeps per
// action at 20 Hz. It does half the physics work of robosuite's 0.002 s (25
// substeps) per action, and grasps and contacts hold as well: the suites'
// scripted experts succeed on at least 98% of episodes at either step.
const DefaultTimestep = 1.0 / 240

// Config configures an Env.
type Config struct {
	// Scene is the scene to build.
	Scene SceneSpec
	// Width and Height are the camera image size. They default to 128;
	// 224 and 256 are the other common sizes (at most 512).
	Width, Height int
	// Depth adds metric depth images to observations. It defaults to false.
	Depth bool
	// NoRender skips rendering (physics-only observations). It defaults to
	// false.
	NoRender bool
	// Shadows turns on shadow mapping in the images (slower). It defaults
	// to false.
	Shadows bool
	// Control is the action space. It defaults to OSCPose.
	Control ControlMode
	// ControlHz is the control (action) rate. It defaults to 20.
	ControlHz float64
	// Timestep is the physics step in seconds. It defaults to
	// DefaultTimestep; 0.002 is robosuite's.
	Timestep float64
	// Kp is the controller stiffness (task space for OSCPose, joint space
	// otherwise), critically damped. It defaults to 150 (robosuite).
	Kp float64
	// InitJoints is the arm configuration after Reset. It defaults to
	// PandaHome (LIBERO's) when all zero.
	InitJoints [7]float64
	// JointNoise is the standard deviation (rad) of seeded Gaussian noise
	// added to InitJoints on Reset. It defaults to 0.
	JointNoise float64
	// ObjectNoise is the half-width (m) of seeded uniform x/y noise added to
	// movable objects' positions on Reset. It defaults to 0.
	ObjectNoise float64
	// MaxSteps ends episodes (StepInfo.Truncated) after this many steps; 0
	// means no limit. It defaults to 0.
	MaxSteps int
	// Goal, when set, is checked after every step; success ends the
	// episode. It defaults to nil (never succeeds).
	Goal Goal
}

func (c *Config) defaults() error {
	if c.Width == 0 {
		c.Width = 128
	}
	if c.Height == 0 {
		c.Height = 128
	}
	if c.Control == "" {
		c.Control = OSCPose
	}
	if c.ControlHz == 0 {
		c.ControlHz = 20
	}
	if c.Timestep == 0 {
		c.Timestep = DefaultTimestep
	}
	if c.Kp == 0 {
		c.Kp = 150
	}
	if c.InitJoints == ([7]float64{}) {
		c.InitJoints = PandaHome
	}
	switch {
	case c.Width < 16 || c.Width > 512 || c.Height < 16 || c.Height > 512:
		return fmt.Errorf("sim: config: image size %dx%d outside 16..512", c.Width, c.Height)
	case c.Control.ActionDim() == 0:
		return fmt.Errorf("sim: config: control %q is not one of %q, %q, %q", c.Control, OSCPose, JointPosition, JointVelocity)
	case !(c.ControlHz > 0 && c.ControlHz <= 1000):
		return fmt.Errorf("sim: config: control_hz %v outside (0, 1000]", c.ControlHz)
	case !(c.Timestep >= 1e-4 && c.Timestep <= 0.01):
		return fmt.Errorf("sim: config: timestep %v outside [0.0001, 0.01] s", c.Timestep)
	case !(c.Kp > 0 && c.Kp < 1e4):
		return fmt.Errorf("sim: config: kp %v outside (0, 10000)", c.Kp)
	case !(c.JointNoise >= 0 && c.JointNoise < 1) || !(c.ObjectNoise >= 0 && c.ObjectNoise < 1):
		return fmt.Errorf("sim: config: joint_noise %v / object_noise %v outside [0, 1)", c.JointNoise, c.ObjectNoise)
	case c.MaxSteps < 0:
		return fmt.Errorf("sim: config: max_steps %d is negative", c.MaxSteps)
	}
	for j, q := range c.InitJoints {
		if !(q >= PandaJointLower[j] && q <= PandaJointUpper[j]) {
			return fmt.Errorf("sim: config: init_joints[%d] = %v outside [%v, %v]", j, q, PandaJointLower[j], PandaJointUpper[j])
		}
	}
	return nil
}

// ids caches model indices the controller and observations use.
type ids struct {
	eef        int
	armQ, armV [7]int
	fingerQ    [2]int
	fingerV    [2]int
	cams       [2]int // agentview, wrist
	objects    []objectIDs
}

type objectIDs struct {
	name  string
	body  int
	qadr  int // qpos address of the free joint, −1 for fixtures
	fixed bool
}

// Env is one simulated episode environment. It is not safe for concurrent
// use; run one Env per goroutine (each owns its own MuJoCo model, data and
// GL context).
type Env struct {
	cfg      Config
	xml      string
	model    *mujoco.Model
	data     *mujoco.Data
	render   *mujoco.Renderer
	ids      ids
	substeps int
	home     [7]float64
	tgt      target
	ctrl     []float64
	step     int
	done     bool
}

// StepInfo reports what happened during a Step.
type StepInfo struct {
	// Step is the number of actions taken in this episode.
	Step int
	// Success is true when the Goal holds after the step.
	Success bool
	// Truncated is true when MaxSteps was reached.
	Truncated bool
	// Done is true when the episode is over (success, truncation or
	// failure); further Steps are errors until Reset.
	Done bool
	// Failure explains an episode that ended as a failure (e.g. a MuJoCo
	// instability warning); empty otherwise.
	Failure string
}

// New builds the scene, compiles it and prepares rendering. The Env starts
// in its Reset(0) state.
func New(ctx context.Context, cfg Config) (*Env, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := cfg.Scene.Validate(); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	scene := cfg.Scene.withDefaults()
	sub := math.Round(1 / (cfg.ControlHz * cfg.Timestep))
	if sub < 1 {
		return nil, fmt.Errorf("sim: config: control_hz %v is faster than the physics rate %v", cfg.ControlHz, 1/cfg.Timestep)
	}
	// The offscreen buffer matches the images: clearing and reading back a
	// larger one costs time on every frame.
	off := max(cfg.Width, cfg.Height)
	xml, _ := sceneXML(scene, off, cfg.Timestep)
	m, err := mujoco.LoadXML(xml)
	if err != nil {
		return nil, fmt.Errorf("sim: compile scene: %w", err)
	}
	e := &Env{cfg: cfg, xml: xml, model: m, substeps: int(sub), ctrl: make([]float64, m.NU())}
	e.cfg.Scene = scene
	if err := e.init(); err != nil {
		e.Close()
		return nil, err
	}
	if _, err := e.Reset(0); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) init() error {
	var err error
	if e.data, err = mujoco.NewData(e.model); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	m := e.model
	id := func(t mujoco.ObjType, name string) int {
		if err != nil {
			return -1
		}
		var i int
		i, err = m.ID(t, name)
		return i
	}
	e.ids.eef = id(mujoco.ObjSite, "eef")
	for j := range 7 {
		jid := id(mujoco.ObjJoint, fmt.Sprintf("joint%d", j+1))
		e.ids.armQ[j], e.ids.armV[j] = m.JointQposAdr(jid), m.JointDofAdr(jid)
	}
	for k, n := range []string{"finger_left", "finger_right"} {
		jid := id(mujoco.ObjJoint, n)
		e.ids.fingerQ[k], e.ids.fingerV[k] = m.JointQposAdr(jid), m.JointDofAdr(jid)
	}
	e.ids.cams = [2]int{id(mujoco.ObjCamera, AgentView), id(mujoco.ObjCamera, Wrist)}
	for _, o := range e.cfg.Scene.Objects {
		oi := objectIDs{name: o.Name, body: id(mujoco.ObjBody, o.Name), qadr: -1, fixed: kindDefaults[o.Kind].fixed}
		if !oi.fixed {
			oi.qadr = m.JointQposAdr(id(mujoco.ObjJoint, o.Name+"_free"))
		}
		e.ids.objects = append(e.ids.objects, oi)
	}
	if err != nil {
		return fmt.Errorf("sim: scene is missing an element: %w", err)
	}
	if !e.cfg.NoRender {
		e.render, err = mujoco.NewRenderer(m, mujoco.RendererConfig{Width: e.cfg.Width, Height: e.cfg.Height, Shadows: e.cfg.Shadows})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	return nil
}

// Close frees the renderer, the MuJoCo data and the model. It is idempotent.
func (e *Env) Close() {
	if e.render != nil {
		e.render.Close()
		e.render = nil
	}
	if e.data != nil {
		e.data.Close()
		e.data = nil
	}
	if e.model != nil {
		e.model.Close()
		e.model = nil
	}
}

var errClosed = errors.New("sim: environment is closed")

// Reset starts a new episode from the scene's initial state, perturbed by
// JointNoise and ObjectNoise drawn from seed, and returns the first
// observation. The same seed always gives the same state.
func (e *Env) Reset(seed int64) (*Obs, error) {
	if e.data == nil {
		return nil, errClosed
	}
	if err := e.data.Reset(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	q := e.data.Qpos()
	for j := range 7 {
		v := e.cfg.InitJoints[j] + e.cfg.JointNoise*rng.NormFloat64()
		q[e.ids.armQ[j]] = math.Max(PandaJointLower[j], math.Min(PandaJointUpper[j], v))
		e.home[j] = q[e.ids.armQ[j]]
	}
	q[e.ids.fingerQ[0]], q[e.ids.fingerQ[1]] = fingerStroke, -fingerStroke
	for _, o := range e.ids.objects {
		if o.fixed {
			continue
		}
		q[o.qadr] += e.cfg.ObjectNoise * (2*rng.Float64() - 1)
		q[o.qadr+1] += e.cfg.ObjectNoise * (2*rng.Float64() - 1)
	}
	if err := e.data.SetQpos(q); err != nil {
		return nil, err
	}
	e.step, e.done = 0, false
	if err := e.holdPose(); err != nil {
		return nil, err
	}
	return e.Observe()
}

// holdPose recomputes the state and makes the controller hold the current
// pose with the gripper open.
func (e *Env) holdPose() error {
	if err := e.data.Forward(); err != nil {
		return err
	}
	if err := e.data.CheckWarnings(); err != nil {
		return fmt.Errorf("sim: initial state: %w", err)
	}
	st := e.readArm()
	e.tgt = target{pos: e.data.SitePos(e.ids.eef), rot: e.data.SiteMat(e.ids.eef), q: st.q, finger: fingerStroke}
	return nil
}

// ActionDim is the length of the actions Step takes.
func (e *Env) ActionDim() int { return e.cfg.Control.ActionDim() }

// Step applies one action for one control period (Substeps physics steps)
// and returns the next observation. Actions with the wrong length or NaN/Inf
// values are rejected before they reach the physics. A MuJoCo instability
// warning ends the episode as a failure (StepInfo.Failure).
func (e *Env) Step(action []float32) (*Obs, StepInfo, error) {
	if e.data == nil {
		return nil, StepInfo{}, errClosed
	}
	info := StepInfo{Step: e.step}
	if e.done {
		return nil, info, errors.New("sim: episode is over; call Reset")
	}
	if len(action) != e.ActionDim() {
		return nil, info, fmt.Errorf("sim: action needs %d values for %s control, got %d", e.ActionDim(), e.cfg.Control, len(action))
	}
	for i, v := range action {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, info, fmt.Errorf("sim: action[%d] is %v", i, v)
		}
	}
	e.setTarget(action)
	dt := e.model.Timestep()
	for k := range e.substeps {
		if err := e.data.Step1(); err != nil {
			return nil, info, err
		}
		// Step1 checks positions and velocities (resetting bad states).
		if err := e.data.CheckWarnings(); err != nil {
			info.Failure = err.Error()
			break
		}
		if err := e.control(float64(k+1) * dt); err != nil {
			info.Failure = err.Error()
			break
		}
		if err := e.data.Step2(); err != nil {
			return nil, info, err
		}
		if err := e.data.CheckWarnings(); err != nil {
			info.Failure = err.Error()
			break
		}
	}
	e.step++
	info.Step = e.step
	if info.Failure == "" && e.cfg.Goal != nil {
		ok, err := e.cfg.Goal.Check(e)
		if err != nil {
			return nil, info, fmt.Errorf("sim: goal: %w", err)
		}
		info.Success = ok
	}
	info.Truncated = e.cfg.MaxSteps > 0 && e.step >= e.cfg.MaxSteps
	info.Done = info.Success || info.Truncated || info.Failure != ""
	e.done = info.Done
	obs, err := e.Observe()
	return obs, info, err
}

// Success reports whether the configured Goal holds now (false without one).
func (e *Env) Success() (bool, error) {
	if e.data == nil {
		return false, errClosed
	}
	if e.cfg.Goal == nil {
		return false, nil
	}
	return e.cfg.Goal.Check(e)
}

// Substeps is the number of physics steps per action.
func (e *Env) Substeps() int { return e.substeps }

// Config returns the configuration with defaults filled in.
func (e *Env) Config() Config { return e.cfg }

// MJCF returns the generated scene description.
func (e *Env) MJCF() string { return e.xml }

// Model returns the MuJoCo model for privileged queries; it is owned by the
// Env and freed by Close.
func (e *Env) Model() *mujoco.Model { return e.model }

// Data returns the MuJoCo data for privileged queries; it is owned by the
// Env and freed by Close. Modifying it bypasses the controller.
func (e *Env) Data() *mujoco.Data { return e.data }
