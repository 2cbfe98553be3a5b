package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format names a stats file format.
type Format int

const (
	// LeRobot is meta/stats.json: {"<feature>": {"mean", "std", "min",
	// "max", "count", "q01", "q10", "q50", "q90", "q99"}}. It has no mask.
	LeRobot Format = iota
	// VST is VST's per-suite norm_stats JSON: {"norm_stats": {"action":
	// {mean, std, max, min, q01, q99, mask}, "proprio": {…},
	// "num_transitions": N, "num_trajectories": M}}.
	VST
	// OpenVLA is dataset_statistics.json: {"<dataset>": {"action": {…},
	// "proprio": {…}, "num_transitions": N, "num_trajectories": M}}.
	OpenVLA
	// OpenPI is openpi's assets/<id>/norm_stats.json: {"norm_stats":
	// {"actions": {mean, std, q01, q99}, "state": {…}}}.
	OpenPI
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case LeRobot:
		return "lerobot"
	case VST:
		return "vst"
	case OpenVLA:
		return "openvla"
	case OpenPI:
		return "openpi"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// decodeFloats reads a JSON number or a (possibly nested) array of numbers
// into a flat list; LeRobot stores image stats with shape (3, 1, 1).
func decodeFloats(raw json.RawMessage) ([]float64, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	out := []float64{}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case float64:
			out = append(out, x)
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("want numbers, found %T", v)
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeCount reads a count written as N or [N].
func decodeCount(raw json.RawMessage) (int64, error) {
	v, err := decodeFloats(raw)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 || v[0] < 0 || v[0] != math.Trunc(v[0]) || v[0] > 1<<53 {
		return 0, fmt.Errorf("want one non-negative integer, found %s", truncate(raw))
	}
	return int64(v[0]), nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// decodeStats reads one feature's stats object. Unknown keys are ignored.
func decodeStats(raw json.RawMessage) (*Stats, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("stats are not a JSON object: %w", err)
	}
	s := &Stats{}
	dst := map[string]*[]float64{
		"mean": &s.Mean, "std": &s.Std, "min": &s.Min, "max": &s.Max,
		"q01": &s.Q01, "q10": &s.Q10, "q50": &s.Q50, "q90": &s.Q90, "q99": &s.Q99,
	}
	for k, v := range m {
		switch {
		case dst[k] != nil:
			f, err := decodeFloats(v)
			if err != nil {
				return nil, fmt.Errorf("stats field %s: %w", k, err)
			}
			*dst[k] = f
		case k == "count":
			c, err := decodeCount(v)
			if err != nil {
				return nil, fmt.Errorf("stats field count: %w", err)
			}
			s.Count = c
		case k == "mask":
			if err := json.Unmarshal(v, &s.Mask); err != nil {
				return nil, fmt.Errorf("stats field mask: %w", err)
			}
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseLeRobot reads a LeRobot meta/stats.json. Every top-level key is a
// feature; image features' (3, 1, 1) arrays are flattened to 3 values.
func ParseLeRobot(data []byte) (*Set, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("lerobot stats: not a JSON object: %w", err)
	}
	set := &Set{Features: map[string]*Stats{}}
	for name, raw := range top {
		s, err := decodeStats(raw)
		if err != nil {
			return nil, fmt.Errorf("lerobot stats: feature %q: %w", name, err)
		}
		set.Features[name] = s
	}
	if len(set.Features) == 0 {
		return nil, fmt.Errorf("lerobot stats: no features")
	}
	return set, nil
}

// parseGroup reads an object whose keys name features (fileKeys maps file
// key → canonical name; "num_transitions"/"num_trajectories" are counts;
// other keys are ignored).
func parseGroup(raw json.RawMessage, fileKeys map[string]string) (*Set, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	set := &Set{Features: map[string]*Stats{}}
	for k, v := range m {
		var err error
		switch {
		case fileKeys[k] != "":
			var s *Stats
			if s, err = decodeStats(v); err == nil {
				set.Features[fileKeys[k]] = s
			}
		case k == "num_transitions":
			set.NumTransitions, err = decodeCount(v)
		case k == "num_trajectories":
			set.NumTrajectories, err = decodeCount(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if set.Features[Action] == nil {
		want := make([]string, 0, len(fileKeys))
		for k, c := range fileKeys {
			if c == Action {
				want = append(want, k)
			}
		}
		return nil, fmt.Errorf("no %q stats", strings.Join(want, "/"))
	}
	return set, nil
}

var (
	vstKeys    = map[string]string{"action": Action, "proprio": State}
	openpiKeys = map[string]string{"actions": Action, "state": State}
)

// ParseVST reads VST's norm_stats JSON ("action" → Action, "proprio" →
// State).
func ParseVST(data []byte) (*Set, error) {
	inner, err := normStats(data)
	if err != nil {
		return nil, fmt.Errorf("vst stats: %w", err)
	}
	set, err := parseGroup(inner, vstKeys)
	if err != nil {
		return nil, fmt.Errorf("vst stats: norm_stats: %w", err)
	}
	return set, nil
}

// ParseOpenPI reads openpi's norm_stats.json ("actions" → Action, "state"
// → State).
func ParseOpenPI(data []byte) (*Set, error) {
	inner, err := normStats(data)
	if err != nil {
		return nil, fmt.Errorf("openpi stats: %w", err)
	}
	set, err := parseGroup(inner, openpiKeys)
	if err != nil {
		return nil, fmt.Errorf("openpi stats: norm_stats: %w", err)
	}
	return set, nil
}

func normStats(data []byte) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	inner, ok := top["norm_stats"]
	if !ok {
		return nil, fmt.Errorf("no norm_stats key")
	}
	return inner, nil
}

// ParseOpenVLA reads OpenVLA's dataset_statistics.json, taking the entry
// named dataset; with dataset "" the file must hold exactly one.
func ParseOpenVLA(data []byte, dataset string) (*Set, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("openvla stats: not a JSON object: %w", err)
	}
	if dataset == "" {
		if len(top) != 1 {
			names := make([]string, 0, len(top))
			for k := range top {
				names = append(names, k)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("openvla stats: %d datasets (%s); name one", len(top), strings.Join(names, ", "))
		}
		for k := range top {
			dataset = k
		}
	}
	raw, ok := top[dataset]
	if !ok {
		return nil, fmt.Errorf("openvla stats: no dataset %q", dataset)
	}
	set, err := parseGroup(raw, vstKeys)
	if err != nil {
		return nil, fmt.Errorf("openvla stats: dataset %q: %w", dataset, err)
	}
	return set, nil
}

// Parse detects the format of a stats file and reads it: a top-level
// "norm_stats" means VST (with "action") or OpenPI (with "actions"); a
// single top-level object holding an "action" object means OpenVLA;
// anything else is read as LeRobot.
func Parse(data []byte) (*Set, Format, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, 0, fmt.Errorf("stats: not a JSON object: %w", err)
	}
	if inner, ok := top["norm_stats"]; ok {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(inner, &m); err != nil {
			return nil, 0, fmt.Errorf("stats: norm_stats is not a JSON object: %w", err)
		}
		if _, ok := m["actions"]; ok {
			s, err := ParseOpenPI(data)
			return s, OpenPI, err
		}
		s, err := ParseVST(data)
		return s, VST, err
	}
	if len(top) == 1 {
		for _, v := range top {
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) == nil {
				if a, ok := m["action"]; ok && bytes.HasPrefix(bytes.TrimSpace(a), []byte("{")) {
					s, err := ParseOpenVLA(data, "")
					return s, OpenVLA, err
				}
			}
		}
	}
	s, err := ParseLeRobot(data)
	return s, LeRobot, err
}

// ReadFile reads and detects a stats file (see Parse).
func ReadFile(path string) (*Set, Format, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("stats: %w", err)
	}
	s, f, err := Parse(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return s, f, nil
}

// lerobotJSON, vstJSON and openpiJSON fix each format's keys and order.
type lerobotJSON struct {
	Mean  []float64 `json:"mean,omitempty"`
	Std   []float64 `json:"std,omitempty"`
	Min   []float64 `json:"min,omitempty"`
	Max   []float64 `json:"max,omitempty"`
	Count []int64   `json:"count,omitempty"`
	Q01   []float64 `json:"q01,omitempty"`
	Q10   []float64 `json:"q10,omitempty"`
	Q50   []float64 `json:"q50,omitempty"`
	Q90   []float64 `json:"q90,omitempty"`
	Q99   []float64 `json:"q99,omitempty"`
}

type vstJSON struct {
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
	Max  []float64 `json:"max"`
	Min  []float64 `json:"min"`
	Q01  []float64 `json:"q01"`
	Q99  []float64 `json:"q99"`
	Mask []bool    `json:"mask,omitempty"`
}

type openpiJSON struct {
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
	Q01  []float64 `json:"q01,omitempty"`
	Q99  []float64 `json:"q99,omitempty"`
}

// MarshalLeRobot writes the set as LeRobot's meta/stats.json (features in
// name order; count as [N]; absent fields and the mask are left out).
func (s *Set) MarshalLeRobot() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("lerobot stats: %w", err)
	}
	out := make(map[string]lerobotJSON, len(s.Features))
	for name, st := range s.Features {
		j := lerobotJSON{Mean: st.Mean, Std: st.Std, Min: st.Min, Max: st.Max,
			Q01: st.Q01, Q10: st.Q10, Q50: st.Q50, Q90: st.Q90, Q99: st.Q99}
		if st.Count > 0 {
			j.Count = []int64{st.Count}
		}
		out[name] = j
	}
	return json.MarshalIndent(out, "", "  ")
}

// vstStats converts one feature, filling absent fields with zeros as
// VST's files do; withMask includes the mask (all true when nil).
func vstStats(st *Stats, withMask bool) vstJSON {
	d := st.Dim()
	z := func(v []float64) []float64 {
		if v == nil {
			return make([]float64, d)
		}
		return v
	}
	j := vstJSON{Mean: z(st.Mean), Std: z(st.Std), Max: z(st.Max), Min: z(st.Min), Q01: z(st.Q01), Q99: z(st.Q99)}
	if withMask {
		j.Mask = make([]bool, d)
		for i := range d {
			j.Mask[i] = st.Masked(i)
		}
	}
	return j
}

// group builds the VST/OpenVLA object: action, proprio (zeros of the
// action's dimension when the set has no State, as VST writes) and counts.
func (s *Set) group() (map[string]any, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	act := s.Features[Action]
	if act == nil {
		return nil, fmt.Errorf("stats set has no %q feature", Action)
	}
	prop := s.Features[State]
	if prop == nil {
		prop = &Stats{Mean: make([]float64, act.Dim())}
	}
	nt := s.NumTransitions
	if nt == 0 {
		nt = act.Count
	}
	return map[string]any{
		"action": vstStats(act, true), "proprio": vstStats(prop, false),
		"num_transitions": nt, "num_trajectories": s.NumTrajectories,
	}, nil
}

// MarshalVST writes the set as VST's norm_stats JSON.
func (s *Set) MarshalVST() ([]byte, error) {
	g, err := s.group()
	if err != nil {
		return nil, fmt.Errorf("vst stats: %w", err)
	}
	return json.MarshalIndent(map[string]any{"norm_stats": g}, "", "  ")
}

// MarshalOpenVLA writes the set as OpenVLA's dataset_statistics.json under
// the given dataset name.
func (s *Set) MarshalOpenVLA(dataset string) ([]byte, error) {
	if dataset == "" {
		return nil, fmt.Errorf("openvla stats: empty dataset name")
	}
	g, err := s.group()
	if err != nil {
		return nil, fmt.Errorf("openvla stats: %w", err)
	}
	return json.MarshalIndent(map[string]any{dataset: g}, "", "  ")
}

// MarshalOpenPI writes the set's Action and State (when present) as
// openpi's norm_stats.json. Mean and std are required by openpi's reader.
func (s *Set) MarshalOpenPI() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("openpi stats: %w", err)
	}
	inner := map[string]openpiJSON{}
	for file, canon := range map[string]string{"actions": Action, "state": State} {
		st := s.Features[canon]
		if st == nil {
			continue
		}
		if st.Mean == nil || st.Std == nil {
			return nil, fmt.Errorf("openpi stats: feature %q lacks mean or std", canon)
		}
		inner[file] = openpiJSON{Mean: st.Mean, Std: st.Std, Q01: st.Q01, Q99: st.Q99}
	}
	if _, ok := inner["actions"]; !ok {
		return nil, fmt.Errorf("openpi stats: stats set has no %q feature", Action)
	}
	return json.MarshalIndent(map[string]any{"norm_stats": inner}, "", "  ")
}

// WriteFile writes data to path atomically: a temporary file in the same
// folder is synced and renamed over path, so a crash leaves either the old
// file or the new one.
func WriteFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("stats: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("stats: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("stats: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("stats: write %s: %w", path, err)
	}
	return nil
}
