package camera

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"

	"github.com/vstgo/vst/policy"
)

// Fit says how a frame is brought to the model's size when the aspect
// ratios differ.
type Fit int

const (
	// FitPad scales the frame to fit inside the target size, keeping its
	// aspect ratio, and fills the rest with black, the content centred:
	// openpi's resize_with_pad, what π0 and π0-FAST were trained with.
	FitPad Fit = iota
	// FitCrop scales the frame to cover the target size, keeping its aspect
	// ratio, and cuts off the centre.
	FitCrop
	// FitStretch scales width and height independently.
	FitStretch
)

// String returns the fit's name: "pad", "crop" or "stretch".
func (f Fit) String() string {
	switch f {
	case FitPad:
		return "pad"
	case FitCrop:
		return "crop"
	case FitStretch:
		return "stretch"
	}
	return fmt.Sprintf("Fit(%d)", int(f))
}

func (f Fit) valid() bool { return f >= FitPad && f <= FitStretch }

// pipeline turns 8-bit BGR (or grey, or BGRA) frames into RGB images of one
// size: crop or scale, optional 180° rotation, colour conversion, padding.
// It owns its scratch Mats, reused from frame to frame; Close frees them.
// It is not safe for concurrent use.
type pipeline struct {
	w, h   int
	fit    Fit
	rotate bool

	scaled, rotated, rgb, padded gocv.Mat
}

func newPipeline(w, h int, fit Fit, rotate bool) *pipeline {
	return &pipeline{
		w: w, h: h, fit: fit, rotate: rotate,
		scaled: gocv.NewMat(), rotated: gocv.NewMat(), rgb: gocv.NewMat(), padded: gocv.NewMat(),
	}
}

// mats lists the Mats the pipeline owns.
func (p *pipeline) mats() []*gocv.Mat {
	return []*gocv.Mat{&p.scaled, &p.rotated, &p.rgb, &p.padded}
}

// Close frees the pipeline's Mats.
func (p *pipeline) Close() {
	for _, m := range p.mats() {
		m.Close()
	}
}

var errEmptyFrame = errors.New("empty frame")

// process converts src into a new image of the pipeline's size. src is
// only read.
func (p *pipeline) process(src gocv.Mat) (policy.Image, error) {
	if src.Empty() {
		return policy.Image{}, errEmptyFrame
	}
	var code gocv.ColorConversionCode
	switch src.Type() {
	case gocv.MatTypeCV8UC3:
		code = gocv.ColorBGRToRGB
	case gocv.MatTypeCV8UC1:
		code = gocv.ColorGrayToBGR // the same code as GRAY2RGB
	case gocv.MatTypeCV8UC4:
		code = gocv.ColorRGBAToBGR // the same code as BGRA2RGB
	default:
		return policy.Image{}, fmt.Errorf("unsupported frame type %v (want 8-bit grey, BGR or BGRA)", src.Type())
	}
	roi, size := p.geometry(src.Cols(), src.Rows())

	cur := src
	if roi != image.Rect(0, 0, src.Cols(), src.Rows()) {
		region := src.Region(roi)
		defer region.Close()
		cur = region
	}
	if size != roi.Size() {
		interp := gocv.InterpolationLinear
		if size.X < roi.Dx() || size.Y < roi.Dy() {
			// Area averaging when shrinking, like PIL's antialiased resize
			// that openpi uses; bilinear alone aliases.
			interp = gocv.InterpolationArea
		}
		gocv.Resize(cur, &p.scaled, size, 0, 0, interp)
		cur = p.scaled
	}
	if p.rotate {
		gocv.Flip(cur, &p.rotated, -1)
		cur = p.rotated
	}
	gocv.CvtColor(cur, &p.rgb, code)
	cur = p.rgb
	if size.X != p.w || size.Y != p.h {
		top, left := (p.h-size.Y)/2, (p.w-size.X)/2
		gocv.CopyMakeBorder(cur, &p.padded, top, p.h-size.Y-top, left, p.w-size.X-left, gocv.BorderConstant, color.RGBA{})
		cur = p.padded
	}
	return policy.Image{Pix: cur.ToBytes(), H: p.h, W: p.w}, nil
}

// geometry returns the part of a sw×sh frame to use and the size it is
// scaled to (the target size except for FitPad, which pads the rest).
func (p *pipeline) geometry(sw, sh int) (image.Rectangle, image.Point) {
	full := image.Rect(0, 0, sw, sh)
	switch p.fit {
	case FitCrop:
		cw, ch := sw, sh
		if sw*p.h > sh*p.w { // wider than the target: cut the sides
			cw = max(1, min(sw, int(float64(sh)*float64(p.w)/float64(p.h)+0.5)))
		} else {
			ch = max(1, min(sh, int(float64(sw)*float64(p.h)/float64(p.w)+0.5)))
		}
		x, y := (sw-cw)/2, (sh-ch)/2
		return image.Rect(x, y, x+cw, y+ch), image.Pt(p.w, p.h)
	case FitPad:
		// Same arithmetic as openpi's image_tools.resize_with_pad.
		ratio := max(float64(sw)/float64(p.w), float64(sh)/float64(p.h))
		rw := min(p.w, max(1, int(float64(sw)/ratio)))
		rh := min(p.h, max(1, int(float64(sh)/ratio)))
		return full, image.Pt(rw, rh)
	}
	return full, image.Pt(p.w, p.h)
}
