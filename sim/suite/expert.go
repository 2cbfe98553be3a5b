package suite

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/mujoco"
)

// Expert is a scripted policy that solves a task from privileged simulator
// state: a planner turns the goal predicates into skills (pick-and-place,
// push, drawer pull/push, knob turn, door push) made of end-effector
// waypoints, tracked with LIBERO 7-D delta actions through the OSC
// controller. It reads the Env it was made for, not the observation, and
// is not safe for concurrent use.
type Expert struct {
	task *Task
	env  *sim.Env
	goal *Goal

	planned bool
	skills  []skill
	stages  []stage
	si, n   int
	home    [4]float64
	err     error
}

// skill expands into waypoint stages when it starts (reading the state at
// that moment).
type skill func(x *Expert) ([]stage, error)

// stage is one end-effector waypoint.
type stage struct {
	pos  [3]float64
	yaw  float64
	grip float32
	// tol ends the stage once the end effector is this close (after min
	// steps); max bounds the steps spent.
	tol      float64
	min, max int
	// until, when set, also ends the stage once it reports true.
	until func() bool
}

// NewExpert returns the scripted expert for task t acting in env (built by
// t.NewEnv). It implements policy.Policy (7-D OSC actions, horizon 1) and
// policy.Resetter; call Reset after each Task.Reset.
func NewExpert(t *Task, env *sim.Env) policy.Policy {
	g, err := NewGoal(&t.Spec)
	return &Expert{task: t, env: env, goal: g, err: err}
}

// Spec implements policy.Policy.
func (x *Expert) Spec() policy.Spec {
	return policy.Spec{Name: "expert", ActionDim: 7, Horizon: 1, StateDim: 8}
}

// Reset implements policy.Resetter: the next Act plans afresh.
func (x *Expert) Reset() {
	x.planned, x.skills, x.stages, x.si, x.n = false, nil, nil, 0, 0
}

// Act implements policy.Policy. The observation is not read: the expert
// uses the Env's privileged state.
func (x *Expert) Act(ctx context.Context, _ *policy.Observation) (*policy.Chunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if x.err != nil {
		return nil, fmt.Errorf("expert: %w", x.err)
	}
	eef, _, err := x.env.EEF()
	if err != nil {
		return nil, fmt.Errorf("expert: %w", err)
	}
	if !x.planned {
		x.home = eef.Quat
		if err := x.plan(); err != nil {
			return nil, fmt.Errorf("expert: plan: %w", err)
		}
		x.planned = true
	}
	for {
		if x.si < len(x.stages) {
			s := &x.stages[x.si]
			d := dist3(s.pos, eef.Pos)
			if x.n >= s.max || (x.n >= s.min && d < s.tol) || (s.until != nil && x.n >= s.min && s.until()) {
				x.si, x.n = x.si+1, 0
				continue
			}
			break
		}
		if len(x.skills) == 0 {
			// Done: hold still with the gripper as it was.
			g := float32(-1)
			if n := len(x.stages); n > 0 {
				g = x.stages[n-1].grip
			}
			return chunk(NoOp[:6], g), nil
		}
		next := x.skills[0]
		x.skills = x.skills[1:]
		st, err := next(x)
		if err != nil {
			return nil, fmt.Errorf("expert: %w", err)
		}
		if len(st) > 0 {
			x.stages, x.si, x.n = st, 0, 0
		}
	}
	s := x.stages[x.si]
	x.n++
	a := make([]float32, 7)
	// Carry held objects gently: fast swings shake a pinched bowl loose.
	vmax := 1.0
	if s.grip > 0 {
		vmax = carrySpeed
	}
	for k := range 3 {
		a[k] = clip1(posGain*(s.pos[k]-eef.Pos[k])/0.05) * float32(vmax)
	}
	goal := quatMul([4]float64{math.Cos(s.yaw / 2), 0, 0, math.Sin(s.yaw / 2)}, x.home)
	r := sim.QuatAxisAngle(quatMul(goal, quatConj(eef.Quat)))
	for k := range 3 {
		a[3+k] = clip1(r[k] / 0.5)
	}
	a[6] = s.grip
	return &policy.Chunk{Actions: a, H: 1, D: 7}, nil
}

// carrySpeed scales the actions while the gripper is closed.
const carrySpeed = 0.6

