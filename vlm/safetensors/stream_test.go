package safetensors

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStreamWriterMatchesWrite(t *testing.T) {
	dir := t.TempDir()
	tensors := []Tensor{
		F32("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		BF16("b", []int{4}, []float32{1, -1, 0.5, 2}),
		U8("c", []int{}, []byte{7}),
	}
	meta := map[string]string{"format": "pt"}
	want := filepath.Join(dir, "want.safetensors")
	require.NoError(t, Write(want, tensors, meta))

	got := filepath.Join(dir, "got.safetensors")
	specs := []Spec{tensors[0].Spec(), tensors[1].Spec(), tensors[2].Spec()}
	sw, err := NewStreamWriter(got, specs, meta)
	require.NoError(t, err)
	for _, tt := range tensors {
		// Data may arrive in any chunking.
		for _, b := range tt.Data {
			_, err := sw.Write([]byte{b})
			require.NoError(t, err)
		}
	}
	_, err = os.Stat(got)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing under the final name before Close")
	require.NoError(t, sw.Close())
	a, _ := os.ReadFile(want)
	b, _ := os.ReadFile(got)
	require.True(t, bytes.Equal(a, b), "stream writer differs from Write")
}

func TestStreamWriterErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	specs := []Spec{{Name: "a", DType: DTypeF32, Shape: []int{2}}}

	_, err := NewStreamWriter(path, []Spec{{Name: "b", DType: DTypeU8}, {Name: "a", DType: DTypeU8}}, nil)
	require.ErrorContains(t, err, "not sorted by name")
	_, err = NewStreamWriter(path, []Spec{{Name: "a", DType: "Q4"}}, nil)
	require.ErrorContains(t, err, `unknown dtype "Q4"`)

	sw, err := NewStreamWriter(path, specs, nil)
	require.NoError(t, err)
	_, err = sw.Write(make([]byte, 4))
	require.NoError(t, err)
	require.EqualError(t, sw.Close(), "safetensors: write "+path+": 4 data bytes missing")

	sw, err = NewStreamWriter(path, specs, nil)
	require.NoError(t, err)
	_, err = sw.Write(make([]byte, 9))
	require.EqualError(t, err, "safetensors: write "+path+": 9 data bytes overrun the header by 1")
	require.Error(t, sw.Close())

	sw, err = NewStreamWriter(path, specs, nil)
	require.NoError(t, err)
	sw.Abort()
	_, err = sw.Write(make([]byte, 8))
	require.Error(t, err)
	require.Error(t, sw.Close())

	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "failed streams leave no file")
}

func TestWriteShardedStream(t *testing.T) {
	tensors := sampleTensors(3)
	sorted, err := validateTensors(tensors)
	require.NoError(t, err)
	ref := t.TempDir()
	require.NoError(t, WriteSharded(ref, tensors, nil, 64))

	dir := t.TempDir()
	var ranges [][2]int
	files, err := WriteShardedStream(dir, specsOf(sorted), nil, 64, func(w io.Writer, begin, end int) error {
		ranges = append(ranges, [2]int{begin, end})
		for _, tt := range sorted[begin:end] {
			if _, err := w.Write(tt.Data); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, [][2]int{{0, 1}, {1, 2}, {2, 3}}, ranges)
	shard := func(n int) string { return "model-0000" + string(rune('0'+n)) + "-of-00003.safetensors" }
	require.Equal(t, []string{shard(1), shard(2), shard(3), IndexFile}, files)
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(ref, f))
		b, _ := os.ReadFile(filepath.Join(dir, f))
		require.Equal(t, a, b, f)
	}

	// A failing fill aborts the shard and says which.
	dir = t.TempDir()
	_, err = WriteShardedStream(dir, specsOf(sorted), nil, 64, func(io.Writer, int, int) error { return errors.New("boom") })
	require.EqualError(t, err, "safetensors: write "+filepath.Join(dir, shard(1))+": boom")
	ents, _ := os.ReadDir(dir)
	require.Empty(t, ents)
}
