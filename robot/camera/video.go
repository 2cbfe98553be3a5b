package camera

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"

	"github.com/vstgo/vst/policy"
)

// ReadOptions configures ReadVideo.
type ReadOptions struct {
	// MaxFrames caps the number of frames returned: a longer video is
	// sampled at MaxFrames evenly spaced frames, first and last included
	// (round(linspace(0, n-1, MaxFrames)), as Qwen2.5-VL's video reader
	// does). It defaults to 0: every frame.
	MaxFrames int
	// Width and Height resize every frame, with Fit. They default to 0:
	// the video's own size. Set both or neither.
	Width, Height int
	// Fit says how frames are brought to Width × Height. It defaults to
	// FitPad.
	Fit Fit
}

// ReadVideo decodes a video file (or a printf image sequence) into RGB
// frames. The rate it returns is that of the returned frames: the file's
// own frame rate, times kept/total when MaxFrames sampled the video (0 when
// the file states none). Frames skipped by sampling are grabbed but not
// converted.
func ReadVideo(path string, opts ReadOptions) ([]policy.Image, float64, error) {
	if opts.MaxFrames < 0 {
		return nil, 0, fmt.Errorf("camera: read video: MaxFrames %d is negative", opts.MaxFrames)
	}
	if opts.Width < 0 || opts.Height < 0 || (opts.Width == 0) != (opts.Height == 0) {
		return nil, 0, fmt.Errorf("camera: read video: size %dx%d: set both or neither, positive", opts.Width, opts.Height)
	}
	if !opts.Fit.valid() {
		return nil, 0, fmt.Errorf("camera: read video: unknown %v", opts.Fit)
	}
	if k, _ := classify(path); k != kindFile {
		return nil, 0, fmt.Errorf("camera: read video %q: not a file", path)
	}
	vc, fps, err := openCapture(path)
	if err != nil {
		return nil, 0, fmt.Errorf("camera: read video %q: %w", path, err)
	}
	defer vc.Close()
	if !(fps > 0 && fps < 1e6) {
		fps = 0
	}
	total := int(vc.Get(gocv.VideoCaptureFrameCount))

	raw := gocv.NewMat()
	defer raw.Close()
	var pipe *pipeline
	defer func() {
		if pipe != nil {
			pipe.Close()
		}
	}()
	convert := func() (policy.Image, error) {
		if pipe == nil {
			w, h := opts.Width, opts.Height
			if w == 0 {
				w, h = raw.Cols(), raw.Rows()
			}
			pipe = newPipeline(w, h, opts.Fit, false)
		}
		return pipe.process(raw)
	}

	var want []int // source indices to keep; nil keeps every frame
	if opts.MaxFrames > 0 && total > opts.MaxFrames {
		want = linspace(total, opts.MaxFrames)
	}
	sampled := want != nil
	var frames []policy.Image
	for i := 0; want == nil || len(frames) < len(want); i++ {
		if want != nil && want[len(frames)] > i {
			vc.Grab(want[len(frames)] - i)
			i = want[len(frames)]
		}
		if !vc.Read(&raw) || raw.Empty() {
			break // the end, or a frame count that was too high
		}
		img, err := convert()
		if err != nil {
			return nil, 0, fmt.Errorf("camera: read video %q: frame %d: %w", path, i, err)
		}
		frames = append(frames, img)
	}
	if len(frames) == 0 {
		return nil, 0, fmt.Errorf("camera: read video %q: no frames", path)
	}
	if want == nil && opts.MaxFrames > 0 && len(frames) > opts.MaxFrames {
		// The container did not state its frame count.
		total = len(frames)
		kept := make([]policy.Image, 0, opts.MaxFrames)
		for _, j := range linspace(total, opts.MaxFrames) {
			kept = append(kept, frames[j])
		}
		frames = kept
		sampled = true
	}
	if sampled {
		fps *= float64(len(frames)) / float64(total)
	}
	return frames, fps, nil
}

// linspace returns n indices evenly spaced over [0, total-1], rounded half
// to even like torch.linspace(...).round(); n ≤ total makes them distinct.
func linspace(total, n int) []int {
	idx := make([]int, n)
	if n == 1 {
		return idx
	}
	step := float64(total-1) / float64(n-1)
	for i := range idx {
		idx[i] = int(math.RoundToEven(float64(i) * step))
	}
	return idx
}

// WriteVideo encodes RGB frames of one size into a video file at fps:
// MPEG-4 part 2 ("mp4v") for .mp4, .m4v and .mov, Motion JPEG for .avi.
// Every frame is checked before the file is created.
func WriteVideo(path string, frames []policy.Image, fps float64) error {
	var codec string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".m4v", ".mov":
		codec = "mp4v"
	case ".avi":
		codec = "MJPG"
	default:
		return fmt.Errorf("camera: write video %q: unknown extension (want .mp4, .m4v, .mov or .avi)", path)
	}
	if len(frames) == 0 {
		return fmt.Errorf("camera: write video %q: no frames", path)
	}
	if !(fps > 0 && fps < 1e6) {
		return fmt.Errorf("camera: write video %q: fps %v out of range", path, fps)
	}
	w, h := frames[0].W, frames[0].H
	for i, f := range frames {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("camera: write video %q: frame %d: %w", path, i, err)
		}
		if f.W != w || f.H != h {
			return fmt.Errorf("camera: write video %q: frame %d is %dx%d, frame 0 %dx%d", path, i, f.W, f.H, w, h)
		}
	}
	vw, err := gocv.VideoWriterFile(path, codec, fps, w, h, true)
	if err != nil {
		return fmt.Errorf("camera: write video %q: %w", path, err)
	}
	defer vw.Close()
	if !vw.IsOpened() {
		return fmt.Errorf("camera: write video %q: OpenCV cannot open it for writing (directory missing, or no encoder)", path)
	}
	bgr := gocv.NewMat()
	defer bgr.Close()
	for _, f := range frames {
		if err := writeFrame(vw, &bgr, f); err != nil {
			return fmt.Errorf("camera: write video %q: %w", path, err)
		}
	}
	return nil
}

// writeFrame converts one RGB frame to BGR in bgr and writes it.
func writeFrame(vw *gocv.VideoWriter, bgr *gocv.Mat, f policy.Image) error {
	rgb, err := gocv.NewMatFromBytes(f.H, f.W, gocv.MatTypeCV8UC3, f.Pix)
	if err != nil {
		return err
	}
	defer rgb.Close()
	gocv.CvtColor(rgb, bgr, gocv.ColorBGRToRGB) // swapping is symmetric
	return vw.Write(*bgr)
}
