package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSpecialTokenIDs checks ids read from the fixture against the values
// documented for Qwen2.5-VL (shared/golden/tokenizer-qwen/README.md).
func TestSpecialTokenIDs(t *testing.T) {
	tok := qwen(t)
	tests := []struct {
		tok     string
		id      int
		special bool
	}{
		{"<|endoftext|>", 151643, true},
		{"<|im_start|>", 151644, true},
		{"<|im_end|>", 151645, true},
		{"<|vision_start|>", 151652, true},
		{"<|vision_end|>", 151653, true},
		{"<|image_pad|>", 151655, true},
		{"<|video_pad|>", 151656, true},
		{"<think>", 151667, false},
		{"</think>", 151668, false},
		{"Ġthe", 279, false},
		{"!", 0, false},
	}
	for _, tt := range tests {
		id, ok := tok.TokenID(tt.tok)
		require.True(t, ok, tt.tok)
		require.Equal(t, tt.id, id, tt.tok)
		require.Equal(t, tt.special, tok.IsSpecial(id), tt.tok)
	}
	_, ok := tok.TokenID("<|no_such_token|>")
	require.False(t, ok)
	require.False(t, tok.IsSpecial(-1))
	require.False(t, tok.IsSpecial(1<<30))
	require.Equal(t, 151669, tok.VocabSize())

	eos, ok := tok.EOS()
	require.True(t, ok)
	require.Equal(t, 151645, eos)
	pad, ok := tok.Pad()
	require.True(t, ok)
	require.Equal(t, 151643, pad)
	require.Contains(t, tok.ChatTemplate(), "<|im_start|>")
}

func TestFromJSONWithoutConfig(t *testing.T) {
	tok, err := FromJSON(tinyJSON(t, false))
	require.NoError(t, err)
	_, ok := tok.EOS()
	require.False(t, ok)
	require.Empty(t, tok.ChatTemplate())
	require.Equal(t, 267, tok.VocabSize())
}

func actionTokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("<|action_%d|>", i)
	}
	return out
}

// TestAddTokens adds VST's 256 action tokens. The expected ids and
// encodings were checked against HF tokenizers' add_tokens.
func TestAddTokens(t *testing.T) {
	tok := freshQwen(t)
	base := tok.VocabSize()
	ids := tok.AddTokens(actionTokens(256), false)
	require.Len(t, ids, 256)
	for i, id := range ids {
		require.Equal(t, base+i, id)
	}
	require.Equal(t, base+256, tok.VocabSize())
	require.False(t, tok.IsSpecial(ids[0]))

	// Existing tokens keep their ids; empty strings are skipped.
	imEnd, _ := tok.TokenID("<|im_end|>")
	hello, _ := tok.TokenID("hello")
	again := tok.AddTokens([]string{"<|action_7|>", "<|im_end|>", "hello", ""}, false)
	require.Equal(t, []int{ids[7], imEnd, hello, -1}, again)
	require.Equal(t, base+256, tok.VocabSize())

	text := "<|im_start|>assistant\n<|action_3|><|action_255|><|action_1|><|im_end|>\nxhellox <|action_"
	got := tok.Encode(text)
	require.Equal(t, []int{151644, 77091, 198, ids[3], ids[255], ids[1], imEnd, 198, 87, hello, 87, 82639, 1311, 62}, got)
	require.Equal(t, text, tok.Decode(got, false))
	require.Equal(t, "assistant\n<|action_3|><|action_255|><|action_1|>\nxhellox <|action_", tok.Decode(got, true))

	sp := tok.AddTokens([]string{"<|act_special|>"}, true)
	require.Equal(t, []int{base + 256}, sp)
	require.True(t, tok.IsSpecial(sp[0]))
	a, _ := tok.TokenID("a")
	b, _ := tok.TokenID("b")
	require.Equal(t, "a<|act_special|>b", tok.Decode([]int{a, sp[0], b}, false))
	require.Equal(t, "ab", tok.Decode([]int{a, sp[0], b}, true))

	// The shared tokenizer is untouched.
	require.Equal(t, base, qwen(t).VocabSize())
}

// TestNormalizedAddedToken checks that a non-special added token is stored
// and matched in NFC form, as HF does.
func TestNormalizedAddedToken(t *testing.T) {
	tok := freshQwen(t)
	id := tok.AddTokens([]string{"Cafe\u0301!"}, false)[0]
	got, ok := tok.TokenID("Café!")
	require.True(t, ok)
	require.Equal(t, id, got)
	require.Equal(t, []int{id}, tok.Encode("Cafe\u0301!"))
	require.Equal(t, []int{id}, tok.Encode("Café!"))
	// HF decodes the content through the byte-level decoder: é is a byte
	// rune there, so it comes out as an invalid byte.
	require.Equal(t, "Caf\uFFFD!", tok.Decode([]int{id}, false))
}

