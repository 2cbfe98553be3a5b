package finetune

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vstgo/vst/policy"
)

// AugmentConfig configures the training-time image augmentations, VST's
// (and OpenVLA's): a random resized crop that keeps the aspect ratio,
// resized back to the image's size, then colour jitter in a fixed order
// (brightness, contrast, saturation, hue). Each camera image of each
// sample draws its own parameters from a generator seeded by the run's
// seed and the sample's position in the data order, so a run is
// reproducible and a resumed run sees the same augmentations. Evaluation
// never augments.
type AugmentConfig struct {
	// Off disables augmentation. It defaults to false.
	Off bool
	// MinScale and MaxScale bound the crop's fraction of the image area,
	// drawn uniformly. They default to 0.8 and 1.0.
	MinScale, MaxScale float64
	// Brightness multiplies pixel values by a factor in [1−Brightness,
	// 1+Brightness]. It defaults to 0.2; a negative value means none.
	Brightness float64
	// Contrast scales the distance to the image's mean grey by a factor
	// in [1−Contrast, 1+Contrast]. It defaults to 0.2; a negative value
	// means none.
	Contrast float64
	// Saturation scales the distance to each pixel's grey by a factor in
	// [1−Saturation, 1+Saturation]. It defaults to 0.2; a negative value
	// means none.
	Saturation float64
	// Hue shifts the hue by up to ±Hue of a full turn. It defaults to
	// 0.05; a negative value means none.
	Hue float64
}

// withDefaults fills zero fields, maps negative jitters to none and
// validates the ranges.
func (a AugmentConfig) withDefaults() (AugmentConfig, error) {
	if a.MinScale == 0 {
		a.MinScale = 0.8
	}
	if a.MaxScale == 0 {
		a.MaxScale = 1
	}
	for _, p := range []struct {
		v   *float64
		def float64
	}{{&a.Brightness, 0.2}, {&a.Contrast, 0.2}, {&a.Saturation, 0.2}, {&a.Hue, 0.05}} {
		switch {
		case *p.v == 0:
			*p.v = p.def
		case *p.v < 0:
			*p.v = 0
		}
	}
	switch {
	case !(a.MinScale > 0 && a.MinScale <= a.MaxScale && a.MaxScale <= 1):
		return a, fmt.Errorf("augment: crop scale [%g, %g] is not within (0, 1]", a.MinScale, a.MaxScale)
	case a.Brightness >= 1 || a.Contrast >= 1 || a.Saturation >= 1:
		return a, fmt.Errorf("augment: brightness %g, contrast %g and saturation %g must be below 1", a.Brightness, a.Contrast, a.Saturation)
	case a.Hue > 0.5:
		return a, fmt.Errorf("augment: hue %g is above 0.5", a.Hue)
	}
	return a, nil
}

// meanCrop is the mean fraction of the image area the random crop keeps,
// the centred crop the model takes at inference; 0 (none) when
// augmentation is off. a has its defaults applied.
func (a AugmentConfig) meanCrop() float64 {
	if a.Off {
		return 0
	}
	return (a.MinScale + a.MaxScale) / 2
}

// augParams is one image's drawn augmentation.
type augParams struct {
	// x0, y0, cw, ch are the crop rectangle.
	x0, y0, cw, ch int
	// brightness, contrast and saturation are factors; hue is a shift in
	// turns.
	brightness, contrast, saturation, hue float64
}

// draw picks the augmentation of a w×h image.
func (a *AugmentConfig) draw(rng *rand.Rand, w, h int) augParams {
	s := a.MinScale + (a.MaxScale-a.MinScale)*rng.Float64()
	f := math.Sqrt(s)
	p := augParams{cw: max(1, min(w, int(math.Round(float64(w)*f)))), ch: max(1, min(h, int(math.Round(float64(h)*f))))}
	p.x0, p.y0 = rng.IntN(w-p.cw+1), rng.IntN(h-p.ch+1)
	factor := func(r float64) float64 { return 1 + r*(2*rng.Float64()-1) }
	p.brightness, p.contrast, p.saturation = factor(a.Brightness), factor(a.Contrast), factor(a.Saturation)
	p.hue = a.Hue * (2*rng.Float64() - 1)
	return p
}

