package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ETA estimates the time left from the rate so far (0 until an episode is
// done).
func (p Progress) ETA() time.Duration {
	if p.Done == 0 || p.Done >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Elapsed) / float64(p.Done) * float64(p.Total-p.Done))
}

// ProgressBar returns a Progress callback that redraws a one-line bar on w
// (a terminal's stderr) with the running success rate, the step rate and
// the ETA, at most five times a second, ending the line when the run is
// done.
func ProgressBar(w io.Writer, label string) func(Progress) {
	var last time.Time
	return func(p Progress) {
		now := time.Now()
		final := p.Done >= p.Total
		if !final && now.Sub(last) < 200*time.Millisecond {
			return
		}
		last = now
		const width = 30
		n := 0
		if p.Total > 0 {
			n = width * p.Done / p.Total
		}
		rate, sps := 0.0, 0.0
		if p.Done > 0 {
			rate = 100 * float64(p.Successes) / float64(p.Done)
		}
		if s := p.Elapsed.Seconds(); s > 0 {
			sps = float64(p.Steps) / s
		}
		eta := "ETA " + p.ETA().Round(time.Second).String()
		if final {
			eta = "done in " + p.Elapsed.Round(time.Second).String()
		}
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d episodes, success %.1f%%, %.0f steps/s, %s ", label,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), p.Done, p.Total, rate, sps, eta)
		if final {
			fmt.Fprintln(w)
		}
	}
}
