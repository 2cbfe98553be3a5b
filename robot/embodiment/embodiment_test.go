package embodiment_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/embodiment"
)

func TestBuiltins(t *testing.T) {
	require.Equal(t, []string{"arm6dof", "mobile_base", "panda_sim"}, embodiment.Builtins())

	for _, ca := range []struct {
		name      string
		kind      embodiment.ActionKind
		dims      int
		stateDim  int
		rate      float64
		cameras   []string
		dryRun    bool
		workspace bool
	}{
		{"panda_sim", embodiment.EEFDeltaPoseGripper, 7, 8, 20, []string{"agentview", "wrist"}, false, true},
		{"arm6dof", embodiment.JointPosition, 7, 7, 20, []string{"front", "wrist"}, true, false},
		{"mobile_base", embodiment.BaseTwist, 3, 6, 10, []string{"front"}, true, false},
	} {
		t.Run(ca.name, func(t *testing.T) {
			s, err := embodiment.Builtin(ca.name)
			require.NoError(t, err)
			require.Equal(t, ca.name, s.Name)
			require.Equal(t, ca.kind, s.ActionSpace)
			require.Equal(t, ca.dims, s.ActionDim())
			require.Equal(t, ca.stateDim, s.StateDim())
			require.Equal(t, ca.rate, s.ControlRate)
			require.Equal(t, ca.dryRun, s.IsDryRun())
			require.Equal(t, ca.workspace, s.Workspace != nil)
			var cams []string
			for _, c := range s.Cameras {
				cams = append(cams, c.Name)
			}
			require.Equal(t, ca.cameras, cams)
		})
	}

	_, err := embodiment.Builtin("hal9000")
	require.EqualError(t, err, `embodiment: no built-in spec "hal9000" (have arm6dof, mobile_base, panda_sim)`)
}

func TestPandaSimMatchesLIBERO(t *testing.T) {
	s, err := embodiment.Builtin("panda_sim")
	require.NoError(t, err)
	require.Equal(t, 50*time.Millisecond, s.Period())
	for i, d := range s.Dims {
		require.Equal(t, -1.0, d.Min, d.Name)
		require.Equal(t, 1.0, d.Max, d.Name)
		want := map[int]float64{0: 0.05, 1: 0.05, 2: 0.05, 3: 0.5, 4: 0.5, 5: 0.5, 6: 1}[i]
		require.Equal(t, want, s.ScaleOf(i), d.Name)
	}
	require.Equal(t, embodiment.StopZero, s.StopMode(0))
	require.Equal(t, embodiment.StopHold, s.StopMode(6))
	require.Equal(t, -1.0, s.Dims[6].Initial)
	off, n, ok := s.StateOffset("eef_pos")
	require.True(t, ok)
	require.Equal(t, 0, off)
	require.Equal(t, 3, n)
	off, n, ok = s.StateOffset("gripper_qpos")
	require.True(t, ok)
	require.Equal(t, 6, off)
	require.Equal(t, 2, n)
	_, _, ok = s.StateOffset("nope")
	require.False(t, ok)

	arm, err := embodiment.Builtin("arm6dof")
	require.NoError(t, err)
	require.Equal(t, embodiment.StopHold, arm.StopMode(0))
}

// base is a valid minimal YAML spec; cases below patch it.
const base = `name: t
action_space: joint_velocity
control_rate_hz: 50
dims:
  - {name: a, min: -1, max: 1}
  - {name: b, min: -1, max: 1}
`

