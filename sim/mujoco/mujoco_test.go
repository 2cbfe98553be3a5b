package mujoco

import (
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testXML = `<mujoco>
  <compiler angle="radian"/>
  <option timestep="0.002"/>
  <visual><global offwidth="160" offheight="120"/><quality shadowsize="0" offsamples="0"/></visual>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1"/>
    <geom name="floor" type="plane" size="2 2 0.1" rgba="0.3 0.5 0.3 1"/>
    <camera name="top" pos="0 -1 1" xyaxes="1 0 0 0 0.7 0.7" fovy="60"/>
    <body name="box" pos="0 0 0.5">
      <freejoint name="box_free"/>
      <geom name="box_geom" type="box" size="0.05 0.05 0.05" mass="0.2" rgba="0.8 0.2 0.2 1"/>
      <site name="box_site" pos="0 0 0.05"/>
    </body>
    <body name="arm" pos="0.5 0 0.1">
      <joint name="hinge" type="hinge" axis="0 1 0" range="-1 1" limited="true"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="1"/>
      <site name="tip" pos="0.3 0 0"/>
    </body>
  </worldbody>
  <actuator><motor name="m" joint="hinge" ctrlrange="-5 5" ctrllimited="true"/></actuator>
</mujoco>`

func load(t *testing.T) (*Model, *Data) {
	t.Helper()
	m, err := LoadXML(testXML)
	require.NoError(t, err)
	d, err := NewData(m)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close(); m.Close() })
	return m, d
}

