package suite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vstgo/vst/sim"
)

// TaskSpec is the user-extensible task description (YAML or JSON): the
// scene's objects with their initial-state regions, named table regions,
// initial articulation states, the goal predicates, the instruction and the
// step limit. The built-in suites are written in it.
type TaskSpec struct {
	// Name identifies the task (e.g. the LIBERO file-name style string).
	// It defaults to the instruction with spaces replaced by underscores.
	Name string `json:"name" yaml:"name"`
	// Instruction is the language instruction handed to policies.
	Instruction string `json:"instruction" yaml:"instruction"`
	// MaxSteps is the episode step limit (after the settle steps). It
	// defaults to 300.
	MaxSteps int `json:"max_steps" yaml:"max_steps"`
	// TableSize is the table top's length, width and height in metres. It
	// defaults to LIBERO's 1.0 × 1.2 m at 0.9 m.
	TableSize [3]float64 `json:"table_size" yaml:"table_size"`
	// Objects are the scene's objects and fixtures.
	Objects []ObjectSpec `json:"objects" yaml:"objects"`
	// Regions are named rectangles on the table usable as On targets
	// (LIBERO's table regions such as "stove_front_region").
	Regions []RegionSpec `json:"regions" yaml:"regions"`
	// Joints sets articulations before objects are placed (e.g. a drawer
	// starting open, a stove starting on).
	Joints []JointInit `json:"joints" yaml:"joints"`
	// Goal is the conjunction of predicates that ends the episode with
	// success. It must not be empty.
	Goal []Predicate `json:"goal" yaml:"goal"`
}

// ObjectSpec is one object of a TaskSpec.
type ObjectSpec struct {
	// Name is the body name ([A-Za-z0-9_]+, unique).
	Name string `json:"name" yaml:"name"`
	// Kind is a sim.ObjectKind (bowl, plate, mug, box, cylinder, basket,
	// cabinet, stove, microwave).
	Kind sim.ObjectKind `json:"kind" yaml:"kind"`
	// Pos is a fixture's position, or the centre of a movable object's
	// initial-state region: x, y on the table (world coordinates, table
	// centre at 0, the robot at −x), or relative to the support's centre
	// when On is set. Its z is ignored for movable objects.
	Pos [3]float64 `json:"pos" yaml:"pos"`
	// Range is the half-extent (x, y) of the uniform initial-state region
	// around Pos. It defaults to 0 (a fixed position).
	Range [2]float64 `json:"range" yaml:"range"`
	// Yaw is the range [lo, hi] of the initial yaw in radians; fixtures use
	// lo. It defaults to 0.
	Yaw [2]float64 `json:"yaw" yaml:"yaw"`
	// On places the object on another object (by name) or inside/on a
	// region site (e.g. "cabinet_drawer0_region", "cabinet_top_side",
	// "stove_cook_region"). It defaults to the table.
	On string `json:"on" yaml:"on"`
	// Size overrides the kind's default size (see sim.ObjectSpec.Size).
	Size [3]float64 `json:"size" yaml:"size"`
	// Mass overrides the kind's default mass in kg.
	Mass float64 `json:"mass" yaml:"mass"`
	// RGBA overrides the kind's default colour.
	RGBA [4]float64 `json:"rgba" yaml:"rgba"`
	// Drawers is a cabinet's number of drawers. It defaults to 3.
	Drawers int `json:"drawers" yaml:"drawers"`
}

// RegionSpec is a named rectangle on the table top.
type RegionSpec struct {
	// Name is the region's name, used as a predicate argument.
	Name string `json:"name" yaml:"name"`
	// Pos is the rectangle's centre (x, y).
	Pos [2]float64 `json:"pos" yaml:"pos"`
	// HalfSize is the rectangle's half-extent (x, y); both must be positive.
	HalfSize [2]float64 `json:"half_size" yaml:"half_size"`
}

// JointInit sets one articulation's initial position.
type JointInit struct {
	// Joint is the joint name (e.g. "cabinet_drawer0", "stove_knob",
	// "microwave_door").
	Joint string `json:"joint" yaml:"joint"`
	// Pos is the position (m or rad), clamped to the joint's range.
	Pos float64 `json:"pos" yaml:"pos"`
}

