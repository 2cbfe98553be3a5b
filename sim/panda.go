package sim

import (
	"fmt"
	"math"
	"strings"
)

// Franka Emika Panda parameters. Sources (public): the kinematic chain and
// joint limits follow Franka's published Denavit–Hartenberg table (Franka
// Control Interface documentation, "Robot and interface specifications":
// d1 = 0.333, d3 = 0.316, a4 = 0.0825, a5 = −0.0825, d5 = 0.384, a7 = 0.088,
// flange d = 0.107) in the body layout of robosuite's Panda model
// (robosuite/models/assets/robots/panda/robot.xml); link masses are the
// identified values of Gaz et al., "Dynamic Identification of the Franka
// Emika Panda Robot With Retrieval of Feasible Parameters Using
// Penalty-Based Optimization", RA-L 2019; torque and velocity limits are the
// datasheet's; the hand (0.73 kg, 2 × 0.04 m finger stroke) is Franka
// Hand's datasheet. Link inertias are approximated as solid cylinders.
var (
	// PandaJointLower and PandaJointUpper are the joint limits in radians.
	PandaJointLower = [7]float64{-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973}
	// PandaJointUpper is the upper joint limit of each joint in radians.
	PandaJointUpper = [7]float64{2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973}
	// PandaTorqueLimit is each joint's torque limit in N·m.
	PandaTorqueLimit = [7]float64{87, 87, 87, 87, 12, 12, 12}
	// PandaVelocityLimit is each joint's speed limit in rad/s.
	PandaVelocityLimit = [7]float64{2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61}
	// PandaHome is LIBERO's initial joint configuration (MountedPanda
	// init_qpos): the hand points down above the table.
	PandaHome = [7]float64{0, -0.161, 0, -2.445, 0, 2.227, math.Pi / 4}
)

// pandaLink is one body of the chain: its offset and orientation in the
// parent frame, mass, and the capsule drawn from its origin to the next
// joint (in its own frame).
type pandaLink struct {
	pos  [3]float64
	quat [4]float64
	mass float64
	// segs are capsule segments in this link's frame.
	segs [][6]float64
}

const (
	s2 = math.Sqrt2 / 2
	// fingerStroke is one finger's travel in metres.
	fingerStroke = 0.04
	// eefOffset is the grip site's distance from the hand frame along its
	// z axis (between the finger pads' centres).
	eefOffset = 0.1034
)

var pandaLinks = [7]pandaLink{
	{pos: [3]float64{0, 0, 0.333}, quat: [4]float64{1, 0, 0, 0}, mass: 4.970684,
		segs: [][6]float64{{0, 0, -0.19, 0, 0, -0.06}}},
	{quat: [4]float64{s2, -s2, 0, 0}, mass: 0.646926,
		segs: [][6]float64{{0, 0, -0.06, 0, 0, 0.06}, {0, 0, 0, 0, -0.2, 0}}},
	{pos: [3]float64{0, -0.316, 0}, quat: [4]float64{s2, s2, 0, 0}, mass: 3.228604,
		segs: [][6]float64{{0, 0, -0.12, 0, 0, 0}, {0, 0, 0, 0.0825, 0, 0}}},
	{pos: [3]float64{0.0825, 0, 0}, quat: [4]float64{s2, s2, 0, 0}, mass: 3.587895,
		segs: [][6]float64{{0, 0, -0.06, 0, 0, 0.06}, {0, 0, 0, -0.0825, 0.1, 0}}},
	{pos: [3]float64{-0.0825, 0.384, 0}, quat: [4]float64{s2, -s2, 0, 0}, mass: 1.225946,
		segs: [][6]float64{{0, 0, -0.26, 0, 0, -0.1}, {0, 0, -0.1, 0, 0, 0}}},
	{quat: [4]float64{s2, s2, 0, 0}, mass: 1.666555,
		segs: [][6]float64{{0, 0, -0.04, 0, 0, 0.02}, {0, 0, 0, 0.088, 0, 0}}},
	{pos: [3]float64{0.088, 0, 0}, quat: [4]float64{s2, s2, 0, 0}, mass: 0.735522,
		segs: [][6]float64{{0, 0, -0.03, 0, 0, 0.08}}},
}

