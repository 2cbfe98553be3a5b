package tokenizer

import "unicode/utf8"

// Decode turns ids back into text with the byte-level decoder: the tokens'
// bytes are concatenated and invalid UTF-8 is replaced by U+FFFD (one per
// maximal invalid subpart, as HF does). Added tokens decode to their
// content; with skipSpecial, special added tokens are left out. Ids that
// are out of range or unused are ignored.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	var raw []byte
	for _, id := range ids {
		raw = append(raw, t.tokenBytes(id, skipSpecial)...)
	}
	if utf8.Valid(raw) {
		return string(raw)
	}
	return string(appendLossy(nil, raw))
}

// tokenBytes returns the raw bytes of id, or nil when it is unknown or a
// skipped special token.
func (t *Tokenizer) tokenBytes(id int, skipSpecial bool) []byte {
	if id < 0 || id >= len(t.idBytes) || (skipSpecial && t.IsSpecial(id)) {
		return nil
	}
	return t.idBytes[id]
}

// StreamDecoder decodes ids one at a time during generation. It only
// returns complete UTF-8 sequences and holds back the bytes of a character
// whose remaining bytes are still to come, so that a multi-byte character
// split over several tokens is emitted once, whole. The concatenation of
// everything Push and Flush return equals Decode of all the ids.
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	pending     []byte
}

// NewStreamDecoder returns a streaming decoder; skipSpecial drops special
// added tokens as in Decode.
func (t *Tokenizer) NewStreamDecoder(skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Push adds one id and returns the text that is now complete (often "").
func (d *StreamDecoder) Push(id int) string {
	d.pending = append(d.pending, d.t.tokenBytes(id, d.skipSpecial)...)
	keep := incompleteTail(d.pending)
	ready := d.pending[:len(d.pending)-keep]
	if len(ready) == 0 {
		return ""
	}
	var out string
	if utf8.Valid(ready) {
		out = string(ready)
	} else {
		out = string(appendLossy(nil, ready))
	}
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-keep:]...)
	return out
}

// Flush returns whatever is held back, with an unfinished character
// replaced by U+FFFD, and resets the decoder.
func (d *StreamDecoder) Flush() string {
	out := string(appendLossy(nil, d.pending))
	d.pending = d.pending[:0]
	return out
}
