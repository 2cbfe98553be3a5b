package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	tok := qwen(t)
	ids := tok.Encode("<|im_start|>user\nhi<|im_end|><think>x</think>")
	tests := []struct {
		name        string
		ids         []int
		skipSpecial bool
		want        string
	}{
		{"all", ids, false, "<|im_start|>user\nhi<|im_end|><think>x</think>"},
		{"skip special keeps <think>", ids, true, "user\nhi<think>x</think>"},
		{"unknown ids ignored", []int{-1, 1 << 40, 3838, tok.VocabSize()}, false, "What"},
		{"whole emoji", []int{144236}, false, "😊"},
		{"split character", []int{9284}, false, "\uFFFD"}, // F0 9F, the start of an emoji
		{"nil", nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tok.Decode(tt.ids, tt.skipSpecial))
		})
	}
}

// streamAll pushes ids one by one and checks every chunk is valid UTF-8.
func streamAll(t *testing.T, tok *Tokenizer, ids []int, skip bool) string {
	d := tok.NewStreamDecoder(skip)
	var b strings.Builder
	for _, id := range ids {
		s := d.Push(id)
		require.True(t, utf8.ValidString(s))
		b.WriteString(s)
	}
	b.WriteString(d.Flush())
	return b.String()
}

func TestStreamDecoder(t *testing.T) {
	tok := qwen(t)
	for _, c := range readCases(t, testPublic) {
		require.Equal(t, c.Decoded, streamAll(t, tok, c.IDs, false), c.Text)
		require.Equal(t, tok.Decode(c.IDs, true), streamAll(t, tok, c.IDs, true), c.Text)
	}

	// A character split over byte tokens is held back until complete.
	d := tok.NewStreamDecoder(false)
	var pushed []string
	for _, b := range []byte("😀!") {
		id, ok := tok.TokenID(string(byteToRune[b]))
		require.True(t, ok)
		pushed = append(pushed, d.Push(id))
	}
	require.Equal(t, []string{"", "", "", "😀", "!"}, pushed)
	require.Equal(t, "", d.Flush())

	// An unfinished character comes out of Flush as U+FFFD.
	id, _ := tok.TokenID(string(byteToRune[0xE6]))
	require.Equal(t, "", d.Push(id))
	require.Equal(t, "\uFFFD", d.Flush())
	require.Equal(t, "", d.Flush())
}

// TestStreamDecoderRandom checks stream output against Decode on random ids,
// mostly single bytes so that characters split and break often.
func TestStreamDecoderRandom(t *testing.T) {
	tok := qwen(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		ids := make([]int, rng.IntN(12))
		for i := range ids {
			if rng.IntN(2) == 0 {
				ids[i] = int(tok.model.byteID[rng.IntN(256)])
			} else {
				ids[i] = rng.IntN(tok.VocabSize() + 10)
			}
		}
		for _, skip := range []bool{false, true} {
			d := tok.NewStreamDecoder(skip)
			var b strings.Builder
			for _, id := range ids {
				b.WriteString(d.Push(id))
			}
			b.WriteString(d.Flush())
			require.Equal(t, tok.Decode(ids, skip), b.String(), "ids %v", ids)
		}
	}
}
