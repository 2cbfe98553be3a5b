// Package suite re-creates LIBERO's four evaluation suites (libero_spatial,
// libero_object, libero_goal, libero_10; 10 language tasks each) on the
// MuJoCo simulator of package sim: task specs with LIBERO's instructions,
// primitive-built layouts and initial-state regions, goal predicates with
// LIBERO's thresholds, 50 fixed seeded initial states per task, the
// per-suite step limits, scripted experts that solve the tasks from
// privileged state, and a YAML/JSON task-spec format for user tasks.
package suite

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vstgo/vst/sim"
)

// EpisodesPerTask is the number of fixed initial states per task (LIBERO's
// 50 evaluation trials).
const EpisodesPerTask = 50

// SettleSteps is the number of no-op actions Reset runs so that objects
// settle (OpenVLA's num_steps_wait); they do not count against MaxSteps.
const SettleSteps = 10

// NoOp is the settle action: no motion, gripper open.
var NoOp = []float32{0, 0, 0, 0, 0, 0, -1}

// Suite is a named list of tasks sharing a step limit.
type Suite struct {
	// Name is the suite name (e.g. "libero_spatial").
	Name string
	// MaxSteps is the suite's episode step limit.
	MaxSteps int
	// Tasks are the suite's tasks in benchmark order.
	Tasks []*Task
}

// Task is one language-conditioned task.
type Task struct {
	// Suite is the suite name ("" for a task loaded from a file).
	Suite string
	// Index is the task's position in its suite.
	Index int
	// Name is the task's identifier (LIBERO's file-name style).
	Name string
	// Instruction is the language instruction (LIBERO's task.language).
	Instruction string
	// MaxSteps is the episode step limit.
	MaxSteps int
	// Spec is the scene, initial-state regions and goal.
	Spec TaskSpec
}

type suiteDef struct {
	maxSteps int
	tasks    func() []TaskSpec
}

var suites = map[string]suiteDef{
	"libero_spatial": {220, spatialTasks},
	"libero_object":  {280, objectTasks},
	"libero_goal":    {300, goalTasks},
	"libero_10":      {520, longTasks},
}

// Names lists the built-in suites in LIBERO's order.
func Names() []string {
	return []string{"libero_spatial", "libero_object", "libero_goal", "libero_10"}
}

// Get returns a fresh copy of the named built-in suite.
func Get(name string) (*Suite, error) {
	d, ok := suites[name]
	if !ok {
		return nil, fmt.Errorf("suite: unknown suite %q (have %s)", name, strings.Join(Names(), ", "))
	}
	s := &Suite{Name: name, MaxSteps: d.maxSteps}
	for i, spec := range d.tasks() {
		spec.MaxSteps = d.maxSteps
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("suite %s: task %d: %w", name, i, err)
		}
		s.Tasks = append(s.Tasks, newTask(name, i, spec))
	}
	return s, nil
}

func newTask(suite string, index int, spec TaskSpec) *Task {
	if spec.MaxSteps == 0 {
		spec.MaxSteps = 300
	}
	if spec.Name == "" {
		spec.Name = strings.ReplaceAll(strings.TrimSpace(spec.Instruction), " ", "_")
	}
	return &Task{Suite: suite, Index: index, Name: spec.Name, Instruction: spec.Instruction, MaxSteps: spec.MaxSteps, Spec: spec}
}

// NewEnv builds the task's environment: cfg supplies rendering and control
// settings; its Scene, Goal and MaxSteps are replaced by the task's.
func (t *Task) NewEnv(ctx context.Context, cfg sim.Config) (*sim.Env, error) {
	g, err := NewGoal(&t.Spec)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", t.Name, err)
	}
	cfg.Scene, cfg.Goal, cfg.MaxSteps = t.Spec.scene(), g, t.MaxSteps
	e, err := sim.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", t.Name, err)
	}
	return e, nil
}

// Reset puts env (built by NewEnv) in the task's fixed initial state
// number episode: objects sampled from their regions with a seed derived
// from (suite, task, episode), rejected while they overlap, then
// SettleSteps no-op actions. The episode then starts at step 0.
func (t *Task) Reset(env *sim.Env, episode int) (*sim.Obs, error) {
	if episode < 0 || episode >= EpisodesPerTask {
		return nil, fmt.Errorf("task %q: episode %d outside [0, %d)", t.Name, episode, EpisodesPerTask)
	}
	if _, err := env.Reset(0); err != nil {
		return nil, err
	}
	for i, j := range t.Spec.Joints {
		if err := env.SetJointPos(j.Joint, j.Pos); err != nil {
			return nil, fmt.Errorf("task %q: joints[%d]: %w", t.Name, i, err)
		}
	}
	poses, err := t.sample(env, episode)
	if err != nil {
		return nil, err
	}
	for _, o := range t.Spec.Objects {
		if p, ok := poses[o.Name]; ok {
			if err := env.SetObjectPose(o.Name, p); err != nil {
				return nil, fmt.Errorf("task %q: %w", t.Name, err)
			}
		}
	}
	for range SettleSteps {
		_, info, err := env.Step(NoOp)
		if err != nil {
			return nil, fmt.Errorf("task %q: settle: %w", t.Name, err)
		}
		if info.Failure != "" {
			return nil, fmt.Errorf("task %q: settle: %s", t.Name, info.Failure)
		}
	}
	st, err := env.State()
	if err != nil {
		return nil, err
	}
	if err := env.SetState(st); err != nil {
		return nil, err
	}
	return env.Observe()
}

// seed derives the initial-state seed of an episode.
func (t *Task) seed(episode int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%s/%d", t.Suite, t.Index, t.Name, episode)
	return h.Sum64()
}

