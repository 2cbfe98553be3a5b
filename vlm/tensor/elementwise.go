package tensor

import (
	"math"

	"github.com/vstgo/vst/vlm/tensor/internal/parallel"
)

// grain is the smallest number of elements worth a parallel chunk for
// memory-bound elementwise kernels.
const grain = 1 << 15

type binaryKind int

const (
	opAdd binaryKind = iota
	opSub
	opMul
	opDiv
)

var binaryNames = [...]string{"add", "sub", "mul", "div"}

// binaryRow applies k to n elements: dst[i] = a[i*sa] k b[i*sb] for strides
// sa, sb of 0 or 1.
func binaryRow(k binaryKind, dst, a, b []float32, sa, sb int) {
	n := len(dst)
	if sa == 1 && sb == 1 {
		a, b = a[:n], b[:n]
		switch k {
		case opAdd:
			for i := range dst {
				dst[i] = a[i] + b[i]
			}
		case opSub:
			for i := range dst {
				dst[i] = a[i] - b[i]
			}
		case opMul:
			for i := range dst {
				dst[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range dst {
				dst[i] = a[i] / b[i]
			}
		}
		return
	}
	for i := range dst {
		x, y := a[i*sa], b[i*sb]
		switch k {
		case opAdd:
			dst[i] = x + y
		case opSub:
			dst[i] = x - y
		case opMul:
			dst[i] = x * y
		case opDiv:
			dst[i] = x / y
		}
	}
}

// binary computes a k b with broadcasting into a new contiguous tensor.
func binary(c *Ctx, k binaryKind, a, b *Tensor) *Tensor {
	op := binaryNames[k]
	a, b = a.ToFloat32(c), b.ToFloat32(c)
	shape := broadcastShape(op, a.shape, b.shape)
	out := c.empty(shape)
	o := out.f32
	switch {
	case SameShape(a, b):
		ad, bd := a.data32(), b.data32()
		parallel.For(len(o), grain, func(lo, hi int) {
			binaryRow(k, o[lo:hi], ad[lo:hi], bd[lo:hi], 1, 1)
		})
	default:
		sa, sb := broadcastStrides(a, shape), broadcastStrides(b, shape)
		last := len(shape) - 1
		forEachRow(shape, []int{0, a.off, b.off}, [][]int{out.stride, sa, sb}, func(offs []int, n int) {
			ia, ib := 0, 0
			if last >= 0 {
				ia, ib = sa[last], sb[last]
			}
			binaryRow(k, o[offs[0]:offs[0]+n], a.f32[offs[1]:], b.f32[offs[2]:], ia, ib)
		})
	}
	if c.record(a, b) {
		c.link(out, op, []*Tensor{a, b}, func(g *Tensor) {
			switch k {
			case opAdd:
				c.accum(a, sumTo(g, a.shape), false)
				c.accum(b, sumTo(g, b.shape), false)
			case opSub:
				c.accum(a, sumTo(g, a.shape), false)
				if b.requiresGrad {
					c.accum(b, sumTo(Scale(nil, g, -1), b.shape), true)
				}
			case opMul:
				if a.requiresGrad {
					c.accum(a, sumTo(binary(nil, opMul, g, b.Detach()), a.shape), true)
				}
				if b.requiresGrad {
					c.accum(b, sumTo(binary(nil, opMul, g, a.Detach()), b.shape), true)
				}
			case opDiv:
				bd := b.Detach()
				ga := binary(nil, opDiv, g, bd)
				if a.requiresGrad {
					c.accum(a, sumTo(ga, a.shape), false)
				}
				if b.requiresGrad {
					// d(a/b)/db = -(a/b)/b: reuse g/b * out
					gb := binary(nil, opMul, ga, out.Detach())
					c.accum(b, sumTo(Scale(nil, gb, -1), b.shape), true)
				}
			}
		})
	}
	return out
}

// Add returns a + b with NumPy broadcasting. Differentiable.
func Add(c *Ctx, a, b *Tensor) *Tensor { return binary(c, opAdd, a, b) }

// Sub returns a - b with broadcasting. Differentiable.
func Sub(c *Ctx, a, b *Tensor) *Tensor { return binary(c, opSub, a, b) }

// Mul returns a * b elementwise with broadcasting. Differentiable.
func Mul(c *Ctx, a, b *Tensor) *Tensor { return binary(c, opMul, a, b) }

// Div returns a / b elementwise with broadcasting. Differentiable.
func Div(c *Ctx, a, b *Tensor) *Tensor { return binary(c, opDiv, a, b) }

// unaryFn describes an elementwise function: f computes y from x; df the
// derivative dy/dx from x and y.
type unaryFn struct {
	name string
	f    func(x float32) float32
	df   func(x, y float32) float32
}

// unary applies u elementwise. Differentiable.
func unary(c *Ctx, u *unaryFn, t *Tensor) *Tensor {
	t = t.ToFloat32(c)
	out := c.empty(t.shape)
	src, dst := t.data32(), out.f32
	parallel.For(len(dst), grain/8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = u.f(src[i])
		}
	})
	if c.record(t) {
		c.link(out, u.name, []*Tensor{t}, func(g *Tensor) {
			gd := g.ToFloat32(nil).data32()
			gx := New(t.shape...)
			parallel.For(len(gd), grain/8, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gx.f32[i] = gd[i] * u.df(src[i], dst[i])
				}
			})
			c.accum(t, gx, true)
		})
	}
	return out
}

