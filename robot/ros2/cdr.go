package ros2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The 4-byte encapsulation header of XCDR1 ("plain CDR") data: a big-endian
// representation identifier and options. CycloneDDS pads the data to a
// multiple of 4 bytes and stores the number of padding bytes in the last
// two bits of the options, so this package does the same.
const (
	cdrBE      = 0x0000 // CDR_BE
	cdrLE      = 0x0001 // CDR_LE
	headerSize = 4
)

// MaxMessageSize bounds the encoded size of a message this package decodes
// (and so what a peer can make it allocate): 64 MiB, above an uncompressed
// 4K RGB frame.
const MaxMessageSize = 64 << 20

// encoder appends XCDR1 little-endian data. Alignment is relative to the
// start of the data after the header.
type encoder struct{ b []byte }

func newEncoder(sizeHint int) *encoder {
	e := &encoder{b: make([]byte, headerSize, headerSize+sizeHint)}
	binary.BigEndian.PutUint16(e.b, cdrLE)
	return e
}

func (e *encoder) align(n int) {
	for (len(e.b)-headerSize)%n != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) u8(v uint8) { e.b = append(e.b, v) }

func (e *encoder) u32(v uint32) {
	e.align(4)
	e.b = binary.LittleEndian.AppendUint32(e.b, v)
}

func (e *encoder) i32(v int32) { e.u32(uint32(v)) }

func (e *encoder) f64(v float64) {
	e.align(8)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *encoder) str(s string) {
	e.u32(uint32(len(s) + 1))
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

func (e *encoder) octets(p []byte) {
	e.u32(uint32(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) f64s(v []float64) {
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.f64(x)
	}
}

func (e *encoder) strs(v []string) {
	e.u32(uint32(len(v)))
	for _, s := range v {
		e.str(s)
	}
}

// bytes pads the data to a multiple of 4 and records the padding in the
// options, as CycloneDDS does.
func (e *encoder) bytes() []byte {
	pad := (4 - (len(e.b)-headerSize)%4) % 4
	e.b = append(e.b, make([]byte, pad)...)
	binary.BigEndian.PutUint16(e.b[2:], uint16(pad))
	return e.b
}

// decoder reads XCDR1 data of either byte order with strict bounds. The
// first error sticks; later reads return zero values.
type decoder struct {
	b     []byte // the data after the header
	off   int
	order binary.ByteOrder
	err   error
}

var errShort = errors.New("truncated")

func newDecoder(data []byte) (*decoder, error) {
	if len(data) < headerSize {
		return nil, fmt.Errorf("%d bytes, shorter than the %d-byte encapsulation header", len(data), headerSize)
	}
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", len(data), MaxMessageSize)
	}
	d := &decoder{b: data[headerSize:]}
	switch id := binary.BigEndian.Uint16(data); id {
	case cdrLE:
		d.order = binary.LittleEndian
	case cdrBE:
		d.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("encapsulation 0x%04x is not plain CDR (XCDR1)", id)
	}
	return d, nil
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %w", d.off+headerSize, err)
	}
}

// take returns the next n bytes after aligning to a.
func (d *decoder) take(n, a int) []byte {
	if d.err != nil {
		return nil
	}
	off := (d.off + a - 1) / a * a
	if n < 0 || off > len(d.b) || n > len(d.b)-off {
		d.fail(errShort)
		return nil
	}
	d.off = off + n
	return d.b[off:d.off]
}

func (d *decoder) u8() uint8 {
	if p := d.take(1, 1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.take(4, 4); p != nil {
		return d.order.Uint32(p)
	}
	return 0
}

func (d *decoder) i32() int32 { return int32(d.u32()) }

func (d *decoder) f64() float64 {
	if p := d.take(8, 8); p != nil {
		return math.Float64frombits(d.order.Uint64(p))
	}
	return 0
}

// count reads a sequence length and checks that the rest of the data can
// hold that many elements of at least minSize bytes, before anything is
// allocated.
func (d *decoder) count(minSize int) int {
	n := d.u32()
	if d.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(d.b)-d.off) {
		d.fail(fmt.Errorf("sequence of %d elements does not fit in the %d bytes left", n, len(d.b)-d.off))
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	if n == 0 {
		d.fail(errors.New("string length 0 lacks the terminating NUL"))
		return ""
	}
	p := d.take(n, 1)
	if p == nil {
		return ""
	}
	if p[n-1] != 0 {
		d.fail(errors.New("string is not NUL-terminated"))
		return ""
	}
	return string(p[:n-1])
}

func (d *decoder) octets() []byte {
	n := d.count(1)
	if p := d.take(n, 1); p != nil {
		return append([]byte(nil), p...)
	}
	return nil
}

func (d *decoder) f64s() []float64 {
	n := d.count(8)
	if d.err != nil || n == 0 {
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = d.f64()
	}
	return v
}

func (d *decoder) strs() []string {
	n := d.count(5) // a length and a NUL
	if d.err != nil || n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.str()
	}
	return v
}

// done checks that only the up-to-3 padding bytes are left.
func (d *decoder) done(typeName string) error {
	if d.err == nil && len(d.b)-d.off > 3 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)-d.off))
	}
	if d.err != nil {
		return fmt.Errorf("ros2: decode %s: %w", typeName, d.err)
	}
	return nil
}
