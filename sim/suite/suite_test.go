package suite

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/sim"
)

// instructions are LIBERO's task.language strings in benchmark order
// (shared/reference/libero.md §1.1).
var instructions = map[string][]string{
	"libero_spatial": {
		"pick up the black bowl between the plate and the ramekin and place it on the plate",
		"pick up the black bowl next to the ramekin and place it on the plate",
		"pick up the black bowl from table center and place it on the plate",
		"pick up the black bowl on the cookie box and place it on the plate",
		"pick up the black bowl in the top drawer of the wooden cabinet and place it on the plate",
		"pick up the black bowl on the ramekin and place it on the plate",
		"pick up the black bowl next to the cookie box and place it on the plate",
		"pick up the black bowl on the stove and place it on the plate",
		"pick up the black bowl next to the plate and place it on the plate",
		"pick up the black bowl on the wooden cabinet and place it on the plate",
	},
	"libero_object": {
		"pick up the alphabet soup and place it in the basket",
		"pick up the cream cheese and place it in the basket",
		"pick up the salad dressing and place it in the basket",
		"pick up the bbq sauce and place it in the basket",
		"pick up the ketchup and place it in the basket",
		"pick up the tomato sauce and place it in the basket",
		"pick up the butter and place it in the basket",
		"pick up the milk and place it in the basket",
		"pick up the chocolate pudding and place it in the basket",
		"pick up the orange juice and place it in the basket",
	},
	"libero_goal": {
		"open the middle drawer of the cabinet",
		"put the bowl on the stove",
		"put the wine bottle on top of the cabinet",
		"open the top drawer and put the bowl inside",
		"put the bowl on top of the cabinet",
		"push the plate to the front of the stove",
		"put the cream cheese in the bowl",
		"turn on the stove",
		"put the bowl on the plate",
		"put the wine bottle on the rack",
	},
	"libero_10": {
		"put both the alphabet soup and the tomato sauce in the basket",
		"put both the cream cheese box and the butter in the basket",
		"turn on the stove and put the moka pot on it",
		"put the black bowl in the bottom drawer of the cabinet and close it",
		"put the white mug on the left plate and put the yellow and white mug on the right plate",
		"pick up the book and place it in the back compartment of the caddy",
		"put the white mug on the plate and put the chocolate pudding to the right of the plate",
		"put both the alphabet soup and the cream cheese box in the basket",
		"put both moka pots on the stove",
		"put the yellow and white mug in the microwave and close it",
	},
}

func TestSuitesLoad(t *testing.T) {
	tests := []struct {
		name     string
		maxSteps int
	}{
		{"libero_spatial", 220}, {"libero_object", 280}, {"libero_goal", 300}, {"libero_10", 520},
	}
	require.Len(t, Names(), len(tests))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.name, Names()[i])
			s, err := Get(tt.name)
			require.NoError(t, err)
			assert.Equal(t, tt.maxSteps, s.MaxSteps)
			require.Len(t, s.Tasks, 10)
			for j, task := range s.Tasks {
				assert.Equal(t, instructions[tt.name][j], task.Instruction)
				assert.Equal(t, tt.maxSteps, task.MaxSteps)
				assert.Equal(t, tt.name, task.Suite)
				assert.Equal(t, j, task.Index)
				assert.NotEmpty(t, task.Name)
			}
		})
	}
	_, err := Get("libero_90")
	assert.ErrorContains(t, err, "libero_90")
}

// movable returns the task's movable objects.
func movable(task *Task) []ObjectSpec {
	var out []ObjectSpec
	for _, o := range task.Spec.Objects {
		if !o.Kind.Fixed() {
			out = append(out, o)
		}
	}
	return out
}

