// Package safetensors reads and writes the safetensors tensor file format
// used by Hugging Face checkpoints, and opens whole checkpoint directories
// (a single model.safetensors or a sharded model.safetensors.index.json).
//
// A file is a little-endian uint64 header length N, N bytes of JSON header,
// then the data buffer. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// start of the data buffer) and may hold a "__metadata__" object of string
// values. Headers are validated as strictly as the upstream Rust reader does:
// known dtypes, sizes that match shapes, and tensors that tile the data buffer
// exactly with no overlap, hole or overrun.
//
// Element data is decoded explicitly as little-endian, so reading works on
// any host; zero-copy fast paths are used when the host is little-endian and
// the data is suitably aligned.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes; it is the
// limit the upstream reader enforces (100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the string metadata.
const metadataKey = "__metadata__"

// ErrInvalid is wrapped by every error that reports malformed safetensors
// data (bad header, sizes, offsets), so callers can test with errors.Is.
var ErrInvalid = errors.New("invalid safetensors data")

// ErrNotFound is wrapped by lookups of a tensor name that is not present.
var ErrNotFound = errors.New("tensor not found")

// ErrClosed is returned by data accessors called after Close.
var ErrClosed = errors.New("safetensors: file is closed")

// invalidError is a format error; its text is the message alone and it
// unwraps to ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Info describes one tensor of a file.
type Info struct {
	// Name is the tensor's key in the header.
	Name string
	// DType is the element type.
	DType DType
	// Shape holds the dimensions; it is empty for a scalar.
	Shape []int
	// Begin and End are the byte offsets of the data relative to the start
	// of the data buffer (the header's data_offsets).
	Begin, End int64
}

// NumElements returns the number of elements (the product of Shape; 1 for a
// scalar).
func (i Info) NumElements() int {
	n := 1
	for _, d := range i.Shape {
		n *= d
	}
	return n
}

// File is one parsed safetensors file. Its methods may be called from several
// goroutines at once, but not concurrently with Close.
type File struct {
	data     []byte // the whole file
	dataOff  int    // start of the data buffer in data
	infos    map[string]*Info
	names    []string // sorted
	metadata map[string]string
	release  func() error // unmaps; nil for in-memory buffers
	closed   bool
}

// Parse validates buf as a complete safetensors file and returns a File that
// reads from it without copying. buf must not be modified while the File is
// in use. Close on such a File only marks it closed.
func Parse(buf []byte) (*File, error) {
	f, err := parse(buf)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// rawTensor is a header entry as decoded, before validation.
type rawTensor struct {
	name    string
	dtype   DType
	shape   []uint64
	offsets []uint64
}

// parse is Parse without the package prefix on errors.
func parse(buf []byte) (*File, error) {
	if len(buf) < 8 {
		return nil, invalidf("file is %d bytes, shorter than the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf[:8])
	if n > MaxHeaderSize {
		return nil, invalidf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > uint64(len(buf)-8) {
		return nil, invalidf("header length %d exceeds the %d bytes after the length prefix", n, len(buf)-8)
	}
	header := buf[8 : 8+n]
	raws, meta, err := decodeHeader(header)
	if err != nil {
		return nil, err
	}
	f := &File{
		data:     buf,
		dataOff:  8 + int(n),
		infos:    make(map[string]*Info, len(raws)),
		names:    make([]string, 0, len(raws)),
		metadata: meta,
	}
	bufLen := uint64(len(buf) - f.dataOff)
	for _, r := range raws {
		info, err := validateTensor(r, bufLen)
		if err != nil {
			return nil, err
		}
		f.infos[r.name] = info
		f.names = append(f.names, r.name)
	}
	sort.Strings(f.names)
	if err := checkTiling(f.infos, f.names, int64(bufLen)); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeHeader decodes the JSON header into raw entries and the metadata,
// rejecting anything that is not a UTF-8 JSON object of well-typed entries.
func decodeHeader(header []byte) ([]rawTensor, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, invalidf("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, invalidf("header is not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, invalidf("header is not a JSON object")
	}
	var (
		raws []rawTensor
		meta map[string]string
		seen = make(map[string]bool)
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, invalidf("header is not valid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, invalidf("header is not valid JSON: unexpected %v", tok)
		}
		if seen[key] {
			return nil, nil, invalidf("header has key %q twice", key)
		}
		seen[key] = true
		if key == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, invalidf("__metadata__ is not an object of strings: %v", err)
			}
			continue
		}
		var fields map[string]json.RawMessage
		if err := dec.Decode(&fields); err != nil {
			return nil, nil, invalidf("tensor %q: entry is not a JSON object: %v", key, err)
		}
		r := rawTensor{name: key}
		var dt string
		if err := field(fields, key, "dtype", &dt); err != nil {
			return nil, nil, err
		}
		r.dtype = DType(dt)
		if err := field(fields, key, "shape", &r.shape); err != nil {
			return nil, nil, err
		}
		if err := field(fields, key, "data_offsets", &r.offsets); err != nil {
			return nil, nil, err
		}
		raws = append(raws, r)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, invalidf("header is not valid JSON: %v", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, invalidf("header is not valid JSON: %v", err)
		}
		return nil, nil, invalidf("header has trailing data after the JSON object: %v", tok)
	}
	return raws, meta, nil
}

// field decodes the required member name of a tensor entry into dst.
func field(fields map[string]json.RawMessage, tensor, name string, dst any) error {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return invalidf("tensor %q: missing %q", tensor, name)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return invalidf("tensor %q: bad %q %s: %v", tensor, name, raw, err)
	}
	return nil
}

// validateTensor checks one entry's dtype, shape and offsets against each
// other and against the data buffer length.
func validateTensor(r rawTensor, bufLen uint64) (*Info, error) {
	size := r.dtype.Size()
	if size == 0 {
		return nil, invalidf("tensor %q: unknown dtype %q", r.name, string(r.dtype))
	}
	if len(r.offsets) != 2 {
		return nil, invalidf("tensor %q: data_offsets has %d values, want 2", r.name, len(r.offsets))
	}
	begin, end := r.offsets[0], r.offsets[1]
	if begin > end {
		return nil, invalidf("tensor %q: data_offsets [%d,%d] end before they begin", r.name, begin, end)
	}
	if end > bufLen {
		return nil, invalidf("tensor %q: data_offsets [%d,%d] run past the %d-byte data buffer", r.name, begin, end, bufLen)
	}
	shape := make([]int, len(r.shape))
	numel := uint64(1)
	overflow := false
	for i, d := range r.shape {
		if d > math.MaxInt {
			overflow = true
		}
		shape[i] = int(d)
		hi, lo := bits.Mul64(numel, d)
		if hi != 0 {
			overflow = true
		}
		numel = lo
	}
	hi, need := bits.Mul64(numel, uint64(size))
	if hi != 0 || overflow {
		return nil, invalidf("tensor %q: shape %s of %s overflows the addressable size", r.name, fmtShape(r.shape), r.dtype)
	}
	if end-begin != need {
		return nil, invalidf("tensor %q: data_offsets [%d,%d] hold %d bytes, shape %v of %s needs %d",
			r.name, begin, end, end-begin, fmtShape(r.shape), r.dtype, need)
	}
	return &Info{Name: r.name, DType: r.dtype, Shape: shape, Begin: int64(begin), End: int64(end)}, nil
}

// fmtShape formats a shape as [a,b,c] like the header does.
func fmtShape[T int | uint64](shape []T) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", d)
	}
	return string(append(b, ']'))
}

