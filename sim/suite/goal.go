package suite

import (
	"fmt"
	"math"
	"strings"

	"github.com/vstgo/vst/sim"
)

// kindSites lists the region sites ("<name>_<suffix>") each kind has;
// "drawer#_region" stands for every drawer.
var kindSites = map[sim.ObjectKind][]string{
	sim.Basket:    {"contain_region"},
	sim.Cabinet:   {"top_side", "drawer#_region"},
	sim.Stove:     {"cook_region"},
	sim.Microwave: {"heating_region"},
}

// LIBERO's predicate thresholds (libero/libero/envs/predicates and
// object_states; see shared/reference/libero.md §1.3).
const (
	// OnXYTolerance is On(object, object)'s limit on the horizontal
	// distance between the two body origins, in metres.
	OnXYTolerance = 0.03
	// OnRegionAbove is how far above a region's top face an object's origin
	// may be for On(object, region), in metres.
	OnRegionAbove = 0.10
	// OnRegionBelow is how far below it the origin may be, in metres.
	OnRegionBelow = 0.005
	// InLowerSlack lowers a region's bottom face for In, in metres.
	InLowerSlack = 0.01
	// DrawerOpenBelow: a drawer is open when its slide joint is below this
	// (m, negative pulls it out).
	DrawerOpenBelow = -0.14
	// DrawerClosedAbove: a drawer is closed when its joint is above this.
	// LIBERO uses q > 0 with a joint range reaching +0.005; our drawers'
	// range ends at 0, so the same 5 mm margin sits below it.
	DrawerClosedAbove = -0.005
	// DoorOpenBelow: a microwave door is open below this angle (rad).
	DoorOpenBelow = -1.3
	// DoorClosedAbove: a microwave door is closed above this angle (rad).
	DoorClosedAbove = -0.005
	// KnobOnAtLeast: a stove is on when its knob angle is at least this.
	KnobOnAtLeast = 0.5
	// KnobOffBelow: a stove is off when its knob angle is below this.
	KnobOffBelow = 0.0
)

// atomKind enumerates the compiled predicate forms.
type atomKind int

const (
	onObject    atomKind = iota // On(a, object)
	onSite                      // On(a, region site of an object)
	onTable                     // On(a, table region)
	inSite                      // In(a, region site)
	jointOpen                   // Open(fixture or joint)
	jointClosed                 // Close(fixture or joint)
	knobOn                      // TurnOn(stove)
	knobOff                     // TurnOff(stove)
)

// atom is one compiled goal predicate.
type atom struct {
	kind   atomKind
	a, b   string   // object and target (object, site or table region)
	owner  string   // the object owning site b
	joints []string // articulation joints for open/close/turn
	region RegionSpec
}

// Goal is a TaskSpec's goal: the conjunction of its predicates, a sim.Goal.
type Goal struct {
	atoms []atom
}

// NewGoal compiles the spec's goal predicates.
func NewGoal(s *TaskSpec) (*Goal, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	kinds, regions := s.names()
	g := &Goal{}
	for _, p := range s.Goal {
		a, err := compileAtom(p, kinds, regions)
		if err != nil {
			return nil, err
		}
		g.atoms = append(g.atoms, a)
	}
	return g, nil
}

// names returns the spec's objects (with their kinds, drawer counts
// resolved) and table regions.
func (s *TaskSpec) names() (map[string]sim.ObjectKind, map[string]RegionSpec) {
	kinds := map[string]sim.ObjectKind{}
	for _, o := range s.Objects {
		kinds[o.Name] = o.Kind
	}
	regions := map[string]RegionSpec{}
	for _, r := range s.Regions {
		regions[r.Name] = r
	}
	return kinds, regions
}

func compileAtom[R any](p Predicate, kinds map[string]sim.ObjectKind, regions map[string]R) (atom, error) {
	op := strings.ToLower(p.Op)
	want := 1
	if op == "on" || op == "in" {
		want = 2
	}
	switch op {
	case "on", "in", "open", "close", "turnon", "turnoff":
	default:
		return atom{}, fmt.Errorf("op %q is not one of on, in, open, close, turnon, turnoff", p.Op)
	}
	if len(p.Args) != want {
		return atom{}, fmt.Errorf("%s takes %d args, got %d", op, want, len(p.Args))
	}
	if want == 2 {
		a, b := p.Args[0], p.Args[1]
		ka, ok := kinds[a]
		if !ok || ka.Fixed() {
			return atom{}, fmt.Errorf("args[0] %q is not a movable object", a)
		}
		if a == b {
			return atom{}, fmt.Errorf("args[1] %q is args[0]", b)
		}
		if _, ok := kinds[b]; ok && op == "on" {
			return atom{kind: onObject, a: a, b: b}, nil
		}
		if r, ok := regions[b]; ok && op == "on" {
			at := atom{kind: onTable, a: a, b: b}
			if rs, isSpec := any(r).(RegionSpec); isSpec {
				at.region = rs
			}
			return at, nil
		}
		owner, err := siteOwner(b, kinds)
		if err != nil {
			return atom{}, fmt.Errorf("args[1]: %w", err)
		}
		if owner == a {
			return atom{}, fmt.Errorf("args[1] %q belongs to args[0]", b)
		}
		if op == "on" {
			return atom{kind: onSite, a: a, b: b, owner: owner}, nil
		}
		return atom{kind: inSite, a: a, b: b, owner: owner}, nil
	}
	x := p.Args[0]
	var joints []string
	if k, ok := kinds[x]; ok {
		switch {
		case k == sim.Microwave && (op == "open" || op == "close"):
			joints = []string{x + "_door"}
		case k == sim.Stove && (op == "turnon" || op == "turnoff"):
			joints = []string{x + "_knob"}
		case k == sim.Cabinet && (op == "open" || op == "close"):
			joints = []string{x + "_drawer#"}
		}
	} else {
		j := strings.TrimSuffix(x, "_region")
		if owner, err := jointOwner(j, kinds); err == nil {
			switch kinds[owner] {
			case sim.Cabinet, sim.Microwave:
				if op == "open" || op == "close" {
					joints = []string{j}
				}
			case sim.Stove:
				if op == "turnon" || op == "turnoff" {
					joints = []string{j}
				}
			}
		}
	}
	if joints == nil {
		return atom{}, fmt.Errorf("args[0] %q has no articulation %s applies to", x, op)
	}
	kind := map[string]atomKind{"open": jointOpen, "close": jointClosed, "turnon": knobOn, "turnoff": knobOff}[op]
	return atom{kind: kind, a: x, joints: joints}, nil
}

