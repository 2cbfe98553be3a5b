package sim

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// ObjectKind names a primitive-built object model.
type ObjectKind string

// Object kinds. Movable kinds get a free joint; fixtures (Cabinet, Stove,
// Microwave) are fixed to the world and have articulated parts.
const (
	// Bowl is a shallow bowl: a base disc and a ring of wall boxes.
	Bowl ObjectKind = "bowl"
	// Plate is a flat disc with a low rim.
	Plate ObjectKind = "plate"
	// Mug is a cylindrical cup (ring of walls) with a handle.
	Mug ObjectKind = "mug"
	// Box is a rectangular box (cookie box, cream cheese, butter, book).
	Box ObjectKind = "box"
	// Cylinder is an upright cylinder (cans, bottles, jars).
	Cylinder ObjectKind = "cylinder"
	// Basket is an open box with four walls.
	Basket ObjectKind = "basket"
	// Cabinet is a fixed cabinet with drawers stacked vertically, each on a
	// slide joint "<name>_drawer<i>" (0 = top) with range [−DrawerTravel, 0] m
	// (0.16 m, more for deep cabinets),
	// negative pulling it out (LIBERO: open below −0.14, closed above 0).
	Cabinet ObjectKind = "cabinet"
	// Stove is a fixed flat stove with a knob on hinge "<name>_knob",
	// range [−0.005, 2.1] rad (LIBERO: on at ≥ 0.5).
	Stove ObjectKind = "stove"
	// Microwave is a fixed box with a door on hinge "<name>_door", range
	// [−2.094, 0] rad, negative opening (LIBERO: open below −1.3, closed
	// above −0.005).
	Microwave ObjectKind = "microwave"
)

// kindDefaults holds each kind's default size (half-extents for boxes;
// radius, radius, height for round things; see ObjectSpec.Size), mass and
// colour.
var kindDefaults = map[ObjectKind]struct {
	size  [3]float64
	mass  float64
	rgba  [4]float64
	fixed bool
}{
	Bowl:      {[3]float64{0.065, 0.065, 0.045}, 0.15, [4]float64{0.1, 0.1, 0.1, 1}, false},
	Plate:     {[3]float64{0.1, 0.1, 0.015}, 0.3, [4]float64{0.92, 0.92, 0.9, 1}, false},
	Mug:       {[3]float64{0.04, 0.04, 0.09}, 0.25, [4]float64{0.95, 0.95, 0.95, 1}, false},
	Box:       {[3]float64{0.03, 0.05, 0.07}, 0.2, [4]float64{0.8, 0.5, 0.2, 1}, false},
	Cylinder:  {[3]float64{0.033, 0.033, 0.1}, 0.3, [4]float64{0.8, 0.1, 0.1, 1}, false},
	Basket:    {[3]float64{0.12, 0.09, 0.07}, 0.5, [4]float64{0.6, 0.45, 0.25, 1}, false},
	Cabinet:   {[3]float64{0.12, 0.16, 0.3}, 20, [4]float64{0.55, 0.36, 0.2, 1}, true},
	Stove:     {[3]float64{0.15, 0.15, 0.03}, 10, [4]float64{0.2, 0.2, 0.22, 1}, true},
	Microwave: {[3]float64{0.16, 0.24, 0.15}, 15, [4]float64{0.8, 0.8, 0.82, 1}, true},
}

// ObjectSpec places one object in the scene.
type ObjectSpec struct {
	// Name is the body name; it must be unique and match [A-Za-z0-9_]+.
	// Joint, site and geom names of the object start with it.
	Name string
	// Kind selects the model.
	Kind ObjectKind
	// Pos is the position of the object's bottom centre: x and y in world
	// coordinates, z above the support surface (the table top, or the
	// floor without a table). The body origin is this point.
	Pos [3]float64
	// Yaw is the rotation about the vertical axis in radians. Fixtures face
	// −x (the robot) at yaw 0.
	Yaw float64
	// Size overrides the kind's default size when non-zero: half-extents
	// x, y, z for Box, Basket, Cabinet, Stove and Microwave; outer radius,
	// unused, height for Bowl, Plate, Mug and Cylinder.
	Size [3]float64
	// Mass overrides the kind's default mass in kg when positive.
	Mass float64
	// RGBA overrides the kind's default colour when its alpha is non-zero.
	RGBA [4]float64
	// Drawers is a Cabinet's number of drawers. It defaults to 3.
	Drawers int
}

