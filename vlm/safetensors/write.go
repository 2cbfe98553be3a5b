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

// validateTensors checks every tensor and returns them sorted by name.
func validateTensors(tensors []Tensor) ([]Tensor, error) {
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range sorted {
		switch {
		case t.Name == "":
			return nil, errors.New("tensor with an empty name")
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor name %q is reserved", t.Name)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		case i > 0 && sorted[i-1].Name == t.Name:
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		case !t.DType.Valid():
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", t.Name, string(t.DType))
		}
		need, ok := byteSize(t.DType, t.Shape)
		if !ok {
			return nil, fmt.Errorf("tensor %q: shape %s of %s is invalid or too large", t.Name, fmtShape(t.Shape), t.DType)
		}
		if uint64(len(t.Data)) != need {
			return nil, fmt.Errorf("tensor %q: data is %d bytes, shape %s of %s needs %d",
				t.Name, len(t.Data), fmtShape(t.Shape), t.DType, need)
		}
	}
	return sorted, nil
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
func encodeHeader(sorted []Tensor, metadata map[string]string) ([]byte, error) {
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
		end := off + uint64(len(t.Data))
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
	header, err := encodeHeader(sorted, metadata)
	if err != nil {
		return err
	}
	return encodeWithHeader(w, header, sorted)
}

// encodeWithHeader writes the length prefix, header and tensor data.
func encodeWithHeader(w io.Writer, header []byte, sorted []Tensor) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
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
	header, err := encodeHeader(sorted, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	err = writeAtomic(path, func(w io.Writer) error { return encodeWithHeader(w, header, sorted) })
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes path through a synced temporary file and a rename.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
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
	if maxShardBytes <= 0 {
		maxShardBytes = DefaultMaxShardBytes
	}
	var shards [][]Tensor
	var cur int64
	for _, t := range sorted {
		sz := int64(len(t.Data))
		if len(shards) == 0 || (cur+sz > maxShardBytes && cur > 0) {
			shards = append(shards, nil)
			cur = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], t)
		cur += sz
	}
	if len(shards) == 0 {
		shards = append(shards, nil)
	}
	for _, s := range shards {
		if _, err := encodeHeader(s, metadata); err != nil {
			return fmt.Errorf("safetensors: write %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if len(shards) == 1 {
		return Write(filepath.Join(dir, SingleFile), sorted, metadata)
	}
	weightMap := make(map[string]string, len(sorted))
	var total int64
	for i, s := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		for _, t := range s {
			weightMap[t.Name] = name
			total += int64(len(t.Data))
		}
		if err := Write(filepath.Join(dir, name), s, metadata); err != nil {
			return err
		}
	}
	index := encodeIndex(total, weightMap, sorted)
	err = writeAtomic(filepath.Join(dir, IndexFile), func(w io.Writer) error {
		_, err := w.Write(index)
		return err
	})
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", IndexFile, err)
	}
	return nil
}

// encodeIndex formats the index JSON as Python's json.dumps(indent=2,
// sort_keys=True) does, followed by a newline.
func encodeIndex(total int64, weightMap map[string]string, sorted []Tensor) []byte {
	var b []byte
	b = append(b, "{\n  \"metadata\": {\n    \"total_size\": "...)
	b = strconv.AppendInt(b, total, 10)
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
