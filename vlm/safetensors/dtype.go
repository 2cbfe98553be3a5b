package safetensors

// DType is a safetensors element type, spelled as in the file header
// (for example "F32" or "BF16").
type DType string

// The element types a safetensors header may name. All of them are whole
// bytes wide; the sub-byte types of newer safetensors releases (F4, F6_*) are
// not supported and are rejected as unknown.
const (
	DTypeBool   DType = "BOOL"
	DTypeU8     DType = "U8"
	DTypeI8     DType = "I8"
	DTypeI16    DType = "I16"
	DTypeU16    DType = "U16"
	DTypeF16    DType = "F16"
	DTypeBF16   DType = "BF16"
	DTypeI32    DType = "I32"
	DTypeU32    DType = "U32"
	DTypeF32    DType = "F32"
	DTypeF64    DType = "F64"
	DTypeI64    DType = "I64"
	DTypeU64    DType = "U64"
	DTypeF8E4M3 DType = "F8_E4M3"
	DTypeF8E5M2 DType = "F8_E5M2"
	DTypeF8E8M0 DType = "F8_E8M0"
)

// dtypeSizes maps every known dtype to its width in bytes.
var dtypeSizes = map[DType]int{
	DTypeBool:   1,
	DTypeU8:     1,
	DTypeI8:     1,
	DTypeF8E4M3: 1,
	DTypeF8E5M2: 1,
	DTypeF8E8M0: 1,
	DTypeI16:    2,
	DTypeU16:    2,
	DTypeF16:    2,
	DTypeBF16:   2,
	DTypeI32:    4,
	DTypeU32:    4,
	DTypeF32:    4,
	DTypeF64:    8,
	DTypeI64:    8,
	DTypeU64:    8,
}

// Size returns the width of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is a dtype this package knows.
func (d DType) Valid() bool { return d.Size() > 0 }

// String returns the header spelling of d.
func (d DType) String() string { return string(d) }
