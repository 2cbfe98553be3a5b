package sim

import (
	"fmt"
	"math"
)

// ControlMode selects how Step interprets actions.
type ControlMode string

// Control modes. Every mode ends with one gripper value in [−1, 1]
// (−1 open, +1 closed).
const (
	// OSCPose is LIBERO's action space (robosuite OSC_POSE): 7 values,
	// Δx, Δy, Δz, Δrx, Δry, Δrz, gripper, clipped to [−1, 1] and scaled to
	// ±0.05 m and ±0.5 rad (axis-angle, world frame) relative to the
	// current end-effector pose, tracked by an operational-space controller.
	OSCPose ControlMode = "osc_pose"
	// JointPosition takes 8 values: absolute targets for joints 1–7 in
	// radians (clipped to the joint limits) and the gripper.
	JointPosition ControlMode = "joint_position"
	// JointVelocity takes 8 values: joint 1–7 velocities in rad/s
	// (clipped to the Panda's speed limits) and the gripper.
	JointVelocity ControlMode = "joint_velocity"
)

// ActionDim returns the action length of mode m, or 0 for an unknown mode.
func (m ControlMode) ActionDim() int {
	switch m {
	case OSCPose:
		return 7
	case JointPosition, JointVelocity:
		return 8
	}
	return 0
}

const (
	// posScale and rotScale are OSC_POSE's output limits per action.
	posScale = 0.05
	rotScale = 0.5
	// nullKp is the nullspace posture gain (robosuite's default 10).
	nullKp = 10
)

// target is what the controller tracks during the substeps of one action.
type target struct {
	pos    [3]float64
	rot    [9]float64
	q, qd  [7]float64
	finger float64
}

// setTarget turns a validated action into controller targets.
func (e *Env) setTarget(a []float32) {
	c := func(v float32, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, float64(v))) }
	g := c(a[len(a)-1], -1, 1)
	e.tgt.finger = fingerStroke * (1 - g) / 2
	st := e.readArm()
	switch e.cfg.Control {
	case OSCPose:
		pos, rot := e.data.SitePos(e.ids.eef), e.data.SiteMat(e.ids.eef)
		for k := range 3 {
			e.tgt.pos[k] = pos[k] + posScale*c(a[k], -1, 1)
		}
		dr := [3]float64{rotScale * c(a[3], -1, 1), rotScale * c(a[4], -1, 1), rotScale * c(a[5], -1, 1)}
		e.tgt.rot = matMul(axisAngleMat(dr), rot)
	case JointPosition:
		for j := range 7 {
			e.tgt.q[j] = c(a[j], PandaJointLower[j], PandaJointUpper[j])
			e.tgt.qd[j] = 0
		}
	case JointVelocity:
		for j := range 7 {
			e.tgt.qd[j] = c(a[j], -PandaVelocityLimit[j], PandaVelocityLimit[j])
			e.tgt.q[j] = st.q[j]
		}
	}
}

type armState struct {
	q, qd [7]float64
	qpos  []float64
	qvel  []float64
}

func (e *Env) readArm() armState {
	s := armState{qpos: e.data.Qpos(), qvel: e.data.Qvel()}
	for j := range 7 {
		s.q[j] = s.qpos[e.ids.armQ[j]]
		s.qd[j] = s.qvel[e.ids.armV[j]]
	}
	return s
}

