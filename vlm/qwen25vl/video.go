package qwen25vl

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Video constants of qwen-vl-utils (vision_process.py), the reference
// preprocessing for Qwen2.5-VL video inputs.
const (
	// FrameFactor is the multiple that sampled frame counts are rounded to
	// (FRAME_FACTOR).
	FrameFactor = 2
	// DefaultVideoFPS is the default sampling rate in frames per second
	// (FPS).
	DefaultVideoFPS = 2.0
	// DefaultVideoMinFrames is the default smallest number of sampled
	// frames (FPS_MIN_FRAMES).
	DefaultVideoMinFrames = 4
	// DefaultVideoMaxFrames is the default largest number of sampled frames
	// (FPS_MAX_FRAMES).
	DefaultVideoMaxFrames = 768
	// DefaultVideoMinPixels is the default smallest resized frame area
	// (VIDEO_MIN_PIXELS, 128*28*28).
	DefaultVideoMinPixels = 128 * 28 * 28
	// DefaultVideoMaxPixels is the default largest resized frame area
	// (VIDEO_MAX_PIXELS, 768*28*28).
	DefaultVideoMaxPixels = 768 * 28 * 28
	// DefaultVideoTotalPixels is the default pixel budget of a whole video
	// (VIDEO_TOTAL_PIXELS, int(128000*28*28*0.9)).
	DefaultVideoTotalPixels = 90316800
)

// VideoOptions are the qwen-vl-utils settings for sampling and resizing
// video frames (the keys of a video element of a message). Zero fields
// take their defaults.
type VideoOptions struct {
	// FPS is the requested sampling rate in frames per second ("fps"). It
	// defaults to 2.0. It is ignored when NFrames is set.
	FPS float64
	// NFrames, when positive, fixes the number of sampled frames
	// ("nframes"), rounded to a multiple of FrameFactor. It defaults to 0
	// (sample at FPS).
	NFrames int
	// MinFrames is the smallest number of sampled frames ("min_frames"),
	// rounded up to a multiple of FrameFactor. It defaults to 4.
	MinFrames int
	// MaxFrames is the largest number of sampled frames ("max_frames"),
	// capped at the video's frame count and rounded down to a multiple of
	// FrameFactor. It defaults to 768.
	MaxFrames int
	// MinPixels is the smallest resized frame area ("min_pixels"). It
	// defaults to 100352 (128*28*28).
	MinPixels int
	// MaxPixels is the largest resized frame area. It plays the role of
	// both VIDEO_MAX_PIXELS and a video element's "max_pixels". It defaults
	// to 602112 (768*28*28).
	MaxPixels int
	// TotalPixels is the pixel budget of the whole video ("total_pixels");
	// each frame gets at most TotalPixels/nframes*FrameFactor pixels. It
	// defaults to 90316800 (int(128000*28*28*0.9)).
	TotalPixels int
}

// applyDefaults fills zero fields with their defaults.
func (o *VideoOptions) applyDefaults() {
	if o.FPS == 0 {
		o.FPS = DefaultVideoFPS
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MinFrames, DefaultVideoMinFrames)
	def(&o.MaxFrames, DefaultVideoMaxFrames)
	def(&o.MinPixels, DefaultVideoMinPixels)
	def(&o.MaxPixels, DefaultVideoMaxPixels)
	def(&o.TotalPixels, DefaultVideoTotalPixels)
}

// validate checks options whose defaults have been applied.
func (o *VideoOptions) validate() error {
	var errs []error
	if !(o.FPS > 0) || math.IsInf(o.FPS, 0) {
		errs = append(errs, invalidf("video fps must be positive and finite, got %v", o.FPS))
	}
	if o.NFrames < 0 {
		errs = append(errs, invalidf("video nframes must be non-negative, got %d", o.NFrames))
	}
	if o.MinFrames < 0 || o.MaxFrames < 0 {
		errs = append(errs, invalidf("video min_frames (%d) and max_frames (%d) must be non-negative", o.MinFrames, o.MaxFrames))
	}
	if o.MinPixels <= 0 || o.MaxPixels <= 0 || o.TotalPixels <= 0 {
		errs = append(errs, invalidf("video min_pixels (%d), max_pixels (%d) and total_pixels (%d) must be positive", o.MinPixels, o.MaxPixels, o.TotalPixels))
	}
	return errors.Join(errs...)
}

// normalized returns o with defaults applied, validated.
func (o VideoOptions) normalized() (VideoOptions, error) {
	o.applyDefaults()
	return o, o.validate()
}

