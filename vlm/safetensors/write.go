package safetensors

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vstgo/vst/vlm/tensor/half"
)

// Tensor is one tensor to write: raw little-endian, C-order element data.
type Tensor struct {
	// Name is the header key; it must be non-empty valid UTF-8 and not
	// "__metadata__".
	Name string
	// DType is the element type.
	DType DType
	// Shape holds the dimensions (empty for a scalar); all must be >= 0.
	Shape []int
	// Data holds exactly product(Shape) × DType.Size() bytes.
	Data []byte
}

// F32 returns a float32 Tensor; the values are encoded little-endian.
func F32(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: DTypeF32, Shape: shape, Data: b}
}

// BF16 returns a bfloat16 Tensor, rounding values to nearest, ties to even.
func BF16(name string, shape []int, values []float32) Tensor {
	h := make([]uint16, len(values))
	half.BF16FromFloat32s(h, values)
	return Tensor{Name: name, DType: DTypeBF16, Shape: shape, Data: put16(h)}
}

// F16 returns a float16 Tensor, rounding values to nearest, ties to even.
func F16(name string, shape []int, values []float32) Tensor {
	h := make([]uint16, len(values))
	half.F16FromFloat32s(h, values)
	return Tensor{Name: name, DType: DTypeF16, Shape: shape, Data: put16(h)}
}

func put16(h []uint16) []byte {
	b := make([]byte, 2*len(h))
	for i, v := range h {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

// I64 returns an int64 Tensor.
func I64(name string, shape []int, values []int64) Tensor {
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: DTypeI64, Shape: shape, Data: b}
}

// I32 returns an int32 Tensor.
func I32(name string, shape []int, values []int32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: DTypeI32, Shape: shape, Data: b}
}

// U8 returns a uint8 Tensor holding a copy of values.
func U8(name string, shape []int, values []byte) Tensor {
	return Tensor{Name: name, DType: DTypeU8, Shape: shape, Data: slices.Clone(values)}
}

// Spec describes a tensor without its data: its header entry, as a
// StreamWriter announces it before the data arrives.
type Spec struct {
	// Name is the header key; it must be non-empty valid UTF-8 and not
	// "__metadata__".
	Name string
	// DType is the element type.
	DType DType
	// Shape holds the dimensions (empty for a scalar); all must be >= 0.
	Shape []int
}

// Spec returns t's name, dtype and shape.
func (t Tensor) Spec() Spec { return Spec{Name: t.Name, DType: t.DType, Shape: t.Shape} }

// specsOf returns the specs of tensors, in order.
func specsOf(tensors []Tensor) []Spec {
	specs := make([]Spec, len(tensors))
	for i, t := range tensors {
		specs[i] = t.Spec()
	}
	return specs
}

func byName(a, b Spec) int { return strings.Compare(a.Name, b.Name) }

// validateSpecs checks the names, dtypes and shapes of specs sorted by name.
func validateSpecs(sorted []Spec) error {
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return errors.New("tensor with an empty name")
		case t.Name == metadataKey:
			return fmt.Errorf("tensor name %q is reserved", t.Name)
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return fmt.Errorf("tensor %q appears twice", t.Name)
		case !t.DType.Valid():
			return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, string(t.DType))
		}
		if _, ok := byteSize(t.DType, t.Shape); !ok {
			return fmt.Errorf("tensor %q: shape %s of %s is invalid or too large", t.Name, fmtShape(t.Shape), t.DType)
		}
	}
	return nil
}

// validateTensors checks every tensor and returns them sorted by name.
func validateTensors(tensors []Tensor) ([]Tensor, error) {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	if err := validateSpecs(specsOf(sorted)); err != nil {
		return nil, err
	}
	for _, t := range sorted {
		if need, _ := byteSize(t.DType, t.Shape); uint64(len(t.Data)) != need {
			return nil, fmt.Errorf("tensor %q: data is %d bytes, shape %s of %s needs %d",
				t.Name, len(t.Data), fmtShape(t.Shape), t.DType, need)
		}
	}
	return sorted, nil
}

