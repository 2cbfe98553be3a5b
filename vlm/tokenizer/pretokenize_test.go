package tokenizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func splitAll(s string) []string {
	var out []string
	preTokenize(s, func(p string) { out = append(out, p) })
	return out
}

// TestPreTokenize checks the hand-written split regex. The expected pieces
// are what HF tokenizers' pre-tokenizer returns for the same strings.
func TestPreTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'm can't WE'RE they'll she'D", []string{"I", "'m", " can", "'t", " WE", "'RE", " they", "'ll", " she", "'D"}},
		{"'sa 'x", []string{"'s", "a", " '", "x"}},
		{"x  y", []string{"x", " ", " y"}},
		{"a\n\nb", []string{"a", "\n\n", "b"}},
		{"  \n  x", []string{"  \n", " ", " x"}},
		{" 123 abc", []string{" ", "1", "2", "3", " abc"}},
		{"$hello ?!\n\n", []string{"$hello", " ?!\n\n"}},
		{"\t(", []string{"\t", "("}},
		{"trailing  ", []string{"trailing", "  "}},
		{"\u00a0non", []string{"\u00a0non"}},
		{"x\r\n\r\ny", []string{"x", "\r\n\r\n", "y"}},
		{"Z\u0353\u0351algo", []string{"Z", "\u0353\u0351", "algo"}},
		{"ſ'ſ", []string{"ſ", "'ſ"}},
		{"日本語テキスト", []string{"日本語テキスト"}},
		{"½Ⅻ²", []string{"½", "Ⅻ", "²"}},
		{"a\u3000\u3000b", []string{"a", "\u3000", "\u3000b"}},
		{"...\n  ...", []string{"...\n", " ", " ..."}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := splitAll(tt.in)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.in, strings.Join(got, ""))
		})
	}
}

// TestRuneClassesMatchHF compares the rune classes of the split regex with
// HF's for every Unicode scalar value. testdata/hf_classes.txt.gz holds one
// letter per code point (surrogates skipped): L, N, S (whitespace) or O
// (anything else, CR and LF included), found by pre-tokenizing c+c+"a" for
// each code point c with HF tokenizers 0.23.2: a letter gives one piece, a
// number three, whitespace ["c", "ca"] and the rest ["cc", "a"].
func TestRuneClassesMatchHF(t *testing.T) {
	want, err := readGzip("testdata/hf_classes.txt.gz")
	require.NoError(t, err)
	letter := map[uint8]byte{clsLetter: 'L', clsNumber: 'N', clsSpace: 'S', clsNewline: 'O', clsOther: 'O'}
	i, bad := 0, 0
	for r := rune(0); r <= 0x10FFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		if i >= len(want) {
			break
		}
		if got := letter[classifySlow(r)]; got != want[i] {
			bad++
			if bad < 10 {
				t.Errorf("U+%04X: class %c, HF %c", r, got, want[i])
			}
		}
		i++
	}
	require.Equal(t, len(want), i)
	require.Zero(t, bad)
}