// footprint is a placed object's disc on its support.
type footprint struct {
	x, y, r float64
	on      string
}

// radius is the object's footprint radius (bounding circle).
func radius(o sim.ObjectSpec) float64 {
	switch o.Kind {
	case sim.Box, sim.Basket:
		return math.Hypot(o.Size[0], o.Size[1])
	case sim.Mug:
		return o.Size[0] + 0.03
	}
	return o.Size[0]
}

// topHeight is the height above an object's origin at which an object of
// footprint radius r rests on it.
func topHeight(o sim.ObjectSpec, r float64) float64 {
	switch o.Kind {
	case sim.Box:
		return 2 * o.Size[2]
	case sim.Cylinder, sim.Mug:
		return o.Size[2]
	case sim.Plate:
		return 0.01
	case sim.Basket:
		return 0.006
	case sim.Bowl:
		if r > 0.7*o.Size[0] {
			return o.Size[2] // on the rim
		}
		return 0.008
	}
	return 0
}

const (
	// clearance is the minimum gap between sampled footprints.
	clearance = 0.01
	// maxTries bounds rejection sampling per episode.
	maxTries = 500
)

// sample draws the movable objects' initial poses for an episode.
func (t *Task) sample(env *sim.Env, episode int) (map[string]sim.Pose, error) {
	scene := env.Config().Scene
	specs := map[string]sim.ObjectSpec{}
	for _, o := range scene.Objects {
		specs[o.Name] = o
	}
	surface := scene.TableSize[2]
	// Fixture footprints on the table, as boxes grown by the clearance and,
	// at the front (−x), by room for handles, knobs and open drawers.
	type box struct{ x0, y0, x1, y1 float64 }
	var fixtures []box
	for _, o := range scene.Objects {
		if !o.Kind.Fixed() {
			continue
		}
		c, s := math.Abs(math.Cos(o.Yaw)), math.Abs(math.Sin(o.Yaw))
		hx, hy := c*o.Size[0]+s*o.Size[1], s*o.Size[0]+c*o.Size[1]
		fixtures = append(fixtures, box{o.Pos[0] - hx - 0.08, o.Pos[1] - hy - clearance, o.Pos[0] + hx + clearance, o.Pos[1] + hy + clearance})
	}
	order := t.placementOrder()
	rng := rand.New(rand.NewPCG(t.seed(episode), 0x11be20))
	for try := 0; try < maxTries; try++ {
		poses := map[string]sim.Pose{}
		var placed []footprint
		ok := true
		for _, o := range order {
			so := specs[o.Name]
			r := radius(so)
			x := o.Pos[0] + o.Range[0]*(2*rng.Float64()-1)
			y := o.Pos[1] + o.Range[1]*(2*rng.Float64()-1)
			yaw := o.Yaw[0] + (o.Yaw[1]-o.Yaw[0])*rng.Float64()
			z := surface
			switch sup, isObj := specs[o.On]; {
			case o.On == "":
			case isObj:
				p := poses[o.On]
				if sup.Kind.Fixed() {
					p = sim.Pose{Pos: [3]float64{sup.Pos[0], sup.Pos[1], surface + sup.Pos[2]}}
				}
				x, y, z = p.Pos[0]+x, p.Pos[1]+y, p.Pos[2]+topHeight(sup, r)
			default:
				reg, err := env.Region(o.On)
				if err != nil {
					return nil, fmt.Errorf("task %q: object %s: %w", t.Name, o.Name, err)
				}
				dx, dy := x, y
				x = reg.Pos[0] + reg.Rot[0]*dx + reg.Rot[1]*dy
				y = reg.Pos[1] + reg.Rot[3]*dx + reg.Rot[4]*dy
				z = reg.Pos[2]
				if !strings.HasSuffix(o.On, "_top_side") && !strings.HasSuffix(o.On, "_cook_region") {
					z -= reg.HalfSize[2]
				}
				if strings.HasSuffix(o.On, "_contain_region") {
					z += 0.006 // the basket's floor
				}
			}
			for _, f := range placed {
				if f.on == o.On && math.Hypot(f.x-x, f.y-y) < f.r+r+clearance {
					ok = false
				}
			}
			if o.On == "" {
				for _, b := range fixtures {
					cx, cy := math.Max(b.x0, math.Min(b.x1, x)), math.Max(b.y0, math.Min(b.y1, y))
					if math.Hypot(cx-x, cy-y) < r {
						ok = false
					}
				}
			}
			if !ok {
				break
			}
			placed = append(placed, footprint{x, y, r, o.On})
			poses[o.Name] = sim.Pose{Pos: [3]float64{x, y, z + 0.002}, Quat: [4]float64{math.Cos(yaw / 2), 0, 0, math.Sin(yaw / 2)}}
		}
		if ok {
			return poses, nil
		}
	}
	return nil, fmt.Errorf("task %q: episode %d: no overlap-free placement in %d tries", t.Name, episode, maxTries)
}

// placementOrder lists the movable objects, supports before what rests on
// them.
func (t *Task) placementOrder() []ObjectSpec {
	var out []ObjectSpec
	done := map[string]bool{}
	for _, o := range t.Spec.Objects {
		if o.Kind.Fixed() {
			done[o.Name] = true
		}
	}
	for len(done) < len(t.Spec.Objects) {
		n := len(out)
		for _, o := range t.Spec.Objects {
			if done[o.Name] {
				continue
			}
			sup := o.On
			if sup == "" || done[sup] || !slices.ContainsFunc(t.Spec.Objects, func(x ObjectSpec) bool { return x.Name == sup }) {
				out = append(out, o)
				done[o.Name] = true
			}
		}
		if len(out) == n {
			break // a cycle; Validate rejects it
		}
	}
	return out
}