// dataSize returns the data bytes of validated specs.
func dataSize(specs []Spec) uint64 {
	var n uint64
	for _, t := range specs {
		sz, _ := byteSize(t.DType, t.Shape)
		n += sz
	}
	return n
}

// byteSize returns product(shape) × dt.Size(), or false for a negative
// dimension or an overflow.
func byteSize(dt DType, shape []int) (uint64, bool) {
	n := uint64(dt.Size())
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// encodeHeader builds the JSON header exactly as the Hugging Face writer
// lays it out: compact JSON, tensors in the given order with fields dtype,
// shape, data_offsets, then "__metadata__" (keys sorted) when non-empty, and
// space padding so that the data buffer starts at a multiple of 8 bytes.
func encodeHeader(sorted []Spec, metadata map[string]string) ([]byte, error) {
	var b []byte
	b = append(b, '{')
	var off uint64
	for i, t := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendJSONString(b, string(t.DType))
		b = append(b, `,"shape":`...)
		b = append(b, fmtShape(t.Shape)...)
		size, _ := byteSize(t.DType, t.Shape)
		end := off + size
		b = fmt.Appendf(b, `,"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	if len(metadata) > 0 {
		if len(sorted) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"__metadata__":{`...)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			v := metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("metadata %q: not valid UTF-8", k)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	if len(b) > MaxHeaderSize {
		return nil, fmt.Errorf("header is %d bytes, over the %d-byte limit", len(b), MaxHeaderSize)
	}
	return b, nil
}

// appendJSONString appends s as a JSON string escaped the way serde_json and
// Python's json do for ASCII text: only '"', '\\' and control characters are
// escaped; other characters are written as they are.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// encode writes a complete safetensors file for already validated, sorted
// tensors.
func encode(w io.Writer, sorted []Tensor, metadata map[string]string) error {
	header, err := encodeHeader(specsOf(sorted), metadata)
	if err != nil {
		return err
	}
	if err := writeHeader(w, header); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// writeHeader writes the length prefix and the header.
func writeHeader(w io.Writer, header []byte) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(header)
	return err
}

// Write stores tensors and metadata as a safetensors file at path, in the
// Hugging Face layout: a compact JSON header with tensors sorted by name
// (fields dtype, shape, data_offsets), then "__metadata__" with its keys
// sorted (omitted when metadata is empty), padded with spaces so the data
// starts 8-byte aligned; the data follows contiguously in header order.
// Non-ASCII text in names and metadata is written as raw UTF-8 (as the Rust
// writer does), not as \u escapes.
//
// Every tensor is validated before the file system is touched. The file is
// written to a temporary file in the same directory, synced and renamed over
// path, so an existing file at path is either fully replaced or left as it
// was. The new file has mode 0644.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	sorted, err := validateTensors(tensors)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	sw, err := NewStreamWriter(path, specsOf(sorted), metadata)
	if err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := sw.Write(t.Data); err != nil {
			sw.Abort()
			return err
		}
	}
	return sw.Close()
}

// StreamWriter writes a safetensors file whose tensors are known up front
// and whose data arrives in order, so that a file larger than memory can be
// written: NewStreamWriter writes the header, Write takes the data of the
// tensors one after the other, in name order, and Close completes the file.
// The layout is Write's, byte for byte, and so is the atomicity: the data
// goes to a temporary file that Close syncs and renames over the path, and
// that Abort, or a Close before all data arrived, removes.
type StreamWriter struct {
	path string
	file *atomicFile
	left uint64 // data bytes still expected
	err  error  // the first failure; sticky
}

