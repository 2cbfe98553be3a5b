package sim

import (
	"fmt"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/sim/mujoco"
)

// Pose is a position and orientation in world coordinates.
type Pose struct {
	// Pos is the position in metres.
	Pos [3]float64
	// Quat is the orientation as a unit quaternion (w, x, y, z).
	Quat [4]float64
}

// CameraInfo is a camera's calibration for one image size.
type CameraInfo struct {
	// Intrinsics are the pinhole parameters in pixels.
	Intrinsics mujoco.Intrinsics
	// Pos is the optical centre in world coordinates.
	Pos [3]float64
	// Rot is the world-from-camera rotation (row-major) in the OpenCV
	// convention: columns are the camera's x (right), y (down) and z
	// (forward, the viewing direction) axes. A pixel (u, v) with depth z
	// maps to Pos + Rot·(z(u−Cx)/Fx, z(v−Cy)/Fy, z).
	Rot [9]float64
}

// Obs is one observation.
type Obs struct {
	// Images maps AgentView and Wrist to RGB frames, top row first (nil
	// with Config.NoRender).
	Images map[string]policy.Image
	// Depth maps camera names to H·W depths along the optical axis in
	// metres, row-major, top row first (only with Config.Depth).
	Depth map[string][]float32
	// Cameras maps camera names to their calibration.
	Cameras map[string]CameraInfo
	// JointPos and JointVel are the arm's joint positions (rad) and
	// velocities (rad/s).
	JointPos, JointVel [7]float64
	// GripperQpos are the finger joint positions in metres, (left, right):
	// (0.04, −0.04) fully open, (0, 0) closed, LIBERO's convention.
	GripperQpos [2]float64
	// GripperQvel are the finger joint velocities.
	GripperQvel [2]float64
	// EEF is the end-effector (grip site, between the finger pads) pose.
	EEF Pose
	// EEFAxisAngle is the EEF orientation as a rotation vector (rad).
	EEFAxisAngle [3]float64
	// Objects maps object names to their body poses (privileged state).
	Objects map[string]Pose
	// Step is the number of actions taken in the episode; Time is the
	// simulated time in seconds.
	Step int
	// Time is the simulated time in seconds.
	Time float64
}

// Observe returns the current observation, rendering the cameras unless
// Config.NoRender.
func (e *Env) Observe() (*Obs, error) {
	if e.data == nil {
		return nil, errClosed
	}
	st := e.readArm()
	o := &Obs{JointPos: st.q, JointVel: st.qd, Step: e.step, Time: e.data.Time(),
		Objects: make(map[string]Pose, len(e.ids.objects)), Cameras: make(map[string]CameraInfo, 2)}
	for k := range 2 {
		o.GripperQpos[k] = st.qpos[e.ids.fingerQ[k]]
		o.GripperQvel[k] = st.qvel[e.ids.fingerV[k]]
	}
	o.EEF = Pose{Pos: e.data.SitePos(e.ids.eef), Quat: matQuat(e.data.SiteMat(e.ids.eef))}
	o.EEFAxisAngle = QuatAxisAngle(o.EEF.Quat)
	for _, ob := range e.ids.objects {
		o.Objects[ob.name] = Pose{Pos: e.data.BodyPos(ob.body), Quat: e.data.BodyQuat(ob.body)}
	}
	names := [2]string{AgentView, Wrist}
	for k, cam := range e.ids.cams {
		r := e.data.CameraMat(cam)
		// MuJoCo cameras look along −z with y up; flip y and z for OpenCV.
		o.Cameras[names[k]] = CameraInfo{
			Intrinsics: mujoco.CameraIntrinsics(e.model.CameraFovy(cam), e.cfg.Width, e.cfg.Height),
			Pos:        e.data.CameraPos(cam),
			Rot:        [9]float64{r[0], -r[1], -r[2], r[3], -r[4], -r[5], r[6], -r[7], -r[8]},
		}
	}
	if e.render == nil {
		return o, nil
	}
	o.Images = make(map[string]policy.Image, 2)
	if e.cfg.Depth {
		o.Depth = make(map[string][]float32, 2)
	}
	w, h := e.cfg.Width, e.cfg.Height
	var frames [2]mujoco.Frame
	for k, cam := range e.ids.cams {
		frames[k] = mujoco.Frame{Camera: cam, RGB: make([]uint8, 3*w*h)}
		if e.cfg.Depth {
			frames[k].Depth = make([]float32, w*h)
			o.Depth[names[k]] = frames[k].Depth
		}
		o.Images[names[k]] = policy.Image{Pix: frames[k].RGB, H: h, W: w}
	}
	if err := e.render.RenderCameras(e.data, frames[:]); err != nil {
		return nil, fmt.Errorf("sim: render: %w", err)
	}
	return o, nil
}

// State returns the 8-D proprioceptive state LIBERO policies (openpi,
// OpenVLA) read: EEF position (3), EEF axis-angle (3), finger positions (2).
func (o *Obs) State() []float32 {
	s := make([]float32, 0, 8)
	for _, v := range o.EEF.Pos {
		s = append(s, float32(v))
	}
	for _, v := range o.EEFAxisAngle {
		s = append(s, float32(v))
	}
	return append(s, float32(o.GripperQpos[0]), float32(o.GripperQpos[1]))
}

// Policy converts the observation for a policy: images "agentview" and
// "wrist", the 8-D State, and the instruction prompt. Images are shared,
// not copied.
func (o *Obs) Policy(prompt string) *policy.Observation {
	return &policy.Observation{Images: o.Images, State: o.State(), Prompt: prompt}
}
