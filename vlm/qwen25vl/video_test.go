package qwen25vl

import (
	"image"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmartNFrames(t *testing.T) {
	tests := []struct {
		name      string
		total     int
		nativeFPS float64
		opts      VideoOptions
		want      int
		wantErr   string
	}{
		{name: "10s at 30fps", total: 300, nativeFPS: 30, want: 20},
		{name: "fps 4", total: 300, nativeFPS: 30, opts: VideoOptions{FPS: 4}, want: 40},
		{name: "short clip uses min_frames", total: 10, nativeFPS: 30, want: 4},
		{name: "3 frames capped to even", total: 3, nativeFPS: 30, want: 2},
		{name: "max_frames 768", total: 1000, nativeFPS: 1, want: 768},
		{name: "custom max_frames", total: 1000, nativeFPS: 1, opts: VideoOptions{MaxFrames: 195}, want: 194},
		{name: "round 6.07", total: 91, nativeFPS: 30, want: 6},
		{name: "round half to even 3.5", total: 105, nativeFPS: 30, want: 8},
		{name: "round half to even 4.5", total: 135, nativeFPS: 30, want: 8},
		{name: "odd min_frames rounds up", total: 100, nativeFPS: 30, opts: VideoOptions{MinFrames: 7}, want: 8},
		{name: "nframes", total: 100, nativeFPS: 30, opts: VideoOptions{NFrames: 7}, want: 8},
		{name: "nframes ignores fps", total: 100, opts: VideoOptions{NFrames: 10}, want: 10},
		{name: "nframes over total", total: 5, nativeFPS: 30, opts: VideoOptions{NFrames: 6}, wantErr: "sampled frame count 6 is outside [2, 5]"},
		{name: "one frame", total: 1, nativeFPS: 30, wantErr: "sampled frame count 0 is outside [2, 1]"},
		{name: "no frames", total: 0, nativeFPS: 30, wantErr: "video has 0 frames"},
		{name: "native fps", total: 100, nativeFPS: 0, wantErr: "native fps must be positive"},
		{name: "bad fps option", total: 100, nativeFPS: 30, opts: VideoOptions{FPS: -1}, wantErr: "video fps must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := SmartNFrames(tt.total, tt.nativeFPS, tt.opts)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, n)
		})
	}
}

func TestFrameIndices(t *testing.T) {
	tests := []struct {
		total, n int
		want     []int
	}{
		{total: 10, n: 4, want: []int{0, 3, 6, 9}},
		{total: 6, n: 4, want: []int{0, 2, 3, 5}},
		{total: 4, n: 3, want: []int{0, 2, 3}}, // 1.5 rounds to 2
		{total: 6, n: 3, want: []int{0, 2, 5}}, // 2.5 rounds to 2
		{total: 8, n: 3, want: []int{0, 4, 7}}, // 3.5 rounds to 4
		{total: 5, n: 5, want: []int{0, 1, 2, 3, 4}},
		{total: 7, n: 2, want: []int{0, 6}},
		{total: 9, n: 1, want: []int{0}},
	}
	for _, tt := range tests {
		got, err := FrameIndices(tt.total, tt.n)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "linspace(0, %d, %d)", tt.total-1, tt.n)
	}
	_, err := FrameIndices(0, 3)
	require.ErrorContains(t, err, "positive counts")
}

func TestSampleFrames(t *testing.T) {
	s, err := SampleFrames(300, 30, VideoOptions{})
	require.NoError(t, err)
	require.Len(t, s.Indices, 20)
	require.Equal(t, 0, s.Indices[0])
	require.Equal(t, 299, s.Indices[19])
	for i := 1; i < len(s.Indices); i++ {
		require.Greater(t, s.Indices[i], s.Indices[i-1])
	}
	require.InDelta(t, 2.0, s.FPS, 1e-12)

	s, err = SampleFrames(10, 30, VideoOptions{})
	require.NoError(t, err)
	require.Equal(t, []int{0, 3, 6, 9}, s.Indices)
	require.InDelta(t, 12.0, s.FPS, 1e-12) // 4/10*30

	_, err = SampleFrames(1, 30, VideoOptions{})
	require.Error(t, err)
}

