package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/vstgo/vst/vlm/tensor/half"
)

// hostLittleEndian reports whether the host stores integers little-endian,
// which lets aligned data be reinterpreted in place instead of decoded.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// aligned reports whether b can be viewed in place as elements of n bytes.
func aligned(b []byte, n uintptr) bool {
	return hostLittleEndian && len(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%n == 0
}

// convChunk is the number of 16-bit values decoded per step when data cannot
// be viewed in place.
const convChunk = 4096

// toFloat32 converts little-endian data of dtype dt to float32 values.
func toFloat32(dt DType, b []byte) ([]float32, error) {
	n := len(b) / max(dt.Size(), 1)
	out := make([]float32, n)
	switch dt {
	case DTypeF32:
		if aligned(b, 4) {
			copy(out, unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n))
			break
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case DTypeBF16:
		convert16(out, b, half.BF16ToFloat32s)
	case DTypeF16:
		convert16(out, b, half.F16ToFloat32s)
	case DTypeF64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case DTypeBool, DTypeU8:
		for i := range out {
			out[i] = float32(b[i])
		}
	case DTypeI8:
		for i := range out {
			out[i] = float32(int8(b[i]))
		}
	case DTypeI16:
		for i := range out {
			out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case DTypeU16:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case DTypeI32:
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case DTypeU32:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case DTypeI64:
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case DTypeU64:
		for i := range out {
			out[i] = float32(binary.LittleEndian.Uint64(b[8*i:]))
		}
	default:
		return nil, fmt.Errorf("cannot convert %s to float32", dt)
	}
	return out, nil
}

// convert16 widens 16-bit little-endian values with conv, in place when the
// data is aligned and in chunks through a scratch buffer otherwise.
func convert16(out []float32, b []byte, conv func([]float32, []uint16)) {
	if aligned(b, 2) {
		conv(out, unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(out)))
		return
	}
	var tmp [convChunk]uint16
	for start := 0; start < len(out); start += convChunk {
		m := min(convChunk, len(out)-start)
		for i := range m {
			tmp[i] = binary.LittleEndian.Uint16(b[2*(start+i):])
		}
		conv(out[start:start+m], tmp[:m])
	}
}

// toInt64 converts little-endian integer data of dtype dt to int64 values.
func toInt64(dt DType, b []byte) ([]int64, error) {
	n := len(b) / max(dt.Size(), 1)
	out := make([]int64, n)
	switch dt {
	case DTypeI64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case DTypeU64:
		for i := range out {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("element %d (%d) overflows int64", i, v)
			}
			out[i] = int64(v)
		}
	case DTypeI32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case DTypeU32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case DTypeI16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case DTypeU16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case DTypeI8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case DTypeBool, DTypeU8:
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, fmt.Errorf("cannot convert %s to int64", dt)
	}
	return out, nil
}