// augment returns the augmented copy of im (its size kept).
func (a *AugmentConfig) augment(rng *rand.Rand, im policy.Image) policy.Image {
	if a.Off || im.W <= 0 || im.H <= 0 {
		return im
	}
	return applyAug(im, a.draw(rng, im.W, im.H))
}

// applyAug crops im to p's rectangle, resizes it back bilinearly and
// jitters its colours.
func applyAug(im policy.Image, p augParams) policy.Image {
	w, h := im.W, im.H
	px := make([]float64, w*h*3)
	sx, sy := float64(p.cw)/float64(w), float64(p.ch)/float64(h)
	for y := range h {
		fy := min(max((float64(y)+0.5)*sy-0.5, 0), float64(p.ch-1))
		y0 := int(fy)
		y1, ty := min(y0+1, p.ch-1), fy-float64(y0)
		for x := range w {
			fx := min(max((float64(x)+0.5)*sx-0.5, 0), float64(p.cw-1))
			x0 := int(fx)
			x1, tx := min(x0+1, p.cw-1), fx-float64(x0)
			o00 := ((p.y0+y0)*w + p.x0 + x0) * 3
			o01 := ((p.y0+y0)*w + p.x0 + x1) * 3
			o10 := ((p.y0+y1)*w + p.x0 + x0) * 3
			o11 := ((p.y0+y1)*w + p.x0 + x1) * 3
			o := (y*w + x) * 3
			for c := range 3 {
				top := float64(im.Pix[o00+c])*(1-tx) + float64(im.Pix[o01+c])*tx
				bot := float64(im.Pix[o10+c])*(1-tx) + float64(im.Pix[o11+c])*tx
				px[o+c] = (top*(1-ty) + bot*ty) / 255
			}
		}
	}
	jitter(px, p)
	out := policy.Image{W: w, H: h, Pix: make([]uint8, len(px))}
	for i, v := range px {
		out.Pix[i] = uint8(math.Round(255 * clamp01(v)))
	}
	return out
}

// jitter applies brightness, contrast, saturation and hue to RGB values in
// [0, 1], clamping after each, as torchvision's ColorJitter does.
func jitter(px []float64, p augParams) {
	for i := range px {
		px[i] = clamp01(px[i] * p.brightness)
	}
	var mean float64
	for i := 0; i < len(px); i += 3 {
		mean += grey(px[i], px[i+1], px[i+2])
	}
	mean /= float64(len(px) / 3)
	for i := range px {
		px[i] = clamp01((px[i]-mean)*p.contrast + mean)
	}
	for i := 0; i < len(px); i += 3 {
		g := grey(px[i], px[i+1], px[i+2])
		for c := range 3 {
			px[i+c] = clamp01((px[i+c]-g)*p.saturation + g)
		}
	}
	if p.hue == 0 {
		return
	}
	for i := 0; i < len(px); i += 3 {
		hh, s, v := rgbToHSV(px[i], px[i+1], px[i+2])
		hh = math.Mod(hh+p.hue+1, 1)
		px[i], px[i+1], px[i+2] = hsvToRGB(hh, s, v)
	}
}

// grey is the ITU-R 601 luma torchvision uses.
func grey(r, g, b float64) float64 { return 0.299*r + 0.587*g + 0.114*b }

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// rgbToHSV converts RGB in [0, 1] to hue in turns [0, 1), saturation and
// value.
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	mx, mn := max(r, g, b), min(r, g, b)
	v = mx
	d := mx - mn
	if mx == 0 || d == 0 {
		return 0, 0, v
	}
	s = d / mx
	switch mx {
	case r:
		h = (g - b) / d
	case g:
		h = 2 + (b-r)/d
	default:
		h = 4 + (r-g)/d
	}
	h /= 6
	if h < 0 {
		h++
	}
	return h, s, v
}

// hsvToRGB inverts rgbToHSV.
func hsvToRGB(h, s, v float64) (r, g, b float64) {
	h6 := h * 6
	i := math.Floor(h6)
	f := h6 - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}