func TestVideoFrameSize(t *testing.T) {
	tests := []struct {
		name           string
		h, w, nframes  int
		opts           VideoOptions
		wantH, wantW   int
		wantErrContain string
	}{
		{name: "480p", h: 480, w: 640, nframes: 20, wantH: 476, wantW: 644},
		{name: "1080p capped by VIDEO_MAX_PIXELS", h: 1080, w: 1920, nframes: 20, wantH: 560, wantW: 1008},
		{name: "1080p capped by total budget", h: 1080, w: 1920, nframes: 600, wantH: 392, wantW: 728},
		{name: "tiny upscaled to min_pixels", h: 20, w: 30, nframes: 4, wantH: 280, wantW: 392},
		{name: "square", h: 256, w: 256, nframes: 64, wantH: 336, wantW: 336},
		{name: "no frames", h: 256, w: 256, nframes: 0, wantErrContain: "video has 0 frames"},
		{name: "bad options", h: 256, w: 256, nframes: 2, opts: VideoOptions{MinPixels: -1}, wantErrContain: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, w, err := VideoFrameSize(tt.h, tt.w, tt.nframes, 28, tt.opts)
			if tt.wantErrContain != "" {
				require.ErrorContains(t, err, tt.wantErrContain)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [2]int{tt.wantH, tt.wantW}, [2]int{h, w})
		})
	}
}

func TestVideo(t *testing.T) {
	cfg := PreprocessorConfig{Video: VideoOptions{MinPixels: 3136, MaxPixels: 56 * 84}}
	p := newTestProcessor(t, cfg)
	const h, w, n = 56, 84, 5
	frames := make([][]byte, n)
	imgs := make([]image.Image, n)
	for f := range frames {
		frames[f] = make([]byte, h*w*3)
		for i := range frames[f] {
			frames[f][i] = byte(i*3 + f*50)
		}
		nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range h * w {
			copy(nrgba.Pix[4*i:], frames[f][3*i:3*i+3])
			nrgba.Pix[4*i+3] = 255
		}
		imgs[f] = nrgba
	}
	got, err := p.VideoRGB(frames, h, w, 2.0)
	require.NoError(t, err)
	require.Equal(t, GridTHW{T: 3, H: 4, W: 6}, got.Grid, "5 frames pad to 6: 3 temporal patches")
	require.Equal(t, 72, got.Rows)
	require.Equal(t, 1176, got.Cols)
	require.Equal(t, 18, p.MergedTokens(got.Grid))
	require.InDelta(t, 1.0, got.SecondPerGridT, 0)
	padded := append(frames[:n:n], frames[n-1])
	require.Equal(t, refPatchify(p, padded, h, w), got.Values)

	// In the padded last temporal patch both frames are equal.
	row := got.Values[(got.Rows-1)*got.Cols:]
	half := 14 * 14
	for c := range 3 {
		base := c * 2 * half
		require.Equal(t, row[base:base+half], row[base+half:base+2*half])
	}

	fromImages, err := p.Video(imgs, 2.0)
	require.NoError(t, err)
	require.Equal(t, got, fromImages)

	// An even count needs no padding; fps sets second_per_grid_t.
	got, err = p.VideoRGB(frames[:4], h, w, 4.0)
	require.NoError(t, err)
	require.Equal(t, 2, got.Grid.T)
	require.InDelta(t, 0.5, got.SecondPerGridT, 0)

	// Default options resize small frames up to VIDEO_MIN_PIXELS.
	pd := newTestProcessor(t, PreprocessorConfig{})
	got, err = pd.VideoRGB(frames[:2], h, w, 2.0)
	require.NoError(t, err)
	require.Equal(t, GridTHW{T: 1, H: 20, W: 28}, got.Grid) // 280x392

	errTests := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"no frames", func() error { _, err := p.VideoRGB(nil, h, w, 2); return err }, "video has no frames"},
		{"no images", func() error { _, err := p.Video(nil, 2); return err }, "video has no frames"},
		{"fps", func() error { _, err := p.VideoRGB(frames, h, w, 0); return err }, "video fps must be positive"},
		{"short frame", func() error {
			_, err := p.VideoRGB([][]byte{frames[0], frames[1][:10]}, h, w, 2)
			return err
		}, "video frame 1: RGB buffer has 10 bytes"},
		{"mixed sizes", func() error {
			_, err := p.Video([]image.Image{imgs[0], image.NewGray(image.Rect(0, 0, 10, 10))}, 2)
			return err
		}, "video frame 1 is 10x10, frame 0 is 84x56"},
		{"nil frame", func() error { _, err := p.Video([]image.Image{imgs[0], nil}, 2); return err }, "video frame 1 is nil"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.run(), tt.wantErr)
		})
	}
}