// SceneSpec describes a tabletop scene.
type SceneSpec struct {
	// NoTable puts objects on the floor (LIBERO's floor scenes) instead of
	// a table.
	NoTable bool
	// TableSize is the table top's full length (x), width (y) and height
	// of its top surface above the floor, in metres. It defaults to
	// LIBERO's 1.0 × 1.2 m top at 0.9 m.
	TableSize [3]float64
	// Objects are the scene's objects and fixtures.
	Objects []ObjectSpec
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// reserved are names the robot and the scene already use.
var reserved = map[string]bool{"table": true, "floor": true, "pedestal": true, "hand": true, "eef": true, "wrist": true, "agentview": true}

func (s *SceneSpec) withDefaults() SceneSpec {
	out := *s
	if out.TableSize == ([3]float64{}) {
		out.TableSize = [3]float64{1.0, 1.2, 0.9}
	}
	out.Objects = append([]ObjectSpec(nil), s.Objects...)
	for i := range out.Objects {
		o := &out.Objects[i]
		def, ok := kindDefaults[o.Kind]
		if !ok {
			continue
		}
		for k := range 3 {
			if o.Size[k] == 0 {
				o.Size[k] = def.size[k]
			}
		}
		if o.Kind == Bowl || o.Kind == Plate || o.Kind == Mug || o.Kind == Cylinder {
			o.Size[1] = o.Size[0]
		}
		if o.Mass == 0 {
			o.Mass = def.mass
		}
		if o.RGBA[3] == 0 {
			o.RGBA = def.rgba
		}
		if o.Kind == Cabinet && o.Drawers == 0 {
			o.Drawers = 3
		}
	}
	return out
}

// Validate checks the spec; errors name the offending field.
func (s *SceneSpec) Validate() error {
	for k, v := range s.TableSize {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (v == 0 && s.TableSize != [3]float64{}) {
			return fmt.Errorf("scene: table_size[%d] = %v must be positive", k, v)
		}
	}
	seen := map[string]bool{}
	for i, o := range s.Objects {
		f := fmt.Sprintf("scene: objects[%d]", i)
		if !nameRE.MatchString(o.Name) {
			return fmt.Errorf("%s.name %q must match [A-Za-z0-9_]+", f, o.Name)
		}
		if seen[o.Name] || reserved[o.Name] || strings.HasPrefix(o.Name, "link") || strings.HasPrefix(o.Name, "joint") || strings.HasPrefix(o.Name, "finger") {
			return fmt.Errorf("%s.name %q is already used", f, o.Name)
		}
		seen[o.Name] = true
		if _, ok := kindDefaults[o.Kind]; !ok {
			return fmt.Errorf("%s.kind %q is unknown", f, o.Kind)
		}
		vals := append(append(append([]float64{}, o.Pos[:]...), o.Size[:]...), o.Yaw, o.Mass)
		vals = append(vals, o.RGBA[:]...)
		for _, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s (%s): non-finite number", f, o.Name)
			}
		}
		for k, v := range o.Size {
			if v < 0 || v > 2 {
				return fmt.Errorf("%s.size[%d] = %v outside [0, 2] m", f, k, v)
			}
		}
		if o.Mass < 0 {
			return fmt.Errorf("%s.mass = %v must not be negative", f, o.Mass)
		}
		if o.Drawers < 0 || o.Drawers > 5 {
			return fmt.Errorf("%s.drawers = %d outside [0, 5]", f, o.Drawers)
		}
	}
	return nil
}

