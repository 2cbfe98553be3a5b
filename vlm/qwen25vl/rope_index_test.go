package qwen25vl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRopeIndexImageAndVideo checks get_rope_index semantics worked out by
// hand: text advances all axes; an image block takes (0, h, w) offsets from
// the position after the preceding text; a video's temporal axis advances by
// frame · second_per_grid_t · tokens_per_second; text resumes after the
// largest position used.
func TestRopeIndexImageAndVideo(t *testing.T) {
	cfg, err := LoadConfig(goldenDir() + "/config.json") // tokens_per_second 2
	require.NoError(t, err)
	const vs, ve, img, vid = 309, 310, 312, 313
	ids := []int32{1, 2, vs, img, img, img, img, ve, 3, vs}
	for range 8 {
		ids = append(ids, vid)
	}
	ids = append(ids, ve, 4)
	pos, delta, err := cfg.RopeIndex(ids, []GridTHW{{1, 4, 4}}, []GridTHW{{2, 4, 4}}, []float64{1})
	require.NoError(t, err)
	want := Positions{
		{0, 1, 2, 3, 3, 3, 3, 5, 6, 7, 8, 8, 8, 8, 10, 10, 10, 10, 11, 12},
		{0, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 8, 9, 9, 8, 8, 9, 9, 11, 12},
		{0, 1, 2, 3, 4, 3, 4, 5, 6, 7, 8, 9, 8, 9, 8, 9, 8, 9, 11, 12},
	}
	require.Equal(t, want, pos)
	require.EqualValues(t, 13-len(ids), delta)

	textOnly, delta, err := cfg.RopeIndex([]int32{5, 6, 7}, nil, nil, nil)
	require.NoError(t, err)
	require.Equal(t, Positions{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}}, textOnly)
	require.Zero(t, delta)
}

func TestRopeIndexErrors(t *testing.T) {
	cfg, err := LoadConfig(goldenDir() + "/config.json")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		ids    []int32
		images []GridTHW
		want   string
	}{
		{"grid without block", []int32{1, 2}, []GridTHW{{1, 2, 2}}, "0 image and 0 video blocks in the tokens, but 1 image"},
		{"too few pads", []int32{309, 312, 310}, []GridTHW{{1, 4, 4}}, "needs 4 pad tokens (id 312) at position 1, found 1"},
		{"odd grid", []int32{309, 312, 310}, []GridTHW{{1, 3, 4}}, "not divisible by the merge size 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := cfg.RopeIndex(tc.ids, tc.images, nil, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
