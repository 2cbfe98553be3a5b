// Package mujoco is a thin cgo binding to MuJoCo 2.2.2 as packaged by Debian
// (libmujoco-dev): models compiled from MJCF text, simulation data, stepping,
// kinematic and contact queries, Jacobians, warnings and offscreen rendering
// through OSMesa on the CPU.
//
// A Model and the Data made from it are not safe for concurrent use; give
// each goroutine its own pair. Every value returned by an accessor is a copy,
// so it stays valid after the next step or after Close. Indices outside the
// model's range read as zero values instead of panicking; look names up with
// Model.ID, which reports unknown names as errors.
package mujoco

/*
#cgo LDFLAGS: -lmujoco
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mujoco/mujoco.h>

// quietWarning swallows MuJoCo's textual warnings, which it would otherwise
// print and append to MUJOCO_LOG.TXT in the working directory; the warning
// counters in mjData still record them.
static void quietWarning(const char* msg) { (void)msg; }

// Live MuJoCo heap blocks, counted by the allocator hooks below so that
// leaks of models, data and scenes are observable.
static long liveBlocks;

static void* countedMalloc(size_t size) {
	void* p = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (p) __atomic_add_fetch(&liveBlocks, 1, __ATOMIC_RELAXED);
	return p;
}

static void countedFree(void* p) {
	if (p) __atomic_sub_fetch(&liveBlocks, 1, __ATOMIC_RELAXED);
	free(p);
}

static long liveBlockCount(void) { return __atomic_load_n(&liveBlocks, __ATOMIC_RELAXED); }

static void installHandlers(void) {
	mju_user_warning = quietWarning;
	mju_user_malloc = countedMalloc;
	mju_user_free = countedFree;
}

// loadXMLString compiles MJCF text through a one-file virtual file system.
static mjModel* loadXMLString(const char* xml, int n, char* err, int errsz) {
	mjVFS* vfs = (mjVFS*)malloc(sizeof(mjVFS));
	if (!vfs) {
		snprintf(err, errsz, "out of memory for the virtual file system");
		return NULL;
	}
	mj_defaultVFS(vfs);
	const char* name = "model.xml";
	if (mj_makeEmptyFileVFS(vfs, name, n) != 0) {
		free(vfs);
		snprintf(err, errsz, "cannot create virtual file of %d bytes", n);
		return NULL;
	}
	int i = mj_findFileVFS(vfs, name);
	memcpy(vfs->filedata[i], xml, n);
	mjModel* m = mj_loadXML(name, vfs, err, errsz);
	mj_deleteVFS(vfs);
	free(vfs);
	return m;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

func init() { C.installHandlers() }

// LiveAllocations returns how many blocks MuJoCo has allocated on its heap
// and not yet freed, across all models, data and renderers of the process.
// It returns to its previous value once everything created since is closed.
func LiveAllocations() int64 { return int64(C.liveBlockCount()) }

// ErrClosed is returned by operations on a closed Model, Data or Renderer.
var ErrClosed = errors.New("mujoco: use after close")

// ObjType names a kind of model element for name lookups.
type ObjType int

// Element kinds, mirroring mjtObj.
const (
	ObjBody     ObjType = C.mjOBJ_BODY
	ObjJoint    ObjType = C.mjOBJ_JOINT
	ObjGeom     ObjType = C.mjOBJ_GEOM
	ObjSite     ObjType = C.mjOBJ_SITE
	ObjCamera   ObjType = C.mjOBJ_CAMERA
	ObjActuator ObjType = C.mjOBJ_ACTUATOR
)

// String returns the element kind in MJCF spelling.
func (t ObjType) String() string {
	switch t {
	case ObjBody:
		return "body"
	case ObjJoint:
		return "joint"
	case ObjGeom:
		return "geom"
	case ObjSite:
		return "site"
	case ObjCamera:
		return "camera"
	case ObjActuator:
		return "actuator"
	}
	return fmt.Sprintf("objtype(%d)", int(t))
}

// JointType is a joint's kind, mirroring mjtJoint.
type JointType int

// Joint kinds.
const (
	JointFree  JointType = C.mjJNT_FREE
	JointBall  JointType = C.mjJNT_BALL
	JointSlide JointType = C.mjJNT_SLIDE
	JointHinge JointType = C.mjJNT_HINGE
)

// Model is a compiled MuJoCo model (mjModel).
type Model struct {
	m *C.mjModel
}

// LoadXML compiles MJCF text. Compilation errors carry MuJoCo's message.
func LoadXML(xml string) (*Model, error) {
	if xml == "" {
		return nil, errors.New("mujoco: empty MJCF")
	}
	cxml := C.CString(xml)
	defer C.free(unsafe.Pointer(cxml))
	const errsz = 1000
	cerr := (*C.char)(C.calloc(errsz, 1))
	defer C.free(unsafe.Pointer(cerr))
	m := C.loadXMLString(cxml, C.int(len(xml)), cerr, errsz)
	if m == nil {
		return nil, fmt.Errorf("mujoco: load MJCF: %s", C.GoString(cerr))
	}
	return &Model{m: m}, nil
}

// Close frees the model. Data made from it must be closed first. Close is
// idempotent.
func (m *Model) Close() {
	if m.m != nil {
		C.mj_deleteModel(m.m)
		m.m = nil
	}
}

// NQ is the number of generalized coordinates (len qpos); 0 once closed.
func (m *Model) NQ() int { return m.count(func(p *C.mjModel) C.int { return p.nq }) }

// NV is the number of degrees of freedom (len qvel).
func (m *Model) NV() int { return m.count(func(p *C.mjModel) C.int { return p.nv }) }

// NU is the number of actuators (len ctrl).
func (m *Model) NU() int { return m.count(func(p *C.mjModel) C.int { return p.nu }) }

// NA is the number of actuator activations (len act).
func (m *Model) NA() int { return m.count(func(p *C.mjModel) C.int { return p.na }) }

// NBody is the number of bodies, the world body included.
func (m *Model) NBody() int { return m.count(func(p *C.mjModel) C.int { return p.nbody }) }

// NJoint is the number of joints.
func (m *Model) NJoint() int { return m.count(func(p *C.mjModel) C.int { return p.njnt }) }

// NGeom is the number of geoms.
func (m *Model) NGeom() int { return m.count(func(p *C.mjModel) C.int { return p.ngeom }) }

// NSite is the number of sites.
func (m *Model) NSite() int { return m.count(func(p *C.mjModel) C.int { return p.nsite }) }

// NCamera is the number of cameras.
func (m *Model) NCamera() int { return m.count(func(p *C.mjModel) C.int { return p.ncam }) }

func (m *Model) count(f func(*C.mjModel) C.int) int {
	if m.m == nil {
		return 0
	}
	return int(f(m.m))
}

// Timestep returns the physics time step in seconds.
func (m *Model) Timestep() float64 {
	if m.m == nil {
		return 0
	}
	return float64(m.m.opt.timestep)
}

// SetTimestep changes the physics time step.
func (m *Model) SetTimestep(dt float64) error {
	if m.m == nil {
		return ErrClosed
	}
	if !(dt > 0) || math.IsInf(dt, 0) {
		return fmt.Errorf("mujoco: timestep must be positive and finite, got %v", dt)
	}
	m.m.opt.timestep = C.mjtNum(dt)
	return nil
}

// ID returns the id of the named element of kind t.
func (m *Model) ID(t ObjType, name string) (int, error) {
	if m.m == nil {
		return -1, ErrClosed
	}
	switch t {
	case ObjBody, ObjJoint, ObjGeom, ObjSite, ObjCamera, ObjActuator:
	default:
		return -1, fmt.Errorf("mujoco: unsupported element kind %v", t)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	id := int(C.mj_name2id(m.m, C.int(t), cname))
	if id < 0 {
		return -1, fmt.Errorf("mujoco: no %v named %q", t, name)
	}
	return id, nil
}

// Name returns the name of element id of kind t, or "" when it has none.
func (m *Model) Name(t ObjType, id int) string {
	if m.m == nil || id < 0 {
		return ""
	}
	switch t {
	case ObjBody, ObjJoint, ObjGeom, ObjSite, ObjCamera, ObjActuator:
	default:
		return ""
	}
	p := C.mj_id2name(m.m, C.int(t), C.int(id))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

func inRange(id, n int) bool { return id >= 0 && id < n }

func ints(p *C.int, n int) []C.int {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice(p, n)
}

func nums(p *C.mjtNum, n int) []float64 {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), n)
}

// JointType returns the kind of joint id.
func (m *Model) JointType(id int) JointType {
	if !inRange(id, m.NJoint()) {
		return 0
	}
	return JointType(ints(m.m.jnt_type, m.NJoint())[id])
}

// JointQposAdr returns the index of joint id's first coordinate in qpos.
func (m *Model) JointQposAdr(id int) int {
	if !inRange(id, m.NJoint()) {
		return 0
	}
	return int(ints(m.m.jnt_qposadr, m.NJoint())[id])
}

// JointDofAdr returns the index of joint id's first degree of freedom in qvel.
func (m *Model) JointDofAdr(id int) int {
	if !inRange(id, m.NJoint()) {
		return 0
	}
	return int(ints(m.m.jnt_dofadr, m.NJoint())[id])
}

// JointRange returns joint id's limits; limited is false for free motion.
func (m *Model) JointRange(id int) (lo, hi float64, limited bool) {
	if !inRange(id, m.NJoint()) {
		return 0, 0, false
	}
	r := nums(m.m.jnt_range, 2*m.NJoint())
	lim := unsafe.Slice((*C.mjtByte)(unsafe.Pointer(m.m.jnt_limited)), m.NJoint())
	return r[2*id], r[2*id+1], lim[id] != 0
}

// JointBody returns the body that joint id moves.
func (m *Model) JointBody(id int) int {
	if !inRange(id, m.NJoint()) {
		return 0
	}
	return int(ints(m.m.jnt_bodyid, m.NJoint())[id])
}

// GeomBody returns the body geom id belongs to.
func (m *Model) GeomBody(id int) int {
	if !inRange(id, m.NGeom()) {
		return 0
	}
	return int(ints(m.m.geom_bodyid, m.NGeom())[id])
}

// SiteBody returns the body site id is attached to.
func (m *Model) SiteBody(id int) int {
	if !inRange(id, m.NSite()) {
		return 0
	}
	return int(ints(m.m.site_bodyid, m.NSite())[id])
}

// SiteSize returns site id's size parameters (half-sizes for a box site).
func (m *Model) SiteSize(id int) [3]float64 {
	var s [3]float64
	if inRange(id, m.NSite()) {
		copy(s[:], nums(m.m.site_size, 3*m.NSite())[3*id:])
	}
	return s
}

// BodyParent returns the parent of body id (the world body is its own).
func (m *Model) BodyParent(id int) int {
	if !inRange(id, m.NBody()) {
		return 0
	}
	return int(ints(m.m.body_parentid, m.NBody())[id])
}

// BodyRoot returns the top-most ancestor of body id below the world body.
func (m *Model) BodyRoot(id int) int {
	if !inRange(id, m.NBody()) {
		return 0
	}
	return int(ints(m.m.body_rootid, m.NBody())[id])
}

// BodyMass returns body id's mass in kg.
func (m *Model) BodyMass(id int) float64 {
	if !inRange(id, m.NBody()) {
		return 0
	}
	return nums(m.m.body_mass, m.NBody())[id]
}

// CameraFovy returns camera id's vertical field of view in degrees.
func (m *Model) CameraFovy(id int) float64 {
	if !inRange(id, m.NCamera()) {
		return 0
	}
	return nums(m.m.cam_fovy, m.NCamera())[id]
}

// ActuatorCtrlRange returns actuator id's control limits; limited is false
// when controls are not clamped.
func (m *Model) ActuatorCtrlRange(id int) (lo, hi float64, limited bool) {
	if !inRange(id, m.NU()) {
		return 0, 0, false
	}
	r := nums(m.m.actuator_ctrlrange, 2*m.NU())
	lim := unsafe.Slice((*C.mjtByte)(unsafe.Pointer(m.m.actuator_ctrllimited)), m.NU())
	return r[2*id], r[2*id+1], lim[id] != 0
}

// Extent returns the model's spatial extent (mjStatistic.extent), the unit
// of the rendering near/far planes.
func (m *Model) Extent() float64 {
	if m.m == nil {
		return 0
	}
	return float64(m.m.stat.extent)
}

// ClipPlanes returns the rendering near and far clipping distances in metres.
func (m *Model) ClipPlanes() (znear, zfar float64) {
	if m.m == nil {
		return 0, 0
	}
	e := float64(m.m.stat.extent)
	return float64(m.m.vis._map.znear) * e, float64(m.m.vis._map.zfar) * e
}

// OffscreenSize returns the offscreen buffer size the model declares
// (<visual><global offwidth offheight/>), the largest image it can render.
func (m *Model) OffscreenSize() (w, h int) {
	if m.m == nil {
		return 0, 0
	}
	return int(m.m.vis.global.offwidth), int(m.m.vis.global.offheight)
}