// Check implements sim.Goal: every predicate holds.
func (g *Goal) Check(e *sim.Env) (bool, error) {
	for i := range g.atoms {
		ok, err := g.atoms[i].holds(e)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Holds reports whether predicate i of the goal holds in e's state.
func (g *Goal) Holds(e *sim.Env, i int) (bool, error) {
	if i < 0 || i >= len(g.atoms) {
		return false, fmt.Errorf("goal: predicate %d of %d", i, len(g.atoms))
	}
	return g.atoms[i].holds(e)
}

// Len is the number of predicates.
func (g *Goal) Len() int { return len(g.atoms) }

// expandJoints resolves "<cabinet>_drawer#" to the drawers the env has.
func expandJoints(e *sim.Env, joints []string) []string {
	var out []string
	for _, j := range joints {
		base, ok := strings.CutSuffix(j, "#")
		if !ok {
			out = append(out, j)
			continue
		}
		for i := 0; i < 5; i++ {
			n := fmt.Sprintf("%s%d", base, i)
			if _, err := e.JointPos(n); err != nil {
				break
			}
			out = append(out, n)
		}
	}
	return out
}

func (a *atom) holds(e *sim.Env) (bool, error) {
	switch a.kind {
	case onObject:
		pa, err := e.ObjectPose(a.a)
		if err != nil {
			return false, err
		}
		pb, err := e.ObjectPose(a.b)
		if err != nil {
			return false, err
		}
		if pb.Pos[2] > pa.Pos[2] || math.Hypot(pa.Pos[0]-pb.Pos[0], pa.Pos[1]-pb.Pos[1]) >= OnXYTolerance {
			return false, nil
		}
		return e.InContact(a.a, a.b)
	case onSite, inSite:
		pa, err := e.ObjectPose(a.a)
		if err != nil {
			return false, err
		}
		r, err := e.Region(a.b)
		if err != nil {
			return false, err
		}
		// The origin in the site frame: Rᵀ (p − c).
		var d [3]float64
		for k := range 3 {
			for m := range 3 {
				d[k] += r.Rot[3*m+k] * (pa.Pos[m] - r.Pos[m])
			}
		}
		h := r.HalfSize
		if a.kind == inSite {
			return math.Abs(d[0]) <= h[0] && math.Abs(d[1]) <= h[1] && d[2] <= h[2] && d[2] >= -h[2]-InLowerSlack, nil
		}
		// Our objects' origins are their bottom centres and the On sites
		// (top sides, cook regions) are centred on the supporting surface,
		// so the origin must lie from just below the region's lower face to
		// OnRegionAbove over its upper face.
		if math.Abs(d[0]) >= h[0] || math.Abs(d[1]) >= h[1] || d[2] <= -h[2]-OnRegionBelow || d[2] >= h[2]+OnRegionAbove {
			return false, nil
		}
		return e.InContact(a.a, a.owner)
	case onTable:
		pa, err := e.ObjectPose(a.a)
		if err != nil {
			return false, err
		}
		surface := e.Config().Scene.WithDefaults().TableSize[2]
		dz := pa.Pos[2] - surface
		return math.Abs(pa.Pos[0]-a.region.Pos[0]) < a.region.HalfSize[0] && math.Abs(pa.Pos[1]-a.region.Pos[1]) < a.region.HalfSize[1] &&
			dz > -OnRegionBelow && dz < OnRegionAbove, nil
	}
	joints := expandJoints(e, a.joints)
	if len(joints) == 0 {
		return false, fmt.Errorf("goal: %s has no joints", a.a)
	}
	anyOK, all := false, true
	for _, j := range joints {
		q, err := e.JointPos(j)
		if err != nil {
			return false, err
		}
		door := strings.HasSuffix(j, "_door")
		var ok bool
		switch a.kind {
		case jointOpen:
			ok = (door && q < DoorOpenBelow) || (!door && q < DrawerOpenBelow)
		case jointClosed:
			ok = (door && q > DoorClosedAbove) || (!door && q > DrawerClosedAbove)
		case knobOn:
			ok = q >= KnobOnAtLeast
		case knobOff:
			ok = q < KnobOffBelow
		}
		anyOK = anyOK || ok
		all = all && ok
	}
	if a.kind == jointOpen {
		return anyOK, nil
	}
	return all, nil
}