// Predicate is one goal atom: op is on, in, open, close, turnon or turnoff
// (case-insensitive); args name objects, sites, table regions or joints.
type Predicate struct {
	// Op is the predicate name.
	Op string `json:"op" yaml:"op"`
	// Args are its arguments: on/in take two, the others one.
	Args []string `json:"args" yaml:"args"`
}

// ParseTaskSpec decodes a YAML or JSON task spec (unknown fields are
// errors) and validates it.
func ParseTaskSpec(data []byte) (s *TaskSpec, err error) {
	// yaml.v3 reports some malformed documents by panicking internally;
	// bad input must come back as an error.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("task spec: malformed document: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var spec TaskSpec
	if err := dec.Decode(&spec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("task spec: empty document")
		}
		return nil, fmt.Errorf("task spec: %w", err)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

// LoadTaskFile reads and parses a task spec file and returns it as a Task
// of no suite (index 0).
func LoadTaskFile(path string) (*Task, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("task file: %w", err)
	}
	s, err := ParseTaskSpec(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return newTask("", 0, *s), nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Validate checks the spec; errors name the offending field.
func (s *TaskSpec) Validate() error {
	if strings.TrimSpace(s.Instruction) == "" {
		return errors.New("task spec: instruction is empty")
	}
	if s.MaxSteps < 0 || s.MaxSteps > 100000 {
		return fmt.Errorf("task spec: max_steps %d outside [0, 100000]", s.MaxSteps)
	}
	for k, v := range s.TableSize {
		if !finite(v) || v < 0 || v > 10 {
			return fmt.Errorf("task spec: table_size[%d] = %v outside [0, 10]", k, v)
		}
	}
	if len(s.Objects) == 0 {
		return errors.New("task spec: objects is empty")
	}
	if len(s.Objects) > 64 {
		return fmt.Errorf("task spec: objects has %d entries, at most 64", len(s.Objects))
	}
	kinds := map[string]sim.ObjectKind{}
	for i, o := range s.Objects {
		f := fmt.Sprintf("task spec: objects[%d]", i)
		if !nameRE.MatchString(o.Name) {
			return fmt.Errorf("%s.name %q must match [A-Za-z0-9_]+", f, o.Name)
		}
		if _, dup := kinds[o.Name]; dup {
			return fmt.Errorf("%s.name %q is used twice", f, o.Name)
		}
		if !o.Kind.Known() {
			return fmt.Errorf("%s.kind %q is unknown", f, o.Kind)
		}
		kinds[o.Name] = o.Kind
		if !finite(o.Pos[:]...) || !finite(o.Range[:]...) || !finite(o.Yaw[:]...) || !finite(o.Size[:]...) || !finite(o.Mass) || !finite(o.RGBA[:]...) {
			return fmt.Errorf("%s (%s): non-finite number", f, o.Name)
		}
		for k, v := range o.Pos {
			if math.Abs(v) > 5 {
				return fmt.Errorf("%s.pos[%d] = %v outside [-5, 5] m", f, k, v)
			}
		}
		for k, v := range o.Range {
			if v < 0 || v > 1 {
				return fmt.Errorf("%s.range[%d] = %v outside [0, 1] m", f, k, v)
			}
		}
		if o.Yaw[1] < o.Yaw[0] || math.Abs(o.Yaw[0]) > 2*math.Pi || math.Abs(o.Yaw[1]) > 2*math.Pi {
			return fmt.Errorf("%s.yaw %v must be an increasing range within ±2π", f, o.Yaw)
		}
		if o.Kind.Fixed() && o.On != "" {
			return fmt.Errorf("%s.on: fixture %q cannot be placed on %q", f, o.Name, o.On)
		}
	}
	regions := map[string]bool{}
	for i, r := range s.Regions {
		f := fmt.Sprintf("task spec: regions[%d]", i)
		if !nameRE.MatchString(r.Name) {
			return fmt.Errorf("%s.name %q must match [A-Za-z0-9_]+", f, r.Name)
		}
		if regions[r.Name] || kinds[r.Name] != "" {
			return fmt.Errorf("%s.name %q is used twice", f, r.Name)
		}
		regions[r.Name] = true
		if !finite(r.Pos[:]...) || !finite(r.HalfSize[:]...) || !(r.HalfSize[0] > 0) || !(r.HalfSize[1] > 0) || math.Abs(r.Pos[0]) > 5 || math.Abs(r.Pos[1]) > 5 {
			return fmt.Errorf("%s (%s): pos must be finite within ±5 m and half_size positive", f, r.Name)
		}
	}
	for i, o := range s.Objects {
		if o.On == "" {
			continue
		}
		f := fmt.Sprintf("task spec: objects[%d].on", i)
		if o.On == o.Name {
			return fmt.Errorf("%s: %q cannot rest on itself", f, o.On)
		}
		if _, ok := kinds[o.On]; ok {
			if err := s.supportChain(o.Name); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			continue
		}
		if _, err := siteOwner(o.On, kinds); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	for i, j := range s.Joints {
		f := fmt.Sprintf("task spec: joints[%d]", i)
		if !finite(j.Pos) {
			return fmt.Errorf("%s.pos is not finite", f)
		}
		if _, err := jointOwner(j.Joint, kinds); err != nil {
			return fmt.Errorf("%s.joint: %w", f, err)
		}
	}
	if len(s.Goal) == 0 {
		return errors.New("task spec: goal is empty")
	}
	for i, p := range s.Goal {
		if _, err := compileAtom(p, kinds, regions); err != nil {
			return fmt.Errorf("task spec: goal[%d]: %w", i, err)
		}
	}
	sc := s.scene()
	return sc.Validate()
}

// supportChain checks that following On from name reaches the table or a
// site without a cycle.
func (s *TaskSpec) supportChain(name string) error {
	on := map[string]string{}
	for _, o := range s.Objects {
		on[o.Name] = o.On
	}
	seen := map[string]bool{}
	for n := name; on[n] != ""; n = on[n] {
		if seen[n] {
			return fmt.Errorf("objects rest on each other in a cycle through %q", n)
		}
		seen[n] = true
	}
	return nil
}

// siteOwner returns the object owning a region site name, checking the
// site exists for that object's kind.
func siteOwner(site string, kinds map[string]sim.ObjectKind) (string, error) {
	for name, kind := range kinds {
		rest, ok := strings.CutPrefix(site, name+"_")
		if !ok {
			continue
		}
		for _, suf := range kindSites[kind] {
			if rest == suf || (suf == "drawer#_region" && drawerRegionRE.MatchString(rest)) {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("%q is neither an object nor a region site of one", site)
}

// jointOwner returns the object owning an articulation joint name.
func jointOwner(joint string, kinds map[string]sim.ObjectKind) (string, error) {
	for name, kind := range kinds {
		rest, ok := strings.CutPrefix(joint, name+"_")
		if !ok {
			continue
		}
		switch {
		case kind == sim.Cabinet && drawerJointRE.MatchString(rest),
			kind == sim.Stove && rest == "knob",
			kind == sim.Microwave && rest == "door":
			return name, nil
		}
	}
	return "", fmt.Errorf("%q is not a drawer, knob or door joint of an object", joint)
}

var (
	drawerRegionRE = regexp.MustCompile(`^drawer[0-4]_region$`)
	drawerJointRE  = regexp.MustCompile(`^drawer[0-4]$`)
)

// scene converts the spec to the simulator's scene (movable objects at
// their region centres; Reset samples their actual initial poses).
func (s *TaskSpec) scene() sim.SceneSpec {
	sc := sim.SceneSpec{TableSize: s.TableSize}
	for i, o := range s.Objects {
		pos := o.Pos
		if !o.Kind.Fixed() {
			// Parked apart above the table until Reset places them.
			pos = [3]float64{o.Pos[0], o.Pos[1], 0.3 + 0.15*float64(i)}
			if o.On != "" {
				pos[0], pos[1] = -0.4+0.05*float64(i), 0.55
			}
		}
		sc.Objects = append(sc.Objects, sim.ObjectSpec{Name: o.Name, Kind: o.Kind, Pos: pos, Yaw: o.Yaw[0],
			Size: o.Size, Mass: o.Mass, RGBA: o.RGBA, Drawers: o.Drawers})
	}
	return sc
}
