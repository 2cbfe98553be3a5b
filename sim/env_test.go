package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/sim/mujoco"
)

const table = 0.9 // default table top height

func newEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	e, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

// driveTo steps OSC actions that move the EEF to pos with the home
// orientation and gripper value g, for at most n steps, and returns the
// last observation.
func driveTo(t *testing.T, e *Env, pos [3]float64, g float32, n int) *Obs {
	t.Helper()
	o, err := e.Observe()
	require.NoError(t, err)
	homeRot := quatMat(o.EEF.Quat)
	if e.step == 0 && e.tgt.rot != ([9]float64{}) {
		homeRot = e.tgt.rot
	}
	for range n {
		a := make([]float32, 7)
		for k := range 3 {
			a[k] = float32(math.Max(-1, math.Min(1, 2*(pos[k]-o.EEF.Pos[k])/posScale)))
		}
		r := rotError(homeRot, quatMat(o.EEF.Quat))
		for k := range 3 {
			a[3+k] = float32(math.Max(-1, math.Min(1, r[k]/rotScale)))
		}
		a[6] = g
		var info StepInfo
		o, info, err = e.Step(a)
		require.NoError(t, err)
		require.Empty(t, info.Failure)
	}
	return o
}

func dist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func TestNewBuildsEveryKind(t *testing.T) {
	var objs []ObjectSpec
	kinds := []ObjectKind{Bowl, Plate, Mug, Box, Cylinder, Basket, Cabinet, Stove, Microwave}
	for i, k := range kinds {
		objs = append(objs, ObjectSpec{Name: string(k), Kind: k, Pos: [3]float64{-0.3 + 0.3*float64(i%3), -0.4 + 0.4*float64(i/3), 0}})
	}
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: objs}})
	for _, j := range []string{"cabinet_drawer0", "cabinet_drawer2", "stove_knob", "microwave_door", "joint7", "finger_left"} {
		_, err := e.JointPos(j)
		assert.NoError(t, err, j)
	}
	for _, s := range []string{"basket_contain_region", "cabinet_top_side", "cabinet_drawer1_region", "stove_cook_region", "microwave_heating_region"} {
		r, err := e.Region(s)
		assert.NoError(t, err, s)
		assert.Positive(t, r.HalfSize[0], s)
	}
	o, err := e.Observe()
	require.NoError(t, err)
	assert.Len(t, o.Objects, len(kinds))
	assert.Equal(t, [2]float64{fingerStroke, -fingerStroke}, o.GripperQpos)
	assert.Equal(t, PandaHome, o.JointPos)
	// Everything starts at rest: a few no-op steps move nothing.
	for range 10 {
		_, info, err := e.Step([]float32{0, 0, 0, 0, 0, 0, -1})
		require.NoError(t, err)
		require.Empty(t, info.Failure)
	}
	o2, err := e.Observe()
	require.NoError(t, err)
	for name, p := range o.Objects {
		assert.Less(t, dist(p.Pos, o2.Objects[name].Pos), 0.005, name)
	}
	assert.Less(t, dist(o.EEF.Pos, o2.EEF.Pos), 0.005, "the arm holds its pose")
}

func TestControllerReachesTarget(t *testing.T) {
	tests := []struct {
		name  string
		delta [3]float64
	}{
		{"forward-down", [3]float64{0.15, 0.1, -0.15}},
		{"left-up", [3]float64{0.05, -0.2, 0.05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{NoRender: true})
			o, err := e.Observe()
			require.NoError(t, err)
			goal := o.EEF.Pos
			for k := range 3 {
				goal[k] += tt.delta[k]
			}
			start := quatMat(o.EEF.Quat)
			o = driveTo(t, e, goal, -1, 80)
			assert.Less(t, dist(goal, o.EEF.Pos), 0.01, "position error")
			r := rotError(start, quatMat(o.EEF.Quat))
			assert.Less(t, math.Sqrt(r[0]*r[0]+r[1]*r[1]+r[2]*r[2]), 0.05, "orientation error (rad)")
		})
	}
}

