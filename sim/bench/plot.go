package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePlot draws the per-task success rates as a bar chart, with the
// suite's rate as a dashed line, and saves it to path (PNG for .png; SVG
// and PDF by extension too).
func (r *Result) WritePlot(path string) error {
	if len(r.Tasks) == 0 {
		return fmt.Errorf("bench: plot: result has no tasks")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %.1f%% success (%d/%d episodes)", r.Suite, 100*r.SuccessRate, r.Successes, r.EpisodeCount)
	p.Y.Label.Text = "success rate (%)"
	p.X.Label.Text = "task"
	p.Y.Min, p.Y.Max = 0, 120
	rates := make(plotter.Values, len(r.Tasks))
	names := make([]string, len(r.Tasks))
	labels := plotter.XYLabels{XYs: make(plotter.XYs, len(r.Tasks)), Labels: make([]string, len(r.Tasks))}
	for i, t := range r.Tasks {
		rates[i] = 100 * t.SuccessRate
		names[i] = fmt.Sprint(t.Task)
		labels.XYs[i] = plotter.XY{X: float64(i), Y: rates[i] + 1}
		labels.Labels[i] = fmt.Sprintf("%d/%d", t.Successes, t.Episodes)
	}
	bars, err := plotter.NewBarChart(rates, vg.Points(18))
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	bars.Color = color.RGBA{R: 66, G: 133, B: 244, A: 255}
	bars.LineStyle.Width = 0
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = -0.5
	}
	mean, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 100 * r.SuccessRate}, {X: float64(len(r.Tasks)) - 0.5, Y: 100 * r.SuccessRate}})
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	mean.Color = color.RGBA{R: 219, G: 68, B: 55, A: 255}
	mean.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(bars, lab, mean)
	p.Legend.Add("suite", mean)
	p.Legend.Top = true
	p.NominalX(names...)
	width := vg.Length(max(4, 0.5*float64(len(r.Tasks))+1.5)) * vg.Inch
	if err := p.Save(width, 3.5*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}