func TestEpisodeZeroIsValid(t *testing.T) {
	for _, name := range Names() {
		s, err := Get(name)
		require.NoError(t, err)
		for _, task := range s.Tasks {
			t.Run(name+"/"+strconv.Itoa(task.Index), func(t *testing.T) {
				env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
				require.NoError(t, err)
				defer env.Close()
				o0, err := task.Reset(env, 0)
				require.NoError(t, err)
				assert.Equal(t, 0, o0.Step)
				ok, err := env.Success()
				require.NoError(t, err)
				assert.False(t, ok, "the goal does not hold at the start")
				objs := movable(task)
				for i, a := range objs {
					p := o0.Objects[a.Name]
					assert.Greater(t, p.Pos[2], 0.5, "%s rests on the table or a fixture", a.Name)
					for _, b := range objs[i+1:] {
						if a.On == b.Name || b.On == a.Name {
							continue
						}
						touch, err := env.InContact(a.Name, b.Name)
						require.NoError(t, err)
						assert.False(t, touch, "%s and %s do not overlap", a.Name, b.Name)
					}
				}
				for range 5 {
					_, _, err := env.Step(NoOp)
					require.NoError(t, err)
				}
				o1, err := env.Observe()
				require.NoError(t, err)
				for _, a := range objs {
					p0, p1 := o0.Objects[a.Name].Pos, o1.Objects[a.Name].Pos
					assert.Less(t, math.Hypot(math.Hypot(p0[0]-p1[0], p0[1]-p1[1]), p0[2]-p1[2]), 0.004, "%s has settled", a.Name)
				}
			})
		}
	}
}

func TestResetIsDeterministic(t *testing.T) {
	s, err := Get("libero_spatial")
	require.NoError(t, err)
	task := s.Tasks[3]
	env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
	require.NoError(t, err)
	defer env.Close()
	state := func(ep int) sim.State {
		_, err := task.Reset(env, ep)
		require.NoError(t, err)
		st, err := env.State()
		require.NoError(t, err)
		return st
	}
	a := state(7)
	state(8)
	assert.Equal(t, a, state(7), "the same episode gives a bit-identical state")
	assert.NotEqual(t, a.Qpos, state(8).Qpos, "episodes differ")
	for _, ep := range []int{-1, EpisodesPerTask} {
		_, err := task.Reset(env, ep)
		assert.ErrorContains(t, err, "episode")
	}
}

// runExpert plays one episode with the expert and reports success and
// the number of steps.
func runExpert(t testing.TB, task *Task, env *sim.Env, ex policy.Policy, ep int) (bool, int) {
	t.Helper()
	o, err := task.Reset(env, ep)
	require.NoError(t, err)
	ex.(policy.Resetter).Reset()
	for {
		c, err := ex.Act(context.Background(), o.Policy(task.Instruction))
		require.NoError(t, err)
		require.NoError(t, c.Validate())
		var info sim.StepInfo
		o, info, err = env.Step(c.Action(0))
		require.NoError(t, err)
		if info.Done {
			return info.Success, info.Step
		}
	}
}

func TestExpertSolves(t *testing.T) {
	tests := []struct {
		suite         string
		task, episode int
	}{
		{"libero_spatial", 0, 0}, {"libero_spatial", 4, 1}, {"libero_spatial", 9, 2},
		// A flat box whose finger contacts flicker while it is carried.
		{"libero_object", 1, 6},
		// The wine bottle onto the cabinet top: sensitive to the timestep.
		{"libero_goal", 2, 0},
		// The mug into the microwave, then the door pushed shut.
		{"libero_10", 9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.suite+"/"+strconv.Itoa(tt.task)+"/"+strconv.Itoa(tt.episode), func(t *testing.T) {
			s, err := Get(tt.suite)
			require.NoError(t, err)
			task := s.Tasks[tt.task]
			env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
			require.NoError(t, err)
			defer env.Close()
			ex := NewExpert(task, env)
			assert.Equal(t, policy.Spec{Name: "expert", ActionDim: 7, Horizon: 1, StateDim: 8}, ex.Spec())
			ok, steps := runExpert(t, task, env, ex, tt.episode)
			assert.True(t, ok, "solved within %d steps (took %d)", task.MaxSteps, steps)
		})
	}
}

