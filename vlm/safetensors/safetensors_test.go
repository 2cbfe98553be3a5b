package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawFile builds a file from a header string and dataLen zero data bytes.
func rawFile(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

func TestRoundTripEveryDType(t *testing.T) {
	for dt, size := range dtypeSizes {
		t.Run(string(dt), func(t *testing.T) {
			shape := []int{2, 3}
			data := make([]byte, 6*size)
			for i := range data {
				data[i] = byte(i*7 + 1)
			}
			path := filepath.Join(t.TempDir(), "x.safetensors")
			tensors := []Tensor{
				{Name: "b", DType: dt, Shape: shape, Data: data},
				{Name: "a", DType: dt, Shape: nil, Data: data[:size]},
				{Name: "empty", DType: dt, Shape: []int{0, 4}, Data: nil},
			}
			meta := map[string]string{"format": "pt", "note": "quote\" and \\ and \n"}
			require.NoError(t, Write(path, tensors, meta))
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Zero(t, (8+binary.LittleEndian.Uint64(raw))%8, "data start must be 8-byte aligned")

			f, err := Open(path)
			require.NoError(t, err)
			defer f.Close()
			require.Equal(t, []string{"a", "b", "empty"}, f.Names())
			require.Equal(t, meta, f.Metadata())
			for _, want := range tensors {
				info, ok := f.Info(want.Name)
				require.True(t, ok)
				require.Equal(t, dt, info.DType)
				if len(want.Shape) == 0 {
					require.Empty(t, info.Shape)
				} else {
					require.Equal(t, want.Shape, info.Shape)
				}
				got, err := f.Bytes(want.Name)
				require.NoError(t, err)
				require.Equal(t, len(want.Data), len(got))
				if len(want.Data) > 0 {
					require.Equal(t, want.Data, got)
				}
			}
		})
	}
}

func TestConstructorsRoundTrip(t *testing.T) {
	vals := []float32{0, 1, -2.5, 0.1, 65504, float32(math.Inf(-1))}
	tensors := []Tensor{
		F32("f32", []int{2, 3}, vals),
		BF16("bf16", []int{6}, vals),
		F16("f16", []int{3, 2}, vals),
		I64("i64", []int{3}, []int64{-1, 0, math.MaxInt64}),
		I32("i32", []int{2}, []int32{math.MinInt32, 7}),
		U8("u8", []int{2, 2}, []byte{0, 1, 254, 255}),
	}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	require.NoError(t, Write(path, tensors, nil))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.Nil(t, f.Metadata())

	tests := []struct {
		name   string
		floats []float32
		ints   []int64
	}{
		{name: "f32", floats: vals},
		{name: "bf16", floats: []float32{0, 1, -2.5, 0.10009765625, 65536, float32(math.Inf(-1))}},
		{name: "f16", floats: []float32{0, 1, -2.5, 0.0999755859375, 65504, float32(math.Inf(-1))}},
		{name: "i64", floats: []float32{-1, 0, 9.223372e18}, ints: []int64{-1, 0, math.MaxInt64}},
		{name: "i32", floats: []float32{math.MinInt32, 7}, ints: []int64{math.MinInt32, 7}},
		{name: "u8", floats: []float32{0, 1, 254, 255}, ints: []int64{0, 1, 254, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Float32(tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.floats, got)
			ints, err := f.Int64(tc.name)
			if tc.ints == nil {
				require.ErrorContains(t, err, "cannot convert")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ints, ints)
		})
	}
}

func TestConversionsAllDTypes(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		dt     DType
		data   []byte
		floats []float32 // nil: Float32 must fail
		ints   []int64   // nil: Int64 must fail
	}{
		{DTypeBool, []byte{0, 1}, []float32{0, 1}, []int64{0, 1}},
		{DTypeI8, []byte{0xff, 5}, []float32{-1, 5}, []int64{-1, 5}},
		{DTypeI16, le.AppendUint16(nil, 0xfffe), []float32{-2}, []int64{-2}},
		{DTypeU16, le.AppendUint16(nil, 0xfffe), []float32{65534}, []int64{65534}},
		{DTypeU32, le.AppendUint32(nil, 4000000000), []float32{4e9}, []int64{4000000000}},
		{DTypeU64, le.AppendUint64(nil, 1<<40), []float32{1 << 40}, []int64{1 << 40}},
		{DTypeU64, le.AppendUint64(nil, math.MaxUint64), []float32{1 << 64}, nil},
		{DTypeF64, le.AppendUint64(nil, math.Float64bits(-0.5)), []float32{-0.5}, nil},
		{DTypeF8E4M3, []byte{0x38}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.dt), func(t *testing.T) {
			f, err := toFloat32(tc.dt, tc.data)
			if tc.floats == nil {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.floats, f)
			}
			i, err := toInt64(tc.dt, tc.data)
			if tc.ints == nil {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.ints, i)
			}
		})
	}
}

