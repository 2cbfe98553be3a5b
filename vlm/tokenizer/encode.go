package tokenizer

import (
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeNFC returns the NFC form of s (s itself, without copying, when
// it already is in NFC: the common case).
func normalizeNFC(s string) string {
	if norm.NFC.QuickSpanString(s) == len(s) {
		return s
	}
	return norm.NFC.String(s)
}

// Encode returns the ids of text. No special tokens are added around it;
// added tokens written inside the text (such as "<|im_start|>" or
// "<|image_pad|>") are matched whole, in the raw text before normalization
// and pre-tokenization, longest match first. Invalid UTF-8 is first replaced
// by U+FFFD the way Rust's from_utf8_lossy does, since HF only ever sees
// valid strings.
func (t *Tokenizer) Encode(text string) []int {
	if !utf8.ValidString(text) {
		text = string(appendLossy(nil, []byte(text)))
	}
	ids := make([]int, 0, len(text)/4+4)
	t.rawMatch.split(text, t.added, func(seg string, tok int) {
		if tok >= 0 {
			ids = append(ids, t.added[tok].ID)
			return
		}
		if t.nfc {
			seg = normalizeNFC(seg)
		}
		t.normMatch.split(seg, t.added, func(piece string, tok int) {
			if tok >= 0 {
				ids = append(ids, t.added[tok].ID)
				return
			}
			preTokenize(piece, func(word string) {
				ids = t.model.appendWord(ids, word)
			})
		})
	})
	return ids
}
