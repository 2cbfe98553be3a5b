package qwen25vl

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder for DecodeImage
	_ "image/png"  // register the PNG decoder for DecodeImage
	"io"
	"math"
	"os"
)

// MaxRatio is the largest aspect ratio SmartResize accepts (MAX_RATIO).
const MaxRatio = 200

// SmartResize returns the size Qwen2VLImageProcessor resizes a
// height×width image to: both sides multiples of factor, the area within
// [minPixels, maxPixels], and the aspect ratio nearly kept. It follows HF's
// smart_resize exactly:
//
//	h, w = round(height/factor)*factor, round(width/factor)*factor   (round half to even)
//	if h*w > maxPixels: beta = sqrt(height*width/maxPixels); h, w = floor(height/beta/factor)*factor, ...
//	elif h*w < minPixels: beta = sqrt(minPixels/(height*width)); h, w = ceil(height*beta/factor)*factor, ...
//
// with sides floored at factor in the first branch. It fails when a side is
// shorter than factor or the aspect ratio exceeds MaxRatio.
func SmartResize(height, width, factor, minPixels, maxPixels int) (int, int, error) {
	return smartResize(height, width, factor, float64(minPixels), float64(maxPixels), false)
}

// smartResize implements SmartResize and qwen-vl-utils' variant
// (allowSmall: short sides round up to factor instead of failing).
func smartResize(height, width, factor int, minPixels, maxPixels float64, allowSmall bool) (int, int, error) {
	if factor <= 0 {
		return 0, 0, fmt.Errorf("smart resize: factor must be positive, got %d", factor)
	}
	if height <= 0 || width <= 0 {
		return 0, 0, fmt.Errorf("smart resize: image is %dx%d (width x height)", width, height)
	}
	if !allowSmall && (height < factor || width < factor) {
		return 0, 0, fmt.Errorf("smart resize: height %d and width %d must be at least the factor %d", height, width, factor)
	}
	h, w := float64(height), float64(width)
	if r := max(h, w) / min(h, w); r > MaxRatio {
		return 0, 0, fmt.Errorf("smart resize: aspect ratio %.1f of %dx%d exceeds %d", r, width, height, MaxRatio)
	}
	if !(maxPixels >= minPixels) || !(minPixels >= 0) {
		return 0, 0, fmt.Errorf("smart resize: pixel range [%v, %v] is empty", minPixels, maxPixels)
	}
	hBar := max(factor, roundByFactor(h, factor))
	wBar := max(factor, roundByFactor(w, factor))
	switch area := float64(hBar) * float64(wBar); {
	case area > maxPixels:
		beta := math.Sqrt(h * w / maxPixels)
		hBar = max(factor, floorByFactor(h/beta, factor))
		wBar = max(factor, floorByFactor(w/beta, factor))
	case area < minPixels:
		beta := math.Sqrt(minPixels / (h * w))
		hBar = ceilByFactor(h*beta, factor)
		wBar = ceilByFactor(w*beta, factor)
	}
	// Guard against absurd budgets (the result must fit an image in memory).
	if float64(hBar)*float64(wBar) > 1<<40 {
		return 0, 0, fmt.Errorf("smart resize: resized size %dx%d is too large", wBar, hBar)
	}
	return hBar, wBar, nil
}

// GridTHW is the patch grid of an image or video: T temporal patches of H×W
// spatial patches (image_grid_thw / video_grid_thw).
type GridTHW struct {
	T, H, W int
}

// Patches returns the number of patches, T*H*W.
func (g GridTHW) Patches() int { return g.T * g.H * g.W }

// Pixels is the processor output for one image or video.
type Pixels struct {
	// Values holds Rows×Cols float32 values in row-major order
	// (pixel_values). Rows are patches ordered (t, block_row, block_col,
	// row_in_block, col_in_block), where a block is merge×merge patches;
	// each row is flattened as (channel, t, y, x).
	Values []float32
	// Rows is the number of patches, Grid.Patches().
	Rows int
	// Cols is channels × temporal_patch_size × patch_size², 1176 for
	// Qwen2.5-VL.
	Cols int
	// Grid is the patch grid.
	Grid GridTHW
	// SecondPerGridT is the duration of one temporal patch in seconds
	// (second_per_grid_ts); it is 0 for images.
	SecondPerGridT float64
}

