package tensor

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vstgo/vst/vlm/tensor/half"
)

// DType is the element type of a tensor's storage. Arithmetic is always done
// in float32; BFloat16 and Float16 exist to store weights compactly, Int32 and
// Int64 to hold token ids and indices.
type DType uint8

// The storage types.
const (
	Float32 DType = iota
	BFloat16
	Float16
	Int32
	Int64
)

// String returns the safetensors spelling of the type ("F32", "BF16", ...).
func (d DType) String() string {
	switch d {
	case Float32:
		return "F32"
	case BFloat16:
		return "BF16"
	case Float16:
		return "F16"
	case Int32:
		return "I32"
	case Int64:
		return "I64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case BFloat16, Float16:
		return 2
	case Int64:
		return 8
	}
	return 4
}

// Tensor is an n-dimensional array: a shape, strides into shared storage,
// and, when it takes part in differentiation, its gradient and the
// operation that produced it. Views (Reshape, Transpose, Narrow, ...) share
// storage with the tensor they were made from.
type Tensor struct {
	dtype  DType
	shape  []int
	stride []int
	off    int

	// Exactly one of these holds the storage, according to dtype.
	f32 []float32
	u16 []uint16
	i32 []int32
	i64 []int64

	requiresGrad bool
	grad         *Tensor
	node         *node
}

// contiguousStrides returns row-major strides for shape.
func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = n
		n *= shape[i]
	}
	return st
}

// numel is the product of shape, checked for negative dimensions.
func numel(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			failf(op, "negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt32*1024/d {
			failf(op, "shape %v is too large", shape)
		}
		n *= d
	}
	return n
}

func wrap(dtype DType, shape []int) *Tensor {
	return &Tensor{dtype: dtype, shape: slices.Clone(shape), stride: contiguousStrides(shape)}
}

// New returns a zero-filled float32 tensor on the heap.
func New(shape ...int) *Tensor {
	t := wrap(Float32, shape)
	t.f32 = make([]float32, numel("new", shape))
	return t
}

// FromFloat32 wraps data (not copied) as a float32 tensor of the given shape.
func FromFloat32(data []float32, shape ...int) *Tensor {
	if n := numel("from_float32", shape); n != len(data) {
		failf("from_float32", "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	t := wrap(Float32, shape)
	t.f32 = data
	return t
}

// FromBF16 wraps bfloat16 bit patterns (not copied) as a BFloat16 tensor.
func FromBF16(data []uint16, shape ...int) *Tensor { return fromU16(BFloat16, data, shape) }

// FromF16 wraps float16 bit patterns (not copied) as a Float16 tensor.
func FromF16(data []uint16, shape ...int) *Tensor { return fromU16(Float16, data, shape) }

func fromU16(d DType, data []uint16, shape []int) *Tensor {
	if n := numel("from_"+d.String(), shape); n != len(data) {
		failf("from_"+d.String(), "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	t := wrap(d, shape)
	t.u16 = data
	return t
}

// FromInt32 wraps data (not copied) as an Int32 tensor.
func FromInt32(data []int32, shape ...int) *Tensor {
	if n := numel("from_int32", shape); n != len(data) {
		failf("from_int32", "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	t := wrap(Int32, shape)
	t.i32 = data
	return t
}

// FromInt64 wraps data (not copied) as an Int64 tensor.
func FromInt64(data []int64, shape ...int) *Tensor {
	if n := numel("from_int64", shape); n != len(data) {
		failf("from_int64", "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	t := wrap(Int64, shape)
	t.i64 = data
	return t
}

// Scalar returns a 0-dimensional float32 tensor holding v.
func Scalar(v float32) *Tensor { return FromFloat32([]float32{v}) }

// DType reports the storage type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns the dimensions. The slice must not be modified.
func (t *Tensor) Shape() []int { return t.shape }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.shape) }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("dim", i)] }

// Strides returns the element strides. The slice must not be modified.
func (t *Tensor) Strides() []int { return t.stride }

// Numel is the number of elements.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// axis normalises a possibly negative axis and checks its range.
func (t *Tensor) axis(op string, i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		failf(op, "axis %d out of range for shape %v", i, t.shape)
	}
	return i
}

// IsContiguous reports whether the elements are laid out densely in
// row-major order.
func (t *Tensor) IsContiguous() bool {
	n := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != n {
			return false
		}
		n *= t.shape[i]
	}
	return true
}

// String summarises the tensor for debugging.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor(%s %v", t.dtype, t.shape)
	if t.requiresGrad {
		b.WriteString(" grad")
	}
	if t.dtype == Float32 && t.Numel() <= 8 {
		fmt.Fprintf(&b, " %v", t.Float32s())
	}
	b.WriteString(")")
	return b.String()
}

// data32 returns the float32 storage window of a contiguous float32 tensor.
func (t *Tensor) data32() []float32 { return t.f32[t.off : t.off+t.Numel()] }

// Float32s returns the elements in row-major order as float32. For a
// contiguous float32 tensor it is the storage itself (writes go through);
// otherwise it is a new slice.
func (t *Tensor) Float32s() []float32 {
	if t.dtype == Float32 && t.IsContiguous() {
		return t.data32()
	}
	return t.ToFloat32(nil).data32()
}

// Int64s returns the elements of an integer tensor in row-major order as a
// new slice.
func (t *Tensor) Int64s() []int64 {
	out := make([]int64, 0, t.Numel())
	t.eachIndex(func(off int) {
		switch t.dtype {
		case Int64:
			out = append(out, t.i64[off])
		case Int32:
			out = append(out, int64(t.i32[off]))
		default:
			failf("int64s", "tensor is %s, not an integer type", t.dtype)
		}
	})
	return out
}

// Item returns the value of a one-element tensor as float32.
func (t *Tensor) Item() float32 {
	if t.Numel() != 1 {
		failf("item", "tensor of shape %v has %d elements, not 1", t.shape, t.Numel())
	}
	return t.at(t.off)
}

// At returns the element at idx as float32.
func (t *Tensor) At(idx ...int) float32 {
	if len(idx) != len(t.shape) {
		failf("at", "%d indices for shape %v", len(idx), t.shape)
	}
	off := t.off
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			failf("at", "index %v out of range for shape %v", idx, t.shape)
		}
		off += x * t.stride[i]
	}
	return t.at(off)
}