func TestLoadXMLErrors(t *testing.T) {
	tests := []struct {
		name, xml, want string
	}{
		{"empty", "", "empty MJCF"},
		{"not xml", "<mujoco", "load MJCF"},
		{"bad attribute", `<mujoco><worldbody><geom type="box" size="a b c"/></worldbody></mujoco>`, "load MJCF"},
		{"unknown element", `<mujoco><worldbody><blob/></worldbody></mujoco>`, "blob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := LoadXML(tt.xml)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestModelLookup(t *testing.T) {
	m, _ := load(t)
	assert.Equal(t, 8, m.NQ())
	assert.Equal(t, 7, m.NV())
	assert.Equal(t, 1, m.NU())
	assert.InDelta(t, 0.002, m.Timestep(), 1e-12)
	tests := []struct {
		kind ObjType
		name string
		ok   bool
	}{
		{ObjBody, "box", true}, {ObjJoint, "hinge", true}, {ObjGeom, "box_geom", true},
		{ObjSite, "tip", true}, {ObjCamera, "top", true}, {ObjActuator, "m", true},
		{ObjBody, "nope", false}, {ObjType(99), "box", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.name, func(t *testing.T) {
			id, err := m.ID(tt.kind, tt.name)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.name, m.Name(tt.kind, id))
		})
	}
	j, err := m.ID(ObjJoint, "hinge")
	require.NoError(t, err)
	lo, hi, lim := m.JointRange(j)
	assert.Equal(t, []any{-1.0, 1.0, true}, []any{lo, hi, lim})
	assert.Equal(t, JointHinge, m.JointType(j))
	assert.Equal(t, 7, m.JointQposAdr(j))
	assert.Equal(t, [3]float64{}, m.SiteSize(-5), "out-of-range ids read as zero")
}

func TestStepFallAndContacts(t *testing.T) {
	m, d := load(t)
	box, err := m.ID(ObjBody, "box")
	require.NoError(t, err)
	for range 1000 {
		require.NoError(t, d.Step())
	}
	require.NoError(t, d.CheckWarnings())
	assert.InDelta(t, 2.0, d.Time(), 1e-9)
	assert.InDelta(t, 0.05, d.BodyPos(box)[2], 2e-3, "box rests on the floor")
	floor, err := m.ID(ObjGeom, "floor")
	require.NoError(t, err)
	bg, err := m.ID(ObjGeom, "box_geom")
	require.NoError(t, err)
	cs := d.Contacts()
	require.NotEmpty(t, cs)
	var force float64
	for _, c := range cs {
		if (c.Geom1 == floor && c.Geom2 == bg) || (c.Geom1 == bg && c.Geom2 == floor) {
			force += c.Force
		}
	}
	assert.InDelta(t, 0.2*9.81, force, 0.1, "contact forces carry the box's weight")
	q := d.BodyQuat(box)
	assert.InDelta(t, 1, q[0]*q[0]+q[1]*q[1]+q[2]*q[2]+q[3]*q[3], 1e-9)
}

func TestJacobianMatchesFiniteDifference(t *testing.T) {
	m, d := load(t)
	tip, err := m.ID(ObjSite, "tip")
	require.NoError(t, err)
	j, err := m.ID(ObjJoint, "hinge")
	require.NoError(t, err)
	jacp, jacr, err := d.JacSite(tip)
	require.NoError(t, err)
	dof := m.JointDofAdr(j)
	p0 := d.SitePos(tip)
	q := d.Qpos()
	const h = 1e-6
	q[m.JointQposAdr(j)] += h
	require.NoError(t, d.SetQpos(q))
	require.NoError(t, d.Forward())
	p1 := d.SitePos(tip)
	for r := range 3 {
		assert.InDelta(t, (p1[r]-p0[r])/h, jacp[r*m.NV()+dof], 1e-4)
	}
	assert.InDelta(t, 1.0, jacr[1*m.NV()+dof], 1e-12)
	_, _, err = d.JacSite(99)
	assert.Error(t, err)
	x, err := d.SolveM(make([]float64, m.NV()))
	require.NoError(t, err)
	assert.Len(t, x, m.NV())
	_, err = d.SolveM(make([]float64, 3))
	assert.Error(t, err)
}

func TestSettersRejectBadInput(t *testing.T) {
	m, d := load(t)
	assert.Error(t, d.SetCtrl([]float64{math.NaN()}))
	assert.Error(t, d.SetCtrl([]float64{1, 2}))
	assert.Error(t, d.SetQvel(make([]float64, m.NV()+1)))
	assert.Error(t, d.SetTime(math.Inf(1)))
	assert.Error(t, m.SetTimestep(0))
	require.NoError(t, d.SetCtrl([]float64{2}))
	assert.Equal(t, []float64{2}, d.Ctrl())
}

func TestInstabilityWarning(t *testing.T) {
	m, d := load(t)
	v := make([]float64, m.NV())
	v[0] = 1e300
	require.NoError(t, d.SetQvel(v))
	for range 5 {
		require.NoError(t, d.Step())
	}
	err := d.CheckWarnings()
	var w *WarningError
	require.ErrorAs(t, err, &w)
	assert.Contains(t, err.Error(), "unstable")
	assert.NoError(t, d.CheckWarnings(), "warnings are reported once")
}

func TestRenderer(t *testing.T) {
	m, d := load(t)
	cam, err := m.ID(ObjCamera, "top")
	require.NoError(t, err)
	_, err = NewRenderer(m, RendererConfig{Width: 640, Height: 480})
	require.Error(t, err, "larger than the offscreen buffer")
	r, err := NewRenderer(m, RendererConfig{Width: 160, Height: 120})
	require.NoError(t, err)
	defer r.Close()
	_, ok := os.LookupEnv("LP_NUM_THREADS")
	assert.True(t, ok, "llvmpipe's thread count is chosen (the user's, or 0) before the first GL context")
	rgb := make([]uint8, 160*120*3)
	depth := make([]float32, 160*120)
	require.NoError(t, r.Render(d, cam, rgb, depth))
	var lo, hi uint8 = 255, 0
	for _, p := range rgb {
		lo, hi = min(lo, p), max(hi, p)
	}
	assert.Greater(t, int(hi)-int(lo), 50, "image is not constant")
	// The camera looks down 45° from 1 m height: the image centre ray hits the
	// floor √2 m away, above the image centre the ray goes farther.
	assert.InDelta(t, math.Sqrt2, depth[60*160+80], 0.05)
	assert.Greater(t, depth[5*160+80], depth[115*160+80], "top row looks farther (no vertical flip error)")
	in := CameraIntrinsics(m.CameraFovy(cam), 160, 120)
	assert.InDelta(t, 60/math.Tan(math.Pi/6), in.Fy, 1e-9)
	assert.Error(t, r.Render(d, 7, rgb, nil))
	assert.Error(t, r.Render(d, cam, rgb[:10], nil))
	r.Close()
	assert.ErrorIs(t, r.Render(d, cam, rgb, nil), ErrClosed)
}

func TestCloseIsIdempotentAndSafe(t *testing.T) {
	before := LiveAllocations()
	m, err := LoadXML(testXML)
	require.NoError(t, err)
	d, err := NewData(m)
	require.NoError(t, err)
	d.Close()
	d.Close()
	assert.ErrorIs(t, d.Step(), ErrClosed)
	assert.Nil(t, d.Qpos())
	assert.Greater(t, LiveAllocations(), before, "the model is allocated")
	m.Close()
	m.Close()
	assert.Equal(t, before, LiveAllocations(), "everything is freed")
	assert.Equal(t, 0, m.NQ())
	_, err = NewData(m)
	assert.ErrorIs(t, err, ErrClosed)
}