func TestGraspAndLiftByFriction(t *testing.T) {
	tests := []struct {
		name string
		obj  ObjectSpec
		// grasp is the EEF position relative to the object origin.
		grasp [3]float64
	}{
		{"box", ObjectSpec{Name: "obj", Kind: Box, Pos: [3]float64{-0.1, 0, 0}, Size: [3]float64{0.025, 0.025, 0.04}}, [3]float64{0, 0, 0.05}},
		{"bowl rim", ObjectSpec{Name: "obj", Kind: Bowl, Pos: [3]float64{-0.1, 0, 0}}, [3]float64{0, 0.065 - 0.0035, 0.03}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{tt.obj}}})
			p0, err := e.ObjectPose("obj")
			require.NoError(t, err)
			at := func(dz float64) [3]float64 {
				return [3]float64{p0.Pos[0] + tt.grasp[0], p0.Pos[1] + tt.grasp[1], p0.Pos[2] + tt.grasp[2] + dz}
			}
			driveTo(t, e, at(0.12), -1, 40)
			driveTo(t, e, at(0), -1, 40)
			driveTo(t, e, at(0), 1, 15)
			o := driveTo(t, e, at(0.15), 1, 50)
			p1 := o.Objects["obj"]
			assert.GreaterOrEqual(t, p1.Pos[2]-p0.Pos[2], 0.05, "object rises with the gripper")
			assert.Less(t, o.GripperQpos[0]-o.GripperQpos[1], 0.075, "fingers are closed on the object")
			ok, err := e.InContact("obj", "finger_left")
			require.NoError(t, err)
			assert.True(t, ok, "held by finger contact")
		})
	}
}

func TestDroppedObjectRestsOnTable(t *testing.T) {
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{
		{Name: "box", Kind: Box, Pos: [3]float64{0.1, 0.1, 0.3}, Yaw: 0.4},
		{Name: "can", Kind: Cylinder, Pos: [3]float64{0.1, -0.15, 0.2}},
	}}})
	for range 40 {
		_, _, err := e.Step([]float32{0, 0, 0, 0, 0, 0, -1})
		require.NoError(t, err)
	}
	for _, n := range []string{"box", "can"} {
		p, err := e.ObjectPose(n)
		require.NoError(t, err)
		assert.InDelta(t, table, p.Pos[2], 0.003, n+" rests on the table top")
		ok, err := e.InContact(n, "table")
		require.NoError(t, err)
		assert.True(t, ok, n)
	}
}

func TestCylindersCollideAtTheirRadius(t *testing.T) {
	const r = 0.033
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{
		{Name: "a", Kind: Cylinder, Size: [3]float64{r, 0, 0.1}},
		{Name: "b", Kind: Cylinder, Pos: [3]float64{0, 0.3, 0}, Size: [3]float64{r, 0, 0.1}},
	}}})
	a, err := e.ObjectPose("a")
	require.NoError(t, err)
	tests := []struct {
		name    string
		bearing float64
		gap     float64
		touch   bool
	}{
		{"apart 0°", 0, 0.003, false},
		{"apart 22.5°", math.Pi / 8, 0.003, false},
		{"apart 45°", math.Pi / 4, 0.003, false},
		{"overlap 0°", 0, -0.003, true},
		{"overlap 22.5°", math.Pi / 8, -0.003, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := 2*r + tt.gap
			p := a
			p.Pos[0] += d * math.Cos(tt.bearing)
			p.Pos[1] += d * math.Sin(tt.bearing)
			require.NoError(t, e.SetObjectPose("b", p))
			ok, err := e.InContact("a", "b")
			require.NoError(t, err)
			assert.Equal(t, tt.touch, ok)
		})
	}
}

func TestDrawerOpensByPulling(t *testing.T) {
	cab := ObjectSpec{Name: "cab", Kind: Cabinet, Pos: [3]float64{0.1, 0, 0}, Size: [3]float64{0.12, 0.16, 0.1}, Drawers: 1}
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{cab}}})
	// Hook the closed fingers between the handle bar and the drawer face,
	// then pull towards the robot.
	face := cab.Pos[0] - cab.Size[0]
	hook := [3]float64{face - 0.035, 0, table + 0.1}
	driveTo(t, e, [3]float64{hook[0], hook[1], hook[2] + 0.12}, 1, 50)
	driveTo(t, e, hook, 1, 40)
	q0, err := e.JointPos("cab_drawer0")
	require.NoError(t, err)
	driveTo(t, e, [3]float64{hook[0] - 0.15, hook[1], hook[2]}, 1, 50)
	q1, err := e.JointPos("cab_drawer0")
	require.NoError(t, err)
	assert.InDelta(t, 0, q0, 0.005, "closed before pulling")
	assert.Less(t, q1, -0.1, "drawer slid out")
}

