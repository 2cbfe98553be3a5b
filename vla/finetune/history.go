package finetune

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// emaAlpha weighs the newest loss in the smoothed loss of the progress
// bar, the table and the plot.
const emaAlpha = 0.1

// smooth returns the bias-corrected exponential moving average of xs at
// every position.
func smooth(xs []float64) []float64 {
	out := make([]float64, len(xs))
	var m, w float64
	for i, x := range xs {
		m = (1-emaAlpha)*m + emaAlpha*x
		w = (1-emaAlpha)*w + emaAlpha
		out[i] = m / w
	}
	return out
}

// writeHistory writes loss.csv, loss.png and, with evaluations, eval.csv
// into dir, each atomically.
func writeHistory(dir string, losses []float64, evals []EvalPoint) error {
	ema := smooth(losses)
	err := writeAtomic(filepath.Join(dir, LossCSV), func(w io.Writer) error {
		b := bufio.NewWriter(w)
		fmt.Fprintln(b, "step,loss,loss_ema")
		for i, l := range losses {
			fmt.Fprintf(b, "%d,%s,%s\n", i+1, strconv.FormatFloat(l, 'g', -1, 64), strconv.FormatFloat(ema[i], 'g', -1, 64))
		}
		return b.Flush()
	})
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, LossPlot), func(w io.Writer) error { return plotLoss(w, losses, ema, evals) }); err != nil {
		return err
	}
	if len(evals) == 0 {
		return nil
	}
	return writeAtomic(filepath.Join(dir, EvalCSV), func(w io.Writer) error {
		b := bufio.NewWriter(w)
		fmt.Fprintln(b, "step,success_rate")
		for _, e := range evals {
			fmt.Fprintf(b, "%d,%s\n", e.Step, strconv.FormatFloat(e.SuccessRate, 'g', -1, 64))
		}
		return b.Flush()
	})
}

// plotLoss draws the loss of every step and its moving average, with the
// evaluations' success rates in the title, as a PNG.
func plotLoss(w io.Writer, losses, ema []float64, evals []EvalPoint) error {
	p := plot.New()
	p.Title.Text = "training loss"
	if n := len(evals); n > 0 {
		p.Title.Text += fmt.Sprintf(" (success %.0f%% at step %d)", 100*evals[n-1].SuccessRate, evals[n-1].Step)
	}
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Y.Min = 0
	raw, avg := make(plotter.XYs, len(losses)), make(plotter.XYs, len(losses))
	for i := range losses {
		raw[i] = plotter.XY{X: float64(i + 1), Y: losses[i]}
		avg[i] = plotter.XY{X: float64(i + 1), Y: ema[i]}
	}
	if len(losses) > 0 {
		lr, err := plotter.NewLine(raw)
		if err != nil {
			return err
		}
		lr.Color = color.RGBA{R: 160, G: 180, B: 220, A: 255}
		la, err := plotter.NewLine(avg)
		if err != nil {
			return err
		}
		la.Color = color.RGBA{R: 25, G: 80, B: 200, A: 255}
		la.Width = vg.Points(2)
		p.Add(plotter.NewGrid(), lr, la)
		p.Legend.Add("batch loss", lr)
		p.Legend.Add(fmt.Sprintf("moving average (α=%g)", emaAlpha), la)
		p.Legend.Top = true
	}
	wt, err := p.WriterTo(7*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
