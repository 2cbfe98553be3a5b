package wire_test

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy/wire"
)

// lit is a raw text part of a hand-built frame; other parts are hex.
type lit string

// frame builds bytes from hex strings (spaces ignored) and literal text,
// the notation of protocols.md section 3.1.
func frame(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case lit:
			b = append(b, p...)
		case string:
			h, err := hex.DecodeString(strings.ReplaceAll(p, " ", ""))
			if err != nil {
				panic(err)
			}
			b = append(b, h...)
		}
	}
	return b
}

// casesMsgpack drive decode, encode, the fuzz seeds and the benchmarks:
// each value encodes to exactly its bytes and decodes back to itself.
var casesMsgpack = []struct {
	name string
	v    any
	b    []byte
}{
	{
		// Verified against Python msgpack 1.0.3 and openpi's msgpack_numpy
		// (protocols.md section 3.1): {"actions": float32 [[1, 2]]}.
		"openpi actions f32", map[string]any{"actions": wire.NewFloat32([]float32{1, 2}, 1, 2)},
		frame("81 a7", lit("actions"), "84 c40b", lit("__ndarray__"), "c3 c404", lit("data"), "c408 0000803f00000040",
			"c405", lit("dtype"), "a3", lit("<f4"), "c405", lit("shape"), "92 01 02"),
	},
	{"empty metadata", map[string]any{}, frame("80")},
	{"nil", nil, frame("c0")},
	{"true", true, frame("c3")},
	{"false", false, frame("c2")},
	{"fixint", int64(5), frame("05")},
	{"negative fixint", int64(-1), frame("ff")},
	{"uint8", int64(200), frame("cc c8")},
	{"uint16", int64(1000), frame("cd 03e8")},
	{"uint32", int64(70000), frame("ce 00011170")},
	{"uint64", int64(1 << 40), frame("cf 0000010000000000")},
	{"uint64 max", uint64(math.MaxUint64), frame("cf ffffffffffffffff")},
	{"int8", int64(-100), frame("d0 9c")},
	{"int16", int64(-1000), frame("d1 fc18")},
	{"int32", int64(-70000), frame("d2 fffeee90")},
	{"int64", int64(-1 << 40), frame("d3 ffffff0000000000")},
	{"float64", 1.5, frame("cb 3ff8000000000000")},
	{"fixstr", "hi", frame("a2", lit("hi"))},
	{"str8", strings.Repeat("x", 40), frame("d9 28", lit(strings.Repeat("x", 40)))},
	{"str16", strings.Repeat("y", 300), frame("da 012c", lit(strings.Repeat("y", 300)))},
	{"bin8", []byte{1, 2}, frame("c4 02 0102")},
	{"bin16", make([]byte, 256), append(frame("c5 0100"), make([]byte, 256)...)},
	{"array", []any{int64(1), "a", nil}, frame("93 01 a1", lit("a"), "c0")},
	{"array16", make([]any, 16), append(frame("dc 0010"), frame(strings.Repeat("c0", 16))...)},
	{
		"libero request", map[string]any{
			"observation/state": wire.NewFloat64([]float32{0.5, -1}, 2),
			"prompt":            "pick",
		},
		frame("82 b1", lit("observation/state"), "84 c40b", lit("__ndarray__"), "c3 c404", lit("data"),
			"c410 000000000000e03f 000000000000f0bf", "c405", lit("dtype"), "a3", lit("<f8"), "c405", lit("shape"), "91 02",
			"a6", lit("prompt"), "a4", lit("pick")),
	},
	{
		"uint8 image", map[string]any{"img": wire.NewUint8([]byte{1, 2, 3, 4, 5, 6}, 1, 2, 3)},
		frame("81 a3", lit("img"), "84 c40b", lit("__ndarray__"), "c3 c404", lit("data"), "c406 010203040506",
			"c405", lit("dtype"), "a3", lit("|u1"), "c405", lit("shape"), "93 01 02 03"),
	},
	{
		"timing", map[string]any{"server_timing": map[string]any{"infer_ms": 2.0, "prev_total_ms": 0.5}},
		frame("81 ad", lit("server_timing"), "82 a8", lit("infer_ms"), "cb 4000000000000000",
			"ad", lit("prev_total_ms"), "cb 3fe0000000000000"),
	},
	{
		// openpi's decoder only looks for the bin key: a str-keyed map stays a map.
		"str keys are not an ndarray", map[string]any{"__ndarray__": true},
		frame("81 ab", lit("__ndarray__"), "c3"),
	},
}

