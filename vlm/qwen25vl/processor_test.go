package qwen25vl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readSafetensors is a minimal test-only safetensors reader: a
// little-endian u64 header length, a JSON header {name: {dtype, shape,
// data_offsets}} and the raw little-endian data.
func newTestProcessor(t testing.TB, cfg PreprocessorConfig) *Processor {
	t.Helper()
	p, err := NewProcessor(cfg)
	require.NoError(t, err)
	return p
}

// TestImageGoldenPixelValues checks pixel_values and image_grid_thw against
// HF's Qwen2VLImageProcessor output for the golden 56×56 image.
func TestImageGoldenPixelValues(t *testing.T) {
	g := openCase(t, "case_b_image56.safetensors")
	imgData, err := g.f.Bytes("image_u8")
	require.NoError(t, err)
	info, _ := g.f.Info("image_u8")
	require.Equal(t, []int{56, 56, 3}, info.Shape)

	p := newTestProcessor(t, PreprocessorConfig{})
	got, err := p.ImageRGB(imgData, 56, 56)
	require.NoError(t, err)
	grid := g.i64(t, "image_grid_thw")
	require.Equal(t, GridTHW{T: int(grid[0]), H: int(grid[1]), W: int(grid[2])}, got.Grid)
	require.Equal(t, 16, got.Rows)
	require.Equal(t, 1176, got.Cols)
	require.Equal(t, 4, p.MergedTokens(got.Grid))
	want := g.f32(t, "pixel_values")
	require.Len(t, got.Values, len(want))
	for i := range want {
		if math.Float32bits(got.Values[i]) != math.Float32bits(want[i]) {
			t.Fatalf("pixel_values[%d][%d] = %v, want %v (bit-exact)", i/1176, i%1176, got.Values[i], want[i])
		}
	}

	// The same through image.Image.
	nrgba := image.NewNRGBA(image.Rect(0, 0, 56, 56))
	for i := range 56 * 56 {
		copy(nrgba.Pix[4*i:], imgData[3*i:3*i+3])
		nrgba.Pix[4*i+3] = 255
	}
	got2, err := p.Image(nrgba)
	require.NoError(t, err)
	require.Equal(t, got, got2)
}

func TestSmartResizeGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir(), "smart_resize.json"))
	require.NoError(t, err)
	var golden struct {
		Factor    int              `json:"factor"`
		MinPixels int              `json:"min_pixels"`
		MaxPixels int              `json:"max_pixels"`
		Cases     []map[string]int `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &golden))
	require.NotEmpty(t, golden.Cases)
	for _, c := range golden.Cases {
		h, w, err := SmartResize(c["height"], c["width"], golden.Factor, golden.MinPixels, golden.MaxPixels)
		require.NoError(t, err, "%v", c)
		require.Equal(t, [2]int{c["resized_height"], c["resized_width"]}, [2]int{h, w}, "smart_resize(%d, %d)", c["height"], c["width"])
	}
}

func TestSmartResize(t *testing.T) {
	tests := []struct {
		name                 string
		h, w                 int
		factor, minPx, maxPx int
		wantH, wantW         int
		wantErr              string
	}{
		{name: "half to even down", h: 70, w: 126, factor: 28, minPx: 3136, maxPx: 1003520, wantH: 56, wantW: 112},
		{name: "keep", h: 56, w: 56, factor: 28, minPx: 3136, maxPx: 12845056, wantH: 56, wantW: 56},
		{name: "libero 256", h: 256, w: 256, factor: 28, minPx: 3136, maxPx: 12845056, wantH: 252, wantW: 252},
		{name: "640x480 default", h: 480, w: 640, factor: 28, minPx: 3136, maxPx: 12845056, wantH: 476, wantW: 644},
		{name: "too many pixels", h: 1000, w: 1000, factor: 28, minPx: 3136, maxPx: 28 * 28 * 4, wantH: 56, wantW: 56},
		{name: "floor clamps to factor", h: 30, w: 5000, factor: 28, minPx: 784, maxPx: 28 * 28 * 10, wantH: 28, wantW: 1120},
		{name: "too few pixels", h: 28, w: 28, factor: 28, minPx: 3136, maxPx: 1003520, wantH: 56, wantW: 56},
		{name: "ratio 200 ok", h: 28, w: 5600, factor: 28, minPx: 3136, maxPx: 12845056, wantH: 28, wantW: 5600},
		{name: "ratio over 200", h: 28, w: 5629, factor: 28, minPx: 3136, maxPx: 12845056, wantErr: "aspect ratio 201.0"},
		{name: "too small", h: 27, w: 100, factor: 28, minPx: 3136, maxPx: 12845056, wantErr: "must be at least the factor 28"},
		{name: "zero size", h: 0, w: 100, factor: 28, minPx: 3136, maxPx: 12845056, wantErr: "image is 100x0"},
		{name: "factor", h: 56, w: 56, factor: 0, minPx: 3136, maxPx: 12845056, wantErr: "factor must be positive"},
		{name: "range", h: 56, w: 56, factor: 28, minPx: 10, maxPx: 5, wantErr: "pixel range [10, 5] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, w, err := SmartResize(tt.h, tt.w, tt.factor, tt.minPx, tt.maxPx)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [2]int{tt.wantH, tt.wantW}, [2]int{h, w})
		})
	}
}

// TestResizePIL checks byte parity with Pillow's Image.resize(BICUBIC) on
// the fixtures written by testdata/gen_resize.py.
func TestResizePIL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "resize_pil.json"))
	require.NoError(t, err)
	var fx struct {
		Pillow string `json:"pillow"`
		Cases  []struct {
			Name          string `json:"name"`
			Height, Width int
			OutHeight     int    `json:"out_height"`
			OutWidth      int    `json:"out_width"`
			SrcB64        string `json:"src"`
			WantB64       string `json:"want"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &fx))
	require.NotEmpty(t, fx.Cases)
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			src, err := base64.StdEncoding.DecodeString(c.SrcB64)
			require.NoError(t, err)
			want, err := base64.StdEncoding.DecodeString(c.WantB64)
			require.NoError(t, err)
			got, err := Resize(src, c.Height, c.Width, c.OutHeight, c.OutWidth)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			diff := 0
			for i := range want {
				if got[i] != want[i] {
					diff++
				}
			}
			require.Zero(t, diff, "%d of %d bytes differ from Pillow %s", diff, len(want), fx.Pillow)
		})
	}
}

func TestResizeProperties(t *testing.T) {
	noise := make([]byte, 17*23*3)
	s := uint32(5)
	for i := range noise {
		s = s*1664525 + 1013904223
		noise[i] = byte(s >> 24)
	}
	got, err := Resize(noise, 17, 23, 17, 23)
	require.NoError(t, err)
	require.Equal(t, noise, got, "same size is the identity")

	for _, v := range []byte{0, 1, 128, 254, 255} {
		c := bytes.Repeat([]byte{v, v, v}, 17*23)
		for _, size := range [][2]int{{56, 84}, {5, 3}, {17, 60}, {40, 23}, {1, 1}} {
			got, err := Resize(c, 17, 23, size[0], size[1])
			require.NoError(t, err)
			require.Equal(t, bytes.Repeat([]byte{v}, size[0]*size[1]*3), got, "constant %d to %v", v, size)
		}
	}

	_, err = Resize(noise, 17, 22, 5, 5)
	require.ErrorContains(t, err, "RGB buffer has 1173 bytes, want 1122")
	_, err = Resize(noise, 17, 23, 0, 5)
	require.ErrorContains(t, err, "output size 5x0")
}