// checkTiling verifies that the tensors, ordered by offset, cover the data
// buffer exactly: each begins where the previous ended, the first at 0, and
// the last ends at the end of the buffer.
func checkTiling(infos map[string]*Info, names []string, bufLen int64) error {
	order := make([]*Info, 0, len(names))
	for _, n := range names {
		order = append(order, infos[n])
	}
	slices.SortStableFunc(order, func(a, b *Info) int {
		if a.Begin != b.Begin {
			return compare(a.Begin, b.Begin)
		}
		return compare(a.End, b.End)
	})
	var prev *Info
	var pos int64
	for _, in := range order {
		if in.Begin != pos {
			if prev == nil {
				return invalidf("tensor %q: data_offsets [%d,%d] leave a hole at the start of the data buffer",
					in.Name, in.Begin, in.End)
			}
			kind := "leave a hole after"
			if in.Begin < pos {
				kind = "overlap"
			}
			return invalidf("tensor %q: data_offsets [%d,%d] %s tensor %q, which ends at %d",
				in.Name, in.Begin, in.End, kind, prev.Name, pos)
		}
		pos = in.End
		prev = in
	}
	if pos != bufLen {
		return invalidf("data buffer is %d bytes but the tensors cover %d", bufLen, pos)
	}
	return nil
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Names returns the tensor names in sorted order. The slice is a copy.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Info returns the description of the named tensor. Its Shape is a copy.
func (f *File) Info(name string) (Info, bool) {
	in, ok := f.infos[name]
	if !ok {
		return Info{}, false
	}
	out := *in
	out.Shape = slices.Clone(in.Shape)
	return out, true
}

// Metadata returns a copy of the header's "__metadata__" strings (nil when
// the header has none).
func (f *File) Metadata() map[string]string {
	if f.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// Bytes returns the raw little-endian data of the named tensor. The slice
// is a zero-copy view of the file: it must not be modified, and it becomes
// invalid (reading it may crash the program) once the File is closed.
func (f *File) Bytes(name string) ([]byte, error) {
	in, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	return f.view(in), nil
}

func (f *File) lookup(name string) (*Info, error) {
	if f.closed {
		return nil, ErrClosed
	}
	in, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %w: %q", ErrNotFound, name)
	}
	return in, nil
}

func (f *File) view(in *Info) []byte {
	lo, hi := f.dataOff+int(in.Begin), f.dataOff+int(in.End)
	return f.data[lo:hi:hi]
}

// Float32 returns the named tensor converted to a new float32 slice. F32,
// BF16 and F16 convert exactly; F64 rounds to nearest; integer and BOOL
// tensors convert by value (64-bit integers may round). F8 types are not
// supported.
func (f *File) Float32(name string) ([]float32, error) {
	in, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	out, err := toFloat32(in.DType, f.view(in))
	if err != nil {
		return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
	}
	return out, nil
}

// Int64 returns the named tensor converted to a new int64 slice. Every
// integer dtype and BOOL are accepted; a U64 value above math.MaxInt64 is an
// error. Float tensors are rejected.
func (f *File) Int64(name string) ([]int64, error) {
	in, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	out, err := toInt64(in.DType, f.view(in))
	if err != nil {
		return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
	}
	return out, nil
}

// Close releases the file's memory mapping. Views returned by Bytes are
// invalid afterwards. Calling Close more than once is harmless.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	rel := f.release
	f.release = nil
	f.data = nil
	if rel != nil {
		if err := rel(); err != nil {
			return fmt.Errorf("safetensors: unmap: %w", err)
		}
	}
	return nil
}