var (
	expFn = &unaryFn{"exp",
		func(x float32) float32 { return float32(math.Exp(float64(x))) },
		func(_, y float32) float32 { return y }}
	logFn = &unaryFn{"log",
		func(x float32) float32 { return float32(math.Log(float64(x))) },
		func(x, _ float32) float32 { return 1 / x }}
	sqrtFn = &unaryFn{"sqrt",
		func(x float32) float32 { return float32(math.Sqrt(float64(x))) },
		func(_, y float32) float32 { return 0.5 / y }}
	tanhFn = &unaryFn{"tanh",
		func(x float32) float32 { return float32(math.Tanh(float64(x))) },
		func(_, y float32) float32 { return 1 - y*y }}
	sigmoidFn = &unaryFn{"sigmoid",
		sigmoid,
		func(_, y float32) float32 { return y * (1 - y) }}
	siluFn = &unaryFn{"silu",
		func(x float32) float32 { return x * sigmoid(x) },
		func(x, _ float32) float32 { s := sigmoid(x); return s * (1 + x*(1-s)) }}
	geluFn = &unaryFn{"gelu", gelu, geluGrad}
	reluFn = &unaryFn{"relu",
		func(x float32) float32 { return max(x, 0) },
		func(x, _ float32) float32 {
			if x > 0 {
				return 1
			}
			return 0
		}}
	absFn = &unaryFn{"abs",
		func(x float32) float32 { return float32(math.Abs(float64(x))) },
		func(x, _ float32) float32 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		}}
	squareFn = &unaryFn{"square",
		func(x float32) float32 { return x * x },
		func(x, _ float32) float32 { return 2 * x }}
)

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// gelu is the exact GELU: x·Φ(x) with Φ the standard normal CDF via erf.
func gelu(x float32) float32 {
	return float32(0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2)))
}

func geluGrad(x, _ float32) float32 {
	xf := float64(x)
	cdf := 0.5 * (1 + math.Erf(xf/math.Sqrt2))
	pdf := math.Exp(-0.5*xf*xf) / math.Sqrt(2*math.Pi)
	return float32(cdf + xf*pdf)
}

// Exp returns e^t elementwise. Differentiable.
func Exp(c *Ctx, t *Tensor) *Tensor { return unary(c, expFn, t) }

// Log returns the natural logarithm elementwise. Differentiable.
func Log(c *Ctx, t *Tensor) *Tensor { return unary(c, logFn, t) }

// Sqrt returns the square root elementwise. Differentiable.
func Sqrt(c *Ctx, t *Tensor) *Tensor { return unary(c, sqrtFn, t) }

// Tanh returns the hyperbolic tangent elementwise. Differentiable.
func Tanh(c *Ctx, t *Tensor) *Tensor { return unary(c, tanhFn, t) }

// Sigmoid returns 1/(1+e^-t) elementwise. Differentiable.
func Sigmoid(c *Ctx, t *Tensor) *Tensor { return unary(c, sigmoidFn, t) }

// SiLU returns t·sigmoid(t) elementwise (Swish). Differentiable.
func SiLU(c *Ctx, t *Tensor) *Tensor { return unary(c, siluFn, t) }

// GELU returns the exact (erf) GELU elementwise, as PyTorch's default and
// Qwen2.5-VL's vision merger use. Differentiable.
func GELU(c *Ctx, t *Tensor) *Tensor { return unary(c, geluFn, t) }