// TestRestingObjectsStayPut replays initial states in which MuJoCo 2.2.2's
// box–box collider once found a phantom deep contact between the table and
// a cylinder built of two crossed boxes, launching it metres away a few
// steps after Reset.
func TestRestingObjectsStayPut(t *testing.T) {
	tests := []struct {
		suite         string
		task, episode int
	}{
		{"libero_object", 0, 20}, {"libero_object", 0, 40}, {"libero_object", 5, 23}, {"libero_10", 1, 25}, {"libero_10", 7, 17},
	}
	for _, tt := range tests {
		t.Run(tt.suite+"/"+strconv.Itoa(tt.task)+"/"+strconv.Itoa(tt.episode), func(t *testing.T) {
			s, err := Get(tt.suite)
			require.NoError(t, err)
			task := s.Tasks[tt.task]
			env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
			require.NoError(t, err)
			defer env.Close()
			o0, err := task.Reset(env, tt.episode)
			require.NoError(t, err)
			o := o0
			for range 20 {
				o, _, err = env.Step(NoOp)
				require.NoError(t, err)
			}
			for _, a := range movable(task) {
				p0, p1 := o0.Objects[a.Name].Pos, o.Objects[a.Name].Pos
				assert.Less(t, math.Hypot(math.Hypot(p0[0]-p1[0], p0[1]-p1[1]), p0[2]-p1[2]), 0.004, "%s stays put", a.Name)
			}
		})
	}
}

// selected reports whether task index i is in the comma-separated list
// (every task when the list is empty).
func selected(list string, i int) bool {
	if list == "" {
		return true
	}
	for _, f := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n == i {
			return true
		}
	}
	return false
}

// BenchmarkExpertSuccessRate measures the experts over every suite and
// reports the success rate per suite: `go test -run '^$' -bench
// ExpertSuccessRate -benchtime 1x ./sim/suite/` (VST_EXPERT_EPISODES
// episodes per task, default 1; VST_EXPERT_SUITES a single suite name to
// limit; VST_EXPERT_TASKS a comma-separated list of task indices).
func BenchmarkExpertSuccessRate(b *testing.B) {
	t := b
	eps := 1
	if v, err := strconv.Atoi(os.Getenv("VST_EXPERT_EPISODES")); err == nil && v > 0 && v <= EpisodesPerTask {
		eps = v
	}
	names := Names()
	if v := os.Getenv("VST_EXPERT_SUITES"); v != "" {
		names = []string{v}
	}
	for _, name := range names {
		s, err := Get(name)
		require.NoError(t, err)
		total, wins := 0, 0
		for _, task := range s.Tasks {
			if !selected(os.Getenv("VST_EXPERT_TASKS"), task.Index) {
				continue
			}
			env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
			require.NoError(t, err)
			ex := NewExpert(task, env)
			n := 0
			for ep := range eps {
				if ok, _ := runExpert(t, task, env, ex, ep); ok {
					n++
				}
			}
			env.Close()
			t.Logf("%s task %d: %d/%d  %s", name, task.Index, n, eps, task.Instruction)
			total += eps
			wins += n
		}
		t.Logf("%s: %d/%d = %.1f%%", name, wins, total, 100*float64(wins)/float64(total))
		b.ReportMetric(100*float64(wins)/float64(total), name+"_success_%")
	}
}

