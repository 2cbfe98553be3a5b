package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// Limits bounds what the decoders accept. The frame size itself is bounded
// by the transport (the server's MaxFrameBytes).
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and maps.
	// It defaults to 32.
	MaxDepth int
	// MaxElements is the largest number of items in one ndarray.
	// It defaults to 1<<24 (a 2048×2048×3 image fits).
	MaxElements int
	// MaxItems is the largest number of values in one frame, counting
	// every array element, map key and map value.
	// It defaults to 1<<20.
	MaxItems int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 1 << 24
	}
	if l.MaxItems <= 0 {
		l.MaxItems = 1 << 20
	}
	return l
}

// maxDims is the largest ndarray rank accepted (NumPy's own limit is 64).
const maxDims = 32

// errShort is returned for frames that end inside a value.
var errShort = errors.New("msgpack frame ends inside a value")

// Decode decodes exactly one msgpack value from b. Values become nil, bool,
// int64 (uint64 above math.MaxInt64), float64, string, []byte, []any and
// map[string]any (with str or bin keys). A map with the bin key
// "__ndarray__" becomes an *Array, and one with the bin key
// "__npgeneric__" becomes its scalar value. []byte values and array data
// alias b.
func Decode(b []byte, lim Limits) (any, error) {
	d := decoder{b: b, lim: lim.withDefaults()}
	v, err := d.value(0)
	if err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("msgpack: %d trailing bytes after the value", len(b)-d.off)
	}
	return v, nil
}