func TestMsgpackDecode(t *testing.T) {
	for _, ca := range casesMsgpack {
		t.Run(ca.name, func(t *testing.T) {
			v, err := wire.Decode(ca.b, wire.Limits{})
			require.NoError(t, err)
			require.Equal(t, ca.v, v)
		})
	}
}

func TestMsgpackEncode(t *testing.T) {
	for _, ca := range casesMsgpack {
		t.Run(ca.name, func(t *testing.T) {
			b, err := wire.Marshal(ca.v)
			require.NoError(t, err)
			require.Equal(t, ca.b, b)
		})
	}
}

func TestMsgpackEncodeOnly(t *testing.T) {
	for _, ca := range []struct {
		name string
		v    any
		b    []byte
	}{
		{"int", 3, frame("03")},
		{"float32", float32(1), frame("ca 3f800000")},
		{"float64 slice", []float64{1}, frame("91 cb 3ff0000000000000")},
		{"float64 map", map[string]float64{"b": 1, "a": 0}, frame("82 a1", lit("a"), "cb 0000000000000000 a1", lit("b"), "cb 3ff0000000000000")},
		{"str32", strings.Repeat("z", 70000), append(frame("db 00011170"), strings.Repeat("z", 70000)...)},
		{"bin32", make([]byte, 70000), append(frame("c6 00011170"), make([]byte, 70000)...)},
		{"map16", map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16},
			frame("de 0010 a1", lit("a"), "01 a1", lit("b"), "02 a1", lit("c"), "03 a1", lit("d"), "04 a1", lit("e"), "05 a1", lit("f"), "06 a1", lit("g"), "07 a1", lit("h"), "08",
				"a1", lit("i"), "09 a1", lit("j"), "0a a1", lit("k"), "0b a1", lit("l"), "0c a1", lit("m"), "0d a1", lit("n"), "0e a1", lit("o"), "0f a1", lit("p"), "10")},
	} {
		t.Run(ca.name, func(t *testing.T) {
			b, err := wire.Marshal(ca.v)
			require.NoError(t, err)
			require.Equal(t, ca.b, b)
		})
	}
}

func TestMsgpackEncodeErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, ca := range []struct {
		name string
		v    any
		err  string
	}{
		{"type", struct{}{}, "msgpack: cannot encode struct {}"},
		{"cycle", cyclic, "msgpack: nesting deeper than 64"},
		{"short array", &wire.Array{DType: wire.Float32, Shape: []int{2}, Data: make([]byte, 4)}, "msgpack: ndarray <f4[2] needs 8 data bytes, has 4"},
		{"bad dtype", &wire.Array{DType: wire.DType{Kind: 'c', Size: 16}, Shape: []int{1}, Data: make([]byte, 16)}, `msgpack: unsupported dtype "<c16"`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := wire.Marshal(ca.v)
			require.EqualError(t, err, ca.err)
		})
	}
}

// ndarray builds an ndarray map with bin keys from raw parts.
func ndarray(data, dtype, shape []byte) []byte {
	bin, _ := wire.Marshal(data)
	return frame("84 c40b", lit("__ndarray__"), "c3 c404", lit("data"), hex.EncodeToString(bin),
		"c405", lit("dtype"), hex.EncodeToString(dtype), "c405", lit("shape"), hex.EncodeToString(shape))
}

