package tokenizer

import (
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

func TestByteAlphabet(t *testing.T) {
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		require.False(t, seen[r], "byte %d", b)
		seen[r] = true
		require.True(t, unicode.IsPrint(r) && !unicode.IsSpace(r), "byte %d → %q", b, r)
		require.Equal(t, byte(b), runeToByte[r])
	}
	require.Equal(t, 'Ġ', byteToRune[' '])
	require.Equal(t, 'Ċ', byteToRune['\n'])
	require.Equal(t, 'A', byteToRune['A'])
	require.Equal(t, "Ġhello", byteLevelEncode([]byte(" hello")))
	require.Equal(t, []byte(" hello"), byteLevelDecode("Ġhello"))
	require.Equal(t, []byte("<x\u0301>"), byteLevelDecode("<x\u0301>"), "a rune outside the alphabet keeps the token verbatim")
}

// TestAppendLossy checks U+FFFD substitution of maximal invalid subparts
// (Rust's from_utf8_lossy, which HF's decoder uses).
func TestAppendLossy(t *testing.T) {
	const R = "\uFFFD"
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"é日😀", "é日😀"},
		{"\xE2\x82", R},
		{"\xE2\x82A", R + "A"},
		{"\xF0\x9F\x98", R},
		{"\xF0\x80", R + R},
		{"\xED\xA0\x80", R + R + R},
		{"\xC0\xAF", R + R},
		{"\xF4\x90\x80\x80", R + R + R + R},
		{"\xFF\xFEa", R + R + "a"},
		{"\x80\x80", R + R},
		{"a\xE6\x97\xA5\xE6\x97", "a日" + R},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, string(appendLossy(nil, []byte(tt.in))))
		})
	}
}

func TestIncompleteTail(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 0},
		{"a\xE2", 1},
		{"a\xE2\x82", 2},
		{"\xF0\x9F\x98", 3},
		{"\xF0\x9F\x98\x80", 0},
		{"\x80", 0},
		{"\xE0\x80", 0}, // E0 80 can never complete
		{"\xC3", 1},
		{"\xFF", 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, incompleteTail([]byte(tt.in)), "%q", tt.in)
	}
}
