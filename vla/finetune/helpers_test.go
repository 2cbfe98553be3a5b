package finetune

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/vla/dataset"
	"github.com/vstgo/vst/vlm/qwen25vl"
	"github.com/vstgo/vst/vlm/tokenizer"
)

// tinyBackbone writes the tiny random Qwen2.5-VL (F32) with a byte-level
// tokenizer whose special tokens land on the tiny config's ids.
func tinyBackbone(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	cfg, err := qwen25vl.Preset("tiny")
	require.NoError(t, err)
	require.NoError(t, qwen25vl.WriteRandomCheckpoint(dir, cfg, qwen25vl.RandomOptions{DType: "F32", Seed: 3}))
	bigrams := strings.Fields("th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be")
	n := cfg.ImageTokenID - 12 - 256
	require.LessOrEqual(t, n, len(bigrams))
	merges := make([][2]string, n)
	for i, b := range bigrams[:n] {
		merges[i] = [2]string{b[:1], b[1:]}
	}
	tok, err := tokenizer.NewByteLevel(merges, tokenizer.QwenSpecialTokens)
	require.NoError(t, err)
	require.NoError(t, tok.Save(dir))
	return dir
}

// testImage is a size×size frame whose colours and bright square move with
// the frame k and the camera c.
func testImage(size, k, c int) policy.Image {
	im := policy.Image{H: size, W: size, Pix: make([]uint8, size*size*3)}
	x0, y0 := (k*5+c*11)%(size/2), (k*3)%(size/2)
	for y := range size {
		for x := range size {
			o := (y*size + x) * 3
			im.Pix[o], im.Pix[o+1], im.Pix[o+2] = uint8(20*k+60*c), uint8(200-15*k), uint8(x+2*y)
			if x >= x0 && x < x0+size/3 && y >= y0 && y < y0+size/3 {
				im.Pix[o], im.Pix[o+1], im.Pix[o+2] = 250, 240, uint8(25*k)
			}
		}
	}
	return im
}

// writeTestData writes a LeRobot data set (images in parquet) of episodes
// episodes of frames frames each, with the given cameras at size px, a
// 3-D state and 7-D actions that follow the frame index (the last, a
// gripper, −1 for the first half of an episode, then +1), and returns its
// directory.
func writeTestData(t testing.TB, episodes, frames, size int, cameras ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	spec := dataset.Spec{FPS: 10, RobotType: "panda", StateDim: 3, ActionDim: 7}
	for _, c := range cameras {
		spec.Cameras = append(spec.Cameras, dataset.Camera{Name: c, Height: size, Width: size})
	}
	w, err := dataset.New(dir, spec, dataset.WriterConfig{ImagesInParquet: true})
	require.NoError(t, err)
	tasks := []string{"pick up the bowl", "open the drawer", "turn on the stove"}
	for e := range episodes {
		for i := range frames {
			f := dataset.Frame{
				Images:    map[string]policy.Image{},
				State:     []float32{float32(i) / float32(frames), float32(e), 0.5},
				Timestamp: float32(i) / 10,
				Task:      tasks[e%len(tasks)],
			}
			for d := range 6 {
				f.Action = append(f.Action, float32(1-2*(d%2))*(float32(2*i)/float32(max(frames-1, 1))-1)+0.1*float32(e))
			}
			f.Action = append(f.Action, float32(2*(2*i/frames)-1)) // gripper: open, then closed
			for c, cam := range cameras {
				f.Images[cam] = testImage(size, i+e, c)
			}
			require.NoError(t, w.AddFrame(f))
		}
		require.NoError(t, w.EndEpisode(true))
	}
	require.NoError(t, w.Close())
	return dir
}