// TestToRGBModes checks ToRGB against PIL's convert("RGB") for PNGs in the
// common PIL modes (fixtures from testdata/gen_resize.py).
func TestToRGBModes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "modes_pil.json"))
	require.NoError(t, err)
	var fx struct {
		Cases []struct {
			Mode          string `json:"mode"`
			Height, Width int
			PNG           string `json:"png"`
			RGB           string `json:"rgb"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &fx))
	require.Len(t, fx.Cases, 5)
	for _, c := range fx.Cases {
		t.Run(c.Mode, func(t *testing.T) {
			data, err := base64.StdEncoding.DecodeString(c.PNG)
			require.NoError(t, err)
			want, err := base64.StdEncoding.DecodeString(c.RGB)
			require.NoError(t, err)
			img, err := DecodeImage(bytes.NewReader(data))
			require.NoError(t, err)
			require.Equal(t, image.Pt(c.Width, c.Height), img.Bounds().Size())
			require.Equal(t, want, ToRGB(img))
		})
	}
}

func TestToRGBTypes(t *testing.T) {
	r := image.Rect(2, 3, 5, 5) // non-zero origin
	want := make([]byte, 0, 3*2*3)
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	gray := image.NewGray(r)
	gray16 := image.NewGray16(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(40*x + 7*y)
			nrgba.SetNRGBA(x, y, color.NRGBA{v, v / 2, 255 - v, 255})
			rgba.SetRGBA(x, y, color.RGBA{v, v / 2, 255 - v, 255})
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(v)<<8 | 0x7f})
			want = append(want, v, v/2, 255-v)
		}
	}
	require.Equal(t, want, ToRGB(nrgba))
	require.Equal(t, want, ToRGB(rgba))
	grey := make([]byte, 0, len(want))
	for i := 0; i < len(want); i += 3 {
		grey = append(grey, want[i], want[i], want[i])
	}
	require.Equal(t, grey, ToRGB(gray))
	require.Equal(t, grey, ToRGB(gray16), "16-bit keeps the high byte")

	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(30 * i)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 90, 200
	}
	generic := make([]byte, 0, len(want))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(ycc.At(x, y)).(color.NRGBA)
			generic = append(generic, c.R, c.G, c.B)
		}
	}
	require.Equal(t, generic, ToRGB(ycc))
}

// refPatchify is a direct transcription of HF's reshape/transpose: frames
// [T_total, C, H, W] reshaped to (gt, tps, C, gh/m, m, P, gw/m, m, P) and
// transposed to (0, 3, 6, 4, 7, 2, 1, 5, 8).
func refPatchify(p *Processor, frames [][]byte, h, w int) []float32 {
	P, T, m := p.cfg.PatchSize, p.cfg.TemporalPatchSize, p.cfg.MergeSize
	gt, gh, gw := len(frames)/T, h/P, w/P
	var out []float32
	for t := range gt {
		for bh := range gh / m {
			for bw := range gw / m {
				for mh := range m {
					for mw := range m {
						for c := range 3 {
							for tp := range T {
								for py := range P {
									for px := range P {
										y, x := (bh*m+mh)*P+py, (bw*m+mw)*P+px
										out = append(out, p.lut[c][frames[t*T+tp][(y*w+x)*3+c]])
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

func TestImageLayout(t *testing.T) {
	p := newTestProcessor(t, PreprocessorConfig{})
	h, w := 84, 112 // kept by SmartResize: grid 6×8
	rgb := make([]byte, h*w*3)
	for i := range rgb {
		rgb[i] = byte(i*7 + i/13)
	}
	got, err := p.ImageRGB(rgb, h, w)
	require.NoError(t, err)
	require.Equal(t, GridTHW{T: 1, H: 6, W: 8}, got.Grid)
	require.Equal(t, 12, p.MergedTokens(got.Grid))
	require.Equal(t, refPatchify(p, [][]byte{rgb, rgb}, h, w), got.Values)

	// The normalisation arithmetic: float32(v*(1/255) in float64), then
	// (x - mean)/std in float32.
	for c := range 3 {
		for _, v := range []int{0, 1, 127, 128, 255} {
			x := float32(float64(v) * (1.0 / 255))
			want := (x - float32(CLIPMean[c])) / float32(CLIPStd[c])
			require.Equal(t, want, p.lut[c][v])
		}
	}
}

func TestImageErrors(t *testing.T) {
	p := newTestProcessor(t, PreprocessorConfig{})
	tests := []struct {
		name    string
		rgb     []byte
		h, w    int
		wantErr string
	}{
		{name: "short buffer", rgb: make([]byte, 10), h: 56, w: 56, wantErr: "RGB buffer has 10 bytes, want 9408"},
		{name: "zero size", rgb: nil, h: 0, w: 56, wantErr: "is not positive"},
		{name: "too small", rgb: make([]byte, 20*56*3), h: 20, w: 56, wantErr: "must be at least the factor 28"},
		{name: "too wide", rgb: make([]byte, 28*6000*3), h: 28, w: 6000, wantErr: "aspect ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ImageRGB(tt.rgb, tt.h, tt.w)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	_, err := p.Image(nil)
	require.ErrorContains(t, err, "image is nil")

	_, err = NewProcessor(PreprocessorConfig{MinPixels: 100, MaxPixels: 50})
	require.ErrorContains(t, err, "max_pixels (50) is smaller than min_pixels (100)")
}

func TestProcessorResizes(t *testing.T) {
	// 100×130 → 112×140 (grid 8×10): resized, then patchified.
	p := newTestProcessor(t, PreprocessorConfig{})
	rgb := make([]byte, 100*130*3)
	for i := range rgb {
		rgb[i] = byte(i * 31)
	}
	got, err := p.ImageRGB(rgb, 100, 130)
	require.NoError(t, err)
	require.Equal(t, GridTHW{T: 1, H: 8, W: 10}, got.Grid)
	resized, err := Resize(rgb, 100, 130, 112, 140)
	require.NoError(t, err)
	require.Equal(t, refPatchify(p, [][]byte{resized, resized}, 112, 140), got.Values)
	require.Equal(t, 20, p.MergedTokens(got.Grid))
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestDecodeAndLoadImage(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 60, 40))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	pngBytes := encodePNG(t, img)
	path := filepath.Join(t.TempDir(), "x.png")
	require.NoError(t, os.WriteFile(path, pngBytes, 0o600))
	loaded, err := LoadImage(path)
	require.NoError(t, err)
	require.Equal(t, ToRGB(img), ToRGB(loaded))

	var jbuf bytes.Buffer
	require.NoError(t, jpeg.Encode(&jbuf, img, &jpeg.Options{Quality: 90}))
	dec, err := DecodeImage(&jbuf)
	require.NoError(t, err)
	require.Equal(t, img.Bounds(), dec.Bounds())

	p := newTestProcessor(t, PreprocessorConfig{})
	a, err := p.Image(loaded)
	require.NoError(t, err)
	b, err := p.ImageRGB(ToRGB(img), 40, 60)
	require.NoError(t, err)
	require.Equal(t, b, a)

	_, err = LoadImage(filepath.Join(t.TempDir(), "none.png"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = DecodeImage(bytes.NewReader([]byte("not an image")))
	require.ErrorContains(t, err, "decode image header")
	_, err = decodeImage(bytes.NewReader(pngBytes), 100)
	require.ErrorContains(t, err, "png image size 60x40 is empty or over 100 pixels")
}

// FuzzDecodeImage checks that decoding arbitrary bytes, and processing
// whatever decodes, never panics.
func FuzzDecodeImage(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range small.Pix {
		small.Pix[i] = byte(i * 37)
	}
	f.Add(encodePNG(f, small))
	f.Add(encodePNG(f, image.NewGray(image.Rect(0, 0, 30, 29))))
	var jbuf bytes.Buffer
	require.NoError(f, jpeg.Encode(&jbuf, small, nil))
	f.Add(jbuf.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	p := newTestProcessor(f, PreprocessorConfig{MaxPixels: 56 * 56})
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeImage(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		px, err := p.Image(img)
		if err != nil {
			return
		}
		require.Equal(t, px.Rows*px.Cols, len(px.Values))
		require.Equal(t, px.Grid.Patches(), px.Rows)
	})
}

// BenchmarkProcessImage measures a 640×480 RGB image through the whole
// processor (resize to 644×476, normalise, patchify to 1564×1176).
func BenchmarkProcessImage(b *testing.B) {
	p := newTestProcessor(b, PreprocessorConfig{})
	rgb := make([]byte, 480*640*3)
	for i := range rgb {
		rgb[i] = byte(i*7 + i/640)
	}
	b.SetBytes(int64(len(rgb)))
	b.ReportAllocs()
	for b.Loop() {
		px, err := p.ImageRGB(rgb, 480, 640)
		if err != nil {
			b.Fatal(err)
		}
		if px.Rows != 1564 {
			b.Fatalf("rows = %d", px.Rows)
		}
	}
}