// NewStreamWriter validates tensors, which must be sorted by name, and
// metadata, then creates the temporary file and writes the header. Nothing
// is created when validation fails.
func NewStreamWriter(path string, tensors []Spec, metadata map[string]string) (*StreamWriter, error) {
	header, err := streamHeader(tensors, metadata)
	if err != nil {
		return nil, fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	f, err := createAtomic(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := writeHeader(f, header); err != nil {
		f.abort()
		return nil, fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return &StreamWriter{path: path, file: f, left: dataSize(tensors)}, nil
}

// streamHeader validates sorted tensors and metadata and encodes the header.
func streamHeader(sorted []Spec, metadata map[string]string) ([]byte, error) {
	if !slices.IsSortedFunc(sorted, byName) {
		return nil, errors.New("tensors are not sorted by name")
	}
	if err := validateSpecs(sorted); err != nil {
		return nil, err
	}
	return encodeHeader(sorted, metadata)
}

// Write implements io.Writer: it appends tensor data. Writing more than the
// header announces fails, as does any write after a failure or Close.
func (w *StreamWriter) Write(p []byte) (int, error) {
	switch {
	case w.err != nil:
		return 0, w.err
	case w.file == nil:
		return 0, fmt.Errorf("safetensors: write %s: writer is closed", w.path)
	case uint64(len(p)) > w.left:
		w.err = fmt.Errorf("safetensors: write %s: %d data bytes overrun the header by %d", w.path, len(p), uint64(len(p))-w.left)
		return 0, w.err
	}
	n, err := w.file.Write(p)
	w.left -= uint64(n)
	if err != nil {
		w.err = fmt.Errorf("safetensors: write %s: %w", w.path, err)
	}
	return n, w.err
}

// Close completes the file and renames it over the path. When a Write
// failed or data is missing it removes the temporary file instead and
// returns the error.
func (w *StreamWriter) Close() error {
	if w.file == nil {
		return w.err
	}
	f := w.file
	w.file = nil
	if w.err == nil && w.left != 0 {
		w.err = fmt.Errorf("safetensors: write %s: %d data bytes missing", w.path, w.left)
	}
	if w.err != nil {
		f.abort()
		return w.err
	}
	if err := f.commit(); err != nil {
		w.err = fmt.Errorf("safetensors: write %s: %w", w.path, err)
	}
	return w.err
}

// Abort removes the temporary file, leaving the path as it was. It does
// nothing after Close.
func (w *StreamWriter) Abort() {
	if w.file != nil {
		w.file.abort()
		w.file = nil
		if w.err == nil {
			w.err = fmt.Errorf("safetensors: write %s: aborted", w.path)
		}
	}
}

// atomicFile is a buffered temporary file that commit renames over path.
type atomicFile struct {
	*bufio.Writer
	path, dir string
	tmp       *os.File
}

// createAtomic creates the temporary file of path in its directory.
func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{Writer: bufio.NewWriterSize(tmp, 1<<20), path: path, dir: dir, tmp: tmp}, nil
}

// commit flushes, syncs and closes the file with mode 0644 and renames it
// over path; on failure it removes the temporary file.
func (f *atomicFile) commit() (err error) {
	defer func() {
		if err != nil {
			f.abort()
		}
	}()
	if err := f.Flush(); err != nil {
		return err
	}
	if err := f.tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := f.tmp.Sync(); err != nil {
		return err
	}
	if err := f.tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return err
	}
	syncDir(f.dir)
	return nil
}

// abort closes and removes the temporary file.
func (f *atomicFile) abort() {
	_ = f.tmp.Close()
	_ = os.Remove(f.tmp.Name())
}

// WriteFileAtomic writes the file at path with fill the way this package
// writes its own files, for the other files of a checkpoint directory: to a
// temporary file in the same directory that is synced, given mode 0644 and
// renamed over path, so path is either complete or untouched.
func WriteFileAtomic(path string, fill func(io.Writer) error) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.abort()
		return err
	}
	return f.commit()
}

// syncDir makes a rename in dir durable where the platform allows it; errors
// are ignored because some systems cannot sync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// DefaultMaxShardBytes is the shard size limit WriteSharded uses when given
// maxShardBytes <= 0: 5 GB, the default of Hugging Face save_pretrained.
const DefaultMaxShardBytes = 5_000_000_000

// IndexFile is the name of a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// SingleFile is the name of an unsharded checkpoint.
const SingleFile = "model.safetensors"