func TestSaveLoad(t *testing.T) {
	tok := freshQwen(t)
	ids := tok.AddTokens(actionTokens(256), false)
	dir := filepath.Join(t.TempDir(), "model")
	require.NoError(t, tok.Save(dir))

	back, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, tok.VocabSize(), back.VocabSize())
	for i, s := range actionTokens(256) {
		id, ok := back.TokenID(s)
		require.True(t, ok)
		require.Equal(t, ids[i], id)
	}
	for _, c := range readCases(t, testPublic) {
		require.Equal(t, c.IDs, back.Encode(c.Text), c.Text)
	}
	text := "move <|action_12|><|action_200|> now"
	require.Equal(t, tok.Encode(text), back.Encode(text))
	eos, ok := back.EOS()
	require.True(t, ok)
	require.Equal(t, 151645, eos)
	require.Equal(t, tok.ChatTemplate(), back.ChatTemplate())

	// tokenizer_config.json lists the new tokens in added_tokens_decoder.
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	require.NoError(t, err)
	var cfg struct {
		Decoder map[string]map[string]any `json:"added_tokens_decoder"`
	}
	require.NoError(t, json.Unmarshal(data, &cfg))
	entry := cfg.Decoder[fmt.Sprint(ids[255])]
	require.Equal(t, "<|action_255|>", entry["content"])
	require.Equal(t, false, entry["special"])
	require.NotContains(t, entry, "id")

	// A tokenizer built with FromJSON saves only tokenizer.json.
	dir2 := t.TempDir()
	require.NoError(t, tiny(t).Save(dir2))
	_, err = os.Stat(filepath.Join(dir2, ConfigFile))
	require.ErrorIs(t, err, os.ErrNotExist)
	back2, err := Load(dir2)
	require.NoError(t, err)
	require.Equal(t, []int{261, 259}, back2.Encode("<L>hello"))
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerFile), tinyJSON(t, false), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{not json"), 0o644))
	_, err = Load(dir)
	require.ErrorContains(t, err, ConfigFile)
}

// editTiny returns the tiny tokenizer.json with edit applied to its decoded
// form.
func editTiny(tb testing.TB, edit func(doc map[string]any)) []byte {
	tb.Helper()
	var doc map[string]any
	require.NoError(tb, json.Unmarshal(tinyJSON(tb, false), &doc))
	edit(doc)
	data, err := json.Marshal(doc)
	require.NoError(tb, err)
	return data
}

func TestFromJSONErrors(t *testing.T) {
	model := func(doc map[string]any) map[string]any { return doc["model"].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "parse"},
		{"array", []byte("[]"), "parse"},
		{"empty object", []byte("{}"), "pre_tokenizer"},
		{"model type", editTiny(t, func(d map[string]any) { model(d)["type"] = "WordPiece" }), "model type"},
		{"no vocab", editTiny(t, func(d map[string]any) { delete(model(d), "vocab") }), "no vocab"},
		{"vocab id too large", editTiny(t, func(d map[string]any) { model(d)["vocab"].(map[string]any)["zz"] = 1 << 30 }), "out of range"},
		{"negative vocab id", editTiny(t, func(d map[string]any) { model(d)["vocab"].(map[string]any)["zz"] = -1 }), "out of range"},
		{"duplicate vocab id", editTiny(t, func(d map[string]any) { model(d)["vocab"].(map[string]any)["zz"] = 5 }), "more than one"},
		{"merge unknown token", editTiny(t, func(d map[string]any) { model(d)["merges"] = []string{"q zz"} }), "missing"},
		{"merge result unknown", editTiny(t, func(d map[string]any) { model(d)["merges"] = []string{"q q"} }), "missing"},
		{"merge without space", editTiny(t, func(d map[string]any) { model(d)["merges"] = []string{"qq"} }), "two space-separated"},
		{"merge pair of three", editTiny(t, func(d map[string]any) { model(d)["merges"] = [][]string{{"h", "e", "l"}} }), "want 2"},
		{"merges not a list", editTiny(t, func(d map[string]any) { model(d)["merges"] = 3 }), "merges"},
		{"subword prefix", editTiny(t, func(d map[string]any) { model(d)["continuing_subword_prefix"] = "##" }), "prefix"},
		{"normalizer", editTiny(t, func(d map[string]any) { d["normalizer"] = map[string]any{"type": "Lowercase"} }), "normalizer"},
		{"pre-tokenizer pattern", editTiny(t, func(d map[string]any) {
			d["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[0].(map[string]any)["pattern"] = map[string]any{"Regex": `\s+`}
		}), "pre_tokenizer"},
		{"plain byte-level pre-tokenizer", editTiny(t, func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}
		}), "pre_tokenizer"},
		{"no decoder", editTiny(t, func(d map[string]any) { d["decoder"] = nil }), "decoder"},
		{"wrong decoder", editTiny(t, func(d map[string]any) { d["decoder"] = map[string]any{"type": "WordPiece"} }), "decoder"},
		{"empty added token", editTiny(t, func(d map[string]any) {
			d["added_tokens"] = []any{map[string]any{"id": 3, "content": ""}}
		}), "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := FromJSON(tt.data)
			require.Nil(t, tok)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestAddedIDsFromOrder checks that, as in HF, added-token ids are given by
// add-token order rather than by the ids written in the file.
func TestAddedIDsFromOrder(t *testing.T) {
	data := editTiny(t, func(d map[string]any) {
		d["added_tokens"] = []any{
			map[string]any{"id": 9000, "content": "<a>", "special": true},
			map[string]any{"id": 12, "content": "<b>", "special": true},
			map[string]any{"id": 0, "content": "hello"},
			map[string]any{"id": 1, "content": "<a>", "special": true},
		}
	})
	tok, err := FromJSON(data)
	require.NoError(t, err)
	require.Equal(t, []int{261, 262, 259}, tok.Encode("<a><b>hello"))
	require.Equal(t, 263, tok.VocabSize())
}