func TestMsgpackDecodeErrors(t *testing.T) {
	deep := append(frame(strings.Repeat("91", 40)), 0xc0)
	for _, ca := range []struct {
		name string
		b    []byte
		lim  wire.Limits
		err  string
	}{
		{"empty", nil, wire.Limits{}, "msgpack: msgpack frame ends inside a value"},
		{"truncated str", frame("a5 6162"), wire.Limits{}, "msgpack: msgpack frame ends inside a value"},
		{"huge array claim", frame("dd ffffffff"), wire.Limits{}, "msgpack: msgpack frame ends inside a value"},
		{"huge map claim", frame("df 7fffffff 01"), wire.Limits{}, "msgpack: msgpack frame ends inside a value"},
		{"trailing", frame("c0 c0"), wire.Limits{}, "msgpack: 1 trailing bytes after the value"},
		{"c1", frame("c1"), wire.Limits{}, "msgpack: invalid byte 0xc1"},
		{"ext", frame("d4 01 00"), wire.Limits{}, "msgpack: ext type 0xd4 is not supported"},
		{"deep", deep, wire.Limits{}, "msgpack: nesting deeper than 32"},
		{"items", frame("93 01 02 03"), wire.Limits{MaxItems: 3}, "msgpack: frame has more than 3 values"},
		{"bad utf8", frame("a1 ff"), wire.Limits{}, "msgpack: str is not valid UTF-8"},
		{"bin key utf8", frame("81 c401 ff 01"), wire.Limits{}, "msgpack: bin map key is not valid UTF-8"},
		{"int key", frame("81 01 02"), wire.Limits{}, "msgpack: map key of type int64; want str or bin"},
		{"dup key", frame("82 a1", lit("a"), "01 c401", lit("a"), "02"), wire.Limits{}, `msgpack: duplicate map key "a"`},
		{"object dtype", ndarray([]byte{0, 0, 0, 0, 0, 0, 0, 0}, frame("a2", lit("|O")), frame("91 01")), wire.Limits{}, `msgpack: unsupported dtype "|O"`},
		{"complex dtype", ndarray(make([]byte, 16), frame("a4", lit("<c16")), frame("91 01")), wire.Limits{}, `msgpack: unsupported dtype "<c16"`},
		{"void dtype", ndarray(make([]byte, 8), frame("a3", lit("|V8")), frame("91 01")), wire.Limits{}, `msgpack: unsupported dtype "|V8"`},
		{"unicode dtype", ndarray(make([]byte, 4), frame("a3", lit("<U1")), frame("91 01")), wire.Limits{}, `msgpack: unsupported dtype "<U1"`},
		{"no byte order", ndarray(make([]byte, 4), frame("a3", lit("|f4")), frame("91 01")), wire.Limits{}, `msgpack: dtype "|f4" needs a byte order`},
		{"size mismatch", ndarray(make([]byte, 5), frame("a3", lit("<f4")), frame("91 01")), wire.Limits{}, "msgpack: ndarray <f4[1] needs 4 data bytes, has 5"},
		{"elements", ndarray(make([]byte, 8), frame("a3", lit("|u1")), frame("91 08")), wire.Limits{MaxElements: 4}, "msgpack: ndarray shape [8] exceeds the limit of 4 elements"},
		{"shape overflow", ndarray(nil, frame("a3", lit("|u1")), frame("93 ce7fffffff ce7fffffff ce7fffffff")), wire.Limits{}, "msgpack: ndarray shape [2147483647 2147483647 2147483647] exceeds the limit of 16777216 elements"},
		{"negative shape", ndarray(nil, frame("a3", lit("|u1")), frame("91 ff")), wire.Limits{}, "msgpack: ndarray shape[0] is -1; want a non-negative int"},
		{"shape not array", ndarray(nil, frame("a3", lit("|u1")), frame("01")), wire.Limits{}, "msgpack: ndarray shape is int64; want an array of ints"},
		{"data not bin", frame("84 c40b", lit("__ndarray__"), "c3 c404", lit("data"), "a0 c405", lit("dtype"), "a3", lit("|u1"), "c405", lit("shape"), "90"), wire.Limits{}, "msgpack: ndarray data is string; want bin"},
		{"str data key", frame("84 c40b", lit("__ndarray__"), "c3 a4", lit("data"), "c400 c405", lit("dtype"), "a3", lit("|u1"), "c405", lit("shape"), "90"), wire.Limits{}, `msgpack: ndarray lacks the bin key "data"`},
		{"npgeneric mismatch", frame("83 c40d", lit("__npgeneric__"), "c3 c404", lit("data"), "a1", lit("x"), "c405", lit("dtype"), "a3", lit("<i8")), wire.Limits{}, "msgpack: npgeneric of dtype <i8 holds string"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := wire.Decode(ca.b, ca.lim)
			require.EqualError(t, err, ca.err)
		})
	}
}