// WriteSharded saves tensors as a checkpoint directory the way Hugging Face
// save_pretrained does. Tensors, in name order, are packed greedily into
// shards of at most maxShardBytes data bytes (DefaultMaxShardBytes when
// maxShardBytes <= 0); a tensor larger than the limit gets a shard of its
// own. With a single shard the result is dir/model.safetensors and no index;
// otherwise the shards are model-00001-of-0000N.safetensors and
// model.safetensors.index.json maps each tensor to its shard, with
// metadata.total_size the sum of tensor data sizes. metadata is written into
// every shard's header. dir is created if needed; each file is written
// atomically, the index last. Files from earlier saves that are not
// overwritten (for example shards of a different count) are left in place.
func WriteSharded(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) error {
	sorted, err := validateTensors(tensors)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", dir, err)
	}
	_, err = WriteShardedStream(dir, specsOf(sorted), metadata, maxShardBytes, func(w io.Writer, begin, end int) error {
		for _, t := range sorted[begin:end] {
			if _, err := w.Write(t.Data); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// WriteShardedStream saves a checkpoint directory as WriteSharded does, for
// tensors sorted by name whose data fill supplies: it is called once per
// file, in order, with the file's writer and the range [begin, end) of the
// tensors the file holds, and must write exactly their data in that order
// (see StreamWriter). It returns the names of the files written: the
// shards, then the index when there is one.
func WriteShardedStream(dir string, tensors []Spec, metadata map[string]string, maxShardBytes int64, fill func(w io.Writer, begin, end int) error) ([]string, error) {
	if maxShardBytes <= 0 {
		maxShardBytes = DefaultMaxShardBytes
	}
	if _, err := streamHeader(tensors, metadata); err != nil {
		return nil, fmt.Errorf("safetensors: write %s: %w", dir, err)
	}
	var shards [][]Spec
	var cur int64
	for _, t := range tensors {
		sz, _ := byteSize(t.DType, t.Shape)
		if len(shards) == 0 || (cur+int64(sz) > maxShardBytes && cur > 0) {
			shards = append(shards, nil)
			cur = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		cur += int64(sz)
	}
	if len(shards) == 0 {
		shards = append(shards, nil)
	}
	for _, s := range shards {
		if _, err := encodeHeader(s, metadata); err != nil {
			return nil, fmt.Errorf("safetensors: write %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var files []string
	weightMap := make(map[string]string, len(tensors))
	first := 0
	for i, s := range shards {
		name := SingleFile
		if len(shards) > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		}
		for _, t := range s {
			weightMap[t.Name] = name
		}
		err := writeShard(filepath.Join(dir, name), s, metadata, func(w io.Writer) error {
			return fill(w, first, first+len(s))
		})
		if err != nil {
			return nil, err
		}
		first += len(s)
		files = append(files, name)
	}
	if len(shards) == 1 {
		return files, nil
	}
	index := encodeIndex(dataSize(tensors), weightMap, tensors)
	err := WriteFileAtomic(filepath.Join(dir, IndexFile), func(w io.Writer) error {
		_, err := w.Write(index)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("safetensors: write %s: %w", IndexFile, err)
	}
	return append(files, IndexFile), nil
}

// writeShard writes one file of WriteShardedStream.
func writeShard(path string, shard []Spec, metadata map[string]string, fill func(io.Writer) error) error {
	sw, err := NewStreamWriter(path, shard, metadata)
	if err != nil {
		return err
	}
	if err := fill(sw); err != nil {
		werr := sw.err // a failed Write: already names the path
		sw.Abort()
		if werr != nil && errors.Is(err, werr) {
			return err
		}
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return sw.Close()
}

// encodeIndex formats the index JSON as Python's json.dumps(indent=2,
// sort_keys=True) does, followed by a newline.
func encodeIndex(total uint64, weightMap map[string]string, sorted []Spec) []byte {
	var b []byte
	b = append(b, "{\n  \"metadata\": {\n    \"total_size\": "...)
	b = strconv.AppendUint(b, total, 10)
	b = append(b, "\n  },\n  \"weight_map\": {"...)
	for i, t := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = appendJSONString(b, t.Name)
		b = append(b, ": "...)
		b = appendJSONString(b, weightMap[t.Name])
	}
	b = append(b, "\n  }\n}\n"...)
	return b
}
