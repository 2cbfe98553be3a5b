package camera

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
)

// solidImage returns a w×h RGB image of one colour.
func solidImage(rgb [3]uint8, w, h int) policy.Image {
	im := policy.Image{Pix: make([]uint8, w*h*3), W: w, H: h}
	for i := 0; i < len(im.Pix); i += 3 {
		copy(im.Pix[i:], rgb[:])
	}
	return im
}

func TestVideoRoundTrip(t *testing.T) {
	const n, fps = 12, 10.0
	frames := make([]policy.Image, n)
	for i := range frames {
		frames[i] = solidImage(colorOf(i), 64, 48)
	}
	for _, ext := range []string{".avi", ".mp4"} {
		path := filepath.Join(t.TempDir(), "rollout"+ext)
		require.NoError(t, WriteVideo(path, frames, fps))
		for _, tc := range []struct {
			name   string
			opts   ReadOptions
			w, h   int
			source []int // index written of each frame read
			fps    float64
		}{
			{"all", ReadOptions{}, 64, 48, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, fps},
			{"max above count", ReadOptions{MaxFrames: 20}, 64, 48, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, fps},
			{"sampled", ReadOptions{MaxFrames: 4}, 64, 48, []int{0, 4, 7, 11}, fps * 4 / 12},
			{"one", ReadOptions{MaxFrames: 1}, 64, 48, []int{0}, fps / 12},
			{"resized", ReadOptions{MaxFrames: 3, Width: 32, Height: 32, Fit: FitCrop}, 32, 32, []int{0, 6, 11}, fps * 3 / 12},
		} {
			t.Run(ext+"/"+tc.name, func(t *testing.T) {
				got, gotFPS, err := ReadVideo(path, tc.opts)
				require.NoError(t, err)
				assert.InDelta(t, tc.fps, gotFPS, 1e-9)
				require.Len(t, got, len(tc.source))
				for i, im := range got {
					require.Equal(t, tc.w, im.W)
					require.Equal(t, tc.h, im.H)
					for _, p := range [][2]int{{0, 0}, {tc.w / 2, tc.h / 2}, {tc.w - 1, tc.h - 1}} {
						near(t, colorOf(tc.source[i]), pixel(im, p[0], p[1]), 10, "frame %d at %v", i, p)
					}
				}
			})
		}
	}
}

func TestLinspace(t *testing.T) {
	assert.Equal(t, []int{0, 4, 7, 11}, linspace(12, 4))
	assert.Equal(t, []int{0}, linspace(12, 1))
	assert.Equal(t, []int{0, 1, 2}, linspace(3, 3))
	assert.Equal(t, []int{0, 2, 4, 6, 8}, linspace(9, 5))
}

func TestWriteVideoErrors(t *testing.T) {
	dir := t.TempDir()
	ok := []policy.Image{solidImage(colorOf(0), 8, 8)}
	for _, tc := range []struct {
		name   string
		path   string
		frames []policy.Image
		fps    float64
		err    string
	}{
		{"extension", "clip.mkv", ok, 10, "unknown extension"},
		{"no frames", "clip.mp4", nil, 10, "no frames"},
		{"zero fps", "clip.mp4", ok, 0, "fps 0 out of range"},
		{"bad frame", "clip.mp4", []policy.Image{{Pix: make([]uint8, 5), W: 2, H: 2}}, 10, "frame 0: image 2x2 needs 12 RGB bytes, has 5"},
		{"mixed sizes", "clip.mp4", append(ok, solidImage(colorOf(1), 4, 4)), 10, "frame 1 is 4x4, frame 0 8x8"},
		{"no directory", "missing/clip.avi", ok, 10, "OpenCV cannot open it for writing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.path)
			err := WriteVideo(path, tc.frames, tc.fps)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "camera: write video ")
			assert.Contains(t, err.Error(), tc.err)
			_, statErr := os.Stat(path)
			assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing written")
		})
	}
}

func TestReadVideoErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.avi")
	require.NoError(t, os.WriteFile(junk, []byte("RIFF but not really"), 0o644))
	for _, tc := range []struct {
		name string
		path string
		opts ReadOptions
		err  string
	}{
		{"missing", filepath.Join(dir, "nope.mp4"), ReadOptions{}, "no such file or directory"},
		{"junk", junk, ReadOptions{}, "OpenCV cannot decode it"},
		{"url", "rtsp://camera/stream", ReadOptions{}, "not a file"},
		{"negative max", junk, ReadOptions{MaxFrames: -1}, "MaxFrames -1 is negative"},
		{"half a size", junk, ReadOptions{Width: 32}, "size 32x0: set both or neither"},
		{"bad fit", junk, ReadOptions{Fit: 9}, "unknown Fit(9)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadVideo(tc.path, tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "camera: read video")
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}
