package camera

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"
)

var quad = [4][3]uint8{{250, 0, 0}, {0, 250, 0}, {0, 0, 250}, {250, 250, 250}} // TL, TR, BL, BR in RGB

// quadrants returns a w×h BGR Mat whose quarters are quad's colours.
func quadrants(t testing.TB, w, h int) gocv.Mat {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	for i, r := range []image.Rectangle{
		image.Rect(0, 0, w/2, h/2), image.Rect(w/2, 0, w, h/2),
		image.Rect(0, h/2, w/2, h), image.Rect(w/2, h/2, w, h),
	} {
		part := m.Region(r)
		c := quad[i]
		part.SetTo(gocv.NewScalar(float64(c[2]), float64(c[1]), float64(c[0]), 0))
		part.Close()
	}
	return m
}

func TestPipeline(t *testing.T) {
	black := [3]uint8{}
	type probe struct {
		x, y int
		want [3]uint8
	}
	for _, tc := range []struct {
		name   string
		w, h   int
		fit    Fit
		rotate bool
		probes []probe
	}{
		{"stretch", 224, 224, FitStretch, false, []probe{{56, 56, quad[0]}, {168, 56, quad[1]}, {56, 168, quad[2]}, {168, 168, quad[3]}}},
		{"stretch rotated", 224, 224, FitStretch, true, []probe{{56, 56, quad[3]}, {168, 56, quad[2]}, {56, 168, quad[1]}, {168, 168, quad[0]}}},
		// 640×480 → 224×168 between 28 black rows above and below.
		{"pad", 224, 224, FitPad, false, []probe{{0, 0, black}, {223, 27, black}, {0, 28, quad[0]}, {223, 195, quad[3]}, {100, 196, black}, {223, 223, black}}},
		{"pad rotated", 224, 224, FitPad, true, []probe{{0, 27, black}, {0, 28, quad[3]}, {223, 195, quad[0]}, {0, 196, black}}},
		// 640×480 → 100×75 between 62 and 63 black rows.
		{"pad tall", 100, 200, FitPad, false, []probe{{50, 61, black}, {10, 62, quad[0]}, {90, 136, quad[3]}, {50, 137, black}}},
		{"pad same size", 640, 480, FitPad, false, []probe{{0, 0, quad[0]}, {639, 0, quad[1]}, {0, 479, quad[2]}, {639, 479, quad[3]}}},
		// The centre 480×480 scaled to 224×224.
		{"crop", 224, 224, FitCrop, false, []probe{{0, 0, quad[0]}, {223, 0, quad[1]}, {0, 223, quad[2]}, {223, 223, quad[3]}}},
		{"upscale", 1280, 960, FitStretch, false, []probe{{0, 0, quad[0]}, {1279, 959, quad[3]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := quadrants(t, 640, 480)
			defer src.Close()
			p := newPipeline(tc.w, tc.h, tc.fit, tc.rotate)
			defer p.Close()
			for range 2 { // the scratch Mats are reused
				im, err := p.process(src)
				require.NoError(t, err)
				require.NoError(t, im.Validate())
				require.Equal(t, tc.w, im.W)
				require.Equal(t, tc.h, im.H)
				for _, pr := range tc.probes {
					near(t, pr.want, pixel(im, pr.x, pr.y), 0, "(%d,%d)", pr.x, pr.y)
				}
			}
		})
	}
}

func TestPipelineInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  func() gocv.Mat
		want [3]uint8
		err  string
	}{
		{"grey", func() gocv.Mat {
			return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(77, 0, 0, 0), 48, 64, gocv.MatTypeCV8UC1)
		}, [3]uint8{77, 77, 77}, ""},
		{"BGRA", func() gocv.Mat {
			return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(1, 2, 3, 255), 48, 64, gocv.MatTypeCV8UC4)
		}, [3]uint8{3, 2, 1}, ""},
		{"float", func() gocv.Mat { return gocv.NewMatWithSize(48, 64, gocv.MatTypeCV32FC3) }, [3]uint8{}, "unsupported frame type CV32FC3"},
		{"empty", gocv.NewMat, [3]uint8{}, "empty frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src()
			defer src.Close()
			p := newPipeline(32, 24, FitPad, false)
			defer p.Close()
			im, err := p.process(src)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			near(t, tc.want, pixel(im, 16, 12), 0, "centre")
		})
	}
}

// TestPipelineClose checks that Close releases every Mat the pipeline owns,
// in builds without gocv's Mat profile too.
func TestPipelineClose(t *testing.T) {
	src := quadrants(t, 640, 480)
	defer src.Close()
	p := newPipeline(224, 224, FitPad, true)
	_, err := p.process(src)
	require.NoError(t, err)
	p.Close()
	for i, m := range p.mats() {
		assert.Nil(t, m.Ptr(), "Mat %d still open", i)
	}
}

func TestFitString(t *testing.T) {
	assert.Equal(t, "pad", FitPad.String())
	assert.Equal(t, "crop", FitCrop.String())
	assert.Equal(t, "stretch", FitStretch.String())
	assert.Equal(t, "Fit(-1)", Fit(-1).String())
}

// BenchmarkPreprocess measures the per-frame cost of turning a 640×480 BGR
// camera frame into a 224×224 RGB policy image, copy to Go memory included.
func BenchmarkPreprocess(b *testing.B) {
	src := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer src.Close()
	gocv.RandU(&src, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	for _, bc := range []struct {
		name   string
		fit    Fit
		rotate bool
	}{
		{"pad", FitPad, false},
		{"crop", FitCrop, false},
		{"stretch", FitStretch, false},
		{"pad_rotate180", FitPad, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newPipeline(224, 224, bc.fit, bc.rotate)
			defer p.Close()
			b.SetBytes(640 * 480 * 3)
			for b.Loop() {
				if _, err := p.process(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
