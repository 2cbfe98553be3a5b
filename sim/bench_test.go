package sim

import (
	"context"
	"testing"
)

// spatialScene resembles a LIBERO-Spatial layout: two bowls, a plate, a
// cookie box, a ramekin, a cabinet with three drawers and a stove.
var spatialScene = SceneSpec{Objects: []ObjectSpec{
	{Name: "bowl_1", Kind: Bowl, Pos: [3]float64{-0.05, 0.05, 0}},
	{Name: "bowl_2", Kind: Bowl, Pos: [3]float64{0.1, -0.15, 0}},
	{Name: "plate", Kind: Plate, Pos: [3]float64{0.0, 0.25, 0}},
	{Name: "cookies", Kind: Box, Pos: [3]float64{0.15, 0.1, 0}, Size: [3]float64{0.04, 0.07, 0.025}},
	{Name: "ramekin", Kind: Bowl, Pos: [3]float64{-0.1, -0.2, 0}, Size: [3]float64{0.045, 0, 0.04}},
	{Name: "cabinet", Kind: Cabinet, Pos: [3]float64{0.25, 0.35, 0}},
	{Name: "stove", Kind: Stove, Pos: [3]float64{0.25, -0.3, 0}},
}}

func benchmarkStep(b *testing.B, cfg Config) {
	cfg.Scene = spatialScene
	e, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	// A slow circle keeps the arm moving (and the controller working).
	actions := [][]float32{{0.3, 0, 0, 0, 0, 0, -1}, {0, 0.3, 0, 0, 0, 0, -1}, {-0.3, 0, 0, 0, 0, 0, 1}, {0, -0.3, 0, 0, 0, 0, 1}}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, info, err := e.Step(actions[(i/10)%4]); err != nil || info.Failure != "" {
			b.Fatal(err, info.Failure)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkStepRender128 is a control step (physics substeps of
// DefaultTimestep) with both 128×128 cameras rendered.
func BenchmarkStepRender128(b *testing.B) { benchmarkStep(b, Config{}) }

// BenchmarkStepRender224 is a control step with both cameras at 224×224.
func BenchmarkStepRender224(b *testing.B) { benchmarkStep(b, Config{Width: 224, Height: 224}) }

// BenchmarkStepPhysics is a control step without rendering.
func BenchmarkStepPhysics(b *testing.B) { benchmarkStep(b, Config{NoRender: true}) }