// writePanda appends the arm, hand and fingers as a body tree rooted at base
// (link0, world position), and returns the actuator section. Names: joints
// "joint1".."joint7", "finger_left"/"finger_right"; site "eef"; camera
// "wrist"; hand body "hand".
func writePanda(b *strings.Builder, base [3]float64) string {
	fmt.Fprintf(b, `<body name="pedestal" pos="%g %g 0">
<geom type="cylinder" size="0.1 %g" pos="0 0 %g" rgba="0.25 0.25 0.27 1" class="vis"/>
</body>
`, base[0], base[1], base[2]/2, base[2]/2)
	fmt.Fprintf(b, `<body name="link0" pos="%g %g %g" childclass="panda">
<inertial pos="-0.04 0 0.05" mass="2.9" diaginertia="0.01 0.01 0.01"/>
<geom type="cylinder" size="0.09 0.03" pos="0 0 0.03" class="vis"/>
`, base[0], base[1], base[2])
	for i, l := range pandaLinks {
		r := 0.06
		if i >= 4 {
			r = 0.05
		}
		fmt.Fprintf(b, "<body name=\"link%d\" pos=\"%g %g %g\" quat=\"%g %g %g %g\">\n", i+1, l.pos[0], l.pos[1], l.pos[2], l.quat[0], l.quat[1], l.quat[2], l.quat[3])
		// Solid-cylinder inertia of radius r and length 0.2 around the origin.
		ia := 0.5 * l.mass * r * r
		it := l.mass * (3*r*r + 0.04) / 12
		fmt.Fprintf(b, "<inertial pos=\"0 0 0\" mass=\"%g\" diaginertia=\"%g %g %g\"/>\n", l.mass, it, it, ia)
		fmt.Fprintf(b, "<joint name=\"joint%d\" range=\"%g %g\"/>\n", i+1, PandaJointLower[i], PandaJointUpper[i])
		for _, s := range l.segs {
			fmt.Fprintf(b, "<geom type=\"capsule\" size=\"%g\" fromto=\"%g %g %g %g %g %g\"/>\n", r, s[0], s[1], s[2], s[3], s[4], s[5])
		}
	}
	// Hand: 0.107 m past link7 (the flange), turned −45° about z so that the
	// fingers close along the world y axis at the home pose.
	fmt.Fprintf(b, `<body name="hand" pos="0 0 0.107" quat="0.9238795 0 0 -0.3826834">
<inertial pos="0 0 0.03" mass="0.73" diaginertia="0.0025 0.0005 0.0025"/>
<geom type="box" size="0.025 0.095 0.025" pos="0 0 0.03" rgba="0.95 0.95 0.95 1"/>
<geom type="cylinder" size="0.04 0.01" pos="0 0 0.0" class="vis"/>
<site name="eef" pos="0 0 %g" size="0.005" rgba="1 0 0 0"/>
<camera name="wrist" pos="0.05 0 0" quat="0 0.707108 0.707108 0" fovy="75"/>
`, eefOffset)
	for _, f := range []struct {
		name      string
		lo, hi, y float64
	}{{"finger_left", 0, fingerStroke, 1}, {"finger_right", -fingerStroke, 0, -1}} {
		fmt.Fprintf(b, `<body name="%s" pos="0 0 0.0584">
<inertial pos="0 %g 0.03" mass="0.05" diaginertia="0.00002 0.00002 0.00001"/>
<joint name="%s" type="slide" axis="0 1 0" range="%g %g" damping="100" armature="0.01"/>
<geom type="box" size="0.01 0.01 0.015" pos="0 %g 0.012" rgba="0.9 0.9 0.9 1"/>
<geom name="%s_pad" class="pad" type="box" size="0.01 0.005 0.022" pos="0 %g 0.045"/>
</body>
`, f.name, 0.01*f.y, f.name, f.lo, f.hi, 0.012*f.y, f.name, 0.005*f.y)
	}
	b.WriteString("</body>\n") // hand
	for range pandaLinks {
		b.WriteString("</body>\n")
	}
	b.WriteString("</body>\n") // link0
	var a strings.Builder
	for i := range 7 {
		fmt.Fprintf(&a, "<motor name=\"act%d\" joint=\"joint%d\" ctrlrange=\"%g %g\" ctrllimited=\"true\"/>\n", i+1, i+1, -PandaTorqueLimit[i], PandaTorqueLimit[i])
	}
	// Franka Hand: 70 N continuous grasp force; position servos as in
	// robosuite's PandaGripper (kp 1000) with a 40 N force limit. Finger
	// damping 100 N·s/m (integrated implicitly) caps closing at ≈0.4 m/s, so
	// pads cannot tunnel through 7 mm walls within a 2 ms step.
	fmt.Fprintf(&a, `<position name="act_finger_left" joint="finger_left" kp="1000" ctrlrange="0 %g" ctrllimited="true" forcerange="-40 40" forcelimited="true"/>
<position name="act_finger_right" joint="finger_right" kp="1000" ctrlrange="%g 0" ctrllimited="true" forcerange="-40 40" forcelimited="true"/>
`, fingerStroke, -fingerStroke)
	return a.String()
}
