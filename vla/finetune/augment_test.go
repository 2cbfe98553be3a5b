package finetune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAugmentDeterministicAndBounded(t *testing.T) {
	a, err := AugmentConfig{}.withDefaults()
	require.NoError(t, err)
	im := testImage(56, 2, 0)

	x := a.augment(rand.New(rand.NewPCG(1, 2)), im)
	y := a.augment(rand.New(rand.NewPCG(1, 2)), im)
	z := a.augment(rand.New(rand.NewPCG(1, 3)), im)
	assert.Equal(t, x, y, "same seed, same image")
	assert.NotEqual(t, x.Pix, z.Pix)
	assert.Equal(t, [2]int{56, 56}, [2]int{x.W, x.H})
	assert.Equal(t, testImage(56, 2, 0), im, "the input is not modified")

	rng := rand.New(rand.NewPCG(5, 5))
	for range 2000 {
		p := a.draw(rng, 64, 48)
		area := float64(p.cw*p.ch) / (64 * 48)
		require.GreaterOrEqual(t, area, 0.78)
		require.LessOrEqual(t, area, 1.0)
		require.InDelta(t, 64.0/48, float64(p.cw)/float64(p.ch), 0.05, "aspect kept")
		require.True(t, p.x0 >= 0 && p.x0+p.cw <= 64 && p.y0 >= 0 && p.y0+p.ch <= 48)
		for _, f := range []float64{p.brightness, p.contrast, p.saturation} {
			require.True(t, f >= 0.8 && f <= 1.2, f)
		}
		require.LessOrEqual(t, math.Abs(p.hue), 0.05)
	}

	id := applyAug(im, augParams{cw: 56, ch: 56, brightness: 1, contrast: 1, saturation: 1})
	assert.Equal(t, im, id, "the identity augmentation changes nothing")
	off := AugmentConfig{Off: true}
	assert.Equal(t, im, off.augment(rng, im))

	for _, c := range [][3]float64{{0.2, 0.5, 0.9}, {1, 0, 0}, {0.3, 0.3, 0.3}, {0, 0.7, 0.1}, {0.5, 0.1, 0.6}} {
		h, s, v := rgbToHSV(c[0], c[1], c[2])
		r, g, b := hsvToRGB(h, s, v)
		assert.InDeltaSlice(t, c[:], []float64{r, g, b}, 1e-12)
	}
}

func TestAugmentConfig(t *testing.T) {
	tests := []struct {
		name string
		in   AugmentConfig
		want AugmentConfig
		err  string
	}{
		{"defaults", AugmentConfig{}, AugmentConfig{MinScale: 0.8, MaxScale: 1, Brightness: 0.2, Contrast: 0.2, Saturation: 0.2, Hue: 0.05}, ""},
		{"no jitter", AugmentConfig{Brightness: -1, Contrast: -1, Saturation: -1, Hue: -1}, AugmentConfig{MinScale: 0.8, MaxScale: 1}, ""},
		{"inverted scale", AugmentConfig{MinScale: 0.9, MaxScale: 0.5}, AugmentConfig{}, "crop scale [0.9, 0.5]"},
		{"brightness", AugmentConfig{Brightness: 1}, AugmentConfig{}, "must be below 1"},
		{"hue", AugmentConfig{Hue: 0.6}, AugmentConfig{}, "hue 0.6 is above 0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
