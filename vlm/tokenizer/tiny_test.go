package tokenizer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyMerges are the merges of the tiny test tokenizer, in rank order.
var tinyMerges = [][2]string{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "hello"}}

// tinyAdded are the added tokens of the tiny test tokenizer, one per flag.
var tinyAdded = []addedToken{
	{ID: 261, Content: "<L>", LStrip: true, Special: true},
	{ID: 262, Content: "<R>", RStrip: true, Special: true},
	{ID: 263, Content: "<W>", SingleWord: true, Special: true},
	{ID: 264, Content: "<S>", Special: true},
	{ID: 265, Content: "<LR>", LStrip: true, RStrip: true},
	{ID: 266, Content: "é!", Normalized: true},
}

// tinyJSON builds a small Qwen-style tokenizer.json: the 256 byte tokens
// (id = byte value), the merges in tinyMerges, and tinyAdded. pairs picks
// the [a, b] merge format instead of "a b".
func tinyJSON(tb testing.TB, pairs bool) []byte {
	tb.Helper()
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(byteToRune[b])] = b
	}
	var merges any
	var strs []string
	var prs [][]string
	for _, m := range tinyMerges {
		vocab[m[0]+m[1]] = len(vocab)
		strs = append(strs, m[0]+" "+m[1])
		prs = append(prs, []string{m[0], m[1]})
	}
	merges = strs
	if pairs {
		merges = prs
	}
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": tinyAdded,
		"normalizer":   map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwenSplitPattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "dropout": nil, "unk_token": nil},
	}
	data, err := json.Marshal(doc)
	require.NoError(tb, err)
	return data
}

func tiny(tb testing.TB) *Tokenizer {
	tb.Helper()
	tok, err := FromJSON(tinyJSON(tb, false))
	require.NoError(tb, err)
	return tok
}

// TestAddedTokenFlags checks lstrip, rstrip, single_word and normalized
// matching. The expected ids were checked against HF tokenizers 0.23.2 on
// the same tokenizer.json.
func TestAddedTokenFlags(t *testing.T) {
	tok := tiny(t)
	tests := []struct {
		text string
		want []int
	}{
		{"a <L>b", []int{'a', 261, 'b'}},
		{"a  \t<L>", []int{'a', 261}},
		{"a<R>  b", []int{'a', 262, 'b'}},
		{"<R>\n\nx", []int{262, 'x'}},
		{"x<W>y", []int{'x', '<', 'W', '>', 'y'}},
		{"x <W> y", []int{'x', ' ', 263, ' ', 'y'}},
		{"<W>", []int{263}},
		{"_<W>", []int{'_', '<', 'W', '>'}},
		{"hello <S> hello", []int{259, ' ', 264, 260}},
		{"<L><L>", []int{261, 261}},
		{"  <LR>  <R>  x", []int{265, 262, 'x'}},
		{"e\u0301!", []int{266}},
		{"é!", []int{266}},
		{"<S", []int{'<', 'S'}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			require.Equal(t, tt.want, tok.Encode(tt.text))
		})
	}
}

// TestMergeFormats checks that "a b" merges and [a, b] merges load to the
// same model.
func TestMergeFormats(t *testing.T) {
	a, err := FromJSON(tinyJSON(t, false))
	require.NoError(t, err)
	b, err := FromJSON(tinyJSON(t, true))
	require.NoError(t, err)
	for _, s := range []string{"hello", " hello hell", "hehe llo", "shell"} {
		require.Equal(t, a.Encode(s), b.Encode(s), s)
	}
	require.Equal(t, []int{259}, a.Encode("hello"))
	require.Equal(t, []int{260}, a.Encode(" hello"))
}
