package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The committed fixtures: Qwen's tokenizer.json (gzip) and
// tokenizer_config.json, and HF reference encodings.
const (
	testTokenizerGz = "testdata/tokenizer.json.gz"
	testConfig      = "testdata/tokenizer_config.json"
	testPublic      = "testdata/public.jsonl"
)

// testDir is a model directory holding the decompressed fixtures, made
// once in TestMain.
var testDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tokenizer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := unpackFixtures(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testDir = dir
	return m.Run()
}

func unpackFixtures(dir string) error {
	data, err := readGzip(testTokenizerGz)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, TokenizerFile), data, 0o644); err != nil {
		return err
	}
	cfg, err := os.ReadFile(testConfig)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ConfigFile), cfg, 0o644)
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

var (
	sharedOnce sync.Once
	sharedTok  *Tokenizer
	sharedErr  error
)

// qwen returns the fixture tokenizer, loaded once. Tests must not change it
// (AddTokens): they use freshQwen for that.
func qwen(tb testing.TB) *Tokenizer {
	tb.Helper()
	sharedOnce.Do(func() { sharedTok, sharedErr = Load(testDir) })
	require.NoError(tb, sharedErr)
	return sharedTok
}

// freshQwen returns a private copy of the fixture tokenizer, for tests that
// add tokens.
func freshQwen(tb testing.TB) *Tokenizer {
	tb.Helper()
	return qwen(tb).clone()
}

// goldenDir returns the shared reference directory when it exists: under
// $VST_SHARED, by default ../shared next to the repository root.
func goldenDir() (string, bool) {
	root := os.Getenv("VST_SHARED")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared")
	}
	dir := filepath.Join(root, "golden", "tokenizer-qwen")
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, true
	}
	return "", false
}

// goldenCase is one line of public.jsonl.
type goldenCase struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	IDs      []int  `json:"ids"`
	Decoded  string `json:"decoded"`
}

func readCases(tb testing.TB, path string) []goldenCase {
	tb.Helper()
	data, err := os.ReadFile(path)
	require.NoError(tb, err)
	var cases []goldenCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c goldenCase
		require.NoError(tb, json.Unmarshal(sc.Bytes(), &c), "%s: %s", path, sc.Text())
		cases = append(cases, c)
	}
	require.NoError(tb, sc.Err())
	return cases
}