func TestParseErrors(t *testing.T) {
	for _, ca := range []struct {
		name string
		yaml string
		err  string
	}{
		{"empty", ``, `embodiment: empty spec`},
		{"no name", strings.Replace(base, "name: t", "name: ''", 1), `embodiment "": name: must not be empty`},
		{"unknown kind", strings.Replace(base, "joint_velocity", "teleport", 1), `embodiment "t": action_space: unknown kind "teleport" (want eef_delta_pose_gripper, joint_position, joint_velocity or base_twist)`},
		{"no kind", strings.Replace(base, "action_space: joint_velocity\n", "", 1), `embodiment "t": action_space: must be set`},
		{"no dims", "name: t\naction_space: base_twist\ncontrol_rate_hz: 5\n", `embodiment "t": dims: must not be empty`},
		{"min above max", base + "  - {name: c, min: 1, max: 1}\n  - {name: d, min: 2, max: 1}\n", `embodiment "t": dims[2].max: must be greater than min (1)`},
		{"dup dim", base + "  - {name: a, min: -1, max: 1}\n", `embodiment "t": dims[2].name: duplicate dimension "a"`},
		{"nan min", base + "  - {name: c, min: .nan, max: 1}\n", `embodiment "t": dims[2].min: must be finite, got NaN`},
		{"inf max", base + "  - {name: c, min: 0, max: .inf}\n", `embodiment "t": dims[2].max: must be finite, got +Inf`},
		{"negative velocity", base + "  - {name: c, min: -1, max: 1, max_velocity: -2}\n", `embodiment "t": dims[2].max_velocity: must be zero (unbounded) or positive, got -2`},
		{"negative acceleration", base + "  - {name: c, min: -1, max: 1, max_acceleration: -2}\n", `embodiment "t": dims[2].max_acceleration: must be zero (unbounded) or positive, got -2`},
		{"negative scale", base + "  - {name: c, min: -1, max: 1, scale: -2}\n", `embodiment "t": dims[2].scale: must be positive, got -2`},
		{"bad stop", base + "  - {name: c, min: -1, max: 1, stop: brake}\n", `embodiment "t": dims[2].stop: unknown stop mode "brake" (want zero or hold)`},
		{"zero outside", base + "  - {name: c, min: 1, max: 2}\n", `embodiment "t": dims[2].stop: zero is outside [1, 2]`},
		{"initial outside", base + "  - {name: c, min: 1, max: 2, stop: hold, initial: 3}\n", `embodiment "t": dims[2].initial: 3 is outside [1, 2]`},
		{"initial on zero dim", base + "  - {name: c, min: -1, max: 2, initial: 1}\n", `embodiment "t": dims[2].initial: must be 0 for a dimension that stops at zero`},
		{"state index outside", base + "  - {name: c, min: -1, max: 1, state_index: 4}\nstate: [{name: q, dims: 2}]\n", `embodiment "t": dims[2].state_index: 4 is outside the 2-value state`},
		{"negative state index", base + "  - {name: c, min: -1, max: 1, state_index: -1}\n", `embodiment "t": dims[2].state_index: must not be negative, got -1`},
		{"rate", strings.Replace(base, "control_rate_hz: 50", "control_rate_hz: 0", 1), `embodiment "t": control_rate_hz: must be in (0, 1000], got 0`},
		{"unknown field", base + "color: red\n", "embodiment: decode yaml: yaml: unmarshal errors:\n  line 7: field color not found in type embodiment.Spec"},
		{"camera size", base + "cameras: [{name: c, width: 0, height: 5}]\n", `embodiment "t": cameras[0].width: must be positive, got 0`},
		{"camera dup", base + "cameras: [{name: c, width: 1, height: 5}, {name: c, width: 1, height: 5}]\n", `embodiment "t": cameras[1].name: duplicate camera "c"`},
		{"state dims", base + "state: [{name: q, dims: 0}]\n", `embodiment "t": state[0].dims: must be positive, got 0`},
		{"real needs velocity", base + "real: true\n", `embodiment "t": dims[0].max_velocity: must be set for a real robot`},
		{"real joint needs state", "name: t\naction_space: joint_position\ncontrol_rate_hz: 5\nreal: true\ndims: [{name: j, min: -1, max: 1, max_velocity: 1, max_acceleration: 1}]\n", `embodiment "t": dims[0].state_index: must be set for a real position-controlled joint`},
		{"workspace wrong kind", base + "workspace: {min: [0, 0, 0], max: [1, 1, 1], state_field: p}\n", `embodiment "t": workspace: only applies to eef_delta_pose_gripper actions, not joint_velocity`},
		{"eef dims", strings.Replace(base, "joint_velocity", "eef_delta_pose_gripper", 1), `embodiment "t": dims: eef_delta_pose_gripper needs 7 dimensions (dx dy dz drx dry drz gripper), got 2`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := embodiment.Parse([]byte(ca.yaml), embodiment.YAML)
			require.EqualError(t, err, ca.err)
		})
	}
}