// Processor turns images and videos into Qwen2.5-VL pixel values, as HF's
// Qwen2VLImageProcessor does. It is safe for concurrent use.
type Processor struct {
	cfg PreprocessorConfig
	// lut maps channel and 8-bit value to the normalised float32.
	lut [3][256]float32
}

// NewProcessor returns a processor for cfg; zero fields of cfg take their
// defaults.
func NewProcessor(cfg PreprocessorConfig) (*Processor, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new processor: %w", err)
	}
	p := &Processor{cfg: cfg}
	// HF: rescale multiplies the uint8 array by rescale_factor in float64
	// and casts to float32; normalize computes (x - mean) / std in float32
	// with mean and std cast to float32.
	for c := range 3 {
		mean, std := float32(cfg.ImageMean[c]), float32(cfg.ImageStd[c])
		for v := range 256 {
			x := float32(float64(v) * cfg.RescaleFactor)
			p.lut[c][v] = float32(x-mean) / std
		}
	}
	return p, nil
}

// Config returns the processor's configuration, with defaults applied.
func (p *Processor) Config() PreprocessorConfig { return p.cfg }

// factor is the side of a merged token in pixels.
func (p *Processor) factor() int { return p.cfg.PatchSize * p.cfg.MergeSize }

// MergedTokens returns the number of LLM tokens (<|image_pad|> or
// <|video_pad|>) a grid becomes: T*H*W / merge_size².
func (p *Processor) MergedTokens(g GridTHW) int {
	return g.Patches() / (p.cfg.MergeSize * p.cfg.MergeSize)
}

// Image preprocesses one image: it is converted to 8-bit RGB (ToRGB),
// resized to SmartResize's size with PIL-compatible bicubic resampling
// (Resize), rescaled and normalised, repeated to temporal_patch_size frames
// and patchified.
func (p *Processor) Image(img image.Image) (*Pixels, error) {
	if img == nil {
		return nil, errors.New("process image: image is nil")
	}
	b := img.Bounds()
	return p.ImageRGB(ToRGB(img), b.Dy(), b.Dx())
}

// ImageRGB is Image for a packed 8-bit RGB image (HWC order, height rows of
// width pixels).
func (p *Processor) ImageRGB(rgb []byte, height, width int) (*Pixels, error) {
	if err := checkRGB(rgb, height, width); err != nil {
		return nil, fmt.Errorf("process image: %w", err)
	}
	rh, rw, err := SmartResize(height, width, p.factor(), p.cfg.MinPixels, p.cfg.MaxPixels)
	if err != nil {
		return nil, fmt.Errorf("process image: %w", err)
	}
	frame, err := Resize(rgb, height, width, rh, rw)
	if err != nil {
		return nil, fmt.Errorf("process image: %w", err)
	}
	return p.patchify([][]byte{frame}, rh, rw), nil
}

// checkRGB checks that rgb holds height×width RGB pixels.
func checkRGB(rgb []byte, height, width int) error {
	if height <= 0 || width <= 0 {
		return fmt.Errorf("image size %dx%d (width x height) is not positive", width, height)
	}
	if height > math.MaxInt32/3/width {
		return fmt.Errorf("image size %dx%d (width x height) is too large", width, height)
	}
	if len(rgb) != height*width*3 {
		return fmt.Errorf("RGB buffer has %d bytes, want %d for %dx%d (width x height)", len(rgb), height*width*3, width, height)
	}
	return nil
}

