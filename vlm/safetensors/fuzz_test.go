package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary bytes to Parse. Anything accepted must be
// readable through every accessor and must survive a write/parse round trip
// with identical tensors, data and metadata.
func FuzzParse(f *testing.F) {
	f.Add(rawFile(`{}`, 0))
	f.Add(rawFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, 4))
	if b, err := os.ReadFile(goldenPath); err == nil {
		f.Add(b[:min(len(b), 4096)]) // truncated real file
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if file != nil {
				t.Fatal("non-nil File with an error")
			}
			return
		}
		var tensors []Tensor
		for _, n := range file.Names() {
			info, ok := file.Info(n)
			if !ok {
				t.Fatalf("Names lists %q but Info does not find it", n)
			}
			b, err := file.Bytes(n)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != info.End-info.Begin || len(b) != info.NumElements()*info.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for %+v", n, len(b), info)
			}
			_, _ = file.Float32(n)
			_, _ = file.Int64(n)
			tensors = append(tensors, Tensor{Name: n, DType: info.DType, Shape: info.Shape, Data: b})
		}
		sorted, err := validateTensors(tensors)
		if err != nil {
			t.Fatalf("accepted tensors fail writer validation: %v", err)
		}
		var buf bytes.Buffer
		if err := encode(&buf, sorted, file.Metadata()); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		if len(again.Names()) != len(tensors) {
			t.Fatalf("round trip has %d tensors, want %d", len(again.Names()), len(tensors))
		}
		for _, want := range tensors {
			got, err := again.Bytes(want.Name)
			if err != nil || !bytes.Equal(got, want.Data) {
				t.Fatalf("tensor %q changed in the round trip (%v)", want.Name, err)
			}
		}
		m1, m2 := file.Metadata(), again.Metadata()
		if len(m1) != len(m2) {
			t.Fatalf("metadata changed: %v vs %v", m1, m2)
		}
		for k, v := range m1 {
			if m2[k] != v {
				t.Fatalf("metadata %q changed: %q vs %q", k, v, m2[k])
			}
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFuzzCorpus checks that the committed seeds named valid_* parse and all
// others are rejected, so the corpus keeps covering both sides.
func TestFuzzCorpus(t *testing.T) {
	dir := "testdata/fuzz/FuzzParse"
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			lines := strings.SplitN(strings.TrimSpace(string(content)), "\n", 2)
			require.Len(t, lines, 2)
			require.Equal(t, "go test fuzz v1", lines[0])
			quoted := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
			data, err := strconv.Unquote(quoted)
			require.NoError(t, err)
			_, err = Parse([]byte(data))
			if strings.HasPrefix(e.Name(), "valid_") {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrInvalid)
			}
		})
	}
}
