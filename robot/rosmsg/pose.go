package rosmsg

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Pose is an end-effector pose in a named frame.
type Pose struct {
	// Position is x, y, z in metres.
	Position [3]float64
	// Orientation is a unit quaternion x, y, z, w (ROS order).
	Orientation [4]float64
	// Frame is the frame the pose is expressed in (the header's frame_id).
	Frame string
}

// PoseSource supplies the end effector's measured pose. Store implements
// it.
type PoseSource interface {
	// EEFPose returns the latest pose and when it was received; it fails
	// when none has arrived.
	EEFPose() (Pose, time.Time, error)
}

// NewPose validates the fields of a geometry_msgs/Pose and normalises its
// quaternion (x, y, z, w).
func NewPose(position [3]float64, orientation [4]float64, frame string) (Pose, error) {
	p := Pose{Position: position, Orientation: orientation, Frame: frame}
	for _, v := range append(p.Position[:], p.Orientation[:]...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Pose{}, errors.New("pose holds NaN or Inf")
		}
	}
	q, err := normalize(p.Orientation)
	if err != nil {
		return Pose{}, err
	}
	p.Orientation = q
	return p, nil
}

func normalize(q [4]float64) ([4]float64, error) {
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if !(n > 1e-9) || math.IsInf(n, 0) {
		return q, fmt.Errorf("quaternion %v has no usable norm", q)
	}
	return [4]float64{q[0] / n, q[1] / n, q[2] / n, q[3] / n}, nil
}

// QuatFromAxisAngle returns the rotation by |v| radians about v.
func QuatFromAxisAngle(v [3]float64) [4]float64 {
	a := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if a < 1e-12 {
		return [4]float64{0, 0, 0, 1}
	}
	s := math.Sin(a/2) / a
	return [4]float64{v[0] * s, v[1] * s, v[2] * s, math.Cos(a / 2)}
}

// AxisAngle returns q as an axis-angle vector (angle in [0, π]), as
// robosuite's quat2axisangle and LIBERO's state do.
func AxisAngle(q [4]float64) [3]float64 {
	if q[3] < 0 { // same rotation, angle ≤ π
		q = [4]float64{-q[0], -q[1], -q[2], -q[3]}
	}
	s := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2])
	if s < 1e-12 {
		return [3]float64{}
	}
	a := 2 * math.Atan2(s, q[3])
	return [3]float64{q[0] / s * a, q[1] / s * a, q[2] / s * a}
}

// quatMul returns the rotation a∘b (b first, then a).
func quatMul(a, b [4]float64) [4]float64 {
	return [4]float64{
		a[3]*b[0] + a[0]*b[3] + a[1]*b[2] - a[2]*b[1],
		a[3]*b[1] - a[0]*b[2] + a[1]*b[3] + a[2]*b[0],
		a[3]*b[2] + a[0]*b[1] - a[1]*b[0] + a[2]*b[3],
		a[3]*b[3] - a[0]*b[0] - a[1]*b[1] - a[2]*b[2],
	}
}

// ApplyDelta returns the target pose for a delta in the pose's own frame
// (robosuite's OSC_POSE convention): position plus dpos, and the rotation
// drot (axis-angle) applied after the current orientation, about the
// frame's axes.
func ApplyDelta(p Pose, dpos, drot [3]float64) Pose {
	t := p
	for i := range 3 {
		t.Position[i] += dpos[i]
	}
	q, err := normalize(quatMul(QuatFromAxisAngle(drot), p.Orientation))
	if err == nil {
		t.Orientation = q
	}
	return t
}