// patchify lays out equally sized RGB frames (whose sides are multiples of
// patch_size*merge_size) as pixel_values, repeating the last frame until
// the count is a multiple of temporal_patch_size.
func (p *Processor) patchify(frames [][]byte, height, width int) *Pixels {
	P, T, m := p.cfg.PatchSize, p.cfg.TemporalPatchSize, p.cfg.MergeSize
	for len(frames)%T != 0 {
		frames = append(frames, frames[len(frames)-1])
	}
	grid := GridTHW{T: len(frames) / T, H: height / P, W: width / P}
	cols := 3 * T * P * P
	px := &Pixels{
		Values: make([]float32, grid.Patches()*cols),
		Rows:   grid.Patches(),
		Cols:   cols,
		Grid:   grid,
	}
	i := 0
	for t := range grid.T {
		for bh := range grid.H / m {
			for bw := range grid.W / m {
				for mh := range m {
					for mw := range m {
						y0, x0 := (bh*m+mh)*P, (bw*m+mw)*P
						for c := range 3 {
							lut := &p.lut[c]
							for tp := range T {
								f := frames[t*T+tp]
								for y := y0; y < y0+P; y++ {
									src := f[(y*width+x0)*3+c:]
									dst := px.Values[i : i+P]
									for x := range dst {
										dst[x] = lut[src[3*x]]
									}
									i += P
								}
							}
						}
					}
				}
			}
		}
	}
	return px
}

// ToRGB converts an image to packed 8-bit RGB (HWC), as PIL's
// Image.convert("RGB") does: alpha is dropped without compositing (colours
// are taken un-premultiplied), grey and palettes are expanded, and 16-bit
// colour samples keep their high byte. 8-bit PNGs in PIL modes RGB, RGBA,
// L, LA and P match PIL byte for byte (tested). Known differences: PIL
// opens 16-bit greyscale PNGs in mode I and clips them to 255 where the
// high byte is kept here, and Go's JPEG decoder (IDCT, chroma upsampling,
// YCbCr and CMYK conversion) is not libjpeg's, so decoded JPEG pixels may
// differ from PIL's by a few levels.
func ToRGB(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, w*h*3)
	i := 0
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				out[i], out[i+1], out[i+2] = row[4*x], row[4*x+1], row[4*x+2]
				i += 3
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				c := color.NRGBAModel.Convert(color.RGBA{row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]}).(color.NRGBA)
				out[i], out[i+1], out[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				out[i], out[i+1], out[i+2] = row[x], row[x], row[x]
				i += 3
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				out[i], out[i+1], out[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out[i], out[i+1], out[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return out
}

// MaxDecodePixels is the largest image area DecodeImage accepts, PIL's
// Image.MAX_IMAGE_PIXELS; larger images are rejected before their pixels
// are allocated (decompression-bomb guard).
const MaxDecodePixels = 89478485

// DecodeImage decodes a JPEG or PNG image.
func DecodeImage(r io.Reader) (image.Image, error) {
	return decodeImage(r, MaxDecodePixels)
}

func decodeImage(r io.Reader, maxPixels int) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/cfg.Height {
		return nil, fmt.Errorf("decode image: %s image size %dx%d is empty or over %d pixels", format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s image: %w", format, err)
	}
	return img, nil
}

// LoadImage reads and decodes a JPEG or PNG file.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	defer f.Close()
	img, err := DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("load image %s: %w", path, err)
	}
	return img, nil
}

// Resampling with PIL's algorithm (Pillow's Resample.c, 8-bit path).
//
// PIL resizes separably, a horizontal pass then a vertical one, each
// skipped when that side keeps its size. Every output sample is a weighted
// sum of input samples with weights filter((x - center + 0.5)/scale) over a
// window of ±support*scale input pixels, where scale = max(in/out, 1): when
// downsampling the kernel is stretched (antialiasing). The weights are
// normalised to sum to 1 and stored as 22-bit fixed-point integers, the
// sums are rounded and clipped to 8 bits, and the intermediate image of the
// first pass is 8-bit too.
const (
	resamplePrecisionBits = 32 - 8 - 2
	bicubicA              = -0.5
	bicubicSupport        = 2.0
)

// bicubicFilter is Keys' cubic convolution kernel with a = -0.5, PIL's
// BICUBIC. Explicit conversions keep the compiler from fusing
// multiply-adds, so the weights match C's double arithmetic.
func bicubicFilter(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		// ((a+2)*x - (a+3)) * x * x + 1
		t := float64((bicubicA+2)*x) - (bicubicA + 3)
		t = float64(float64(t*x) * x)
		return t + 1
	}
	if x < 2 {
		// (((x-5)*x + 8)*x - 4) * a
		t := float64((x-5)*x) + 8
		t = float64(t*x) - 4
		return t * bicubicA
	}
	return 0
}

