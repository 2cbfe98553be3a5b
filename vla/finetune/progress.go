package finetune

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// bar draws the one-line training progress: steps done of the total, the
// smoothed loss, the learning rate, the throughput and the ETA of this
// run. A nil writer draws nothing.
type bar struct {
	w            io.Writer
	total, batch int
	first        int // step this run started at
	start, last  time.Time
	lastStep     time.Time     // when the newest step finished
	paused       time.Duration // spent on checkpoints and evaluations
	ema, weight  float64
	drawn        bool // a bar line is open
}

func newBar(w io.Writer, first, total, batch int, losses []float64) *bar {
	b := &bar{w: w, total: total, batch: batch, first: first, start: time.Now()}
	for _, l := range losses {
		b.add(l)
	}
	return b
}

// add folds a step's loss into the moving average (as smooth does).
func (b *bar) add(loss float64) {
	b.ema = (1-emaAlpha)*b.ema + emaAlpha*loss
	b.weight = (1-emaAlpha)*b.weight + emaAlpha
}

// samplesPerSec is this run's training throughput up to the newest step.
func (b *bar) samplesPerSec(step int) float64 {
	el := (b.lastStep.Sub(b.start) - b.paused).Seconds()
	if step == b.first || el <= 0 {
		return 0
	}
	return float64((step-b.first)*b.batch) / el
}

// step records step's loss and redraws at most four times a second (and
// always at the last step).
func (b *bar) step(step int, loss, lr float64) {
	b.add(loss)
	now := time.Now()
	b.lastStep = now
	if b.w == nil {
		return
	}
	if now.Sub(b.last) < 250*time.Millisecond && step < b.total {
		return
	}
	b.last = now
	const width = 24
	n := width * step / max(1, b.total)
	el := now.Sub(b.start) - b.paused
	eta := "?"
	if done := step - b.first; done > 0 {
		eta = (el / time.Duration(done) * time.Duration(b.total-step)).Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\rstep %d/%d [%s%s] loss %.4f lr %.2e %.2f samples/s ETA %s ",
		step, b.total, strings.Repeat("=", n), strings.Repeat(" ", width-n), b.ema/max(b.weight, 1e-12), lr, b.samplesPerSec(step), eta)
	b.drawn = true
}

// pause excludes time spent since from the throughput and the ETA.
func (b *bar) pause(since time.Time) { b.paused += time.Since(since) }

// printf writes a message on its own line below the bar.
func (b *bar) printf(format string, args ...any) {
	if b.w == nil {
		return
	}
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
	fmt.Fprintf(b.w, format+"\n", args...)
}

// done ends the bar's line.
func (b *bar) done() {
	if b.w != nil && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}