func TestWorkspaceErrors(t *testing.T) {
	panda, err := embodiment.Builtin("panda_sim")
	require.NoError(t, err)
	for _, ca := range []struct {
		name  string
		patch func(w *embodiment.Workspace)
		err   string
	}{
		{"inverted", func(w *embodiment.Workspace) { w.Max[2] = -1 }, "workspace.max[2]: must be greater than min along z (0)"},
		{"no field", func(w *embodiment.Workspace) { w.StateField = "" }, "workspace.state_field: must name the state field holding the end-effector position"},
		{"unknown field", func(w *embodiment.Workspace) { w.StateField = "joint_pos" }, `workspace.state_field: no state field "joint_pos"`},
		{"short field", func(w *embodiment.Workspace) { w.StateField = "gripper_qpos" }, `workspace.state_field: "gripper_qpos" has 2 values, needs at least 3 (x, y, z)`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			s := *panda
			w := *panda.Workspace
			ca.patch(&w)
			s.Workspace = &w
			err := s.Validate()
			require.EqualError(t, err, ca.err)
			var fe *embodiment.FieldError
			require.ErrorAs(t, err, &fe)
		})
	}
}

func TestLoadYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	panda, err := embodiment.Builtin("panda_sim")
	require.NoError(t, err)
	data, err := json.Marshal(panda)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.json"), data, 0o600))
	got, err := embodiment.Load(filepath.Join(dir, "p.json"))
	require.NoError(t, err)
	require.Equal(t, panda, got)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yml"), []byte(base), 0o600))
	got, err = embodiment.Load(filepath.Join(dir, "b.yml"))
	require.NoError(t, err)
	require.Equal(t, "t", got.Name)
	require.False(t, got.IsDryRun())

	_, err = embodiment.Load(filepath.Join(dir, "b.toml"))
	require.ErrorContains(t, err, "unknown extension")
	_, err = embodiment.Load(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "no such file")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"name":"x","action_space":"base_twist","control_rate_hz":5,"dims":[{"name":"v","min":1,"max":0}]}`), 0o600))
	_, err = embodiment.Load(filepath.Join(dir, "bad.json"))
	require.EqualError(t, err, filepath.Join(dir, "bad.json")+`: embodiment "x": dims[0].max: must be greater than min (1)`)

	_, err = embodiment.Parse([]byte(`{"name":"x"} {}`), embodiment.JSON)
	require.EqualError(t, err, "embodiment: decode json: trailing data after the spec")
	_, err = embodiment.Parse([]byte(base), "toml")
	require.EqualError(t, err, `embodiment: unknown format "toml" (want yaml or json)`)
}

func TestDryRunOverride(t *testing.T) {
	s, err := embodiment.Parse([]byte(base+"real: true\ndry_run: false\n"), embodiment.YAML)
	require.ErrorContains(t, err, "must be set for a real robot") // limits are still required
	require.Nil(t, s)
	s, err = embodiment.Builtin("mobile_base")
	require.NoError(t, err)
	require.True(t, s.IsDryRun())
	f := false
	s.DryRun = &f
	require.False(t, s.IsDryRun())
}

func FuzzParse(f *testing.F) {
	for _, name := range embodiment.Builtins() {
		s, err := embodiment.Builtin(name)
		require.NoError(f, err)
		js, err := json.Marshal(s)
		require.NoError(f, err)
		f.Add(js, true)
	}
	f.Add([]byte(base), false)
	f.Add([]byte(base+"  - {name: c, min: .nan, max: 1}\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := embodiment.YAML
		if isJSON {
			format = embodiment.JSON
		}
		s, err := embodiment.Parse(data, format)
		if err != nil {
			return
		}
		// A parsed spec is valid and survives a JSON round trip.
		require.NoError(t, s.Validate())
		js, err := json.Marshal(s)
		require.NoError(t, err)
		s2, err := embodiment.Parse(js, embodiment.JSON)
		require.NoError(t, err)
		require.Equal(t, s, s2)
	})
}