func TestRenderedImages(t *testing.T) {
	scene := SceneSpec{Objects: []ObjectSpec{{Name: "bowl", Kind: Bowl}, {Name: "plate", Kind: Plate, Pos: [3]float64{0.1, 0.2, 0}}}}
	for _, size := range []int{128, 224} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			e := newEnv(t, Config{Width: size, Height: size, Depth: true, Scene: scene})
			o, err := e.Observe()
			require.NoError(t, err)
			for _, cam := range []string{AgentView, Wrist} {
				im, ok := o.Images[cam]
				require.True(t, ok, cam)
				require.NoError(t, im.Validate())
				assert.Equal(t, [2]int{size, size}, [2]int{im.H, im.W})
				var lo, hi uint8 = 255, 0
				for _, p := range im.Pix {
					lo, hi = min(lo, p), max(hi, p)
				}
				assert.Greater(t, int(hi)-int(lo), 40, "%s image is not constant", cam)
				d := o.Depth[cam]
				require.Len(t, d, size*size)
				c := o.Cameras[cam]
				assert.InDelta(t, float64(size)/2, c.Intrinsics.Cx, 1e-9)
				// The centre pixel's depth back-projects onto a surface below
				// the camera: in front of it and above the floor.
				z := float64(d[size/2*size+size/2])
				assert.Greater(t, z, 0.02, cam)
				p := [3]float64{c.Pos[0] + c.Rot[2]*z, c.Pos[1] + c.Rot[5]*z, c.Pos[2] + c.Rot[8]*z}
				assert.Less(t, p[2], c.Pos[2], cam)
				assert.Greater(t, p[2], -0.01, cam)
			}
			// The agent view sees the table top under its centre pixel.
			c := o.Cameras[AgentView]
			z := float64(o.Depth[AgentView][size/2*size+size/2])
			assert.InDelta(t, table, c.Pos[2]+c.Rot[8]*z, 0.1)
		})
	}
}

func TestStepRejectsBadActions(t *testing.T) {
	e := newEnv(t, Config{NoRender: true})
	tests := []struct {
		name   string
		action []float32
	}{
		{"nan", []float32{0, float32(math.NaN()), 0, 0, 0, 0, 0}},
		{"inf", []float32{0, 0, 0, 0, 0, 0, float32(math.Inf(-1))}},
		{"short", []float32{0, 0, 0}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Data().Time()
			_, _, err := e.Step(tt.action)
			assert.Error(t, err)
			assert.Equal(t, before, e.Data().Time(), "physics did not run")
		})
	}
}

