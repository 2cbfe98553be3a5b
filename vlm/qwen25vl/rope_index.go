package qwen25vl

import (
	"fmt"
	"slices"
)

// Positions holds M-RoPE position ids for one sequence: one row per axis
// (temporal, height, width), each as long as the token sequence.
type Positions [3][]int64

// RopeIndex computes M-RoPE position ids for one token sequence with the
// semantics of HF's get_rope_index: text tokens advance all three axes
// together; the tokens of an image or video (the pads after a
// <|vision_start|>) take (t, h, w) from their place in the merged grid,
// offset by the position reached before them; text after a vision block
// continues from the largest position used plus one. Images have t = 0;
// video frames get t = frame · secondPerGridT · tokens_per_second
// (truncated), with secondPerGridT defaulting to 1 when not given.
// The returned delta is max position + 1 − len(ids): the offset of every
// later generated token's position from its index.
func (c *Config) RopeIndex(ids []int32, images, videos []GridTHW, secondPerGridT []float64) (Positions, int64, error) {
	var pos Positions
	for a := range pos {
		pos[a] = make([]int64, 0, len(ids))
	}
	merge := c.Vision.SpatialMergeSize
	img, vid := int32(c.ImageTokenID), int32(c.VideoTokenID)
	imgLeft, vidLeft := 0, 0
	for i := 0; i+1 < len(ids); i++ {
		if ids[i] == int32(c.VisionStartTokenID) {
			switch ids[i+1] {
			case img:
				imgLeft++
			case vid:
				vidLeft++
			}
		}
	}
	if imgLeft != len(images) || vidLeft != len(videos) {
		return pos, 0, fmt.Errorf("rope index: %d image and %d video blocks in the tokens, but %d image and %d video grids",
			imgLeft, vidLeft, len(images), len(videos))
	}
	next := int64(0) // first position after what is placed so far
	text := func(n int) {
		for j := range n {
			for a := range pos {
				pos[a] = append(pos[a], next+int64(j))
			}
		}
		next += int64(n)
	}
	st, ii, vi := 0, 0, 0
	for range len(images) + len(videos) {
		edImg, edVid := len(ids)+1, len(ids)+1
		if imgLeft > 0 {
			if k := slices.Index(ids[st:], img); k >= 0 {
				edImg = st + k
			}
		}
		if vidLeft > 0 {
			if k := slices.Index(ids[st:], vid); k >= 0 {
				edVid = st + k
			}
		}
		var g GridTHW
		var secs float64
		ed := edImg
		if edImg < edVid {
			g = images[ii]
			ii++
			imgLeft--
		} else {
			g = videos[vi]
			secs = 1
			if vi < len(secondPerGridT) {
				secs = secondPerGridT[vi]
			}
			vi++
			vidLeft--
			ed = edVid
		}
		if ed > len(ids) {
			return pos, 0, fmt.Errorf("rope index: vision pad token missing after position %d", st)
		}
		if g.H%merge != 0 || g.W%merge != 0 || g.T <= 0 {
			return pos, 0, fmt.Errorf("rope index: grid %v is not divisible by the merge size %d", g, merge)
		}
		text(ed - st)
		lt, lh, lw := g.T, g.H/merge, g.W/merge
		pad := ids[ed]
		run := 0
		for ed+run < len(ids) && ids[ed+run] == pad {
			run++
		}
		if run != lt*lh*lw {
			return pos, 0, fmt.Errorf("rope index: grid %v needs %d pad tokens (id %d) at position %d, found %d: expand each pad to its merged token count", g, lt*lh*lw, pad, ed, run)
		}
		maxPos := next - 1
		for t := range lt {
			tp := int64(float64(t) * secs * float64(c.Vision.TokensPerSecond))
			for h := range lh {
				for w := range lw {
					pos[0] = append(pos[0], next+tp)
					pos[1] = append(pos[1], next+int64(h))
					pos[2] = append(pos[2], next+int64(w))
					maxPos = max(maxPos, next+tp, next+int64(h), next+int64(w))
				}
			}
		}
		next = maxPos + 1
		st = ed + lt*lh*lw
	}
	text(len(ids) - st)
	return pos, next - int64(len(ids)), nil
}
