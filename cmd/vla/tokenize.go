package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vstgo/vst/vlm/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Encode JSON lines {\"text\": ...} from stdin into {\"ids\": [...]} lines",
		Long: `tokenize reads one JSON object per line from stdin, each with a "text" field, and
writes {"ids": [...]} per line with the Qwen byte-level BPE tokenizer (no special tokens
added; special tokens written in the text are matched). --tokenizer is a tokenizer.json
file (optionally gzipped) or a directory holding one.`,
		Example: `  echo '{"text": "pick up the red cube"}' | vla tokenize --tokenizer DIR/tokenizer.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := loadTokenizer(path)
			if err != nil {
				return err
			}
			sc := bufio.NewScanner(cmd.InOrStdin())
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			enc := json.NewEncoder(cmd.OutOrStdout())
			line := 0
			for sc.Scan() {
				line++
				if len(sc.Bytes()) == 0 {
					continue
				}
				var in struct {
					Text *string `json:"text"`
				}
				if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
					return fmt.Errorf("stdin line %d: %w", line, err)
				}
				if in.Text == nil {
					return fmt.Errorf("stdin line %d: no \"text\" field", line)
				}
				ids := tok.Encode(*in.Text)
				if ids == nil {
					ids = []int{}
				}
				if err := enc.Encode(map[string][]int{"ids": ids}); err != nil {
					return err
				}
			}
			return sc.Err()
		},
	}
	cmd.Flags().StringVar(&path, "tokenizer", "", "tokenizer.json, or a directory holding it (and tokenizer_config.json)")
	_ = cmd.MarkFlagRequired("tokenizer")
	return cmd
}

// loadTokenizer accepts a directory, a tokenizer.json path or a gzipped
// tokenizer.json.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		return tokenizer.Load(path)
	}
	if filepath.Base(path) == tokenizer.TokenizerFile {
		return tokenizer.Load(filepath.Dir(path))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
	}
	return tokenizer.FromJSON(data)
}
