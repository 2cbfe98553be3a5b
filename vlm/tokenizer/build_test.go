package tokenizer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewByteLevel(t *testing.T) {
	tok, err := NewByteLevel([][2]string{{"t", "h"}, {"th", "e"}, {" ", "the"}}, QwenSpecialTokens)
	require.NoError(t, err)
	require.Equal(t, 256+3+len(QwenSpecialTokens), tok.VocabSize())
	id, ok := tok.TokenID("<|im_start|>")
	require.True(t, ok)
	require.Equal(t, 256+3+1, id)
	ids := tok.Encode("the theme<|im_end|>")
	require.Equal(t, []int{257, 258, 'm', 'e', 256 + 3 + 2}, ids) // "the", " the"+"m"+"e", <|im_end|>
	require.Equal(t, "the theme<|im_end|>", tok.Decode(ids, false))
	require.Equal(t, "héllo ✓", tok.Decode(tok.Encode("héllo ✓"), false))

	dir := t.TempDir()
	require.NoError(t, tok.Save(dir))
	back, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, ids, back.Encode("the theme<|im_end|>"))

	_, err = NewByteLevel([][2]string{{"ab", "c"}}, nil)
	require.ErrorContains(t, err, `"ab" is not a token yet`)
	_, err = NewByteLevel([][2]string{{"a", "b"}, {"a", "b"}}, nil)
	require.ErrorContains(t, err, `repeats token "ab"`)
}
