package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy/wire"
)

// casesJSON are json-numpy documents as OpenVLA clients send them.
var casesJSON = []struct {
	name string
	doc  string
	v    any
}{
	{
		"openvla request",
		`{"image": {"__numpy__": "AQIDBAUG", "dtype": "|u1", "shape": [1, 2, 3]}, "instruction": "pick", "unnorm_key": "bridge_orig"}`,
		map[string]any{"image": wire.NewUint8([]byte{1, 2, 3, 4, 5, 6}, 1, 2, 3), "instruction": "pick", "unnorm_key": "bridge_orig"},
	},
	{
		"oft state and list",
		`{"state": {"__numpy__": "AAAAAAAA4D8AAAAAAADwvw==", "dtype": "<f8", "shape": [2]}, "n": [1, 2.5, null, true]}`,
		map[string]any{"state": wire.NewFloat64([]float32{0.5, -1}, 2), "n": []any{int64(1), 2.5, nil, true}},
	},
	{"scalar array", `{"__numpy__": "AACAPw==", "dtype": "<f4", "shape": []}`, wire.NewFloat32([]float32{1})},
}

func TestDecodeJSON(t *testing.T) {
	for _, ca := range casesJSON {
		t.Run(ca.name, func(t *testing.T) {
			v, err := wire.DecodeJSON([]byte(ca.doc), wire.Limits{})
			require.NoError(t, err)
			if a, ok := ca.v.(*wire.Array); ok && a.Shape == nil {
				a.Shape = []int{}
			}
			require.Equal(t, ca.v, v)
		})
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, ca := range []struct {
		name string
		doc  string
		lim  wire.Limits
		err  string
	}{
		{"syntax", `{"a": `, wire.Limits{}, "json: unexpected EOF"},
		{"trailing", `{} {}`, wire.Limits{}, "json: trailing data after the value"},
		{"deep", `[[[[1]]]]`, wire.Limits{MaxDepth: 3}, "json: nesting deeper than 3"},
		{"items", `[1, 2, 3]`, wire.Limits{MaxItems: 2}, "json: document has more than 2 values"},
		{"huge number", `1e999`, wire.Limits{}, "json: number 1e999 out of range"},
		{"base64", `{"__numpy__": "!!", "dtype": "|u1", "shape": [1]}`, wire.Limits{}, "json-numpy: data: illegal base64 data at input byte 0"},
		{"numpy not string", `{"__numpy__": 1, "dtype": "|u1", "shape": [1]}`, wire.Limits{}, "json-numpy: __numpy__ is int64; want a base64 string"},
		{"dtype", `{"__numpy__": "", "dtype": "|O", "shape": [0]}`, wire.Limits{}, `json-numpy: unsupported dtype "|O"`},
		{"dtype type", `{"__numpy__": "", "dtype": 1, "shape": [0]}`, wire.Limits{}, "json-numpy: dtype is int64; want a string"},
		{"shape", `{"__numpy__": "", "dtype": "|u1", "shape": "x"}`, wire.Limits{}, "json-numpy: ndarray shape is string; want an array of ints"},
		{"size", `{"__numpy__": "AQ==", "dtype": "<f4", "shape": [1]}`, wire.Limits{}, "json-numpy: ndarray <f4[1] needs 4 data bytes, has 1"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := wire.DecodeJSON([]byte(ca.doc), ca.lim)
			require.EqualError(t, err, ca.err)
		})
	}
}

func TestArrayMarshalJSON(t *testing.T) {
	b, err := json.Marshal(wire.NewFloat64([]float32{0.5, -1}, 2))
	require.NoError(t, err)
	require.JSONEq(t, `{"__numpy__": "AAAAAAAA4D8AAAAAAADwvw==", "dtype": "<f8", "shape": [2]}`, string(b))
	b, err = json.Marshal(wire.NewFloat32([]float32{1}))
	require.NoError(t, err)
	require.JSONEq(t, `{"__numpy__": "AACAPw==", "dtype": "<f4", "shape": []}`, string(b))
	_, err = json.Marshal(&wire.Array{DType: wire.Uint8, Shape: []int{2}})
	require.ErrorContains(t, err, "json-numpy: ndarray |u1[2] needs 2 data bytes, has 0")
}

func FuzzDecodeJSON(f *testing.F) {
	for _, ca := range casesJSON {
		f.Add([]byte(ca.doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := wire.DecodeJSON(b, wire.Limits{MaxElements: 1 << 16, MaxItems: 1 << 12})
		if err != nil {
			return
		}
		_, err = json.Marshal(v)
		require.NoError(t, err)
	})
}
