package tokenizer

import (
	"encoding/json"
	"fmt"
)

// QwenSpecialTokens are the added tokens of Qwen2.5(-VL) in id order, from
// <|endoftext|> (151643 in the released vocabulary) to <|video_pad|>.
var QwenSpecialTokens = []string{
	"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
	"<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
	"<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
}

// NewByteLevel builds a small Qwen2-pipeline tokenizer from scratch: ids
// 0–255 are the single bytes (id = byte value), then one id per merge in
// order (each merge joins two existing tokens, given as raw text), then the
// special tokens. It exists for tiny test and demo models whose vocabulary
// is far smaller than Qwen's; Save writes it as a tokenizer.json that Hugging
// Face's tokenizers library also reads.
func NewByteLevel(merges [][2]string, specials []string) (*Tokenizer, error) {
	vocab := make(map[string]int, 256+len(merges))
	for b := range 256 {
		vocab[byteLevelEncode([]byte{byte(b)})] = b
	}
	enc := make([][2]string, len(merges))
	for i, m := range merges {
		a, b := byteLevelEncode([]byte(m[0])), byteLevelEncode([]byte(m[1]))
		if _, ok := vocab[a]; !ok {
			return nil, fmt.Errorf("tokenizer: merge %d (%q, %q): %q is not a token yet", i, m[0], m[1], m[0])
		}
		if _, ok := vocab[b]; !ok {
			return nil, fmt.Errorf("tokenizer: merge %d (%q, %q): %q is not a token yet", i, m[0], m[1], m[1])
		}
		if _, dup := vocab[a+b]; dup {
			return nil, fmt.Errorf("tokenizer: merge %d (%q, %q) repeats token %q", i, m[0], m[1], m[0]+m[1])
		}
		vocab[a+b] = 256 + i
		enc[i] = [2]string{a, b}
	}
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	adds := make([]added, len(specials))
	for i, s := range specials {
		adds[i] = added{ID: len(vocab) + i, Content: s, Special: true}
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	file := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": adds,
		"normalizer":   map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]string{"Regex": qwenSplitPattern}, "behavior": "Isolated", "invert": false},
			byteLevel,
		}},
		"post_processor": byteLevel,
		"decoder":        byteLevel,
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": enc,
		},
	}
	data, err := json.Marshal(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return FromJSON(data)
}
