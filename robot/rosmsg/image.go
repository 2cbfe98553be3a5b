package rosmsg

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

// MaxPixels bounds the size of an image this package converts: 64
// megapixels, far above any camera a policy reads, and small enough that a
// forged CompressedImage header cannot exhaust memory.
const MaxPixels = 64 << 20

// Image is the part of a sensor_msgs/Image that conversion reads.
type Image struct {
	Height, Width uint32
	// Encoding is a sensor_msgs/image_encodings name.
	Encoding string
	// Step is the length of a row in bytes.
	Step uint32
	// Data holds Step · Height bytes.
	Data []byte
}

// channels returns the bytes per pixel of the 8-bit encodings ImageToRGB
// reads.
func channels(encoding string) (int, bool) {
	switch encoding {
	case "rgb8", "bgr8":
		return 3, true
	case "rgba8", "bgra8":
		return 4, true
	case "mono8", "8UC1":
		return 1, true
	}
	return 0, false
}

// ImageToRGB converts a sensor_msgs/Image with encoding rgb8, bgr8, rgba8,
// bgra8 or mono8 (8UC1) to an RGB image (alpha dropped, grey replicated).
// Rows may be padded (step ≥ width · bytes per pixel); data must hold exactly
// step · height bytes, as the message definition says.
func ImageToRGB(m Image) (policy.Image, error) {
	bpp, ok := channels(m.Encoding)
	if !ok {
		return policy.Image{}, fmt.Errorf("unsupported image encoding %q (want rgb8, bgr8, rgba8, bgra8 or mono8)", m.Encoding)
	}
	h, w, step := int(m.Height), int(m.Width), int(m.Step)
	switch {
	case h == 0 || w == 0:
		return policy.Image{}, fmt.Errorf("empty %dx%d image", w, h)
	case w > MaxPixels/h:
		return policy.Image{}, fmt.Errorf("%dx%d image is over %d pixels", w, h, MaxPixels)
	case step < w*bpp:
		return policy.Image{}, fmt.Errorf("%s image step %d is under width %d × %d bytes", m.Encoding, step, w, bpp)
	case len(m.Data) != step*h:
		return policy.Image{}, fmt.Errorf("%s image has %d data bytes, step %d × height %d needs %d", m.Encoding, len(m.Data), step, h, step*h)
	}
	pix := make([]uint8, h*w*3)
	r, b := 0, 2 // source offsets of red and blue
	if m.Encoding == "bgr8" || m.Encoding == "bgra8" {
		r, b = 2, 0
	}
	for y := range h {
		src := m.Data[y*step : y*step+w*bpp]
		dst := pix[y*w*3 : (y+1)*w*3]
		if bpp == 3 && r == 0 {
			copy(dst, src)
			continue
		}
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

// CompressedToRGB decodes the format and data of a
// sensor_msgs/CompressedImage holding a JPEG or a PNG (image_transport's
// "compressed" formats, e.g. "jpeg" or "bgr8; jpeg compressed bgr8") to an
// RGB image. Depth formats ("compressedDepth") are rejected.
func CompressedToRGB(format string, data []byte) (policy.Image, error) {
	if strings.Contains(format, "compressedDepth") {
		return policy.Image{}, fmt.Errorf("unsupported compressed format %q", format)
	}
	cfg, kind, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return policy.Image{}, fmt.Errorf("compressed image (format %q): %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return policy.Image{}, fmt.Errorf("compressed %s image is %dx%d, want 1 to %d pixels", kind, cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return policy.Image{}, fmt.Errorf("compressed %s image: %w", kind, err)
	}
	return toRGB(img), nil
}

// toRGB copies any decoded image into RGB bytes, dropping alpha.
func toRGB(img image.Image) policy.Image {
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	out := policy.Image{Pix: make([]uint8, w*h*3), H: h, W: w}
	if g, ok := img.(*image.Gray); ok {
		for y := range h {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			for x, v := range row {
				out.Pix[(y*w+x)*3], out.Pix[(y*w+x)*3+1], out.Pix[(y*w+x)*3+2] = v, v, v
			}
		}
		return out
	}
	var pix []uint8
	var stride int
	switch t := img.(type) {
	case *image.RGBA:
		pix, stride = t.Pix, t.Stride
	case *image.NRGBA:
		pix, stride = t.Pix, t.Stride
	default: // YCbCr (JPEG), paletted, 16-bit PNG, CMYK: let draw convert
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Bounds(), img, bnd.Min, draw.Src)
		pix, stride = rgba.Pix, rgba.Stride
	}
	for y := range h {
		src := pix[y*stride : y*stride+w*4]
		dst := out.Pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			dst[x*3], dst[x*3+1], dst[x*3+2] = src[x*4], src[x*4+1], src[x*4+2]
		}
	}
	return out
}

// Resize scales im to w×h bilinearly (pixel centres aligned, no crop: the
// aspect ratio follows the target). It returns im itself when the size
// already matches.
func Resize(im policy.Image, w, h int) policy.Image {
	if im.W == w && im.H == h {
		return im
	}
	out := policy.Image{Pix: make([]uint8, w*h*3), H: h, W: w}
	sx, sy := float64(im.W)/float64(w), float64(im.H)/float64(h)
	for y := range h {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), im.H-1)
		y1 := min(y0+1, im.H-1)
		wy := fy - float64(y0)
		for x := range w {
			fx := max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), im.W-1)
			x1 := min(x0+1, im.W-1)
			wx := fx - float64(x0)
			for c := range 3 {
				p00 := float64(im.Pix[(y0*im.W+x0)*3+c])
				p01 := float64(im.Pix[(y0*im.W+x1)*3+c])
				p10 := float64(im.Pix[(y1*im.W+x0)*3+c])
				p11 := float64(im.Pix[(y1*im.W+x1)*3+c])
				v := (p00*(1-wx)+p01*wx)*(1-wy) + (p10*(1-wx)+p11*wx)*wy
				out.Pix[(y*w+x)*3+c] = uint8(v + 0.5)
			}
		}
	}
	return out
}
