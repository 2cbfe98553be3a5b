package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar with rate and ETA on a terminal
// stream (stderr), at most a few times per second.
type progress struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, label string) *progress {
	now := time.Now()
	return &progress{w: w, label: label, start: now}
}

// update reports done of total units.
func (p *progress) update(done, total int64) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && done < total {
		return
	}
	p.last = now
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	const width = 30
	n := int(frac * width)
	el := now.Sub(p.start)
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %5.1f%% %s elapsed, ETA %s ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, el.Round(time.Second), eta)
}

// done ends the bar's line.
func (p *progress) done() { fmt.Fprintln(p.w) }