func TestInstabilityEndsEpisode(t *testing.T) {
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{{Name: "box", Kind: Box}}}})
	v := e.Data().Qvel()
	for i := range v {
		v[i] = 1e300
	}
	require.NoError(t, e.Data().SetQvel(v))
	_, info, err := e.Step([]float32{0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.True(t, info.Done)
	assert.Contains(t, info.Failure, "mujoco warning")
	_, _, err = e.Step([]float32{0, 0, 0, 0, 0, 0, 0})
	assert.Error(t, err, "episode is over")
	_, err = e.Reset(1)
	require.NoError(t, err)
	_, info, err = e.Step([]float32{0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.Empty(t, info.Failure)
}

func TestDeterministic(t *testing.T) {
	cfg := Config{NoRender: true, JointNoise: 0.02, ObjectNoise: 0.02, Scene: SceneSpec{Objects: []ObjectSpec{
		{Name: "bowl", Kind: Bowl, Pos: [3]float64{-0.05, 0, 0}}, {Name: "box", Kind: Box, Pos: [3]float64{0.05, 0.15, 0}},
	}}}
	run := func(seed int64) [][]float64 {
		e := newEnv(t, cfg)
		_, err := e.Reset(seed)
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(7, 7))
		var traj [][]float64
		for range 30 {
			a := make([]float32, 7)
			for k := range a {
				a[k] = 2*rng.Float32() - 1
			}
			_, _, err := e.Step(a)
			require.NoError(t, err)
			traj = append(traj, e.Data().Qpos())
		}
		return traj
	}
	a, b := run(3), run(3)
	assert.Equal(t, a, b, "same seed and actions give a bit-identical trajectory")
	assert.NotEqual(t, a[0], run(4)[0], "another seed starts elsewhere")
}

func TestJointModes(t *testing.T) {
	target := PandaHome
	target[0] += 0.3
	target[3] += 0.2
	e := newEnv(t, Config{NoRender: true, Control: JointPosition})
	a := make([]float32, 8)
	for j := range 7 {
		a[j] = float32(target[j])
	}
	a[7] = -1
	var o *Obs
	var err error
	for range 40 {
		o, _, err = e.Step(a)
		require.NoError(t, err)
	}
	for j := range 7 {
		assert.InDelta(t, target[j], o.JointPos[j], 0.01, "joint %d", j+1)
	}
	_, _, err = e.Step(a[:7])
	assert.Error(t, err, "joint modes take 8 values")

	v := newEnv(t, Config{NoRender: true, Control: JointVelocity})
	vel := []float32{0.4, 0, 0, 0, 0, 0, 0, -1}
	for range 20 { // 1 s at 0.4 rad/s
		o, _, err = v.Step(vel)
		require.NoError(t, err)
	}
	assert.InDelta(t, PandaHome[0]+0.4, o.JointPos[0], 0.03)
}

func TestPolicyObservation(t *testing.T) {
	e := newEnv(t, Config{})
	o, err := e.Observe()
	require.NoError(t, err)
	p := o.Policy("put the bowl on the plate")
	assert.Equal(t, "put the bowl on the plate", p.Prompt)
	require.Len(t, p.State, 8)
	assert.InDelta(t, o.EEF.Pos[2], p.State[2], 1e-6)
	assert.InDelta(t, 0.04, p.State[6], 1e-6)
	assert.InDelta(t, -0.04, p.State[7], 1e-6)
	assert.Contains(t, p.Images, AgentView)
	assert.Contains(t, p.Images, Wrist)
	// The EEF axis-angle reproduces the quaternion.
	aa := o.EEFAxisAngle
	q := matQuat(axisAngleMat(aa))
	assert.InDeltaSlice(t, o.EEF.Quat[:], q[:], 1e-9)
}

func TestStateRoundTrip(t *testing.T) {
	e := newEnv(t, Config{NoRender: true, Scene: SceneSpec{Objects: []ObjectSpec{
		{Name: "box", Kind: Box}, {Name: "cab", Kind: Cabinet, Pos: [3]float64{0.2, 0.3, 0}},
	}}})
	require.NoError(t, e.SetObjectPose("box", Pose{Pos: [3]float64{0, -0.1, table}, Quat: [4]float64{1, 0, 0, 0}}))
	require.NoError(t, e.SetJointPos("cab_drawer1", -0.5))
	q, err := e.JointPos("cab_drawer1")
	require.NoError(t, err)
	assert.InDelta(t, -0.16, q, 1e-12, "clamped to the drawer's range")
	assert.Error(t, e.SetObjectPose("cab", Pose{Quat: [4]float64{1, 0, 0, 0}}), "fixtures do not move")
	assert.Error(t, e.SetObjectPose("nope", Pose{Quat: [4]float64{1, 0, 0, 0}}))
	assert.Error(t, e.SetJointPos("box_free", 0))
	s, err := e.State()
	require.NoError(t, err)
	for range 5 {
		_, _, err = e.Step([]float32{1, 0, 0, 0, 0, 0, 1})
		require.NoError(t, err)
	}
	require.NoError(t, e.SetState(s))
	s2, err := e.State()
	require.NoError(t, err)
	assert.Equal(t, s, s2)
}

func TestConfigAndSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"kind", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "a", Kind: "teapot"}}}}, "objects[0].kind"},
		{"name", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "a b", Kind: Box}}}}, "objects[0].name"},
		{"duplicate", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "a", Kind: Box}, {Name: "a", Kind: Bowl}}}}, "objects[1].name"},
		{"reserved", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "table", Kind: Box}}}}, "already used"},
		{"nan pos", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "a", Kind: Box, Pos: [3]float64{math.NaN()}}}}}, "non-finite"},
		{"size", Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "a", Kind: Box, Size: [3]float64{-1}}}}}, "objects[0].size[0]"},
		{"table", Config{Scene: SceneSpec{TableSize: [3]float64{1, 0, 1}}}, "table_size[1]"},
		{"control", Config{Control: "torque"}, "control"},
		{"image", Config{Width: 4096}, "image size"},
		{"init joints", Config{InitJoints: [7]float64{0, 0, 0, 0, 0, 0, 9}}, "init_joints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(context.Background(), tt.cfg)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(ctx, Config{})
	assert.ErrorIs(t, err, context.Canceled)
}

// rss returns the resident set size in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

func TestCloseFreesNativeMemory(t *testing.T) {
	cfg := Config{Scene: SceneSpec{Objects: []ObjectSpec{{Name: "bowl", Kind: Bowl}, {Name: "cab", Kind: Cabinet, Pos: [3]float64{0.2, 0.3, 0}}}}}
	cycle := func() {
		e, err := New(context.Background(), cfg)
		require.NoError(t, err)
		_, _, err = e.Step([]float32{0, 0, 0, 0, 0, 0, 0})
		require.NoError(t, err)
		e.Close()
		e.Close()
		_, _, err = e.Step([]float32{0, 0, 0, 0, 0, 0, 0})
		require.Error(t, err, "closed")
	}
	for range 3 {
		cycle()
	}
	blocks, before := mujoco.LiveAllocations(), rss(t)
	for range 20 {
		cycle()
	}
	assert.Equal(t, blocks, mujoco.LiveAllocations(), "every MuJoCo allocation is freed by Close")
	debug.FreeOSMemory()
	grew := rss(t) - before
	t.Logf("RSS growth over 20 New/Close cycles: %d KiB", grew/1024)
	// One leaked Env (model, data, 2000-geom scene, GL context and buffers)
	// is several MiB; malloc arenas of the GL worker threads may add a
	// bounded one-off amount.
	assert.Less(t, grew, int64(80<<20), "native memory is freed by Close")
}
