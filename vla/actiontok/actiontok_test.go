package actiontok

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// qwenLen is len(tokenizer) for Qwen2.5 plus the 256 action tokens.
const qwenLen = 151665 + NumBins

func TestEncodeEdgeCases(t *testing.T) {
	at, err := New(qwenLen)
	require.NoError(t, err)
	first := at.FirstID()
	require.Equal(t, 151665, first)
	// Expected d values are numpy.digitize(np.clip(v, -1, 1), np.linspace(-1, 1, 256)).
	tests := []struct {
		name   string
		v      float64
		d      int
		action int // i in <|action_i|>
	}{
		{"minus one", -1, 1, 255},
		{"below q01 clipped", -3, 1, 255},
		{"plus one", 1, 256, 0},
		{"above q99 clipped", 1.7, 256, 0},
		{"zero", 0, 128, 128},
		{"half", 0.5, 192, 64},
		{"minus half", -0.5, 64, 192},
		{"last inner edge", 0.9921568627450981, 255, 1},
		{"just below last inner edge", 0.992156862745098, 254, 2},
		{"second edge", -0.9921568627450981, 2, 254},
		{"just below second edge", -0.9921568627450982, 1, 255},
		{"value at q99 (1e-6 epsilon)", 0.999998, 255, 1},
		{"decoded extreme", 0.996, 255, 1},
		{"nan like numpy", math.NaN(), 256, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.d, Digitize(tt.v))
			if tt.v == float64(float32(tt.v)) || math.IsNaN(tt.v) {
				ids := at.Encode([]float32{float32(tt.v)})
				assert.Equal(t, qwenLen-tt.d, ids[0])
				assert.Equal(t, first+tt.action, ids[0], "<|action_%d|>", tt.action)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	at, err := New(1000)
	require.NoError(t, err)
	tests := []struct {
		name   string
		action int
		want   float64
	}{
		// Bin centres from numpy: (b[:-1] + b[1:]) / 2.
		{"action_0 is +0.996", 0, 0.996078431372549},
		{"action_1 shares the top centre", 1, 0.996078431372549},
		{"action_255 is -0.996", 255, -0.996078431372549},
		{"action_128 is zero", 128, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := at.Decode([]int{at.FirstID() + tt.action})
			require.NoError(t, err)
			assert.Equal(t, float32(tt.want), v[0])
		})
	}
	for _, bad := range []int{-1, at.FirstID() - 1, 1000, 5000} {
		_, err := at.Decode([]int{at.FirstID(), bad})
		assert.ErrorContains(t, err, "at position 1 is not an action token", "id %d", bad)
	}
	_, err = New(255)
	assert.Error(t, err)
}

func TestRoundTripWithinHalfBin(t *testing.T) {
	at, err := New(qwenLen)
	require.NoError(t, err)
	half := 1.0 / 255
	vals := make([]float32, 0, 4001)
	for i := range 4001 {
		vals = append(vals, float32(-1+float64(i)/2000))
	}
	back, err := at.Decode(at.Encode(vals))
	require.NoError(t, err)
	for i, v := range vals {
		assert.LessOrEqual(t, math.Abs(float64(back[i]-v)), half+1e-6, "value %v", v)
	}
}

func TestDecodeLast(t *testing.T) {
	at, err := New(600)
	require.NoError(t, err)
	ids := append([]int{5, 6}, at.Encode([]float32{-1, 0, 1})...)
	v, err := at.DecodeLast(ids, 3)
	require.NoError(t, err)
	assert.Equal(t, []float32{BinCentre(1), 0, BinCentre(256)}, v)
	_, err = at.DecodeLast(ids, 6)
	assert.ErrorContains(t, err, "need the last 6 ids, have 5")
	_, err = at.DecodeLast(ids, 4)
	assert.ErrorContains(t, err, "id 6 at position 0")
}

func TestAddToTokenizer(t *testing.T) {
	tok, err := tokenizer.NewByteLevel(nil, tokenizer.QwenSpecialTokens)
	require.NoError(t, err)
	base := tok.VocabSize()
	at, err := AddTo(tok)
	require.NoError(t, err)
	assert.Equal(t, base+NumBins, at.VocabLen())
	assert.Equal(t, base, at.FirstID())
	id, ok := tok.TokenID("<|action_255|>")
	require.True(t, ok)
	assert.Equal(t, at.Encode([]float32{-1})[0], id)
	assert.Equal(t, []int{id}, tok.Encode("<|action_255|>"), "matched whole in text")

	// Idempotent, and a saved-and-reloaded tokenizer gives the same mapping.
	again, err := AddTo(tok)
	require.NoError(t, err)
	assert.Equal(t, at, again)
	dir := t.TempDir()
	require.NoError(t, tok.Save(dir))
	loaded, err := tokenizer.Load(dir)
	require.NoError(t, err)
	from, err := FromTokenizer(loaded)
	require.NoError(t, err)
	assert.Equal(t, at, from)

	// Tokens added after the action tokens break the reversed mapping.
	loaded.AddTokens([]string{"<|extra|>"}, false)
	_, err = FromTokenizer(loaded)
	assert.ErrorContains(t, err, "must be the last 256 ids")
	plain, err := tokenizer.NewByteLevel(nil, nil)
	require.NoError(t, err)
	_, err = FromTokenizer(plain)
	assert.ErrorContains(t, err, "lacks <|action_0|>")
}

func TestTokenName(t *testing.T) {
	assert.Equal(t, "<|action_0|>", TokenName(0))
	assert.Equal(t, "<|action_255|>", TokenName(255))
}