type decoder struct {
	b     []byte
	off   int
	lim   Limits
	items int
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, errShort
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) uint(size int) (uint64, error) {
	p, err := d.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

// length reads a container or byte-string length of size bytes and checks
// that at least n·per more bytes remain.
func (d *decoder) length(size, per int) (int, error) {
	u, err := d.uint(size)
	if err != nil {
		return 0, err
	}
	if u > uint64(len(d.b)-d.off)/uint64(per) {
		return 0, errShort
	}
	return int(u), nil
}

func (d *decoder) value(depth int) (any, error) {
	d.items++
	if d.items > d.lim.MaxItems {
		return nil, fmt.Errorf("frame has more than %d values", d.lim.MaxItems)
	}
	p, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xf0 == 0x80:
		return d.mapOf(int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.arrayOf(int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.length(1<<(c-0xc4), 1)
		if err != nil {
			return nil, err
		}
		return d.take(n)
	case 0xca:
		u, err := d.uint(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := d.uint(8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		u, err := d.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size
		return int64(u<<shift) >> shift, nil
	case 0xd9, 0xda, 0xdb:
		n, err := d.length(1<<(c-0xd9), 1)
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xdc, 0xdd:
		n, err := d.length(2<<(c-0xdc), 1)
		if err != nil {
			return nil, err
		}
		return d.arrayOf(n, depth)
	case 0xde, 0xdf:
		n, err := d.length(2<<(c-0xde), 2)
		if err != nil {
			return nil, err
		}
		return d.mapOf(n, depth)
	case 0xc1:
		return nil, errors.New("invalid byte 0xc1")
	default: // 0xc7-0xc9, 0xd4-0xd8
		return nil, fmt.Errorf("ext type 0x%02x is not supported", c)
	}
}

func (d *decoder) str(n int) (string, error) {
	p, err := d.take(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", errors.New("str is not valid UTF-8")
	}
	return string(p), nil
}

func (d *decoder) arrayOf(n, depth int) ([]any, error) {
	if depth >= d.lim.MaxDepth {
		return nil, fmt.Errorf("nesting deeper than %d", d.lim.MaxDepth)
	}
	if n > len(d.b)-d.off {
		return nil, errShort
	}
	out := make([]any, n)
	for i := range out {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (d *decoder) mapOf(n, depth int) (any, error) {
	if depth >= d.lim.MaxDepth {
		return nil, fmt.Errorf("nesting deeper than %d", d.lim.MaxDepth)
	}
	if n > (len(d.b)-d.off)/2 {
		return nil, errShort
	}
	m := make(map[string]any, n)
	var binKeys map[string]bool
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case []byte:
			if !utf8.Valid(k) {
				return nil, errors.New("bin map key is not valid UTF-8")
			}
			key = string(k)
			if binKeys == nil {
				binKeys = map[string]bool{}
			}
			binKeys[key] = true
		default:
			return nil, fmt.Errorf("map key of type %T; want str or bin", k)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("duplicate map key %q", key)
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	switch {
	case binKeys["__ndarray__"]:
		return d.ndarray(m, binKeys)
	case binKeys["__npgeneric__"]:
		return npgeneric(m, binKeys)
	}
	return m, nil
}

func (d *decoder) ndarray(m map[string]any, binKeys map[string]bool) (*Array, error) {
	for _, k := range []string{"data", "dtype", "shape"} {
		if !binKeys[k] {
			return nil, fmt.Errorf("ndarray lacks the bin key %q", k)
		}
	}
	data, ok := m["data"].([]byte)
	if !ok {
		return nil, fmt.Errorf("ndarray data is %T; want bin", m["data"])
	}
	ds, ok := m["dtype"].(string)
	if !ok {
		return nil, fmt.Errorf("ndarray dtype is %T; want str", m["dtype"])
	}
	dt, err := ParseDType(ds)
	if err != nil {
		return nil, err
	}
	shape, err := parseShape(m["shape"])
	if err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: shape, Data: data}
	if err := a.validate(d.lim.MaxElements); err != nil {
		return nil, err
	}
	return a, nil
}

func parseShape(v any) ([]int, error) {
	dims, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("ndarray shape is %T; want an array of ints", v)
	}
	if len(dims) > maxDims {
		return nil, fmt.Errorf("ndarray has %d dimensions, more than %d", len(dims), maxDims)
	}
	shape := make([]int, len(dims))
	for i, s := range dims {
		n, ok := s.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("ndarray shape[%d] is %v; want a non-negative int", i, s)
		}
		shape[i] = int(n)
	}
	return shape, nil
}

func npgeneric(m map[string]any, binKeys map[string]bool) (any, error) {
	if !binKeys["data"] || !binKeys["dtype"] {
		return nil, errors.New("npgeneric lacks the bin keys \"data\" and \"dtype\"")
	}
	ds, ok := m["dtype"].(string)
	if !ok {
		return nil, fmt.Errorf("npgeneric dtype is %T; want str", m["dtype"])
	}
	dt, err := ParseDType(ds)
	if err != nil {
		return nil, err
	}
	v := m["data"]
	switch v.(type) {
	case bool:
		ok = dt.Kind == Bool
	case int64, uint64:
		ok = dt.Kind != Bool
	case float64:
		ok = dt.Kind == Float
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("npgeneric of dtype %s holds %T", dt, v)
	}
	return v, nil
}

// maxEncodeDepth bounds the nesting Marshal follows, so a cyclic value
// fails instead of recursing forever.
const maxEncodeDepth = 64

// Marshal encodes v as msgpack the way openpi's msgpack-numpy packer does:
// the smallest int and length forms, float64 as float 64, str for
// strings, bin for []byte, and an *Array as a map with the bin keys
// "__ndarray__", "data", "dtype" and "shape". Map keys are written in
// sorted order. Supported types: nil, bool, int, int64, uint64, float32,
// float64, string, []byte, *Array, []any, []float64, map[string]any and
// map[string]float64.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append is Marshal appending to dst.
func Append(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, fmt.Errorf("msgpack: nesting deeper than %d", maxEncodeDepth)
	}
	switch v := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if v {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case uint64:
		if v > math.MaxInt64 {
			return binary.BigEndian.AppendUint64(append(b, 0xcf), v), nil
		}
		return appendInt(b, int64(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(v)), nil
	case float64:
		return appendFloat64(b, v), nil
	case string:
		return appendStr(b, v), nil
	case []byte:
		return appendBin(b, v), nil
	case *Array:
		return appendArray(b, v)
	case []any:
		b = appendHeader(b, len(v), 0x90, 0xdc)
		var err error
		for _, e := range v {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []float64:
		b = appendHeader(b, len(v), 0x90, 0xdc)
		for _, e := range v {
			b = appendFloat64(b, e)
		}
		return b, nil
	case map[string]float64:
		b = appendHeader(b, len(v), 0x80, 0xde)
		for _, k := range sortedKeys(v) {
			b = appendFloat64(appendStr(b, k), v[k])
		}
		return b, nil
	case map[string]any:
		b = appendHeader(b, len(v), 0x80, 0xde)
		var err error
		for _, k := range sortedKeys(v) {
			if b, err = appendValue(appendStr(b, k), v[k], depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("msgpack: cannot encode %T", v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 128:
		return append(b, byte(v))
	case v >= 0 && v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v >= 0 && v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v >= 0 && v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	case v >= 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(v))
	case v >= -32:
		return append(b, byte(int8(v)))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(v)))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(v)))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
	}
}

func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(v))
}

// appendHeader writes an array (fix 0x90, 0xdc) or map (fix 0x80, 0xde)
// header for n entries.
func appendHeader(b []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, code16), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, code16+1), uint32(n))
	}
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

func appendArray(b []byte, a *Array) ([]byte, error) {
	if err := a.validate(math.MaxInt); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	if _, err := ParseDType(a.DType.String()); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	b = append(b, 0x84)
	b = append(appendBin(b, []byte("__ndarray__")), 0xc3)
	b = appendBin(appendBin(b, []byte("data")), a.Data)
	b = appendStr(appendBin(b, []byte("dtype")), a.DType.String())
	b = appendHeader(appendBin(b, []byte("shape")), len(a.Shape), 0x90, 0xdc)
	for _, s := range a.Shape {
		b = appendInt(b, int64(s))
	}
	return b, nil
}