func roundByFactor(x float64, f int) int { return int(math.RoundToEven(x/float64(f))) * f }
func ceilByFactor(x float64, f int) int  { return int(math.Ceil(x/float64(f))) * f }
func floorByFactor(x float64, f int) int { return int(math.Floor(x/float64(f))) * f }

// SmartNFrames returns how many frames qwen-vl-utils' smart_nframes samples
// from a video of totalFrames frames recorded at nativeFPS:
//
//	n = clamp(totalFrames/nativeFPS*fps, min_frames, max_frames)
//	n = round_by_factor(n, 2)
//
// where min_frames is rounded up and max_frames = min(max_frames,
// totalFrames) rounded down to even, and the rounding is Python's
// round-half-to-even. This is smart_nframes as in qwen-vl-utils 0.0.8 and
// VST's copy of vision_process.py ("rounded to multiples of 2"); later
// qwen-vl-utils releases use floor_by_factor instead, which gives 2 fewer
// frames whenever the rounding goes up (7.0 → 8 here, 6 there). When
// opts.NFrames is set the result is round_by_factor(NFrames, 2). The count
// must end up in [2, totalFrames].
func SmartNFrames(totalFrames int, nativeFPS float64, opts VideoOptions) (int, error) {
	o, err := opts.normalized()
	if err != nil {
		return 0, err
	}
	if totalFrames <= 0 {
		return 0, fmt.Errorf("video has %d frames", totalFrames)
	}
	var n int
	if o.NFrames > 0 {
		n = roundByFactor(float64(o.NFrames), FrameFactor)
	} else {
		if !(nativeFPS > 0) || math.IsInf(nativeFPS, 0) {
			return 0, fmt.Errorf("video native fps must be positive and finite, got %v", nativeFPS)
		}
		minFrames := float64(ceilByFactor(float64(o.MinFrames), FrameFactor))
		maxFrames := float64(floorByFactor(float64(min(o.MaxFrames, totalFrames)), FrameFactor))
		x := float64(totalFrames) / nativeFPS * o.FPS
		x = min(max(x, minFrames), maxFrames)
		n = roundByFactor(x, FrameFactor)
	}
	if n < FrameFactor || n > totalFrames {
		return 0, fmt.Errorf("sampled frame count %d is outside [%d, %d]", n, FrameFactor, totalFrames)
	}
	return n, nil
}

// FrameIndices returns the frame indices that qwen-vl-utils reads:
// torch.linspace(0, totalFrames-1, n).round(). The linspace is computed in
// float32 the way torch's serial CPU kernel does (start+step*i for the first
// half, end-step*(n-1-i) for the second) and rounded half to even.
func FrameIndices(totalFrames, n int) ([]int, error) {
	if totalFrames <= 0 || n <= 0 {
		return nil, fmt.Errorf("frame indices need positive counts, got %d of %d frames", n, totalFrames)
	}
	idx := make([]int, n)
	if n == 1 {
		return idx, nil
	}
	start, end := float32(0), float32(totalFrames-1)
	step := float32((end - start) / float32(n-1))
	half := n / 2
	for i := range n {
		var v float32
		if i < half {
			v = start + float32(step*float32(i))
		} else {
			v = end - float32(step*float32(n-1-i))
		}
		idx[i] = int(math.RoundToEven(float64(v)))
	}
	return idx, nil
}

// VideoSample is the result of SampleFrames.
type VideoSample struct {
	// Indices are the indices of the frames to decode, in order.
	Indices []int
	// FPS is the rate of the sampled frames, len(Indices)/totalFrames times
	// the native fps; pass it to Processor.Video.
	FPS float64
}

// SampleFrames chooses the frames to decode from a video of totalFrames
// frames at nativeFPS, as qwen-vl-utils does (SmartNFrames then
// FrameIndices), and returns them with the sampled frame rate.
func SampleFrames(totalFrames int, nativeFPS float64, opts VideoOptions) (VideoSample, error) {
	n, err := SmartNFrames(totalFrames, nativeFPS, opts)
	if err != nil {
		return VideoSample{}, err
	}
	idx, err := FrameIndices(totalFrames, n)
	if err != nil {
		return VideoSample{}, err
	}
	s := VideoSample{Indices: idx}
	if nativeFPS > 0 && !math.IsInf(nativeFPS, 0) {
		s.FPS = float64(n) / float64(totalFrames) * nativeFPS
	}
	return s, nil
}