func TestNpgeneric(t *testing.T) {
	for _, ca := range []struct {
		name string
		b    []byte
		v    any
	}{
		{"int64", frame("83 c40d", lit("__npgeneric__"), "c3 c404", lit("data"), "07 c405", lit("dtype"), "a3", lit("<i8")), int64(7)},
		{"float32", frame("83 c40d", lit("__npgeneric__"), "c3 c404", lit("data"), "cb 3ff8000000000000 c405", lit("dtype"), "a3", lit("<f4")), 1.5},
		{"bool", frame("83 c40d", lit("__npgeneric__"), "c3 c404", lit("data"), "c3 c405", lit("dtype"), "a3", lit("|b1")), true},
	} {
		t.Run(ca.name, func(t *testing.T) {
			v, err := wire.Decode(ca.b, wire.Limits{})
			require.NoError(t, err)
			require.Equal(t, ca.v, v)
		})
	}
}

func TestArrayConversions(t *testing.T) {
	for _, ca := range []struct {
		dtype string
		data  []byte
		want  []float32
	}{
		{"|u1", []byte{0, 255}, []float32{0, 255}},
		{"|i1", []byte{0xff, 2}, []float32{-1, 2}},
		{"|b1", []byte{0, 1}, []float32{0, 1}},
		{"<u2", []byte{1, 1, 0, 0}, []float32{257, 0}},
		{">i2", []byte{0xff, 0xfe, 0, 3}, []float32{-2, 3}},
		{"<i4", []byte{0xfe, 0xff, 0xff, 0xff, 5, 0, 0, 0}, []float32{-2, 5}},
		{"<u4", []byte{5, 0, 0, 0, 0, 0, 0, 1}, []float32{5, 1 << 24}},
		{"<i8", []byte{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0}, []float32{-3, 1}},
		{"<u8", []byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []float32{9, 0}},
		{"<f2", []byte{0x00, 0x3c, 0x00, 0xc0}, []float32{1, -2}},
		{"<f2", []byte{0x01, 0x00, 0x00, 0x80}, []float32{5.9604645e-08, float32(math.Copysign(0, -1))}},
		{"<f2", []byte{0x00, 0x7c, 0xff, 0x03}, []float32{float32(math.Inf(1)), 6.097555e-05}},
		{"<f4", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, []float32{1, 2}},
		{">f4", []byte{0x3f, 0x80, 0, 0, 0x40, 0, 0, 0}, []float32{1, 2}},
		{"<f8", []byte{0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf}, []float32{0.5, -1}},
	} {
		t.Run(ca.dtype, func(t *testing.T) {
			dt, err := wire.ParseDType(ca.dtype)
			require.NoError(t, err)
			require.Equal(t, ca.dtype, dt.String())
			a := &wire.Array{DType: dt, Shape: []int{2}, Data: ca.data}
			require.Equal(t, ca.want, a.Float32s())
		})
	}
}

// seeds returns the case frames, the fuzz targets' seed corpus.
func seeds() [][]byte {
	var out [][]byte
	for _, ca := range casesMsgpack {
		out = append(out, ca.b)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, b := range seeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := wire.Decode(b, wire.Limits{MaxElements: 1 << 16, MaxItems: 1 << 12})
		if err != nil {
			return
		}
		enc, err := wire.Marshal(v)
		require.NoError(t, err)
		v2, err := wire.Decode(enc, wire.Limits{MaxElements: 1 << 16, MaxItems: 1 << 12})
		require.NoError(t, err)
		enc2, err := wire.Marshal(v2)
		require.NoError(t, err)
		require.Equal(t, enc, enc2)
	})
}

func BenchmarkMsgpackDecode(b *testing.B) {
	for _, ca := range casesMsgpack {
		b.Run(ca.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = wire.Decode(ca.b, wire.Limits{})
			}
		})
	}
}