// control computes actuator commands for one physics substep. It runs
// between Step1 and Step2, so kinematics, the inertia factorization and the
// bias forces describe the current state. dt is the time since the action
// was set (for the joint-velocity reference).
func (e *Env) control(dt float64) error {
	st := e.readArm()
	nv := e.model.NV()
	bias := e.data.QfrcBias()
	kp := e.cfg.Kp
	kd := 2 * math.Sqrt(kp)
	tau := make([]float64, nv)
	switch e.cfg.Control {
	case OSCPose:
		jacp, jacr, err := e.data.JacSite(e.ids.eef)
		if err != nil {
			return err
		}
		jac := append(jacp, jacr...) // 6×nv
		pos, rot := e.data.SitePos(e.ids.eef), e.data.SiteMat(e.ids.eef)
		er := rotError(e.tgt.rot, rot)
		var acc [6]float64
		for r := range 6 {
			var vel float64
			for i := range nv {
				vel += jac[r*nv+i] * st.qvel[i]
			}
			var err float64
			if r < 3 {
				err = e.tgt.pos[r] - pos[r]
			} else {
				err = er[r-3]
			}
			acc[r] = kp*err - kd*vel
		}
		x, err := e.data.SolveM(jac) // rows: M⁻¹ Jᵢᵀ
		if err != nil {
			return err
		}
		// Λ = (J M⁻¹ Jᵀ)⁻¹, coupled, so that the nullspace projection
		// below is dynamically consistent.
		var lam [6][6]float64
		for r := range 6 {
			for cc := range 6 {
				var s float64
				for i := range nv {
					s += jac[r*nv+i] * x[cc*nv+i]
				}
				lam[r][cc] = s
			}
		}
		if !inv6(&lam) {
			return fmt.Errorf("sim: operational-space inertia is singular")
		}
		var f [6]float64
		for r := range 6 {
			for cc := range 6 {
				f[r] += lam[r][cc] * acc[cc]
			}
		}
		// Nullspace posture torque: Nᵀ M (kn (q0 − q) − dn q̇), with
		// Nᵀ p = p − Jᵀ Λ J M⁻¹ p.
		post := make([]float64, nv)
		for j := range 7 {
			post[e.ids.armV[j]] = nullKp*(e.home[j]-st.q[j]) - 2*math.Sqrt(nullKp)*st.qd[j]
		}
		p, err := e.data.MulM(post)
		if err != nil {
			return err
		}
		var jmp [6]float64
		for r := range 6 {
			for i := range nv {
				jmp[r] += x[r*nv+i] * p[i]
			}
		}
		var lj [6]float64
		for r := range 6 {
			for cc := range 6 {
				lj[r] += lam[r][cc] * jmp[cc]
			}
		}
		for i := range nv {
			var s float64
			for r := range 6 {
				s += jac[r*nv+i] * (f[r] - lj[r])
			}
			tau[i] = s + p[i]
		}
	case JointPosition, JointVelocity:
		a := make([]float64, nv)
		for j := range 7 {
			qref := e.tgt.q[j]
			if e.cfg.Control == JointVelocity {
				qref = math.Max(PandaJointLower[j], math.Min(PandaJointUpper[j], e.tgt.q[j]+e.tgt.qd[j]*dt))
			}
			a[e.ids.armV[j]] = kp*(qref-st.q[j]) + kd*(e.tgt.qd[j]-st.qd[j])
		}
		m, err := e.data.MulM(a)
		if err != nil {
			return err
		}
		copy(tau, m)
	}
	ctrl := e.ctrl
	for j := range 7 {
		v := e.ids.armV[j]
		ctrl[j] = math.Max(-PandaTorqueLimit[j], math.Min(PandaTorqueLimit[j], tau[v]+bias[v]))
	}
	ctrl[7], ctrl[8] = e.tgt.finger, -e.tgt.finger
	return e.data.SetCtrl(ctrl)
}

// inv6 inverts a 6×6 matrix in place by Gauss–Jordan elimination with
// partial pivoting; it reports false for a (near-)singular matrix.
func inv6(a *[6][6]float64) bool {
	var inv [6][6]float64
	for i := range 6 {
		inv[i][i] = 1
	}
	for c := range 6 {
		p := c
		for r := c + 1; r < 6; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if !(math.Abs(a[p][c]) > 1e-12) {
			return false
		}
		a[c], a[p] = a[p], a[c]
		inv[c], inv[p] = inv[p], inv[c]
		d := 1 / a[c][c]
		for k := range 6 {
			a[c][k] *= d
			inv[c][k] *= d
		}
		for r := range 6 {
			if r == c || a[r][c] == 0 {
				continue
			}
			f := a[r][c]
			for k := range 6 {
				a[r][k] -= f * a[c][k]
				inv[r][k] -= f * inv[c][k]
			}
		}
	}
	*a = inv
	return true
}