// at reads the storage element at offset off as float32.
func (t *Tensor) at(off int) float32 {
	switch t.dtype {
	case Float32:
		return t.f32[off]
	case BFloat16:
		return half.BF16ToFloat32(t.u16[off])
	case Float16:
		return half.F16ToFloat32(t.u16[off])
	case Int32:
		return float32(t.i32[off])
	default:
		return float32(t.i64[off])
	}
}

// eachIndex calls fn with the storage offset of every element in row-major
// order.
func (t *Tensor) eachIndex(fn func(off int)) {
	n := t.Numel()
	if n == 0 {
		return
	}
	if t.IsContiguous() {
		for i := range n {
			fn(t.off + i)
		}
		return
	}
	nd := len(t.shape)
	idx := make([]int, nd)
	off := t.off
	for range n {
		fn(off)
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			off += t.stride[d]
			if idx[d] < t.shape[d] {
				break
			}
			off -= idx[d] * t.stride[d]
			idx[d] = 0
		}
	}
}

// ToFloat32 returns the tensor as contiguous float32: t itself if it already
// is, otherwise a converted copy. Differentiable.
func (t *Tensor) ToFloat32(c *Ctx) *Tensor {
	if t.dtype == Float32 && t.IsContiguous() {
		return t
	}
	out := c.empty(t.shape)
	dst := out.f32
	i := 0
	if t.dtype == Float32 {
		t.eachIndex(func(off int) { dst[i] = t.f32[off]; i++ })
	} else {
		t.eachIndex(func(off int) { dst[i] = t.at(off); i++ })
	}
	if t.dtype == Float32 && c.record(t) {
		c.link(out, "contiguous", []*Tensor{t}, func(g *Tensor) { c.accum(t, g, false) })
	}
	return out
}

// ToHalf returns a contiguous copy stored as BFloat16 or Float16, rounding to
// nearest even. Not differentiable: it is for storing weights.
func (t *Tensor) ToHalf(d DType) *Tensor {
	if d != BFloat16 && d != Float16 {
		failf("to_half", "target %s is not a 16-bit float type", d)
	}
	src := t.Float32s()
	out := wrap(d, t.shape)
	out.u16 = make([]uint16, len(src))
	if d == BFloat16 {
		half.BF16FromFloat32s(out.u16, src)
	} else {
		half.F16FromFloat32s(out.u16, src)
	}
	return out
}

// Clone returns a contiguous float32 copy that shares nothing with t.
// Differentiable.
func (t *Tensor) Clone(c *Ctx) *Tensor {
	if t.dtype != Float32 || !t.IsContiguous() {
		return t.ToFloat32(c)
	}
	out := c.empty(t.shape)
	copy(out.f32, t.data32())
	if c.record(t) {
		c.link(out, "clone", []*Tensor{t}, func(g *Tensor) { c.accum(t, g, false) })
	}
	return out
}

// Fill sets every element of a float32 tensor to v in place.
func (t *Tensor) Fill(v float32) *Tensor {
	if t.dtype != Float32 {
		failf("fill", "tensor is %s, not F32", t.dtype)
	}
	t.eachIndex(func(off int) { t.f32[off] = v })
	return t
}

// CopyFrom copies src's elements into t in place (shapes must have the same
// number of elements; src is converted to float32). Not differentiable.
func (t *Tensor) CopyFrom(src *Tensor) *Tensor {
	if t.dtype != Float32 {
		failf("copy_from", "destination is %s, not F32", t.dtype)
	}
	if t.Numel() != src.Numel() {
		failf("copy_from", "source %v and destination %v differ in size", src.shape, t.shape)
	}
	vals := src.Float32s()
	i := 0
	t.eachIndex(func(off int) { t.f32[off] = vals[i]; i++ })
	return t
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return slices.Equal(a.shape, b.shape) }

// HasNaNOrInf reports whether any element is NaN or ±Inf, for catching
// diverging training early.
func (t *Tensor) HasNaNOrInf() bool {
	bad := false
	t.eachIndex(func(off int) {
		if !bad {
			v := float64(t.at(off))
			bad = math.IsNaN(v) || math.IsInf(v, 0)
		}
	})
	return bad
}