// resampleCoeffs are the fixed-point weights of one resampling pass.
type resampleCoeffs struct {
	ksize  int
	bounds []int   // per output sample: first input index, number of taps
	kk     []int32 // per output sample: ksize weights
}

// precomputeCoeffs computes the weights of resampling inSize samples to
// outSize, as PIL's precompute_coeffs and normalize_coeffs_8bpc do.
func precomputeCoeffs(inSize, outSize int) resampleCoeffs {
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := resampleCoeffs{ksize: ksize, bounds: make([]int, 2*outSize), kk: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := range outSize {
		center := float64(float64(xx)+0.5) * scale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w[x] = bicubicFilter(float64(float64(x+xmin)-center+0.5) * ss)
			ww += w[x]
		}
		k := c.kk[xx*ksize : (xx+1)*ksize]
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<resamplePrecisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<resamplePrecisionBits)))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

// clip8 rounds a fixed-point sum (already offset by half) to 8 bits.
func clip8(v int32) byte {
	if v >= 1<<resamplePrecisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return byte(v >> resamplePrecisionBits)
}

// Resize resamples a packed 8-bit RGB image (HWC) from inH×inW to
// outH×outW with PIL's Image.resize(..., BICUBIC) algorithm, including its
// antialiasing when downsampling and its 8-bit fixed-point arithmetic; the
// output is byte-identical to Pillow's (checked against Pillow 9.4 in the
// tests). When the size is unchanged the input is returned as is.
func Resize(rgb []byte, inH, inW, outH, outW int) ([]byte, error) {
	if err := checkRGB(rgb, inH, inW); err != nil {
		return nil, fmt.Errorf("resize: %w", err)
	}
	if outH <= 0 || outW <= 0 || outH > math.MaxInt32/3/outW {
		return nil, fmt.Errorf("resize: output size %dx%d (width x height) is invalid", outW, outH)
	}
	if inH == outH && inW == outW {
		return rgb, nil
	}
	cur, curW := rgb, inW
	if outW != inW {
		cur = resampleHorizontal(cur, inH, inW, outW, precomputeCoeffs(inW, outW))
		curW = outW
	}
	if outH != inH {
		cur = resampleVertical(cur, inH, curW, outH, precomputeCoeffs(inH, outH))
	}
	return cur, nil
}

func resampleHorizontal(in []byte, h, inW, outW int, c resampleCoeffs) []byte {
	out := make([]byte, h*outW*3)
	const half = int32(1) << (resamplePrecisionBits - 1)
	for y := range h {
		row := in[y*inW*3 : (y+1)*inW*3]
		dst := out[y*outW*3 : (y+1)*outW*3]
		for xx := range outW {
			xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
			k := c.kk[xx*c.ksize : xx*c.ksize+n]
			src := row[xmin*3 : (xmin+n)*3]
			s0, s1, s2 := half, half, half
			for x, kx := range k {
				s0 += int32(src[3*x]) * kx
				s1 += int32(src[3*x+1]) * kx
				s2 += int32(src[3*x+2]) * kx
			}
			dst[3*xx], dst[3*xx+1], dst[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
	return out
}

func resampleVertical(in []byte, inH, w, outH int, c resampleCoeffs) []byte {
	stride := w * 3
	out := make([]byte, outH*stride)
	acc := make([]int32, stride)
	const half = int32(1) << (resamplePrecisionBits - 1)
	for yy := range outH {
		ymin, n := c.bounds[2*yy], c.bounds[2*yy+1]
		k := c.kk[yy*c.ksize : yy*c.ksize+n]
		for i := range acc {
			acc[i] = half
		}
		for y, ky := range k {
			src := in[(ymin+y)*stride : (ymin+y+1)*stride]
			for i, v := range src {
				acc[i] += int32(v) * ky
			}
		}
		dst := out[yy*stride : (yy+1)*stride]
		for i, s := range acc {
			dst[i] = clip8(s)
		}
	}
	return out
}
