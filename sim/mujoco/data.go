package mujoco

/*
#include <mujoco/mujoco.h>
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Data is the simulation state and workspace of a Model (mjData).
type Data struct {
	m    *Model
	d    *C.mjData
	last [C.mjNWARNING]int
}

// NewData allocates simulation data for m in its default state (qpos0, zero
// velocity) with kinematics computed.
func NewData(m *Model) (*Data, error) {
	if m == nil || m.m == nil {
		return nil, ErrClosed
	}
	d := C.mj_makeData(m.m)
	if d == nil {
		return nil, fmt.Errorf("mujoco: allocate data for a model with nq=%d", m.NQ())
	}
	C.mj_forward(m.m, d)
	return &Data{m: m, d: d}, nil
}

// Close frees the data. It is idempotent.
func (d *Data) Close() {
	if d.d != nil {
		C.mj_deleteData(d.d)
		d.d = nil
	}
}

// Model returns the model d simulates.
func (d *Data) Model() *Model { return d.m }

func (d *Data) ok() bool { return d.d != nil && d.m.m != nil }

// Step advances the simulation by one time step (mj_step).
func (d *Data) Step() error {
	if !d.ok() {
		return ErrClosed
	}
	C.mj_step(d.m.m, d.d)
	return nil
}

// Step1 runs the first half of a step: positions, velocities and forces up
// to actuation (mj_step1). Set controls, then call Step2. Only the Euler and
// implicit integrators support the split.
func (d *Data) Step1() error {
	if !d.ok() {
		return ErrClosed
	}
	C.mj_step1(d.m.m, d.d)
	return nil
}

// Step2 finishes a step started by Step1 (mj_step2).
func (d *Data) Step2() error {
	if !d.ok() {
		return ErrClosed
	}
	C.mj_step2(d.m.m, d.d)
	return nil
}

// Forward computes everything a step computes without integrating
// (mj_forward): kinematics, contacts, forces, accelerations.
func (d *Data) Forward() error {
	if !d.ok() {
		return ErrClosed
	}
	C.mj_forward(d.m.m, d.d)
	return nil
}

// Reset restores the model's default state (mj_resetData) and clears the
// warning counters.
func (d *Data) Reset() error {
	if !d.ok() {
		return ErrClosed
	}
	C.mj_resetData(d.m.m, d.d)
	d.last = [C.mjNWARNING]int{}
	return nil
}

// Time returns the simulation time in seconds.
func (d *Data) Time() float64 {
	if !d.ok() {
		return 0
	}
	return float64(d.d.time)
}

// SetTime sets the simulation time.
func (d *Data) SetTime(t float64) error {
	if !d.ok() {
		return ErrClosed
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("mujoco: time must be finite, got %v", t)
	}
	d.d.time = C.mjtNum(t)
	return nil
}

func (d *Data) get(p *C.mjtNum, n int) []float64 {
	if !d.ok() {
		return nil
	}
	return append([]float64(nil), nums(p, n)...)
}

func (d *Data) set(what string, p *C.mjtNum, n int, v []float64) error {
	if !d.ok() {
		return ErrClosed
	}
	if len(v) != n {
		return fmt.Errorf("mujoco: %s needs %d values, got %d", what, n, len(v))
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("mujoco: %s[%d] is %v", what, i, x)
		}
	}
	copy(nums(p, n), v)
	return nil
}

// Qpos returns a copy of the generalized positions.
func (d *Data) Qpos() []float64 {
	return d.get(d.ptr(func(x *C.mjData) *C.mjtNum { return x.qpos }), d.m.NQ())
}

// SetQpos sets the generalized positions; NaN and Inf are rejected.
func (d *Data) SetQpos(v []float64) error {
	return d.set("qpos", d.ptr(func(x *C.mjData) *C.mjtNum { return x.qpos }), d.m.NQ(), v)
}

// Qvel returns a copy of the generalized velocities.
func (d *Data) Qvel() []float64 {
	return d.get(d.ptr(func(x *C.mjData) *C.mjtNum { return x.qvel }), d.m.NV())
}

// SetQvel sets the generalized velocities; NaN and Inf are rejected.
func (d *Data) SetQvel(v []float64) error {
	return d.set("qvel", d.ptr(func(x *C.mjData) *C.mjtNum { return x.qvel }), d.m.NV(), v)
}

// Ctrl returns a copy of the actuator controls.
func (d *Data) Ctrl() []float64 {
	return d.get(d.ptr(func(x *C.mjData) *C.mjtNum { return x.ctrl }), d.m.NU())
}

// SetCtrl sets the actuator controls; NaN and Inf are rejected.
func (d *Data) SetCtrl(v []float64) error {
	return d.set("ctrl", d.ptr(func(x *C.mjData) *C.mjtNum { return x.ctrl }), d.m.NU(), v)
}

// Act returns a copy of the actuator activations.
func (d *Data) Act() []float64 {
	return d.get(d.ptr(func(x *C.mjData) *C.mjtNum { return x.act }), d.m.NA())
}

// SetAct sets the actuator activations; NaN and Inf are rejected.
func (d *Data) SetAct(v []float64) error {
	return d.set("act", d.ptr(func(x *C.mjData) *C.mjtNum { return x.act }), d.m.NA(), v)
}

// QfrcBias returns the bias forces (Coriolis, centrifugal and gravity) of
// the last forward computation, one per degree of freedom.
func (d *Data) QfrcBias() []float64 {
	return d.get(d.ptr(func(x *C.mjData) *C.mjtNum { return x.qfrc_bias }), d.m.NV())
}

// SetQfrcApplied sets user-applied generalized forces, one per degree of
// freedom; NaN and Inf are rejected.
func (d *Data) SetQfrcApplied(v []float64) error {
	return d.set("qfrc_applied", d.ptr(func(x *C.mjData) *C.mjtNum { return x.qfrc_applied }), d.m.NV(), v)
}

func (d *Data) ptr(f func(*C.mjData) *C.mjtNum) *C.mjtNum {
	if d.d == nil {
		return nil
	}
	return f(d.d)
}

func vec3(p *C.mjtNum, n, id int) [3]float64 {
	var v [3]float64
	if inRange(id, n) {
		copy(v[:], nums(p, 3*n)[3*id:])
	}
	return v
}

func mat9(p *C.mjtNum, n, id int) [9]float64 {
	var v [9]float64
	if inRange(id, n) {
		copy(v[:], nums(p, 9*n)[9*id:])
	}
	return v
}

// BodyPos returns body id's world position.
func (d *Data) BodyPos(id int) [3]float64 {
	if !d.ok() {
		return [3]float64{}
	}
	return vec3(d.d.xpos, d.m.NBody(), id)
}

// BodyMat returns body id's world orientation, a row-major 3×3 matrix.
func (d *Data) BodyMat(id int) [9]float64 {
	if !d.ok() {
		return [9]float64{}
	}
	return mat9(d.d.xmat, d.m.NBody(), id)
}

// BodyQuat returns body id's world orientation as a unit quaternion (w, x, y, z).
func (d *Data) BodyQuat(id int) [4]float64 {
	var q [4]float64
	if d.ok() && inRange(id, d.m.NBody()) {
		copy(q[:], nums(d.d.xquat, 4*d.m.NBody())[4*id:])
	}
	return q
}

// SitePos returns site id's world position.
func (d *Data) SitePos(id int) [3]float64 {
	if !d.ok() {
		return [3]float64{}
	}
	return vec3(d.d.site_xpos, d.m.NSite(), id)
}

// SiteMat returns site id's world orientation, a row-major 3×3 matrix.
func (d *Data) SiteMat(id int) [9]float64 {
	if !d.ok() {
		return [9]float64{}
	}
	return mat9(d.d.site_xmat, d.m.NSite(), id)
}

// GeomPos returns geom id's world position.
func (d *Data) GeomPos(id int) [3]float64 {
	if !d.ok() {
		return [3]float64{}
	}
	return vec3(d.d.geom_xpos, d.m.NGeom(), id)
}

// GeomMat returns geom id's world orientation, a row-major 3×3 matrix.
func (d *Data) GeomMat(id int) [9]float64 {
	if !d.ok() {
		return [9]float64{}
	}
	return mat9(d.d.geom_xmat, d.m.NGeom(), id)
}

// CameraPos returns camera id's world position.
func (d *Data) CameraPos(id int) [3]float64 {
	if !d.ok() {
		return [3]float64{}
	}
	return vec3(d.d.cam_xpos, d.m.NCamera(), id)
}

// CameraMat returns camera id's world orientation, a row-major 3×3 matrix
// whose columns are the camera's x (right), y (up) and z (backward) axes;
// the camera looks along −z.
func (d *Data) CameraMat(id int) [9]float64 {
	if !d.ok() {
		return [9]float64{}
	}
	return mat9(d.d.cam_xmat, d.m.NCamera(), id)
}

// JacSite returns the translational and rotational Jacobians of site id,
// each 3×nv row-major. They use the kinematics of the last forward pass.
func (d *Data) JacSite(id int) (jacp, jacr []float64, err error) {
	if !d.ok() {
		return nil, nil, ErrClosed
	}
	if !inRange(id, d.m.NSite()) {
		return nil, nil, fmt.Errorf("mujoco: site id %d out of range [0,%d)", id, d.m.NSite())
	}
	nv := d.m.NV()
	jacp, jacr = make([]float64, 3*nv), make([]float64, 3*nv)
	if nv > 0 {
		C.mj_jacSite(d.m.m, d.d, (*C.mjtNum)(&jacp[0]), (*C.mjtNum)(&jacr[0]), C.int(id))
	}
	return jacp, jacr, nil
}

// JacBody returns the translational and rotational Jacobians of body id's
// frame origin, each 3×nv row-major.
func (d *Data) JacBody(id int) (jacp, jacr []float64, err error) {
	if !d.ok() {
		return nil, nil, ErrClosed
	}
	if !inRange(id, d.m.NBody()) {
		return nil, nil, fmt.Errorf("mujoco: body id %d out of range [0,%d)", id, d.m.NBody())
	}
	nv := d.m.NV()
	jacp, jacr = make([]float64, 3*nv), make([]float64, 3*nv)
	if nv > 0 {
		C.mj_jacBody(d.m.m, d.d, (*C.mjtNum)(&jacp[0]), (*C.mjtNum)(&jacr[0]), C.int(id))
	}
	return jacp, jacr, nil
}

// SolveM returns M⁻¹·y for n right-hand sides stored row-major in y (n×nv),
// using the factorized inertia of the last forward pass (mj_solveM).
func (d *Data) SolveM(y []float64) ([]float64, error) {
	if !d.ok() {
		return nil, ErrClosed
	}
	nv := d.m.NV()
	if nv == 0 || len(y) == 0 || len(y)%nv != 0 {
		return nil, fmt.Errorf("mujoco: SolveM needs a multiple of nv=%d values, got %d", nv, len(y))
	}
	x := make([]float64, len(y))
	C.mj_solveM(d.m.m, d.d, (*C.mjtNum)(&x[0]), (*C.mjtNum)(&y[0]), C.int(len(y)/nv))
	return x, nil
}

// MulM returns M·x, the joint-space inertia of the last forward pass times
// x (nv values) (mj_mulM).
func (d *Data) MulM(x []float64) ([]float64, error) {
	if !d.ok() {
		return nil, ErrClosed
	}
	nv := d.m.NV()
	if nv == 0 || len(x) != nv {
		return nil, fmt.Errorf("mujoco: MulM needs nv=%d values, got %d", nv, len(x))
	}
	y := make([]float64, nv)
	C.mj_mulM(d.m.m, d.d, (*C.mjtNum)(&y[0]), (*C.mjtNum)(&x[0]))
	return y, nil
}

// Contact is one active contact of the last collision detection.
type Contact struct {
	// Geom1 and Geom2 are the touching geoms.
	Geom1, Geom2 int
	// Dist is the signed distance; negative means penetration.
	Dist float64
	// Pos is the contact point in world coordinates.
	Pos [3]float64
	// Normal is the contact normal, pointing from Geom1 to Geom2.
	Normal [3]float64
	// Force is the normal force in newtons (positive pushes apart).
	Force float64
}

// Contacts returns the active contacts.
func (d *Data) Contacts() []Contact {
	if !d.ok() || d.d.ncon == 0 {
		return nil
	}
	n := int(d.d.ncon)
	cs := unsafe.Slice(d.d.contact, n)
	out := make([]Contact, n)
	var f [6]C.mjtNum
	for i := range cs {
		c := &cs[i]
		C.mj_contactForce(d.m.m, d.d, C.int(i), &f[0])
		out[i] = Contact{
			Geom1: int(c.geom1), Geom2: int(c.geom2), Dist: float64(c.dist),
			Pos:    [3]float64{float64(c.pos[0]), float64(c.pos[1]), float64(c.pos[2])},
			Normal: [3]float64{float64(c.frame[0]), float64(c.frame[1]), float64(c.frame[2])},
			Force:  float64(f[0]),
		}
	}
	return out
}

// Warning kinds, mirroring mjtWarning.
const (
	WarnInertia     = C.mjWARN_INERTIA
	WarnContactFull = C.mjWARN_CONTACTFULL
	WarnCnstrFull   = C.mjWARN_CNSTRFULL
	WarnVGeomFull   = C.mjWARN_VGEOMFULL
	WarnBadQpos     = C.mjWARN_BADQPOS
	WarnBadQvel     = C.mjWARN_BADQVEL
	WarnBadQacc     = C.mjWARN_BADQACC
	WarnBadCtrl     = C.mjWARN_BADCTRL
)

var warningNames = [C.mjNWARNING]string{
	C.mjWARN_INERTIA:     "near-singular inertia matrix",
	C.mjWARN_CONTACTFULL: "too many contacts",
	C.mjWARN_CNSTRFULL:   "too many constraints",
	C.mjWARN_VGEOMFULL:   "too many visual geoms",
	C.mjWARN_BADQPOS:     "bad number in qpos (simulation unstable)",
	C.mjWARN_BADQVEL:     "bad number in qvel (simulation unstable)",
	C.mjWARN_BADQACC:     "bad number in qacc (simulation unstable)",
	C.mjWARN_BADCTRL:     "bad number in ctrl",
}

// WarningError reports MuJoCo warnings raised since the last check.
type WarningError struct {
	// Kind is the first warning kind raised (a Warn* constant).
	Kind int
	// Count is how many times it was raised since the last check.
	Count int
	// Index is MuJoCo's info value for it (e.g. the offending dof).
	Index int
}

// Error describes the warning.
func (e *WarningError) Error() string {
	return fmt.Sprintf("mujoco warning: %s (%d times, index %d)", warningNames[e.Kind], e.Count, e.Index)
}

// CheckWarnings returns a *WarningError for the first warning kind whose
// counter grew since the previous call (or Reset), and nil when none did.
// MuJoCo resets the state itself after a bad qpos/qvel/qacc; the warning is
// what tells the caller the episode is invalid.
func (d *Data) CheckWarnings() error {
	if !d.ok() {
		return ErrClosed
	}
	var first *WarningError
	for k := range d.last {
		w := d.d.warning[k]
		n := int(w.number)
		if n > d.last[k] && first == nil {
			first = &WarningError{Kind: k, Count: n - d.last[k], Index: int(w.lastinfo)}
		}
		d.last[k] = n
	}
	if first == nil {
		return nil
	}
	return first
}