func TestLoadTaskFile(t *testing.T) {
	task, err := LoadTaskFile(filepath.Join("testdata", "bowl_on_plate.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "red_mug_on_plate", task.Name)
	assert.Equal(t, 200, task.MaxSteps)
	env, err := task.NewEnv(context.Background(), sim.Config{NoRender: true})
	require.NoError(t, err)
	defer env.Close()
	ok, _ := runExpert(t, task, env, NewExpert(task, env), 0)
	assert.True(t, ok, "the expert solves a user task")
	_, err = LoadTaskFile(filepath.Join("testdata", "missing.yaml"))
	assert.Error(t, err)
}

func TestParseTaskSpecErrors(t *testing.T) {
	const objs = "objects: [{name: a, kind: box, pos: [-0.2, 0, 0]}, {name: p, kind: plate, pos: [-0.3, 0.2, 0]}, {name: cab, kind: cabinet, pos: [0.1, 0.3, 0]}]\n"
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty document"},
		{"not yaml", "{[", "task spec"},
		{"unknown field", "instruction: x\ncolour: red\n" + objs + "goal: [{op: on, args: [a, p]}]", "colour"},
		{"no instruction", objs + "goal: [{op: on, args: [a, p]}]", "instruction"},
		{"no objects", "instruction: x\ngoal: [{op: on, args: [a, p]}]", "objects is empty"},
		{"bad name", "instruction: x\nobjects: [{name: 'a b', kind: box}]\ngoal: [{op: on, args: [a, p]}]", "objects[0].name"},
		{"duplicate", "instruction: x\nobjects: [{name: a, kind: box}, {name: a, kind: bowl}]\ngoal: [{op: on, args: [a, a]}]", "objects[1].name"},
		{"kind", "instruction: x\nobjects: [{name: a, kind: teapot}]\ngoal: [{op: on, args: [a, a]}]", "objects[0].kind"},
		{"range", "instruction: x\nobjects: [{name: a, kind: box, range: [-1, 0]}]\ngoal: [{op: on, args: [a, a]}]", "objects[0].range[0]"},
		{"yaw", "instruction: x\nobjects: [{name: a, kind: box, yaw: [1, 0]}]\ngoal: [{op: on, args: [a, a]}]", "objects[0].yaw"},
		{"support", "instruction: x\nobjects: [{name: a, kind: box, on: shelf}]\ngoal: [{op: on, args: [a, a]}]", "objects[0].on"},
		{"cycle", "instruction: x\nobjects: [{name: a, kind: box, on: b}, {name: b, kind: box, on: a}]\ngoal: [{op: on, args: [a, b]}]", "cycle"},
		{"joint", "instruction: x\n" + objs + "joints: [{joint: cab_door, pos: 1}]\ngoal: [{op: on, args: [a, p]}]", "joints[0].joint"},
		{"no goal", "instruction: x\n" + objs, "goal is empty"},
		{"op", "instruction: x\n" + objs + "goal: [{op: near, args: [a, p]}]", "goal[0]: op"},
		{"arity", "instruction: x\n" + objs + "goal: [{op: on, args: [a]}]", "goal[0]: on takes 2"},
		{"fixture moved", "instruction: x\n" + objs + "goal: [{op: on, args: [cab, p]}]", "goal[0]: args[0]"},
		{"target", "instruction: x\n" + objs + "goal: [{op: in, args: [a, cab_drawer9_region]}]", "goal[0]: args[1]"},
		{"articulation", "instruction: x\n" + objs + "goal: [{op: turnon, args: [cab]}]", "goal[0]: args[0]"},
		{"region", "instruction: x\n" + objs + "regions: [{name: r, pos: [0, 0], half_size: [0, 1]}]\ngoal: [{op: on, args: [a, r]}]", "regions[0]"},
		{"max steps", "instruction: x\nmax_steps: -1\n" + objs + "goal: [{op: on, args: [a, p]}]", "max_steps"},
		{"nan", "instruction: x\nobjects: [{name: a, kind: box, pos: [.nan, 0, 0]}]\ngoal: [{op: on, args: [a, a]}]", "non-finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseTaskSpec([]byte(tt.doc))
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	s, err := ParseTaskSpec([]byte(`{"instruction": "put the box on the plate", ` +
		`"objects": [{"name": "a", "kind": "box", "pos": [-0.2, 0, 0]}, {"name": "p", "kind": "plate", "pos": [-0.3, 0.2, 0]}], ` +
		`"goal": [{"op": "On", "args": ["a", "p"]}]}`))
	require.NoError(t, err, "JSON is accepted")
	assert.Equal(t, "put the box on the plate", s.Instruction)
}

func FuzzParseTaskSpec(f *testing.F) {
	f.Add([]byte("instruction: x\nobjects: [{name: a, kind: box}]\ngoal: [{op: on, args: [a, a]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseTaskSpec(data)
		if err != nil {
			return
		}
		// Whatever parses is valid and compiles to a goal.
		require.NoError(t, s.Validate())
		_, err = NewGoal(s)
		require.NoError(t, err)
	})
}