// VideoFrameSize returns the size qwen-vl-utils' fetch_video resizes each of
// nframes frames of height×width to: smart_resize with factor 28 (patch
// size times merge size), min_pixels = opts.MinPixels and
//
//	max_pixels = max(min(opts.MaxPixels, opts.TotalPixels/nframes*2), int(opts.MinPixels*1.05))
//
// qwen-vl-utils' smart_resize differs from the image processor's
// SmartResize in one way: sides shorter than the factor are rounded up to
// the factor instead of being rejected.
func VideoFrameSize(height, width, nframes, factor int, opts VideoOptions) (int, int, error) {
	o, err := opts.normalized()
	if err != nil {
		return 0, 0, err
	}
	if nframes <= 0 {
		return 0, 0, fmt.Errorf("video has %d frames", nframes)
	}
	minPixels := float64(o.MinPixels)
	maxPixels := max(min(float64(o.MaxPixels), float64(o.TotalPixels)/float64(nframes)*FrameFactor), math.Trunc(minPixels*1.05))
	return smartResize(height, width, factor, minPixels, maxPixels, true)
}

// Video preprocesses the sampled frames of one video, recorded (after
// sampling) at fps frames per second.
//
// As in qwen-vl-utils, every frame is resized to VideoFrameSize (using the
// processor's Video options), then the image processor's own SmartResize is
// applied (normally a no-op), then frames are rescaled, normalised and
// patchified like images, two consecutive frames per temporal patch; an odd
// frame count is padded by repeating the last frame. The result has
// Grid.T = ceil(frames/2) and SecondPerGridT = temporal_patch_size/fps.
//
// Simplification: qwen-vl-utils resizes with torchvision's antialiased
// bicubic resize on uint8 tensors, which uses the same a=-0.5 kernel and
// support scaling as PIL; here the PIL algorithm (see Resize) is used, whose
// fixed-point rounding may differ from torchvision's by one level on a few
// pixels.
func (p *Processor) Video(frames []image.Image, fps float64) (*Pixels, error) {
	if len(frames) == 0 {
		return nil, errors.New("video has no frames")
	}
	b0 := frames[0].Bounds()
	rgb := make([][]byte, len(frames))
	for i, f := range frames {
		if f == nil {
			return nil, fmt.Errorf("video frame %d is nil", i)
		}
		if b := f.Bounds(); b.Dx() != b0.Dx() || b.Dy() != b0.Dy() {
			return nil, fmt.Errorf("video frame %d is %dx%d, frame 0 is %dx%d", i, b.Dx(), b.Dy(), b0.Dx(), b0.Dy())
		}
		rgb[i] = ToRGB(f)
	}
	return p.VideoRGB(rgb, b0.Dy(), b0.Dx(), fps)
}

// VideoRGB is Video for frames given as packed 8-bit RGB (HWC) buffers of
// height×width pixels each.
func (p *Processor) VideoRGB(frames [][]byte, height, width int, fps float64) (*Pixels, error) {
	if len(frames) == 0 {
		return nil, errors.New("video has no frames")
	}
	if !(fps > 0) || math.IsInf(fps, 0) {
		return nil, fmt.Errorf("video fps must be positive and finite, got %v", fps)
	}
	if err := checkRGB(frames[0], height, width); err != nil {
		return nil, fmt.Errorf("video frame 0: %w", err)
	}
	rh, rw, err := VideoFrameSize(height, width, len(frames), p.factor(), p.cfg.Video)
	if err != nil {
		return nil, fmt.Errorf("video frame size: %w", err)
	}
	// The image processor's own smart_resize runs on the resized frames.
	fh, fw, err := SmartResize(rh, rw, p.factor(), p.cfg.MinPixels, p.cfg.MaxPixels)
	if err != nil {
		return nil, fmt.Errorf("video frame size: %w", err)
	}
	out := make([][]byte, len(frames))
	for i, f := range frames {
		if err := checkRGB(f, height, width); err != nil {
			return nil, fmt.Errorf("video frame %d: %w", i, err)
		}
		r, err := Resize(f, height, width, rh, rw)
		if err != nil {
			return nil, fmt.Errorf("video frame %d: %w", i, err)
		}
		if out[i], err = Resize(r, rh, rw, fh, fw); err != nil {
			return nil, fmt.Errorf("video frame %d: %w", i, err)
		}
	}
	px := p.patchify(out, fh, fw)
	px.SecondPerGridT = float64(p.cfg.TemporalPatchSize) / fps
	return px, nil
}