// sceneXML renders the spec (defaults applied, validated) as MJCF. offSize
// is the offscreen buffer edge; base is the robot's link0 position.
func sceneXML(s SceneSpec, offSize int, timestep float64) (xml string, base [3]float64) {
	surface := 0.0
	if !s.NoTable {
		surface = s.TableSize[2]
	}
	// LIBERO mounts the robot 0.16 m behind the table's near edge.
	base = [3]float64{-0.16 - s.TableSize[0]/2, 0, surface}
	if s.NoTable {
		base = [3]float64{-0.66, 0, 0.6}
	}
	var b strings.Builder
	// multiccd: several contact points for convex (cylinder) collisions.
	fmt.Fprintf(&b, `<mujoco model="vst_tabletop">
<compiler angle="radian" autolimits="true" inertiafromgeom="auto"/>
<option timestep="%g" cone="elliptic" impratio="10" integrator="Euler"><flag multiccd="enable"/></option>
<size nconmax="400" njmax="2000"/>
<visual>
<global offwidth="%d" offheight="%d"/>
<quality shadowsize="1024" offsamples="0" numslices="12" numstacks="6" numquads="1"/>
<headlight ambient="0.4 0.4 0.4" diffuse="0.7 0.7 0.7" specular="0.1 0.1 0.1"/>
<map znear="0.01" zfar="50"/>
</visual>
<asset>
<texture name="grid" type="2d" builtin="checker" rgb1="0.45 0.45 0.47" rgb2="0.38 0.38 0.4" width="256" height="256"/>
<material name="floor" texture="grid" texrepeat="8 8"/>
<texture name="wood" type="2d" builtin="flat" mark="random" random="0.2" rgb1="0.62 0.47 0.32" rgb2="0.5 0.36 0.22" width="128" height="128"/>
<material name="table" texture="wood" texrepeat="3 3"/>
</asset>
<default>
<joint damping="0.1" armature="0.1"/>
<geom contype="1" conaffinity="6" friction="1 0.005 0.0001" solref="0.01 1" solimp="0.95 0.99 0.001"/>
<default class="obj"><geom contype="4" conaffinity="7"/></default>
<default class="vis"><geom contype="0" conaffinity="0" group="1" density="0"/></default>
<default class="panda">
<joint damping="0.1" armature="0.1" axis="0 0 1"/>
<geom contype="2" conaffinity="5" rgba="0.95 0.95 0.95 1" density="0"/>
<default class="pad"><geom contype="2" conaffinity="5" condim="4" friction="1.5 0.02 0.0001" solref="0.01 1" solimp="0.95 0.99 0.001" rgba="0.2 0.2 0.2 1"/></default>
</default>
</default>
<worldbody>

<geom name="floor" type="plane" size="4 4 1" material="floor"/>
<camera name="agentview" pos="%g 0 %g" quat="0.6380177 0.3048592 0.3048592 0.6380177" fovy="45"/>
`, timestep, offSize, offSize, 0.6586, surface+0.7104)
	if !s.NoTable {
		l, w, h := s.TableSize[0]/2, s.TableSize[1]/2, s.TableSize[2]
		fmt.Fprintf(&b, "<body name=\"table\" pos=\"0 0 %g\">\n<geom name=\"table_top\" type=\"box\" size=\"%g %g 0.025\" pos=\"0 0 -0.025\" material=\"table\" friction=\"1 0.005 0.0001\"/>\n", h, l, w)
		for _, sx := range []float64{-1, 1} {
			for _, sy := range []float64{-1, 1} {
				fmt.Fprintf(&b, "<geom type=\"cylinder\" size=\"0.025 %g\" pos=\"%g %g %g\" rgba=\"0.3 0.3 0.3 1\" class=\"vis\"/>\n", (h-0.05)/2, sx*(l-0.05), sy*(w-0.05), -(h+0.05)/2)
			}
		}
		b.WriteString("</body>\n")
	}
	actuators := writePanda(&b, base)
	for _, o := range s.Objects {
		writeObject(&b, o, surface)
	}
	b.WriteString("</worldbody>\n<actuator>\n")
	b.WriteString(actuators)
	b.WriteString("</actuator>\n</mujoco>\n")
	return b.String(), base
}

func rgba(c [4]float64) string { return fmt.Sprintf("%g %g %g %g", c[0], c[1], c[2], c[3]) }

// ring writes n wall boxes forming a ring of outer radius r, wall thickness
// t, from height z0 to z1, each of mass m.
func ring(b *strings.Builder, name string, n int, r, t, z0, z1, m float64, c [4]float64) {
	half := r * math.Sin(math.Pi/float64(n)) * 1.08 // slight overlap closes the gaps
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		rc := r - t/2
		fmt.Fprintf(b, "<geom name=\"%s_wall%d\" type=\"box\" size=\"%g %g %g\" pos=\"%g %g %g\" euler=\"0 0 %g\" mass=\"%g\" rgba=\"%s\"/>\n",
			name, i, t/2, half, (z1-z0)/2, rc*math.Cos(a), rc*math.Sin(a), (z0+z1)/2, a, m, rgba(c))
	}
}

// handleStandoff is how far drawer and door handles stand off their face.
const handleStandoff = HandleStandoff

