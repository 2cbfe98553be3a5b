package sim

import "math"

// Rotation helpers. Matrices are row-major 3×3 as MuJoCo stores them;
// quaternions are (w, x, y, z).

func matMul(a, b [9]float64) [9]float64 {
	var c [9]float64
	for i := range 3 {
		for j := range 3 {
			c[3*i+j] = a[3*i]*b[j] + a[3*i+1]*b[3+j] + a[3*i+2]*b[6+j]
		}
	}
	return c
}

func matT(a [9]float64) [9]float64 {
	return [9]float64{a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]}
}

// axisAngleMat is Rodrigues' formula for the rotation vector r.
func axisAngleMat(r [3]float64) [9]float64 {
	th := math.Sqrt(r[0]*r[0] + r[1]*r[1] + r[2]*r[2])
	if th < 1e-12 {
		return [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}
	}
	x, y, z := r[0]/th, r[1]/th, r[2]/th
	c, s := math.Cos(th), math.Sin(th)
	v := 1 - c
	return [9]float64{
		c + x*x*v, x*y*v - z*s, x*z*v + y*s,
		y*x*v + z*s, c + y*y*v, y*z*v - x*s,
		z*x*v - y*s, z*y*v + x*s, c + z*z*v,
	}
}

// matQuat converts a rotation matrix to a unit quaternion with w ≥ 0.
func matQuat(m [9]float64) [4]float64 {
	var q [4]float64
	tr := m[0] + m[4] + m[8]
	switch {
	case tr > 0:
		s := 2 * math.Sqrt(tr+1)
		q = [4]float64{s / 4, (m[7] - m[5]) / s, (m[2] - m[6]) / s, (m[3] - m[1]) / s}
	case m[0] > m[4] && m[0] > m[8]:
		s := 2 * math.Sqrt(1+m[0]-m[4]-m[8])
		q = [4]float64{(m[7] - m[5]) / s, s / 4, (m[1] + m[3]) / s, (m[2] + m[6]) / s}
	case m[4] > m[8]:
		s := 2 * math.Sqrt(1+m[4]-m[0]-m[8])
		q = [4]float64{(m[2] - m[6]) / s, (m[1] + m[3]) / s, s / 4, (m[5] + m[7]) / s}
	default:
		s := 2 * math.Sqrt(1+m[8]-m[0]-m[4])
		q = [4]float64{(m[3] - m[1]) / s, (m[2] + m[6]) / s, (m[5] + m[7]) / s, s / 4}
	}
	if q[0] < 0 {
		q = [4]float64{-q[0], -q[1], -q[2], -q[3]}
	}
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	return [4]float64{q[0] / n, q[1] / n, q[2] / n, q[3] / n}
}

// quatMat converts a unit quaternion to a rotation matrix.
func quatMat(q [4]float64) [9]float64 {
	w, x, y, z := q[0], q[1], q[2], q[3]
	return [9]float64{
		1 - 2*(y*y+z*z), 2 * (x*y - w*z), 2 * (x*z + w*y),
		2 * (x*y + w*z), 1 - 2*(x*x+z*z), 2 * (y*z - w*x),
		2 * (x*z - w*y), 2 * (y*z + w*x), 1 - 2*(x*x+y*y),
	}
}

// QuatAxisAngle converts a unit quaternion (w, x, y, z) to a rotation
// vector (axis × angle, angle in [0, π]), as robosuite's quat2axisangle.
func QuatAxisAngle(q [4]float64) [3]float64 {
	if q[0] < 0 {
		q = [4]float64{-q[0], -q[1], -q[2], -q[3]}
	}
	s := math.Sqrt(q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if s < 1e-12 {
		return [3]float64{}
	}
	a := 2 * math.Atan2(s, q[0])
	return [3]float64{q[1] / s * a, q[2] / s * a, q[3] / s * a}
}

// rotError returns the rotation vector taking cur to goal (world frame):
// log(goal · curᵀ).
func rotError(goal, cur [9]float64) [3]float64 {
	return QuatAxisAngle(matQuat(matMul(goal, matT(cur))))
}
