// Package wire implements the encodings remote VLA clients speak: openpi's
// msgpack-numpy (MessagePack with NumPy arrays as maps with binary keys) and
// the json-numpy convention of the OpenVLA and OpenVLA-OFT REST servers.
//
// Both decoders are strict: they bound nesting depth, container lengths and
// array sizes, refuse object, void, complex and string dtypes, never execute
// anything from a payload, and never panic on bad input.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Kind is the NumPy dtype kind character of a supported dtype.
type Kind byte

// The dtype kinds an Array may hold.
const (
	Bool  Kind = 'b'
	Uint  Kind = 'u'
	Int   Kind = 'i'
	Float Kind = 'f'
)

// DType is a NumPy numeric dtype: a kind, an item size in bytes and a byte
// order.
type DType struct {
	Kind Kind
	// Size is the item size in bytes: 1 for b and 1/2/4/8 for u, i; 2/4/8 for f.
	Size int
	// BigEndian is true for ">" dtypes. Single-byte dtypes ignore it.
	BigEndian bool
}

// Common dtypes.
var (
	Uint8   = DType{Kind: Uint, Size: 1}
	Float32 = DType{Kind: Float, Size: 4}
	Float64 = DType{Kind: Float, Size: 8}
)

// ParseDType parses a NumPy dtype.str such as "|u1", "<f4" or ">i8".
// Object, void, complex, string and date dtypes are refused.
func ParseDType(s string) (DType, error) {
	if len(s) < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|') {
		return DType{}, fmt.Errorf("unsupported dtype %q", s)
	}
	size, err := strconv.Atoi(s[2:])
	if err != nil {
		return DType{}, fmt.Errorf("unsupported dtype %q", s)
	}
	d := DType{Kind: Kind(s[1]), Size: size, BigEndian: s[0] == '>'}
	ok := false
	switch d.Kind {
	case Bool:
		ok = size == 1
	case Uint, Int:
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case Float:
		ok = size == 2 || size == 4 || size == 8
	}
	if !ok {
		return DType{}, fmt.Errorf("unsupported dtype %q", s)
	}
	if size > 1 && s[0] == '|' {
		return DType{}, fmt.Errorf("dtype %q needs a byte order", s)
	}
	if size == 1 {
		d.BigEndian = false
	}
	return d, nil
}

// String returns the NumPy dtype.str, e.g. "<f4" or "|u1".
func (d DType) String() string {
	order := "<"
	switch {
	case d.Size == 1:
		order = "|"
	case d.BigEndian:
		order = ">"
	}
	return order + string(d.Kind) + strconv.Itoa(d.Size)
}

func (d DType) order() binary.ByteOrder {
	if d.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Array is an n-dimensional NumPy array: raw C-order item bytes, a dtype and
// a shape. A shape of length zero is a scalar (one item).
type Array struct {
	DType DType
	Shape []int
	// Data holds Len()·DType.Size bytes. Decoded arrays alias the frame
	// they were decoded from.
	Data []byte
}

// Len returns the number of items, the product of the shape.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

// validate checks the shape against the data and the element limit.
func (a *Array) validate(maxElems int) error {
	n := 1
	for _, s := range a.Shape {
		if s < 0 {
			return fmt.Errorf("ndarray shape %v has a negative dimension", a.Shape)
		}
		if s != 0 && n > maxElems/s {
			return fmt.Errorf("ndarray shape %v exceeds the limit of %d elements", a.Shape, maxElems)
		}
		n *= s
	}
	if n > maxElems {
		return fmt.Errorf("ndarray shape %v exceeds the limit of %d elements", a.Shape, maxElems)
	}
	if len(a.Data) != n*a.DType.Size {
		return fmt.Errorf("ndarray %s%v needs %d data bytes, has %d", a.DType, a.Shape, n*a.DType.Size, len(a.Data))
	}
	return nil
}

// NewUint8 returns a |u1 array of the given shape holding pix (not copied).
func NewUint8(pix []uint8, shape ...int) *Array {
	return &Array{DType: Uint8, Shape: shape, Data: pix}
}

// NewFloat32 returns a <f4 array of the given shape holding a copy of v.
func NewFloat32(v []float32, shape ...int) *Array {
	a := &Array{DType: Float32, Shape: shape, Data: make([]byte, 4*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint32(a.Data[4*i:], math.Float32bits(x))
	}
	return a
}

// NewFloat64 returns a <f8 array of the given shape holding v widened from
// float32 (exactly).
func NewFloat64(v []float32, shape ...int) *Array {
	a := &Array{DType: Float64, Shape: shape, Data: make([]byte, 8*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint64(a.Data[8*i:], math.Float64bits(float64(x)))
	}
	return a
}

// At returns item i converted to float64.
func (a *Array) At(i int) float64 {
	d := a.DType
	b := a.Data[i*d.Size : (i+1)*d.Size]
	o := d.order()
	switch d.Kind {
	case Bool:
		if b[0] != 0 {
			return 1
		}
		return 0
	case Uint:
		switch d.Size {
		case 1:
			return float64(b[0])
		case 2:
			return float64(o.Uint16(b))
		case 4:
			return float64(o.Uint32(b))
		default:
			return float64(o.Uint64(b))
		}
	case Int:
		switch d.Size {
		case 1:
			return float64(int8(b[0]))
		case 2:
			return float64(int16(o.Uint16(b)))
		case 4:
			return float64(int32(o.Uint32(b)))
		default:
			return float64(int64(o.Uint64(b)))
		}
	default:
		switch d.Size {
		case 2:
			return float64(halfToFloat32(o.Uint16(b)))
		case 4:
			return float64(math.Float32frombits(o.Uint32(b)))
		default:
			return math.Float64frombits(o.Uint64(b))
		}
	}
}

// Float32s returns the items converted to float32.
func (a *Array) Float32s() []float32 {
	n := a.Len()
	out := make([]float32, n)
	if a.DType == Float32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
		}
		return out
	}
	for i := range out {
		out[i] = float32(a.At(i))
	}
	return out
}

// halfToFloat32 converts an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or nan
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}