// HandleStandoff is how far drawer and door handle bars stand off their
// face (m).
const HandleStandoff = 0.075

// disc writes a flat round base of radius r and thickness 2·hz resting on
// z = 0: a drawn cylinder over two hidden collision boxes, squares crossed
// at 45° with their corners on the circle. MuJoCo 2.2.2's convex (MPR)
// collider, which a thin cylinder would use against boxes, misjudges the
// contact normal at a disc's rim (a disc near a box's edge slides off it,
// a finger pushing the rim presses the disc down); box–box contacts are
// analytic. The rotated square can still meet the box–box collider's
// phantom-contact defect (see Cylinder); no resting object moved in the
// 2,000 initial states of the four suites.
func disc(b *strings.Builder, name string, r, hz, mass float64, c string) {
	h := r / math.Sqrt2
	for i, a := range []float64{0, math.Pi / 4} {
		fmt.Fprintf(b, "<geom name=\"%s_base%d\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" euler=\"0 0 %g\" mass=\"%g\" group=\"3\"/>\n", name, i, h, h, hz, hz, a, mass/2)
	}
	fmt.Fprintf(b, "<geom type=\"cylinder\" size=\"%g %g\" pos=\"0 0 %g\" rgba=\"%s\" class=\"vis\"/>\n", r, hz, hz, c)
}

func writeObject(b *strings.Builder, o ObjectSpec, surface float64) {
	def := kindDefaults[o.Kind]
	sx, sy, sz := o.Size[0], o.Size[1], o.Size[2]
	c := rgba(o.RGBA)
	class := ""
	if !def.fixed {
		class = ` childclass="obj"`
	}
	fmt.Fprintf(b, "<body name=\"%s\" pos=\"%g %g %g\" euler=\"0 0 %g\"%s>\n", o.Name, o.Pos[0], o.Pos[1], surface+o.Pos[2], o.Yaw, class)
	if !def.fixed {
		fmt.Fprintf(b, "<freejoint name=\"%s_free\"/>\n", o.Name)
	}
	n := o.Name
	switch o.Kind {
	case Bowl:
		// Base disc plus 16 outward-leaning-free vertical wall boxes.
		disc(b, n, 0.65*sx, 0.004, o.Mass*0.3, c)
		ring(b, n, 12, sx, 0.007, 0.004, sz, o.Mass*0.7/12, o.RGBA)
	case Plate:
		disc(b, n, sx, 0.005, o.Mass, c)
		// The rim is drawn, not simulated: it is too low to matter.
		fmt.Fprintf(b, "<geom type=\"cylinder\" size=\"%g %g\" pos=\"0 0 %g\" rgba=\"%s\" class=\"vis\"/>\n", sx*0.98, sz/2, sz/2, rgba([4]float64{o.RGBA[0] * 0.9, o.RGBA[1] * 0.9, o.RGBA[2] * 0.9, 1}))
	case Mug:
		disc(b, n, sx, 0.004, o.Mass*0.3, c)
		ring(b, n, 12, sx, 0.006, 0.004, sz, o.Mass*0.6/12, o.RGBA)
		fmt.Fprintf(b, "<geom name=\"%s_handle\" type=\"capsule\" size=\"0.007\" fromto=\"%g 0 %g %g 0 %g\" mass=\"%g\" rgba=\"%s\"/>\n", n, sx+0.02, sz*0.25, sx+0.02, sz*0.75, o.Mass*0.1, c)
	case Box:
		fmt.Fprintf(b, "<geom name=\"%s_geom\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" mass=\"%g\" rgba=\"%s\"/>\n", n, sx, sy, sz, sz, o.Mass, c)
	case Cylinder:
		// A true cylinder: with multiccd, MuJoCo 2.2.2's convex collider
		// gives its contacts with boxes and cylinders several points, so it
		// stands and stacks still. (Built from two crossed boxes, it
		// reached 1.3 times its radius, and the box–box collider now and
		// then found a phantom contact as deep as the table under the
		// rotated box, launching the resting can metres away.)
		fmt.Fprintf(b, "<geom name=\"%s_geom\" type=\"cylinder\" size=\"%g %g\" pos=\"0 0 %g\" mass=\"%g\" rgba=\"%s\"/>\n", n, sx, sz/2, sz/2, o.Mass, c)
	case Basket:
		t := 0.006
		fmt.Fprintf(b, "<geom name=\"%s_base\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" mass=\"%g\" rgba=\"%s\"/>\n", n, sx, sy, t/2, t/2, o.Mass*0.4, c)
		for i, w := range [][4]float64{{sx - t/2, 0, t / 2, sy}, {-sx + t/2, 0, t / 2, sy}, {0, sy - t/2, sx, t / 2}, {0, -sy + t/2, sx, t / 2}} {
			fmt.Fprintf(b, "<geom name=\"%s_wall%d\" type=\"box\" size=\"%g %g %g\" pos=\"%g %g %g\" mass=\"%g\" rgba=\"%s\"/>\n", n, i, w[2], w[3], sz/2, w[0], w[1], sz/2, o.Mass*0.15, c)
		}
		fmt.Fprintf(b, "<site name=\"%s_contain_region\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" rgba=\"0 1 0 0\"/>\n", n, sx-t, sy-t, sz/2, sz/2)
	case Cabinet:
		writeCabinet(b, o)
	case Stove:
		writeStove(b, o)
	case Microwave:
		writeMicrowave(b, o)
	}
	b.WriteString("</body>\n")
}