// TestUnalignedConversions parses a file placed at an odd address so the
// decode-by-bytes paths run instead of the in-place views.
func TestUnalignedConversions(t *testing.T) {
	vals := make([]float32, 3*convChunk+5)
	for i := range vals {
		vals[i] = float32(i%97) * 0.25
	}
	tensors := []Tensor{BF16("a", []int{len(vals)}, vals), F16("b", []int{len(vals)}, vals), F32("c", []int{len(vals)}, vals)}
	sorted, err := validateTensors(tensors)
	require.NoError(t, err)
	var buf bytes.Buffer
	buf.WriteByte(0)
	require.NoError(t, encode(&buf, sorted, nil))
	unaligned := buf.Bytes()[1:] // the buffer's array is word-aligned
	for name, data := range map[string][]byte{"aligned": bytes.Clone(unaligned), "unaligned": unaligned} {
		f, err := Parse(data)
		require.NoError(t, err)
		for _, n := range []string{"a", "b", "c"} {
			got, err := f.Float32(n)
			require.NoError(t, err)
			require.Equal(t, vals, got, "tensor %s, %s", n, name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	long := make([]byte, 16)
	binary.LittleEndian.PutUint64(long, 9)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, shorter than the 8-byte header length"},
		{"truncated length", []byte{1, 0, 0}, "shorter than the 8-byte"},
		{"huge header length", huge, "header length 1099511627776 exceeds the 100000000-byte limit"},
		{"header past end", long, "header length 9 exceeds the 8 bytes after the length prefix"},
		{"invalid utf8", rawFile("{\"\xff\":1}", 0), "not valid UTF-8"},
		{"array", rawFile(`[1,2]`, 0), "header is not a JSON object"},
		{"string", rawFile(`"x"`, 0), "header is not a JSON object"},
		{"empty header", rawFile(``, 0), "not valid JSON"},
		{"truncated json", rawFile(`{"a":{"dtype":"F32"`, 0), `tensor "a": entry is not a JSON object: unexpected EOF`},
		{"bad token", rawFile(`{]`, 0), "not valid JSON"},
		{"not a key", rawFile(`{1:2}`, 0), "not valid JSON"},
		{"trailing data", rawFile(`{} {}`, 0), "trailing data"},
		{"duplicate key", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), `header has key "a" twice`},
		{"entry not object", rawFile(`{"a":5}`, 0), `tensor "a": entry is not a JSON object`},
		{"bad dtype", rawFile(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "a": unknown dtype "F33"`},
		{"lowercase dtype", rawFile(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, 4), `unknown dtype "f32"`},
		{"dtype not string", rawFile(`{"a":{"dtype":3,"shape":[1],"data_offsets":[0,4]}}`, 4), `tensor "a": bad "dtype"`},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 4), `tensor "a": missing "shape"`},
		{"null offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":null}}`, 4), `tensor "a": missing "data_offsets"`},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), `tensor "a": bad "shape"`},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), `tensor "a": bad "shape"`},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 4), "data_offsets has 3 values, want 2"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[4,3]}}`, 4), "data_offsets [4,3] end before they begin"},
		{"size mismatch", rawFile(`{"model.norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}`, 12),
			`safetensors: tensor "model.norm.weight": data_offsets [0,12] hold 12 bytes, shape [4] of F32 needs 16`},
		{"numel overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}}`, 0), "overflows the addressable size"},
		{"bytes overflow", rawFile(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}`, 0), "overflows the addressable size"},
		{"out of range", rawFile(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, 4), "data_offsets [0,8] run past the 4-byte data buffer"},
		{"hole at start", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4), `tensor "a": data_offsets [2,4] leave a hole at the start`},
		{"overlap", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4),
			`tensor "b": data_offsets [2,4] overlap tensor "a", which ends at 4`},
		{"same range", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 4), `tensor "b": data_offsets [0,4] overlap tensor "a"`},
		{"hole between", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}`, 5),
			`tensor "b": data_offsets [3,5] leave a hole after tensor "a", which ends at 2`},
		{"trailing buffer", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 3), "data buffer is 3 bytes but the tensors cover 2"},
		{"data without tensors", rawFile(`{}`, 1), "data buffer is 1 bytes but the tensors cover 0"},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, 0), "__metadata__ is not an object of strings"},
		{"metadata array", rawFile(`{"__metadata__":["a"]}`, 0), "__metadata__ is not an object of strings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			require.Nil(t, f)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		file  []byte
		names []string
	}{
		{"empty object", rawFile(`{}`, 0), []string{}},
		{"padded", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}     `, 1), []string{"a"}},
		{"unsorted offsets", rawFile(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), []string{"a", "b"}},
		{"zero-size tensors", rawFile(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}}`, 4), []string{"x", "y", "z"}},
		{"scalar", rawFile(`{"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`, 8), []string{"s"}},
		{"null metadata", rawFile(`{"__metadata__":null}`, 0), []string{}},
		{"unknown field", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}`, 1), []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			require.NoError(t, err)
			require.Equal(t, tc.names, f.Names())
			require.NoError(t, f.Close())
		})
	}
}

func TestLookupErrors(t *testing.T) {
	f, err := Parse(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4))
	require.NoError(t, err)
	_, err = f.Bytes("nope")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, `"nope"`)
	_, err = f.Float32("nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = f.Int64("a")
	require.ErrorContains(t, err, `tensor "a": cannot convert F32 to int64`)
	_, ok := f.Info("nope")
	require.False(t, ok)
	info, ok := f.Info("a")
	require.True(t, ok)
	info.Shape[0] = 99 // must not alias the File's copy
	again, _ := f.Info("a")
	require.Equal(t, []int{1}, again.Shape)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	_, err = f.Bytes("a")
	require.ErrorIs(t, err, ErrClosed)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.safetensors")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	bad := filepath.Join(dir, "bad.safetensors")
	require.NoError(t, os.WriteFile(bad, rawFile(`{"a":{"dtype":"X","shape":[],"data_offsets":[0,0]}}`, 0), 0o644))
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"empty", empty, "empty.safetensors: file is 0 bytes"},
		{"bad dtype", bad, `bad.safetensors: tensor "a": unknown dtype "X"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(tc.path)
			require.Nil(t, f)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "safetensors: "), err.Error())
		})
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"short data", []Tensor{{Name: "a", DType: DTypeF32, Shape: []int{4}, Data: make([]byte, 12)}}, nil,
			`tensor "a": data is 12 bytes, shape [4] of F32 needs 16`},
		{"unknown dtype", []Tensor{{Name: "a", DType: "Q4", Shape: []int{1}, Data: []byte{0}}}, nil, `unknown dtype "Q4"`},
		{"negative dim", []Tensor{{Name: "a", DType: DTypeU8, Shape: []int{-1}}}, nil, "shape [-1] of U8 is invalid"},
		{"overflow", []Tensor{{Name: "a", DType: DTypeU8, Shape: []int{math.MaxInt, math.MaxInt, 4}}}, nil, "is invalid or too large"},
		{"duplicate", []Tensor{U8("a", []int{1}, []byte{1}), U8("a", []int{1}, []byte{1})}, nil, `tensor "a" appears twice`},
		{"empty name", []Tensor{U8("", []int{1}, []byte{1})}, nil, "empty name"},
		{"reserved name", []Tensor{U8("__metadata__", []int{1}, []byte{1})}, nil, "reserved"},
		{"bad utf8 name", []Tensor{U8("a\xff", []int{1}, []byte{1})}, nil, "not valid UTF-8"},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, `metadata "k": not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.safetensors")
			err := Write(path, tc.tensors, tc.meta)
			require.ErrorContains(t, err, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "a rejected write must not create files")
		})
	}
}

func TestWriteAtomicKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, Write(path, []Tensor{F32("w", []int{2}, []float32{1, 2})}, nil))
	old, err := os.ReadFile(path)
	require.NoError(t, err)

	bad := Tensor{Name: "w", DType: DTypeF32, Shape: []int{3}, Data: make([]byte, 8)}
	require.ErrorContains(t, Write(path, []Tensor{bad}, nil), "needs 12")
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, old, now)

	// A failure after the temporary file was written (the rename onto a
	// non-empty directory fails) must leave no temporary file behind.
	target := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "keep"), 0o755))
	require.Error(t, Write(target, []Tensor{F32("w", []int{1}, []float32{1})}, nil))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"model.safetensors", "sub"}, names)

	// A successful overwrite replaces the content.
	require.NoError(t, Write(path, []Tensor{F32("w", []int{1}, []float32{5})}, nil))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	v, err := f.Float32("w")
	require.NoError(t, err)
	require.Equal(t, []float32{5}, v)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())
}

func TestHeaderLayout(t *testing.T) {
	sorted, err := validateTensors([]Tensor{
		U8("b\"\n\x01é", []int{1}, []byte{1}),
		F32("a", []int{}, []float32{1}),
	})
	require.NoError(t, err)
	h, err := encodeHeader(specsOf(sorted), map[string]string{"z": "1", "format": "pt"})
	require.NoError(t, err)
	want := `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},` +
		`"b\"\n\u0001é":{"dtype":"U8","shape":[1],"data_offsets":[4,5]},` +
		`"__metadata__":{"format":"pt","z":"1"}}`
	require.Equal(t, want, strings.TrimRight(string(h), " "))
	require.Zero(t, len(h)%8)
	require.True(t, json.Valid(h))
}

const goldenPath = "testdata/hf_tiny.safetensors"

func TestGoldenHF(t *testing.T) {
	f, err := Open(goldenPath)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, 57, f.Len())

	tests := []struct {
		name  string
		shape []int
	}{
		{"visual.patch_embed.proj.weight", []int{32, 3, 2, 14, 14}},
		{"model.embed_tokens.weight", []int{320, 64}},
		{"lm_head.weight", []int{320, 64}},
		{"model.norm.weight", []int{64}},
	}
	for _, tc := range tests {
		info, ok := f.Info(tc.name)
		require.True(t, ok, tc.name)
		require.Equal(t, DTypeF32, info.DType)
		require.Equal(t, tc.shape, info.Shape)
		v, err := f.Float32(tc.name)
		require.NoError(t, err)
		require.Len(t, v, info.NumElements())
	}
	require.Equal(t, "pt", f.Metadata()["format"])

	// Re-write every tensor with the same metadata.
	var tensors []Tensor
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		b, err := f.Bytes(n)
		require.NoError(t, err)
		tensors = append(tensors, Tensor{Name: n, DType: info.DType, Shape: info.Shape, Data: b})
	}
	out := filepath.Join(t.TempDir(), "re.safetensors")
	require.NoError(t, Write(out, tensors, f.Metadata()))
	orig, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	mine, err := os.ReadFile(out)
	require.NoError(t, err)

	// The golden writer emits "__metadata__" last with keys in insertion
	// order, which a Go map cannot carry; we sort them. Everything else is
	// byte-identical: length prefix, tensor entries, padding, data.
	require.Equal(t, len(orig), len(mine))
	n := 8 + int(binary.LittleEndian.Uint64(orig))
	require.Equal(t, orig[:8], mine[:8])
	cut := bytes.Index(orig, []byte(`"__metadata__"`))
	require.Positive(t, cut)
	require.Equal(t, orig[:cut], mine[:cut])
	require.Equal(t, orig[n:], mine[n:], "data buffer")
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(orig[8:n], &a))
	require.NoError(t, json.Unmarshal(mine[8:n], &b))
	require.Equal(t, a, b)
}
