package ros1

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
)

// casesImage: a 2×1 image, red then blue, in every encoding, plus the
// malformed messages the sensor must reject.
var casesImage = []struct {
	name string
	msg  sensor_msgs.Image
	want []uint8
	err  string
}{
	{"rgb8", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "rgb8", Step: 6, Data: []uint8{255, 0, 0, 0, 0, 255}}, []uint8{255, 0, 0, 0, 0, 255}, ""},
	{"bgr8", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "bgr8", Step: 6, Data: []uint8{0, 0, 255, 255, 0, 0}}, []uint8{255, 0, 0, 0, 0, 255}, ""},
	{"rgba8", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "rgba8", Step: 8, Data: []uint8{255, 0, 0, 7, 0, 0, 255, 7}}, []uint8{255, 0, 0, 0, 0, 255}, ""},
	{"bgra8", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "bgra8", Step: 8, Data: []uint8{0, 0, 255, 7, 255, 0, 0, 7}}, []uint8{255, 0, 0, 0, 0, 255}, ""},
	{"mono8", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "mono8", Step: 2, Data: []uint8{3, 250}}, []uint8{3, 3, 3, 250, 250, 250}, ""},
	{"rgb8 padded rows", sensor_msgs.Image{Height: 2, Width: 1, Encoding: "rgb8", Step: 4, Data: []uint8{1, 2, 3, 0, 4, 5, 6, 0}}, []uint8{1, 2, 3, 4, 5, 6}, ""},
	{"16-bit", sensor_msgs.Image{Height: 1, Width: 1, Encoding: "rgb16", Step: 6, Data: make([]uint8, 6)}, nil,
		`unsupported image encoding "rgb16" (want rgb8, bgr8, rgba8, bgra8 or mono8)`},
	{"empty", sensor_msgs.Image{Encoding: "rgb8"}, nil, "empty 0x0 image"},
	{"short step", sensor_msgs.Image{Height: 1, Width: 2, Encoding: "bgr8", Step: 5, Data: make([]uint8, 5)}, nil,
		"bgr8 image step 5 is under width 2 × 3 bytes"},
	{"short data", sensor_msgs.Image{Height: 2, Width: 2, Encoding: "rgb8", Step: 6, Data: make([]uint8, 11)}, nil,
		"rgb8 image has 11 data bytes, step 6 × height 2 needs 12"},
	{"huge", sensor_msgs.Image{Height: math.MaxUint32, Width: math.MaxUint32, Encoding: "mono8", Step: math.MaxUint32}, nil,
		"4294967295x4294967295 image is over 67108864 pixels"},
}

func TestImageToRGB(t *testing.T) {
	for _, ca := range casesImage {
		t.Run(ca.name, func(t *testing.T) {
			im, err := ImageToRGB(&ca.msg)
			if ca.err != "" {
				require.EqualError(t, err, ca.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, policy.Image{Pix: ca.want, H: int(ca.msg.Height), W: int(ca.msg.Width)}, im)
		})
	}
}

func FuzzImageToRGB(f *testing.F) {
	for _, ca := range casesImage {
		f.Add(ca.msg.Height, ca.msg.Width, ca.msg.Encoding, ca.msg.Step, ca.msg.Data)
	}
	f.Fuzz(func(t *testing.T, h, w uint32, enc string, step uint32, data []byte) {
		im, err := ImageToRGB(&sensor_msgs.Image{Height: h, Width: w, Encoding: enc, Step: step, Data: data})
		if err == nil {
			require.NoError(t, im.Validate())
		}
	})
}

func encode(t testing.TB, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := range 8 {
		for x := range 16 {
			im.Set(x, y, color.RGBA{R: 200, G: 40, B: 10, A: 255}) // orange
		}
	}
	var b bytes.Buffer
	require.NoError(t, enc(&b, im))
	return b.Bytes()
}

func TestCompressedToRGB(t *testing.T) {
	pngData := encode(t, func(b *bytes.Buffer, im image.Image) error { return png.Encode(b, im) })
	jpegData := encode(t, func(b *bytes.Buffer, im image.Image) error { return jpeg.Encode(b, im, &jpeg.Options{Quality: 95}) })
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.Pix = []uint8{9, 99}
	var grayPNG bytes.Buffer
	require.NoError(t, png.Encode(&grayPNG, gray))
	for _, ca := range []struct {
		name   string
		format string
		data   []byte
		first  []uint8 // the first pixel
		delta  float64
		err    string
	}{
		{"png", "png", pngData, []uint8{200, 40, 10}, 0, ""},
		{"jpeg", "bgr8; jpeg compressed bgr8", jpegData, []uint8{200, 40, 10}, 4, ""},
		{"grey png", "mono8; png compressed", grayPNG.Bytes(), []uint8{9, 9, 9}, 0, ""},
		{"garbage", "jpeg", []byte("not an image"), nil, 0, `compressed image (format "jpeg"): image: unknown format`},
		{"truncated", "png", pngData[:40], nil, 0, "compressed png image: unexpected EOF"},
		{"depth", "16UC1; compressedDepth", pngData, nil, 0, `unsupported compressed format "16UC1; compressedDepth"`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			im, err := CompressedToRGB(&sensor_msgs.CompressedImage{Format: ca.format, Data: ca.data})
			if ca.err != "" {
				require.EqualError(t, err, ca.err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, im.Validate())
			for c := range 3 {
				require.InDelta(t, ca.first[c], im.Pix[c], ca.delta)
			}
		})
	}
}

func TestMasterAddress(t *testing.T) {
	for _, ca := range []struct{ in, out, err string }{
		{"http://127.0.0.1:11311", "127.0.0.1:11311", ""},
		{"http://robot.local:11311/", "robot.local:11311", ""},
		{"10.0.0.2:11311", "10.0.0.2:11311", ""},
		{"https://robot:11311", "", `ros1: master URI "https://robot:11311": want http://host:port`},
		{"http://robot", "", `ros1: master URI "http://robot": want http://host:port`},
		{"http://robot:11311/x", "", `ros1: master URI "http://robot:11311/x": want http://host:port`},
	} {
		got, err := masterAddress(ca.in)
		if ca.err != "" {
			require.EqualError(t, err, ca.err, ca.in)
			continue
		}
		require.NoError(t, err, ca.in)
		require.Equal(t, ca.out, got)
	}
}