// DrawerHandleY is the y offset (in the cabinet's frame) of the centre of
// drawer i's handle. Handles of neighbouring drawers alternate sides, so
// that a hand hooking one drawer's handle (the hand body, 0.2 m wide, sits
// one drawer higher than the fingers) clears the handle above it.
func DrawerHandleY(o ObjectSpec, i int) float64 {
	o = (&SceneSpec{Objects: []ObjectSpec{o}}).withDefaults().Objects[0]
	if o.Drawers < 2 {
		return 0
	}
	a := 0.6 * drawerHalfWidth(o)
	if deepCabinet(o) {
		// Deep cabinets' low drawers pull out past the handles above and
		// are pushed shut by their handle with the forearm rising in front
		// of the face: the bottom handle sits in the middle and the others,
		// short, near the sides, leaving the forearm a corridor.
		if o.Drawers >= 3 && i == o.Drawers-1 {
			return 0
		}
		a = 0.75 * drawerHalfWidth(o)
	}
	if i%2 == 1 {
		return -a
	}
	return a
}

func drawerHalfWidth(o ObjectSpec) float64 { return o.Size[1] - 0.01 - 0.004 }

// drawerHandleHalf is a handle bar's half-length.
func drawerHandleHalf(o ObjectSpec) float64 {
	if o.Drawers < 2 {
		return math.Min(0.06, 0.5*drawerHalfWidth(o))
	}
	if deepCabinet(o) {
		return 0.18 * drawerHalfWidth(o)
	}
	return 0.3 * drawerHalfWidth(o)
}

// deepCabinet reports whether a cabinet's drawers travel farther than
// LIBERO's 0.16 m.
func deepCabinet(o ObjectSpec) bool { return DrawerTravel(o) > 0.16 }

// DrawerTravel is how far a cabinet's drawers pull out: 0.16 m (LIBERO's),
// or, for a deep cabinet, all but 6 cm of the drawer's length, so that the
// pulled-out part of a low drawer reaches past the handles of the drawers
// above it.
func DrawerTravel(o ObjectSpec) float64 {
	o = (&SceneSpec{Objects: []ObjectSpec{o}}).withDefaults().Objects[0]
	depth := 2 * (o.Size[0] - 0.01 - 0.005)
	return math.Max(0.16, depth-0.06)
}

