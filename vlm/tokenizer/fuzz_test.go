package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// containsAdded reports whether s, or its NFC form, holds the content of an
// added token. Such text is cut at the token before normalization, so its
// decoding is the per-piece NFC form, which can differ from NFC(s) (for
// example "<|im_end|>" followed by U+0338 composes '>' into '≯').
func containsAdded(tok *Tokenizer, s string) bool {
	n := normalizeNFC(s)
	for _, at := range tok.added {
		if strings.Contains(s, at.Content) || strings.Contains(n, at.Content) {
			return true
		}
	}
	return false
}

// FuzzEncodeDecode checks that decoding an encoding gives back the NFC form
// of valid UTF-8 text, that the stream decoder agrees with Decode, and that
// nothing panics on any input.
func FuzzEncodeDecode(f *testing.F) {
	tok := qwen(f)
	for _, s := range []string{"", "hello world", "e\u0301", "<|im_start|>user\nhi<|im_end|>", "\xff\xfe", "  \n\t x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		out := tok.Decode(ids, false)
		require.True(t, utf8.ValidString(out))
		d := tok.NewStreamDecoder(false)
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(d.Push(id))
		}
		b.WriteString(d.Flush())
		require.Equal(t, out, b.String())
		if !utf8.ValidString(s) {
			// Invalid bytes were replaced by U+FFFD before encoding.
			require.Equal(t, normalizeNFC(string(appendLossy(nil, []byte(s)))), out)
			return
		}
		if containsAdded(tok, s) {
			return
		}
		require.Equal(t, normalizeNFC(s), out, "ids %v", ids)
	})
}

// FuzzFromJSON checks that any tokenizer.json either loads or fails with an
// error, and that a loaded tokenizer encodes and decodes without panicking.
func FuzzFromJSON(f *testing.F) {
	f.Add(tinyJSON(f, false))
	f.Add(tinyJSON(f, true))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"model":{"vocab":{"a":0},"merges":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromJSON(data)
		if err != nil {
			require.Nil(t, tok)
			return
		}
		for _, s := range []string{"hello <L> world", "<W>x <R>  y", "e\u0301!", "\xff"} {
			ids := tok.Encode(s)
			_ = tok.Decode(ids, false)
			_ = tok.Decode(ids, true)
		}
		_ = tok.Decode([]int{-1, 0, 1, 255, 256, tok.VocabSize(), 1 << 40}, false)
		ids := tok.AddTokens([]string{"<new>", "", "a"}, false)
		require.Len(t, ids, 3)
		require.Less(t, ids[0], tok.VocabSize())
		_ = tok.Encode("x<new>y")
	})
}
