package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkCases requires ids and decoded text identical to HF's on every case.
func checkCases(t *testing.T, cases []goldenCase) {
	tok := qwen(t)
	for i, c := range cases {
		t.Run(fmt.Sprintf("%03d_%s", i, c.Category), func(t *testing.T) {
			ids := tok.Encode(c.Text)
			require.Equal(t, c.IDs, ids, "text %q", c.Text)
			require.Equal(t, c.Decoded, tok.Decode(c.IDs, false), "ids %v", c.IDs)
		})
	}
}

func TestParityPublic(t *testing.T) {
	cases := readCases(t, testPublic)
	require.Len(t, cases, 105)
	checkCases(t, cases)
}

// TestParityShared runs every reference file of the shared golden
// directory, when it is there, and checks the committed fixtures match it.
func TestParityShared(t *testing.T) {
	dir, ok := goldenDir()
	if !ok {
		// The committed copies (TestParityPublic) are always checked; the
		// shared directory only adds reference files when it is present.
		t.Log("shared golden directory not found (set VST_SHARED); nothing extra to check")
		return
	}
	want, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	require.NoError(t, err)
	got, err := readGzip(testTokenizerGz)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "testdata/tokenizer.json.gz differs from %s", dir)

	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(t, err)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkCases(t, readCases(t, f)) })
	}
}
