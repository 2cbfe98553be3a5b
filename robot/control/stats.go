package control

import (
	"slices"
	"sync"
	"time"

	"github.com/vstgo/vst/robot/safety"
)

// The stages whose latency a Loop records.
const (
	// StageCapture is Sensor.Observe.
	StageCapture = "capture"
	// StagePreprocess checks the observation against the embodiment and
	// prepares it for the policy.
	StagePreprocess = "preprocess"
	// StageInference is Policy.Act (it runs beside the loop, not in a tick).
	StageInference = "inference"
	// StageSafety is safety.Filter.Check.
	StageSafety = "safety"
	// StagePublish is Actuator.Send.
	StagePublish = "publish"
	// StageTick is one whole tick: everything but the wait for the next.
	StageTick = "tick"
)

// stage indexes the latency rings; stageNames maps it to the exported names.
type stage int

const (
	capture stage = iota
	preprocess
	inference
	check
	publish
	tick
	numStages
)

var stageNames = [numStages]string{StageCapture, StagePreprocess, StageInference, StageSafety, StagePublish, StageTick}

// ringSize is how many recent durations each stage keeps for percentiles.
const ringSize = 1024

// Latency summarises a stage's recent durations.
type Latency struct {
	// Count is the number of durations recorded since the loop was created.
	Count uint64
	// P50, P99 and Max are over the last 1024 of them.
	P50, P99, Max time.Duration
}

// Stats is a snapshot of a Loop's counters.
type Stats struct {
	// Ticks is the number of control ticks run, Overruns those whose work
	// took longer than the period, and Starved those with no action to
	// execute (the filter then stops the robot).
	Ticks, Overruns, Starved uint64
	// Chunks is the number of chunks received, PolicyErrors the failed or
	// malformed answers, CaptureErrors the failed or malformed
	// observations, SendErrors the failed Actuator.Send calls.
	Chunks, PolicyErrors, CaptureErrors, SendErrors uint64
	// Sent is the number of commands handed to the actuator and DryRun the
	// number withheld because the filter runs dry.
	Sent, DryRun uint64
	// Latency is keyed by stage (StageCapture ...).
	Latency map[string]Latency
	// Safety is the filter's own counters.
	Safety safety.Stats
}

type ring struct {
	buf [ringSize]time.Duration
	n   uint64
}

func (r *ring) add(d time.Duration) {
	r.buf[r.n%ringSize] = d
	r.n++
}

func (r *ring) summary(scratch []time.Duration) Latency {
	n := int(min(r.n, ringSize))
	if n == 0 {
		return Latency{}
	}
	s := append(scratch[:0], r.buf[:n]...)
	slices.Sort(s)
	return Latency{Count: r.n, P50: s[(n-1)/2], P99: s[(n*99+99)/100-1], Max: s[n-1]}
}

// counters is the loop's shared, mutex-guarded bookkeeping.
type counters struct {
	mu                                        sync.Mutex
	ticks, overruns, starved                  uint64
	chunks, policyErrs, captureErrs, sendErrs uint64
	sent, dryRun                              uint64
	lat                                       [numStages]ring
}

func (c *counters) record(st stage, d time.Duration) {
	c.mu.Lock()
	c.lat[st].add(d)
	c.mu.Unlock()
}

func (c *counters) add(p *uint64, n uint64) {
	c.mu.Lock()
	*p += n
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Ticks: c.ticks, Overruns: c.overruns, Starved: c.starved,
		Chunks: c.chunks, PolicyErrors: c.policyErrs, CaptureErrors: c.captureErrs, SendErrors: c.sendErrs,
		Sent: c.sent, DryRun: c.dryRun,
		Latency: make(map[string]Latency, numStages),
	}
	scratch := make([]time.Duration, 0, ringSize)
	for i, name := range stageNames {
		s.Latency[name] = c.lat[i].summary(scratch)
	}
	return s
}