// ReLU returns max(t, 0) elementwise. Differentiable (subgradient 0 at 0).
func ReLU(c *Ctx, t *Tensor) *Tensor { return unary(c, reluFn, t) }

// Abs returns |t| elementwise. Differentiable (subgradient 0 at 0).
func Abs(c *Ctx, t *Tensor) *Tensor { return unary(c, absFn, t) }

// Square returns t² elementwise. Differentiable.
func Square(c *Ctx, t *Tensor) *Tensor { return unary(c, squareFn, t) }

// Scale returns s·t. Differentiable.
func Scale(c *Ctx, t *Tensor, s float32) *Tensor {
	t = t.ToFloat32(c)
	out := c.empty(t.shape)
	src, dst := t.data32(), out.f32
	parallel.For(len(dst), grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = s * src[i]
		}
	})
	if c.record(t) {
		c.link(out, "scale", []*Tensor{t}, func(g *Tensor) { c.accum(t, Scale(nil, g, s), true) })
	}
	return out
}

// AddScalar returns t + s. Differentiable.
func AddScalar(c *Ctx, t *Tensor, s float32) *Tensor {
	t = t.ToFloat32(c)
	out := c.empty(t.shape)
	src, dst := t.data32(), out.f32
	for i := range dst {
		dst[i] = src[i] + s
	}
	if c.record(t) {
		c.link(out, "add_scalar", []*Tensor{t}, func(g *Tensor) { c.accum(t, g, false) })
	}
	return out
}

// addInto adds src into dst elementwise (equal lengths).
func addInto(dst, src []float32) {
	src = src[:len(dst)]
	parallel.For(len(dst), grain, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}

// Sum returns the sum of all elements as a one-element tensor (accumulated
// in float64). Differentiable.
func Sum(c *Ctx, t *Tensor) *Tensor {
	t = t.ToFloat32(c)
	var acc float64
	for _, v := range t.data32() {
		acc += float64(v)
	}
	out := c.empty(nil)
	out.f32[0] = float32(acc)
	if c.record(t) {
		c.link(out, "sum", []*Tensor{t}, func(g *Tensor) {
			c.accum(t, Full(nil, g.Item(), t.shape...), true)
		})
	}
	return out
}

// Mean returns the mean of all elements as a one-element tensor.
// Differentiable.
func Mean(c *Ctx, t *Tensor) *Tensor {
	n := t.Numel()
	if n == 0 {
		failf("mean", "empty tensor %v", t.shape)
	}
	return Scale(c, Sum(c, t), 1/float32(n))
}

// SumAxis sums over axis dim; keepDim keeps it with size 1. Differentiable.
func SumAxis(c *Ctx, t *Tensor, dim int, keepDim bool) *Tensor {
	dim = t.axis("sum_axis", dim)
	t = t.ToFloat32(c)
	outer, n, inner := splitAxis(t.shape, dim)
	kept := append([]int(nil), t.shape...)
	kept[dim] = 1
	out := c.zeros(kept)
	src, dst := t.data32(), out.f32
	parallel.For(outer, max(1, grain/(n*inner+1)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			d := dst[o*inner : (o+1)*inner]
			for j := range n {
				s := src[(o*n+j)*inner : (o*n+j+1)*inner]
				for i := range d {
					d[i] += s[i]
				}
			}
		}
	})
	if c.record(t) {
		c.link(out, "sum_axis", []*Tensor{t}, func(g *Tensor) {
			gk := Reshape(nil, g.ToFloat32(nil), kept...)
			c.accum(t, binary(nil, opAdd, New(t.shape...), gk), true)
		})
	}
	if keepDim {
		return out
	}
	shape := append(append([]int(nil), t.shape[:dim]...), t.shape[dim+1:]...)
	return Reshape(c, out, shape...)
}

// MeanAxis averages over axis dim; keepDim keeps it with size 1.
// Differentiable.
func MeanAxis(c *Ctx, t *Tensor, dim int, keepDim bool) *Tensor {
	n := t.Dim(dim)
	if n == 0 {
		failf("mean_axis", "axis %d of %v is empty", dim, t.shape)
	}
	return Scale(c, SumAxis(c, t, dim, keepDim), 1/float32(n))
}

// splitAxis returns the products of the dimensions before, at and after dim.
func splitAxis(shape []int, dim int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:dim] {
		outer *= d
	}
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	return outer, shape[dim], inner
}