// writeCabinet: carcass of half-size (sx, sy, sz) open at −x, drawers
// sliding along x.
func writeCabinet(b *strings.Builder, o ObjectSpec) {
	n, c := o.Name, rgba(o.RGBA)
	sx, sy, sz := o.Size[0], o.Size[1], o.Size[2]
	t := 0.01
	for i, p := range [][6]float64{
		{t / 2, sy, sz, sx - t/2, 0, sz},  // back
		{sx, t / 2, sz, 0, sy - t/2, sz},  // left
		{sx, t / 2, sz, 0, -sy + t/2, sz}, // right
		{sx, sy, t / 2, 0, 0, 2*sz - t/2}, // top
		{sx, sy, t / 2, 0, 0, t / 2},      // bottom
	} {
		fmt.Fprintf(b, "<geom name=\"%s_panel%d\" type=\"box\" size=\"%g %g %g\" pos=\"%g %g %g\" rgba=\"%s\"/>\n", n, i, p[0], p[1], p[2], p[3], p[4], p[5], c)
	}
	fmt.Fprintf(b, "<site name=\"%s_top_side\" type=\"box\" size=\"%g %g 0.005\" pos=\"0 0 %g\" rgba=\"0 1 0 0\"/>\n", n, sx-0.02, sy-0.02, 2*sz)
	nd := o.Drawers
	if nd == 0 {
		return
	}
	h := (2*sz - 2*t) / float64(nd) // slot height
	for i := range nd {
		zc := 2*sz - t - h*(float64(i)+0.5)
		// Dividers between slots.
		if i > 0 {
			fmt.Fprintf(b, "<geom name=\"%s_shelf%d\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" rgba=\"%s\"/>\n", n, i, sx-t, sy-t, t/4, zc+h/2, c)
		}
		dx, dy, dz := sx-t-0.005, sy-t-0.004, h/2-0.008 // drawer half-sizes
		// The closed drawer's face is flush with the carcass front (x = −sx).
		fmt.Fprintf(b, "<body name=\"%s_drawer%d\" pos=\"%g 0 %g\">\n", n, i, dx-sx, zc)
		fmt.Fprintf(b, "<joint name=\"%s_drawer%d\" type=\"slide\" axis=\"1 0 0\" range=\"%g 0\" damping=\"5\" frictionloss=\"0.5\" armature=\"0.1\"/>\n", n, i, -DrawerTravel(o))
		tw := 0.006
		for j, p := range [][6]float64{
			{dx, dy, tw / 2, 0, 0, -dz + tw/2}, // floor
			{tw / 2, dy, dz, -dx + tw/2, 0, 0}, // front
			{tw / 2, dy, dz, dx - tw/2, 0, 0},  // back
			{dx, tw / 2, dz, 0, dy - tw/2, 0},  // side
			{dx, tw / 2, dz, 0, -dy + tw/2, 0}, // side
		} {
			fmt.Fprintf(b, "<geom name=\"%s_drawer%d_p%d\" type=\"box\" size=\"%g %g %g\" pos=\"%g %g %g\" mass=\"0.2\" rgba=\"%s\"/>\n", n, i, j, p[0], p[1], p[2], p[3], p[4], p[5], c)
		}
		// Handle: a bar in front of the face, graspable from above or the front.
		// The 6 cm standoff leaves room for a closed gripper to hook behind it.
		hy, hl := DrawerHandleY(o, i), drawerHandleHalf(o)
		fmt.Fprintf(b, "<geom name=\"%s_drawer%d_handle\" type=\"capsule\" size=\"0.008\" fromto=\"%g %g 0 %g %g 0\" mass=\"0.05\" rgba=\"0.7 0.7 0.72 1\"/>\n", n, i, -dx-handleStandoff, hy-hl, -dx-handleStandoff, hy+hl)
		for _, y := range []float64{hy - hl, hy + hl} {
			fmt.Fprintf(b, "<geom type=\"box\" size=\"%g 0.005 0.005\" pos=\"%g %g 0\" mass=\"0.01\" rgba=\"0.7 0.7 0.72 1\"/>\n", handleStandoff/2, -dx-handleStandoff/2, y)
		}
		fmt.Fprintf(b, "<site name=\"%s_drawer%d_region\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" rgba=\"0 1 0 0\"/>\n", n, i, dx-tw, dy-tw, dz-tw, 0.0)
		b.WriteString("</body>\n")
	}
}

