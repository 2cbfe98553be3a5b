// Package actiontok is VST's action tokenizer (ActionTokenizerV2): 256
// added tokens <|action_0|> … <|action_255|> encode normalized action
// values in [−1, 1], with VST's reversed id mapping so that checkpoints
// trained upstream decode unchanged.
//
// Bins are the 256 edges linspace(−1, 1, 256) (255 intervals of 2/255).
// A value a is clipped to [−1, 1] and digitized like numpy.digitize
// (d = i with edges[i−1] ≤ a < edges[i], so d ∈ [1, 256]: −1 → 1, +1 →
// 256); its token id is L − d, where L is the tokenizer length after the
// action tokens were added. Since <|action_0|> has id L − 256,
// <|action_i|> ↔ d = 256 − i: larger values map to smaller action indices,
// +1 (only reached by clipping, e.g. raw values above q99) is
// <|action_0|>, and everything ≤ q01 (normalized −1) is <|action_255|>.
// Decoding takes d = L − id, k = clip(d − 1, 0, 254) and returns the bin
// centre (edges[k] + edges[k+1])/2, so both extremes decode to ±0.996.
package actiontok

import (
	"fmt"
	"math"

	"github.com/vstgo/vst/vlm/tokenizer"
)

// NumBins is the number of action tokens (and bin edges).
const NumBins = 256

// edges are numpy.linspace(-1, 1, 256); centres are the 255 bin centres.
var edges, centres = func() ([NumBins]float64, [NumBins - 1]float64) {
	var e [NumBins]float64
	step := 2.0 / float64(NumBins-1)
	for i := range NumBins {
		e[i] = float64(i)*step - 1
	}
	e[NumBins-1] = 1
	var c [NumBins - 1]float64
	for k := range c {
		c[k] = (e[k] + e[k+1]) / 2
	}
	return e, c
}()

// TokenName returns the text of action token i (0 ≤ i < 256):
// "<|action_i|>".
func TokenName(i int) string { return fmt.Sprintf("<|action_%d|>", i) }

// Digitize returns numpy.digitize(clip(a, −1, 1), linspace(−1, 1, 256)):
// the d ∈ [1, 256] with edges[d−1] ≤ a < edges[d]; d = 256 exactly when
// a ≥ 1. NaN gives 256, as numpy's does (NaN sorts last).
func Digitize(a float64) int {
	if math.IsNaN(a) {
		return NumBins
	}
	a = math.Max(-1, math.Min(1, a))
	lo, hi := 0, NumBins // first edge > a, by binary search
	for lo < hi {
		m := (lo + hi) / 2
		if edges[m] > a {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// BinCentre returns the value that bin index d ∈ [1, 256] decodes to:
// centre k = clip(d − 1, 0, 254).
func BinCentre(d int) float32 { return float32(centres[max(0, min(d-1, NumBins-2))]) }

// Tokenizer maps normalized action values to token ids and back for a
// vocabulary of length L (the action tokens are ids L−256 … L−1). It is
// immutable and safe for concurrent use.
type Tokenizer struct {
	l int
}

// New returns an action tokenizer for a vocabulary whose length after
// adding the action tokens is vocabLen (HF's len(tokenizer): 151921 for
// Qwen2.5's 151665 plus 256).
func New(vocabLen int) (*Tokenizer, error) {
	if vocabLen < NumBins {
		return nil, fmt.Errorf("action tokenizer: vocabulary length %d is smaller than the %d action tokens", vocabLen, NumBins)
	}
	return &Tokenizer{l: vocabLen}, nil
}

// AddTo adds the 256 action tokens to tok as ordinary (non-special) tokens,
// as VST's add_tokens does, and returns the action tokenizer for it. It is
// idempotent: a tokenizer that already has them (one saved with a
// fine-tuned checkpoint) keeps their ids. The tokens must end up as the
// last 256 ids, in order, or the reversed mapping would not hold.
func AddTo(tok *tokenizer.Tokenizer) (*Tokenizer, error) {
	names := make([]string, NumBins)
	for i := range names {
		names[i] = TokenName(i)
	}
	ids := tok.AddTokens(names, false)
	return check(tok.VocabSize(), ids)
}

// FromTokenizer returns the action tokenizer of a tokenizer that already
// holds the action tokens, without changing it.
func FromTokenizer(tok *tokenizer.Tokenizer) (*Tokenizer, error) {
	ids := make([]int, NumBins)
	for i := range ids {
		id, ok := tok.TokenID(TokenName(i))
		if !ok {
			return nil, fmt.Errorf("action tokenizer: tokenizer lacks %s", TokenName(i))
		}
		ids[i] = id
	}
	return check(tok.VocabSize(), ids)
}

func check(l int, ids []int) (*Tokenizer, error) {
	t, err := New(l)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if want := t.FirstID() + i; id != want {
			return nil, fmt.Errorf("action tokenizer: %s has id %d, want %d (the action tokens must be the last %d ids of a vocabulary of %d)",
				TokenName(i), id, want, NumBins, l)
		}
	}
	return t, nil
}

// VocabLen returns L.
func (t *Tokenizer) VocabLen() int { return t.l }

// FirstID returns the id of <|action_0|>, L − 256.
func (t *Tokenizer) FirstID() int { return t.l - NumBins }

// IsAction reports whether id is an action token.
func (t *Tokenizer) IsAction(id int) bool { return id >= t.FirstID() && id < t.l }

// Encode returns the token id of each normalized value: L − Digitize(a).
func (t *Tokenizer) Encode(normalized []float32) []int {
	ids := make([]int, len(normalized))
	for i, a := range normalized {
		ids[i] = t.l - Digitize(float64(a))
	}
	return ids
}

// Decode returns the bin-centre value of each action token id; an id that
// is not an action token is an error naming its position.
func (t *Tokenizer) Decode(ids []int) ([]float32, error) {
	out := make([]float32, len(ids))
	for i, id := range ids {
		if !t.IsAction(id) {
			return nil, fmt.Errorf("action tokenizer: id %d at position %d is not an action token (%d…%d)", id, i, t.FirstID(), t.l-1)
		}
		out[i] = BinCentre(t.l - id)
	}
	return out, nil
}

// DecodeLast decodes the last dim ids of a generated sequence, as VST
// does (it slices the last action_dim generated ids without checking for
// an early end of sequence).
func (t *Tokenizer) DecodeLast(generated []int, dim int) ([]float32, error) {
	if dim <= 0 || len(generated) < dim {
		return nil, fmt.Errorf("action tokenizer: need the last %d ids, have %d", dim, len(generated))
	}
	return t.Decode(generated[len(generated)-dim:])
}
