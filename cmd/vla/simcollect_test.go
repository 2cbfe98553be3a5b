package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/vla/dataset"
)

func TestSimCollectCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demos")
	out, err := run(t, "", "sim", "collect", "--suite", "libero_spatial", "--tasks", "1", "--episodes", "1",
		"--out", dir, "--image-size", "32", "--workers", "1")
	require.NoError(t, err)
	assert.Contains(t, out, "wrote 1 episodes")
	d, err := dataset.Open(dir, dataset.ReaderConfig{})
	require.NoError(t, err)
	defer d.Close()
	require.Len(t, d.Episodes, 1)
	assert.Positive(t, d.Len())
	ref := d.Episodes[0].Videos["agentview"]
	assert.FileExists(t, ref.Path)
	assert.InDelta(t, float64(d.Len())/20, ref.To-ref.From, 1e-6)

	_, err = run(t, "", "sim", "collect", "--suite", "libero_spatial", "--episodes", "1", "--out", dir)
	assert.ErrorContains(t, err, "already holds a data set")
	_, err = run(t, "", "sim", "collect", "--suite", "libero_spatial")
	assert.ErrorContains(t, err, `required flag(s) "out" not set`)
}
