package ros2

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // CompressedImage formats
	_ "image/png"
	"strings"

	"github.com/vstgo/vst/policy"
)

// maxPixels bounds the size of an image this package converts (64
// megapixels), so that a forged CompressedImage header cannot exhaust
// memory.
const maxPixels = 64 << 20

// ImageToRGB converts a sensor_msgs/Image with encoding rgb8, bgr8, rgba8,
// bgra8 or mono8 (8UC1) to an RGB image (alpha dropped, grey replicated).
// Rows may be padded (step ≥ width · bytes per pixel); data must hold
// exactly step · height bytes.
func ImageToRGB(m *Image) (policy.Image, error) {
	var bpp, r, b int
	switch m.Encoding {
	case "rgb8":
		bpp, r, b = 3, 0, 2
	case "bgr8":
		bpp, r, b = 3, 2, 0
	case "rgba8":
		bpp, r, b = 4, 0, 2
	case "bgra8":
		bpp, r, b = 4, 2, 0
	case "mono8", "8UC1":
		bpp = 1
	default:
		return policy.Image{}, fmt.Errorf("unsupported image encoding %q (want rgb8, bgr8, rgba8, bgra8 or mono8)", m.Encoding)
	}
	h, w, step := int(m.Height), int(m.Width), int(m.Step)
	switch {
	case h == 0 || w == 0:
		return policy.Image{}, fmt.Errorf("empty %dx%d image", w, h)
	case w > maxPixels/h:
		return policy.Image{}, fmt.Errorf("%dx%d image is over %d pixels", w, h, maxPixels)
	case step < w*bpp:
		return policy.Image{}, fmt.Errorf("%s image step %d is under width %d × %d bytes", m.Encoding, step, w, bpp)
	case len(m.Data) != step*h:
		return policy.Image{}, fmt.Errorf("%s image has %d data bytes, step %d × height %d needs %d", m.Encoding, len(m.Data), step, h, step*h)
	}
	pix := make([]uint8, h*w*3)
	for y := range h {
		src := m.Data[y*step : y*step+w*bpp]
		dst := pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			s, d := src[x*bpp:x*bpp+bpp], dst[x*3:x*3+3]
			if bpp == 1 {
				d[0], d[1], d[2] = s[0], s[0], s[0]
			} else {
				d[0], d[1], d[2] = s[r], s[1], s[b]
			}
		}
	}
	return policy.Image{Pix: pix, H: h, W: w}, nil
}

// CompressedToRGB decodes a sensor_msgs/CompressedImage holding a JPEG or a
// PNG to an RGB image. Depth formats ("compressedDepth") are rejected.
func CompressedToRGB(m *CompressedImage) (policy.Image, error) {
	if strings.Contains(m.Format, "compressedDepth") {
		return policy.Image{}, fmt.Errorf("unsupported compressed format %q", m.Format)
	}
	cfg, kind, err := image.DecodeConfig(bytes.NewReader(m.Data))
	if err != nil {
		return policy.Image{}, fmt.Errorf("compressed image (format %q): %w", m.Format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/cfg.Height {
		return policy.Image{}, fmt.Errorf("compressed %s image is %dx%d, want 1 to %d pixels", kind, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(m.Data))
	if err != nil {
		return policy.Image{}, fmt.Errorf("compressed %s image: %w", kind, err)
	}
	bnd := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, bnd.Dx(), bnd.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, bnd.Min, draw.Src)
	out := policy.Image{Pix: make([]uint8, 0, bnd.Dx()*bnd.Dy()*3), H: bnd.Dy(), W: bnd.Dx()}
	for i := 0; i < len(rgba.Pix); i += 4 {
		out.Pix = append(out.Pix, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	return out, nil
}

// resize scales im to w×h bilinearly (pixel centres aligned, no crop). It
// returns im itself when the size already matches.
func resize(im policy.Image, w, h int) policy.Image {
	if im.W == w && im.H == h {
		return im
	}
	out := policy.Image{Pix: make([]uint8, w*h*3), H: h, W: w}
	sx, sy := float64(im.W)/float64(w), float64(im.H)/float64(h)
	for y := range h {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), im.H-1)
		y1, wy := min(y0+1, im.H-1), fy-float64(y0)
		for x := range w {
			fx := max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), im.W-1)
			x1, wx := min(x0+1, im.W-1), fx-float64(x0)
			for c := range 3 {
				p := func(yy, xx int) float64 { return float64(im.Pix[(yy*im.W+xx)*3+c]) }
				v := (p(y0, x0)*(1-wx)+p(y0, x1)*wx)*(1-wy) + (p(y1, x0)*(1-wx)+p(y1, x1)*wx)*wy
				out.Pix[(y*w+x)*3+c] = uint8(v + 0.5)
			}
		}
	}
	return out
}