// posGain scales the position error (in units of the 0.05 m action scale).
const posGain = 2.5

func chunk(a []float32, g float32) *policy.Chunk {
	c := &policy.Chunk{Actions: append(append([]float32(nil), a...), g), H: 1, D: 7}
	return c
}

func clip1(v float64) float32 { return float32(math.Max(-1, math.Min(1, v))) }

func dist3(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// plan queues the skills that achieve the goal predicates: knobs first,
// then opening, then placements, then closing.
func (x *Expert) plan() error {
	x.skills = nil
	var opens, places, closes, knobs []skill
	for i := range x.goal.atoms {
		a := x.goal.atoms[i]
		switch a.kind {
		case knobOn, knobOff:
			knobs = append(knobs, x.turnKnob(a.joints[0], a.kind == knobOn))
		case jointOpen:
			for _, j := range expandJoints(x.env, a.joints)[:1] {
				opens = append(opens, x.articulate(j, true))
			}
		case jointClosed:
			for _, j := range expandJoints(x.env, a.joints) {
				closes = append(closes, x.articulate(j, false))
			}
		default:
			if strings.Contains(a.b, "_drawer") {
				j := strings.TrimSuffix(a.b[len(a.owner)+1:], "_region")
				places = append(places, x.articulate(a.owner+"_"+j, true))
			}
			if x.kind(a.a) == sim.Plate && a.kind == onTable {
				places = append(places, x.push(a.a, a.region))
				continue
			}
			places = append(places, x.pick(a.a), x.place(a.a, a, 0))
		}
	}
	x.skills = append(append(append(knobs, opens...), places...), closes...)
	x.stages, x.si, x.n = nil, 0, 0
	return nil
}

func (x *Expert) spec(name string) sim.ObjectSpec {
	for _, o := range x.env.Config().Scene.Objects {
		if o.Name == name {
			return o
		}
	}
	return sim.ObjectSpec{}
}

func (x *Expert) kind(name string) sim.ObjectKind { return x.spec(name).Kind }

func (x *Expert) surface() float64 { return x.env.Config().Scene.TableSize[2] }

// yawOf extracts the rotation about z of a (near-upright) pose.
func yawOf(q [4]float64) float64 {
	return math.Atan2(2*(q[0]*q[3]+q[1]*q[2]), 1-2*(q[2]*q[2]+q[3]*q[3]))
}

// wrapHalfPi maps an angle to (−π/4, π/4] modulo π/2.
func wrapHalfPi(a float64) float64 {
	for a > math.Pi/4 {
		a -= math.Pi / 2
	}
	for a <= -math.Pi/4 {
		a += math.Pi / 2
	}
	return a
}

// grasp returns the end-effector grasp point and yaw for an object.
func (x *Expert) grasp(name string) ([3]float64, float64, error) {
	p, err := x.env.ObjectPose(name)
	if err != nil {
		return [3]float64{}, 0, err
	}
	o := x.spec(name)
	g := p.Pos
	yaw := 0.0
	switch o.Kind {
	case sim.Bowl, sim.Mug:
		// Pinch the wall on the ±y side with more room around the hand.
		// The hand's body (0.2 m wide across the fingers) must also clear
		// tall fixtures such as an open drawer; where neither ±y side
		// does, pinch the wall on a ±x side with the hand turned 90°.
		out := o.Size[0] + 0.045 // the outer finger
		gz := g[2] + math.Max(0.015, o.Size[2]-0.018)
		score := func(dx, dy float64) float64 {
			pt := [2]float64{g[0] + dx*out, g[1] + dy*out}
			hx, hy := 0.03, 0.1
			if dx != 0 {
				hx, hy = 0.1, 0.03
			}
			c := [2]float64{g[0] + dx*o.Size[0], g[1] + dy*o.Size[0]}
			return math.Min(x.clearance(name, pt), x.handClearance(c, hx, hy, gz+0.045))
		}
		best, bdx, bdy := score(0, 1), 0.0, 1.0
		if v := score(0, -1); v > best {
			best, bdy = v, -1
		}
		if best < 0.015 {
			for _, dx := range []float64{-1, 1} {
				if v := score(dx, 0); v > best+0.005 {
					best, bdx, bdy = v, dx, 0
				}
			}
		}
		g[0] += bdx * (o.Size[0] - 0.0035)
		g[1] += bdy * (o.Size[0] - 0.0035)
		if bdx != 0 {
			yaw = math.Pi / 2
		}
		g[2] = gz
	case sim.Box:
		// Fingers close along the hand's y axis: align it with the box's
		// narrower horizontal side.
		yaw = wrapHalfPi(yawOf(p.Quat))
		if o.Size[1] > o.Size[0] {
			yaw = wrapHalfPi(yaw + math.Pi/2)
		}
		g[2] += math.Max(2*o.Size[2]-0.02, 0.024)
	case sim.Cylinder:
		// Round: any yaw grips it; keep the hand as it is.
		g[2] += math.Max(math.Min(o.Size[2]-0.03, 0.6*o.Size[2]), 0.024)
	default:
		return g, 0, fmt.Errorf("cannot grasp %s (%s)", name, o.Kind)
	}
	return g, yaw, nil
}

// clearance is the horizontal distance from point p to the nearest other
// object's footprint (fixtures as boxes), ignoring object skip and what it
// rests on or holds.
func (x *Expert) clearance(skip string, p [2]float64) float64 {
	best := math.Inf(1)
	sp, err := x.env.ObjectPose(skip)
	if err != nil {
		return best
	}
	for _, o := range x.env.Config().Scene.Objects {
		if o.Name == skip {
			continue
		}
		if o.Kind.Fixed() {
			hx, hy := o.Size[0], o.Size[1]
			front := o.Pos[0] - hx
			for i := range o.Drawers {
				// Open drawers and their handles stick out at the front.
				if q, err := x.env.JointPos(fmt.Sprintf("%s_drawer%d", o.Name, i)); err == nil && q < -0.01 {
					front = math.Min(front, o.Pos[0]-hx+q-0.07)
				}
			}
			cx := math.Max(front, math.Min(o.Pos[0]+hx, p[0]))
			cy := math.Max(o.Pos[1]-hy, math.Min(o.Pos[1]+hy, p[1]))
			best = math.Min(best, math.Hypot(cx-p[0], cy-p[1]))
			continue
		}
		op, err := x.env.ObjectPose(o.Name)
		if err != nil || math.Abs(op.Pos[2]-sp.Pos[2]) > 0.05 {
			continue // below or above: a support or a load
		}
		best = math.Min(best, math.Hypot(op.Pos[0]-p[0], op.Pos[1]-p[1])-radius(o))
	}
	return best
}

// handClearance is the horizontal gap between the hand body's footprint
// (centre c, half-extents hx, hy) and the footprints of fixtures whose top
// (or open drawer) rises above height z; negative when they overlap.
func (x *Expert) handClearance(c [2]float64, hx, hy, z float64) float64 {
	best := math.Inf(1)
	for _, o := range x.env.Config().Scene.Objects {
		if !o.Kind.Fixed() || x.surface()+o.Pos[2]+2*o.Size[2] < z {
			continue
		}
		front := o.Pos[0] - o.Size[0]
		for i := range o.Drawers {
			if q, err := x.env.JointPos(fmt.Sprintf("%s_drawer%d", o.Name, i)); err == nil && q < -0.01 {
				front = math.Min(front, o.Pos[0]-o.Size[0]+q)
			}
		}
		gx := math.Max(front-(c[0]+hx), (c[0]-hx)-(o.Pos[0]+o.Size[0]))
		gy := math.Max((o.Pos[1]-o.Size[1])-(c[1]+hy), (c[1]-hy)-(o.Pos[1]+o.Size[1]))
		if gx > 0 && gy > 0 {
			best = math.Min(best, math.Hypot(gx, gy))
		} else {
			best = math.Min(best, math.Max(gx, gy))
		}
	}
	return best
}

// transitZ is the minimum travel height over the table.
const transitZ = 0.22

// pick grasps an object from above and lifts it.
func (x *Expert) pick(name string) skill {
	return func(x *Expert) ([]stage, error) {
		g, yaw, err := x.grasp(name)
		if err != nil {
			return nil, err
		}
		eef, _, err := x.env.EEF()
		if err != nil {
			return nil, err
		}
		// Lift 10 cm (a bowl pinched at its wall tilts and hangs lower),
		// or 7 cm where that would leave the comfortable workspace.
		lift := 0.1
		if g[2]+lift > x.surface()+0.3 {
			lift = 0.07
		}
		safe := math.Max(x.surface()+transitZ, g[2]+lift)
		var st []stage
		if eef.Pos[2] < safe-0.03 {
			st = append(st, stage{pos: [3]float64{eef.Pos[0], eef.Pos[1], safe}, yaw: yaw, grip: -1, tol: 0.03, max: 30})
		}
		// Travel level (never sinking on the way: an open drawer or the
		// cabinet the hand just left may stand in between), then descend.
		travel := math.Max(safe, eef.Pos[2])
		return append(st,
			stage{pos: [3]float64{g[0], g[1], travel}, yaw: yaw, grip: -1, tol: 0.015, max: 60},
			stage{pos: [3]float64{g[0], g[1], g[2] + 0.04}, yaw: yaw, grip: -1, tol: 0.008, max: 30},
			stage{pos: g, yaw: yaw, grip: -1, tol: 0.005, max: 30},
			stage{pos: g, yaw: yaw, grip: 1, min: 6, max: 6},
			stage{pos: [3]float64{g[0], g[1], safe}, yaw: yaw, grip: 1, tol: 0.02, max: 40},
		), nil
	}
}

// holding reports whether the closed fingers hold the object: they stop
// short of meeting and the object stays at the hand. Finger contacts are
// not asked for: a firmly held object can lose one of them for a physics
// substep.
func (x *Expert) holding(name string) bool {
	eef, fingers, err := x.env.EEF()
	if err != nil {
		return false
	}
	p, err := x.env.ObjectPose(name)
	if err != nil {
		return false
	}
	o := x.spec(name)
	return fingers[0]-fingers[1] > 0.004 && dist3(eef.Pos, p.Pos) < radius(o)+2*o.Size[2]+0.03
}

// target returns where object name should rest (its origin) for the goal
// atom a.
func (x *Expert) target(name string, a atom) ([3]float64, error) {
	r := radius(x.spec(name))
	switch a.kind {
	case onObject:
		p, err := x.env.ObjectPose(a.b)
		if err != nil {
			return [3]float64{}, err
		}
		return [3]float64{p.Pos[0], p.Pos[1], p.Pos[2] + topHeight(x.spec(a.b), r)}, nil
	case onTable:
		return [3]float64{a.region.Pos[0], a.region.Pos[1], x.surface()}, nil
	}
	reg, err := x.env.Region(a.b)
	if err != nil {
		return [3]float64{}, err
	}
	t := reg.Pos
	switch {
	case strings.HasSuffix(a.b, "_top_side"):
		// The front edge of the top, on the side nearer the robot's axis,
		// is within comfortable reach (a tall object is carried high).
		t[0] -= math.Max(0, reg.HalfSize[0]-r-0.01)
		if m := math.Max(0, reg.HalfSize[1]-r-0.015); math.Abs(t[1]) > m {
			t[1] -= math.Copysign(math.Min(m, math.Abs(t[1])), t[1])
		}
	case strings.HasSuffix(a.b, "_cook_region"):
		t = x.freeSpot(name, t, reg)
	case strings.HasSuffix(a.b, "_heating_region"):
		// Just inside the front (−x): the door swings shut in front of it
		// and the wrist reaches in no deeper than needed.
		t[2] -= reg.HalfSize[2]
		t[0] -= reg.HalfSize[0] - r
	case strings.Contains(a.b, "_drawer"):
		t[2] -= reg.HalfSize[2]
		// Only the pulled-out part of a drawer is reachable from above.
		t[0] -= math.Max(0, reg.HalfSize[0]-r-0.005)
	default:
		t[2] -= reg.HalfSize[2]
		if strings.HasSuffix(a.b, "_contain_region") {
			t[2] += 0.006
			t = x.freeSpot(name, t, reg)
		}
	}
	return t, nil
}

// place carries the held object over its target, lowers it and lets go.
// If the object is not held, it re-queues the pick (up to 3 attempts).
func (x *Expert) place(name string, a atom, attempt int) skill {
	return func(x *Expert) ([]stage, error) {
		if !x.holding(name) {
			if attempt >= 2 {
				return nil, nil
			}
			x.skills = append([]skill{x.pick(name), x.place(name, a, attempt+1)}, x.skills...)
			eef, _, err := x.env.EEF()
			if err != nil {
				return nil, err
			}
			// Open and back off before retrying.
			return []stage{{pos: [3]float64{eef.Pos[0], eef.Pos[1], eef.Pos[2] + 0.05}, grip: -1, tol: 0.01, min: 4, max: 15}}, nil
		}
		t, err := x.target(name, a)
		if err != nil {
			return nil, err
		}
		eef, _, err := x.env.EEF()
		if err != nil {
			return nil, err
		}
		p, err := x.env.ObjectPose(name)
		if err != nil {
			return nil, err
		}
		yaw := 0.0
		if len(x.stages) > 0 {
			yaw = x.stages[len(x.stages)-1].yaw
		}
		// Keep the object where it sits in the hand: the end effector goes
		// to target − (object − eef), a little above.
		tz := t[2] + (eef.Pos[2] - p.Pos[2]) + 0.012
		tx, ty := t[0]+(eef.Pos[0]-p.Pos[0]), t[1]+(eef.Pos[1]-p.Pos[1])
		above := 0.06
		if strings.HasSuffix(a.b, "_top_side") {
			above = 0.035 // near the arm's reach limit: carry no higher than needed
		}
		travel := math.Max(math.Max(eef.Pos[2], tz+above), x.surface()+transitZ)
		lift := stage{pos: [3]float64{eef.Pos[0], eef.Pos[1], travel}, yaw: yaw, grip: 1, tol: 0.03, max: 30}
		lower := stage{pos: [3]float64{tx, ty, tz - 0.03}, yaw: yaw, grip: 1, tol: 0.005, max: 40, until: x.touches(name, x.supportOf(a))}
		release := stage{pos: lower.pos, yaw: yaw, grip: -1, min: 5, max: 5}
		if strings.HasSuffix(a.b, "_heating_region") {
			// An enclosure open at the front (−x): the hand, centred on the
			// opening, carries the object in low and level, lets go, clears
			// the object's rim and backs out before rising.
			r, err := x.env.Region(a.b)
			if err != nil {
				return nil, err
			}
			ty = r.Pos[1]
			front := x.spec(a.owner).Pos[0] - x.spec(a.owner).Size[0] - enclosureStandoff
			return []stage{
				lift,
				{pos: [3]float64{front, ty, travel}, yaw: yaw, grip: 1, tol: 0.012, max: 60},
				{pos: [3]float64{front, ty, tz}, yaw: yaw, grip: 1, tol: 0.008, max: 40},
				{pos: [3]float64{tx, ty, tz}, yaw: yaw, grip: 1, tol: 0.006, max: 40},
				lower, release,
				{pos: [3]float64{tx, ty, tz + rimClearance}, yaw: yaw, grip: -1, tol: 0.008, max: 20},
				{pos: [3]float64{front, ty, tz + rimClearance}, yaw: yaw, grip: -1, tol: 0.015, max: 30},
			}, nil
		}
		return []stage{
			lift,
			{pos: [3]float64{tx, ty, travel}, yaw: yaw, grip: 1, tol: 0.012, max: 60},
			lower, release,
			{pos: [3]float64{tx, ty, tz + 0.08}, yaw: yaw, grip: -1, tol: 0.02, max: 20},
		}, nil
	}
}

const (
	// enclosureStandoff is how far in front of an enclosure's face the
	// end effector waits before reaching in: the wrist (link 7, 5 cm in
	// radius) and a carried mug stay outside.
	enclosureStandoff = 0.1
	// rimClearance is how far the open hand rises after letting go inside
	// an enclosure, so that the inner finger clears the object's rim.
	rimClearance = 0.05
)

// freeSpot picks, among the region's centre and points towards its ends
// (along its longer side), the one farthest from other objects already
// there, so that a second object does not land on the first.
func (x *Expert) freeSpot(name string, t [3]float64, reg sim.Region) [3]float64 {
	ax, ay := reg.Rot[0], reg.Rot[3] // site x axis in the world
	h := reg.HalfSize[0]
	if reg.HalfSize[1] > h {
		ax, ay, h = reg.Rot[1], reg.Rot[4], reg.HalfSize[1]
	}
	off := math.Max(0, h-radius(x.spec(name))-0.005)
	best, bestD := t, -1.0
	for _, f := range []float64{0, -1, 1} {
		c := [3]float64{t[0] + f*off*ax, t[1] + f*off*ay, t[2]}
		d := math.Inf(1)
		for _, o := range x.env.Config().Scene.Objects {
			if o.Name == name || o.Kind.Fixed() {
				continue
			}
			p, err := x.env.ObjectPose(o.Name)
			if err != nil || math.Abs(p.Pos[0]-t[0]) > reg.HalfSize[0]+0.05 || math.Abs(p.Pos[1]-t[1]) > reg.HalfSize[1]+0.05 || p.Pos[2] < t[2]-0.03 || p.Pos[2] > t[2]+0.1 {
				continue
			}
			d = math.Min(d, math.Hypot(p.Pos[0]-c[0], p.Pos[1]-c[1]))
		}
		if d > bestD+0.02 {
			best, bestD = c, d
		}
	}
	return best
}

// supportOf is the body an object placed for atom a comes to rest on.
func (x *Expert) supportOf(a atom) string {
	switch a.kind {
	case onObject:
		return a.b
	case onTable:
		return "table"
	}
	if strings.Contains(a.b, "_drawer") {
		return strings.TrimSuffix(a.b, "_region")
	}
	return a.owner
}

// touches returns a stage condition: object a touches body b (or the
// object has come down to its target height).
func (x *Expert) touches(a, b string) func() bool {
	return func() bool {
		ok, err := x.env.InContact(a, b)
		return err == nil && ok
	}
}

// push slides a flat object (a plate) along the table into a region with
// the closed gripper.
func (x *Expert) push(name string, r RegionSpec) skill {
	return func(x *Expert) ([]stage, error) {
		p, err := x.env.ObjectPose(name)
		if err != nil {
			return nil, err
		}
		o := x.spec(name)
		dx, dy := r.Pos[0]-p.Pos[0], r.Pos[1]-p.Pos[1]
		d := math.Hypot(dx, dy)
		if d < 1e-6 {
			return nil, nil
		}
		ux, uy := dx/d, dy/d
		back := radius(o) + 0.035
		z := x.surface() + 0.024
		start := [3]float64{p.Pos[0] - ux*back, p.Pos[1] - uy*back, z}
		end := [3]float64{r.Pos[0] - ux*back, r.Pos[1] - uy*back, z}
		safe := x.surface() + transitZ
		return []stage{
			{pos: [3]float64{start[0], start[1], safe}, grip: 1, tol: 0.015, max: 60},
			{pos: start, grip: 1, tol: 0.006, max: 40},
			{pos: end, grip: 1, tol: 0.008, max: 80},
			{pos: [3]float64{end[0], end[1], safe}, grip: 1, tol: 0.02, max: 30},
		}, nil
	}
}

// articulate opens or closes a drawer (hooking the closed fingers between
// handle and face) or a microwave door (pushing its panel).
func (x *Expert) articulate(joint string, open bool) skill {
	return func(x *Expert) ([]stage, error) {
		if strings.HasSuffix(joint, "_door") {
			if open {
				return nil, nil // no suite starts with a closed door: no opening skill
			}
			return x.closeDoor(joint)
		}
		q, err := x.env.JointPos(joint)
		if err != nil {
			return nil, err
		}
		if (open && q < DrawerOpenBelow-0.005) || (!open && q > DrawerClosedAbove) {
			return nil, nil
		}
		reg, err := x.env.Region(joint + "_region")
		if err != nil {
			return nil, err
		}
		// Drawer face (front, −x) and the hook point between face and
		// handle bar.
		face := reg.Pos[0] - reg.HalfSize[0] - 0.006 - 0.005
		hy := 0.0
		if owner, i, ok := drawerOf(joint); ok {
			hy = sim.DrawerHandleY(x.spec(owner), i)
		}
		hook := [3]float64{face - 0.035, reg.Pos[1] + hy, reg.Pos[2]}
		if !open {
			// Push the middle of the face, low: the hand passes under the
			// handle of the drawer above and the forearm through the
			// corridor between the upper drawers' handles.
			hook[0] = face - sim.HandleStandoff - 0.02 // in front of the bar
			hook[1] = reg.Pos[1]
			hook[2] -= 0.75 * reg.HalfSize[2]
		}
		safe := math.Max(x.surface()+transitZ, hook[2]+0.1)
		eef, _, err := x.env.EEF()
		if err != nil {
			return nil, err
		}
		var st []stage
		if eef.Pos[2] < safe-0.03 {
			st = append(st, stage{pos: [3]float64{eef.Pos[0], eef.Pos[1], safe}, grip: 1, tol: 0.03, max: 30})
		}
		end := hook
		if open {
			end[0] -= 0.2 + q
		} else {
			end[0] -= q - 0.02
		}
		qd := func() bool {
			v, err := x.env.JointPos(joint)
			return err == nil && ((open && v < DrawerOpenBelow-0.01) || (!open && v > DrawerClosedAbove+0.001))
		}
		return append(st,
			stage{pos: [3]float64{hook[0], hook[1], safe}, grip: 1, tol: 0.012, max: 60},
			stage{pos: hook, grip: 1, tol: 0.006, max: 40},
			stage{pos: end, grip: 1, tol: 0.008, max: 60 + int(math.Abs(end[0]-hook[0])/0.005), until: qd},
			stage{pos: [3]float64{end[0] - 0.03, end[1], end[2]}, grip: 1, tol: 0.01, max: 10},
			stage{pos: [3]float64{end[0] - 0.03, end[1], safe}, grip: 1, tol: 0.03, max: 30},
		), nil
	}
}

const (
	// wristRadius is the radius of link 7's capsule, the widest part of the
	// arm near the hand; with the hand turned parallel to a door it is what
	// touches the door first.
	wristRadius = 0.05
	// doorStep is the door angle (rad) the hand advances per stage while
	// pushing a door shut.
	doorStep = 0.15
	// doorOvershoot is how far past closed (rad) the hand pushes, pressing
	// the door against its stop.
	doorOvershoot = 0.08
)

// closeDoor swings a hinged door (hinge on a vertical edge, swinging out
// towards −x from the fixture's front) shut by contact: the hand goes
// round the door's free edge to its outer face, turns parallel to the
// door, and follows the arc the face sweeps towards closed, pushing it
// with the wrist a little ahead of the face.
func (x *Expert) closeDoor(joint string) ([]stage, error) {
	q, err := x.env.JointPos(joint)
	if err != nil {
		return nil, err
	}
	if q > DoorClosedAbove {
		return nil, nil
	}
	o := x.spec(strings.TrimSuffix(joint, "_door"))
	id, err := x.env.Model().ID(mujoco.ObjBody, joint)
	if err != nil {
		return nil, err
	}
	hinge, m := x.env.Data().BodyPos(id), x.env.Data().BodyMat(id)
	// The door frame's angle now; it turns with the joint.
	a0 := math.Atan2(m[3], m[0])
	// The hand's long side (its y axis at yaw 0) lies along the door at
	// yaw a0 − q + q1 for door angle q1; the hand is symmetric under a half
	// turn, so pick the branch that ends nearest the home yaw.
	yaw0 := a0 - q
	for yaw0 > math.Pi/2 {
		yaw0 -= math.Pi
	}
	for yaw0 <= -math.Pi/2 {
		yaw0 += math.Pi
	}
	// High on the door, with link 7 still below its top edge: the forearm
	// then passes over the door instead of catching on it.
	z := x.surface() + math.Max(0.06, 2*o.Size[2]-0.16)
	// at is the point s along the door (from the hinge towards its free
	// edge) and w off its outer face, at door angle q1.
	at := func(q1, s, w float64) [3]float64 {
		a := a0 + q1 - q
		return [3]float64{hinge[0] + s*math.Sin(a) - w*math.Cos(a), hinge[1] - s*math.Cos(a) - w*math.Sin(a), z}
	}
	length := 2 * o.Size[1]
	// Push at mid-door: the hand (0.19 m long) stays clear of the hinge
	// and of the handle bar near the free edge.
	push := length / 2
	touch := wristRadius + 0.005             // the panel is 1 cm thick
	out := touch + sim.HandleStandoff + 0.04 // clear of the handle bar
	eef, _, err := x.env.EEF()
	if err != nil {
		return nil, err
	}
	var st []stage
	// w is how far the hand is off the door's outer face.
	if w := -(eef.Pos[0]-hinge[0])*math.Cos(a0) - (eef.Pos[1]-hinge[1])*math.Sin(a0); w < touch {
		// On the inner side: round the free edge first, clear of it by
		// more than half the hand's length.
		edge := length + 0.13
		st = append(st,
			stage{pos: at(q, edge, w), yaw: yaw0 + q, grip: 1, tol: 0.02, max: 60},
			stage{pos: at(q, edge, out), yaw: yaw0 + q, grip: 1, tol: 0.02, max: 40},
		)
	}
	st = append(st,
		stage{pos: at(q, push, out), yaw: yaw0 + q, grip: 1, tol: 0.015, max: 50},
		stage{pos: at(q, push, touch+0.01), yaw: yaw0 + q, grip: 1, tol: 0.008, max: 30},
	)
	closed := func() bool {
		v, err := x.env.JointPos(joint)
		return err == nil && v > DoorClosedAbove+0.001
	}
	for q1 := q; q1 < doorOvershoot; {
		q1 = math.Min(q1+doorStep, doorOvershoot)
		st = append(st, stage{pos: at(q1, push, touch-0.005), yaw: yaw0 + q1, grip: 1, tol: 0.01, max: 15, until: closed})
	}
	return append(st, stage{pos: at(0, push, out), yaw: yaw0, grip: 1, tol: 0.02, max: 30}), nil
}

// drawerOf splits a drawer joint name "<cabinet>_drawer<i>".
func drawerOf(joint string) (string, int, bool) {
	k := strings.LastIndex(joint, "_drawer")
	if k < 0 {
		return "", 0, false
	}
	i, err := strconv.Atoi(joint[k+len("_drawer"):])
	return joint[:k], i, err == nil
}

// turnKnob pushes a stove knob's lever sideways until the stove is on (or
// back until it is off).
func (x *Expert) turnKnob(joint string, on bool) skill {
	return func(x *Expert) ([]stage, error) {
		q, err := x.env.JointPos(joint)
		if err != nil {
			return nil, err
		}
		if (on && q >= KnobOnAtLeast+0.1) || (!on && q < KnobOffBelow) {
			return nil, nil
		}
		stove := strings.TrimSuffix(joint, "_knob")
		o := x.spec(stove)
		// The knob sits on the stove's front face at +0.6·sy; its lever
		// points up and swings towards +y as the angle grows.
		kx := o.Pos[0] - o.Size[0] - 0.03
		ky := o.Pos[1] + 0.6*o.Size[1]
		kz := x.surface() + o.Size[2] + 0.03
		dir := 1.0
		if !on {
			dir = -1
		}
		start := [3]float64{kx, ky - dir*0.04, kz}
		end := [3]float64{kx, ky + dir*0.06, kz}
		safe := x.surface() + transitZ
		done := func() bool {
			v, err := x.env.JointPos(joint)
			return err == nil && ((on && v >= KnobOnAtLeast+0.15) || (!on && v < KnobOffBelow))
		}
		return []stage{
			{pos: [3]float64{start[0], start[1], safe}, grip: 1, tol: 0.015, max: 60},
			{pos: start, grip: 1, tol: 0.006, max: 40},
			{pos: end, grip: 1, tol: 0.008, max: 40, until: done},
			{pos: [3]float64{end[0] - 0.05, end[1], end[2]}, grip: 1, tol: 0.015, max: 15},
			{pos: [3]float64{end[0] - 0.05, end[1], safe}, grip: 1, tol: 0.03, max: 30},
		}, nil
	}
}

// Quaternion helpers (w, x, y, z).

func quatMul(a, b [4]float64) [4]float64 {
	return [4]float64{
		a[0]*b[0] - a[1]*b[1] - a[2]*b[2] - a[3]*b[3],
		a[0]*b[1] + a[1]*b[0] + a[2]*b[3] - a[3]*b[2],
		a[0]*b[2] - a[1]*b[3] + a[2]*b[0] + a[3]*b[1],
		a[0]*b[3] + a[1]*b[2] - a[2]*b[1] + a[3]*b[0],
	}
}

func quatConj(q [4]float64) [4]float64 { return [4]float64{q[0], -q[1], -q[2], -q[3]} }