func writeStove(b *strings.Builder, o ObjectSpec) {
	n, c := o.Name, rgba(o.RGBA)
	sx, sy, sz := o.Size[0], o.Size[1], o.Size[2]
	fmt.Fprintf(b, "<geom name=\"%s_base\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" rgba=\"%s\"/>\n", n, sx, sy, sz, sz, c)
	fmt.Fprintf(b, "<geom name=\"%s_burner\" type=\"cylinder\" size=\"%g 0.002\" pos=\"0.02 0 %g\" rgba=\"0.45 0.1 0.1 1\"/>\n", n, 0.6*min(sx, sy), 2*sz+0.002)
	fmt.Fprintf(b, "<site name=\"%s_cook_region\" type=\"box\" size=\"%g %g 0.01\" pos=\"0.02 0 %g\" rgba=\"0 1 0 0\"/>\n", n, 0.6*min(sx, sy), 0.6*min(sx, sy), 2*sz)
	// Knob on the front face, turning about x (the face normal).
	fmt.Fprintf(b, "<body name=\"%s_knob\" pos=\"%g %g %g\">\n", n, -sx-0.01, sy*0.6, sz)
	fmt.Fprintf(b, "<joint name=\"%s_knob\" type=\"hinge\" axis=\"-1 0 0\" range=\"-0.005 2.1\" damping=\"0.05\" frictionloss=\"0.02\" armature=\"0.001\"/>\n", n)
	fmt.Fprintf(b, "<geom name=\"%s_knob_dial\" type=\"cylinder\" size=\"0.018 0.01\" euler=\"0 1.5708 0\" mass=\"0.05\" rgba=\"0.1 0.1 0.1 1\"/>\n", n)
	fmt.Fprintf(b, "<geom name=\"%s_knob_lever\" type=\"box\" size=\"0.01 0.004 0.025\" pos=\"-0.015 0 0.01\" mass=\"0.02\" rgba=\"0.85 0.85 0.85 1\"/>\n", n)
	b.WriteString("</body>\n")
}

func writeMicrowave(b *strings.Builder, o ObjectSpec) {
	n, c := o.Name, rgba(o.RGBA)
	sx, sy, sz := o.Size[0], o.Size[1], o.Size[2]
	t := 0.01
	for i, p := range [][6]float64{
		{t / 2, sy, sz, sx - t/2, 0, sz},
		{sx, t / 2, sz, 0, sy - t/2, sz},
		{sx, t / 2, sz, 0, -sy + t/2, sz},
		{sx, sy, t / 2, 0, 0, 2*sz - t/2},
		{sx, sy, t / 2, 0, 0, t / 2},
	} {
		fmt.Fprintf(b, "<geom name=\"%s_panel%d\" type=\"box\" size=\"%g %g %g\" pos=\"%g %g %g\" rgba=\"%s\"/>\n", n, i, p[0], p[1], p[2], p[3], p[4], p[5], c)
	}
	// The region's bottom face is the floor panel's top (z = t).
	fmt.Fprintf(b, "<site name=\"%s_heating_region\" type=\"box\" size=\"%g %g %g\" pos=\"0 0 %g\" rgba=\"0 1 0 0\"/>\n", n, sx-2*t, sy-2*t, sz-t, sz)
	// The door hangs on a vertical hinge at the front-left edge (+y) and
	// swings out towards −x for negative angles.
	fmt.Fprintf(b, "<body name=\"%s_door\" pos=\"%g %g %g\">\n", n, -sx-t/2, sy, sz)
	fmt.Fprintf(b, "<joint name=\"%s_door\" type=\"hinge\" axis=\"0 0 1\" range=\"-2.094 0\" damping=\"0.2\" frictionloss=\"0.05\" armature=\"0.01\"/>\n", n)
	fmt.Fprintf(b, "<geom name=\"%s_door_panel\" type=\"box\" size=\"%g %g %g\" pos=\"0 %g 0\" mass=\"0.4\" rgba=\"0.15 0.15 0.17 1\"/>\n", n, t/2, sy, sz, -sy)
	fmt.Fprintf(b, "<geom name=\"%s_door_handle\" type=\"capsule\" size=\"0.008\" fromto=\"%g %g %g %g %g %g\" mass=\"0.05\" rgba=\"0.7 0.7 0.72 1\"/>\n", n, -handleStandoff, -2*sy+0.03, -0.6*sz, -handleStandoff, -2*sy+0.03, 0.6*sz)
	for _, z := range []float64{-0.6 * sz, 0.6 * sz} {
		fmt.Fprintf(b, "<geom type=\"box\" size=\"%g 0.005 0.005\" pos=\"%g %g %g\" mass=\"0.01\" rgba=\"0.7 0.7 0.72 1\"/>\n", handleStandoff/2, -handleStandoff/2, -2*sy+0.03, z)
	}
	b.WriteString("</body>\n")
}

// Known reports whether k is a defined object kind.
func (k ObjectKind) Known() bool {
	_, ok := kindDefaults[k]
	return ok
}

// Fixed reports whether objects of kind k are fixtures (fixed to the
// world, no free joint).
func (k ObjectKind) Fixed() bool { return kindDefaults[k].fixed }

// WithDefaults returns a copy of the spec with every default filled in:
// the table size and each object's size, mass, colour and drawer count.
func (s SceneSpec) WithDefaults() SceneSpec { return s.withDefaults() }
