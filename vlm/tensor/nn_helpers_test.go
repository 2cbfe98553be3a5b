package tensor

import (
	le "encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// f64s returns t's elements as float64.
func nnF64s(t *Tensor) []float64 {
	v := t.Float32s()
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// nnRequireClose checks |got − want| ≤ tol·(1 + |want|) elementwise.
func nnRequireClose(t *testing.T, want []float64, got []float32, tol float64, msg ...any) {
	t.Helper()
	require.Len(t, got, len(want), msg...)
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			require.Failf(t, "values differ", "element %d: got %v, want %v (diff %g) %v", i, got[i], want[i], d, msg)
		}
	}
}

// nnRequireOpError checks that fn panics with an *Error whose message
// contains each of the substrings.
func nnRequireOpError(t *testing.T, fn func(), substrs ...string) {
	t.Helper()
	err := Catch(func() error { fn(); return nil })
	require.Error(t, err)
	var te *Error
	require.ErrorAs(t, err, &te)
	for _, s := range substrs {
		require.ErrorContains(t, err, s)
	}
}

// nnSTTensor is one tensor of a safetensors file, decoded to float64.
type nnSTTensor struct {
	shape []int
	data  []float64
}

// nnReadSafetensors parses a small safetensors file (u64 LE header length,
// JSON header, little-endian data) into float64 values, for F32, I64 and I32
// tensors.
func nnReadSafetensors(t *testing.T, path string) map[string]nnSTTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := le.LittleEndian.Uint64(b[:8])
	var hdr map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b[8:8+n], &hdr))
	data := b[8+n:]
	out := map[string]nnSTTensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		require.NoError(t, json.Unmarshal(raw, &e))
		p := data[e.Offsets[0]:e.Offsets[1]]
		var vals []float64
		switch e.DType {
		case "F32":
			for i := 0; i < len(p); i += 4 {
				vals = append(vals, float64(math.Float32frombits(le.LittleEndian.Uint32(p[i:]))))
			}
		case "I64":
			for i := 0; i < len(p); i += 8 {
				vals = append(vals, float64(int64(le.LittleEndian.Uint64(p[i:]))))
			}
		case "I32":
			for i := 0; i < len(p); i += 4 {
				vals = append(vals, float64(int32(le.LittleEndian.Uint32(p[i:]))))
			}
		default:
			continue
		}
		out[name] = nnSTTensor{shape: e.Shape, data: vals}
	}
	return out
}
