// Package safety is the layer between every policy and every actuator. A
// Filter turns each proposed action into a command that respects the
// embodiment's limits, or into a step of a controlled stop:
//
//   - actions holding NaN or ±Inf, or of the wrong length, are rejected: that
//     step ramps towards a stop (not latched; the next valid action resumes);
//   - each value is clamped to its dimension's [min, max];
//   - for end-effector delta actions, the position deltas are cut so that the
//     predicted next position (current position from the state plus
//     delta × scale) stays in the workspace box;
//   - every dimension is rate limited relative to the previous emitted
//     command: its rate of change stays within MaxVelocity and that rate
//     changes by at most MaxAcceleration per second, planned so the value
//     reaches its target with zero rate and never overshoots it;
//   - a controlled stop ramps "zero" dimensions to zero under the same limits
//     and brings the rate of "hold" dimensions to zero at the acceleration
//     limit. For velocity-like actions (deltas, joint velocities, twists)
//     the two limits are the robot's acceleration and jerk, so the stop is
//     jerk limited; for joint positions it is acceleration limited;
//   - watchdogs stop the robot while observations are stale
//     (Config.ObservationTimeout) or the executed action comes from a chunk
//     older than Config.PolicyTimeout; they release by themselves when the
//     condition clears;
//   - EStop latches a stop until Reset;
//   - in dry-run mode (the default for real robots) commands are computed
//     and counted but marked not to be sent.
//
// A Filter is safe for concurrent use.
package safety

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vstgo/vst/robot/embodiment"
)

// Mode is the filter's state as a command reports it.
type Mode int

// The modes.
const (
	// ModeRun: the command tracks the policy's action.
	ModeRun Mode = iota
	// ModeStopping: the command is a step of a controlled stop.
	ModeStopping
	// ModeStopped: the stop is complete; the command holds the robot still.
	ModeStopped
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeRun:
		return "run"
	case ModeStopping:
		return "stopping"
	case ModeStopped:
		return "stopped"
	}
	return "unknown"
}

// Command is what the filter lets through for one control step.
type Command struct {
	// Values holds one value per action dimension, in action units. It is
	// nil when the filter has nothing safe to command (see Send).
	Values []float32
	// Time is the step's time, as passed to Check.
	Time time.Time
	// Seq numbers the filter's commands from 1.
	Seq uint64
	// Mode says whether the command tracks the policy or stops the robot.
	Mode Mode
	// Reason says why the robot is stopping; it is empty in ModeRun.
	Reason string
	// Send reports whether the command may reach the actuator: false in
	// dry-run mode and when Values is nil.
	Send bool
}

// Input is what the filter needs for one control step.
type Input struct {
	// Action is the policy's proposed action, one value per dimension. Nil
	// means no action is available: the robot stops.
	Action []float32
	// State is the robot's current state vector (the spec's state fields).
	// The workspace check and rate limiters of dimensions with a
	// state_index read it.
	State []float32
	// ObservedAt is when the freshest observation was captured. The zero
	// time counts as stale.
	ObservedAt time.Time
	// ChunkAt is when the chunk Action comes from arrived. The zero time
	// counts as stale when Action is set.
	ChunkAt time.Time
}

// Config tunes a Filter.
type Config struct {
	// ObservationTimeout is the longest time without a fresh observation
	// before a controlled stop. It defaults to 250 ms.
	ObservationTimeout time.Duration
	// PolicyTimeout is the oldest a chunk may be (since it arrived) for its
	// actions to be executed; older ones cause a controlled stop. It
	// defaults to 1 s.
	PolicyTimeout time.Duration
	// DryRun, when set, overrides the spec's dry-run setting. It defaults to
	// the spec's (true for real robots unless the spec says otherwise).
	DryRun *bool
}

// Stats counts what a Filter did.
type Stats struct {
	// Commands is the number of commands emitted, Sent those allowed to
	// reach the actuator, Withheld those held back by dry-run mode and
	// Stopping those emitted in ModeStopping or ModeStopped.
	Commands, Sent, Withheld, Stopping uint64
	// Events counts events by kind.
	Events map[EventKind]uint64
	// Mode is the mode of the last command and Reason its stop reason.
	Mode   Mode
	Reason string
	// EStopped reports whether the e-stop is latched.
	EStopped bool
	// DryRun reports whether the filter runs dry.
	DryRun bool
}

type limit struct {
	min, max   float64
	vel, acc   float64 // 0: unbounded
	stop       embodiment.StopMode
	stateIndex int // -1: none
	scale      float64
}

// Filter checks and limits every command. Create it with New.
type Filter struct {
	spec   *embodiment.Spec
	cfg    Config
	dt     float64
	lim    []limit
	dryRun bool
	// Workspace: the box and where the end-effector position sits in the
	// state; wsOff is -1 without a workspace.
	wsMin, wsMax [3]float64
	wsOff        int
	needState    bool

	mu       sync.Mutex
	x, r     []float64 // last emitted values and their rates (units/s)
	target   []float64 // scratch
	primed   bool
	estop    bool
	estopWhy string
	reason   string
	mode     Mode
	seq      uint64
	counts   [numEventKinds]uint64
	commands uint64
	sent     uint64
	withheld uint64
	stopping uint64
}

// New returns a filter for spec, which must be valid.
func New(spec *embodiment.Spec, cfg Config) (*Filter, error) {
	if spec == nil {
		return nil, fmt.Errorf("safety: nil spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("safety: %w", err)
	}
	if cfg.ObservationTimeout == 0 {
		cfg.ObservationTimeout = 250 * time.Millisecond
	}
	if cfg.PolicyTimeout == 0 {
		cfg.PolicyTimeout = time.Second
	}
	if cfg.ObservationTimeout < 0 || cfg.PolicyTimeout < 0 {
		return nil, fmt.Errorf("safety: timeouts must be positive, got observation %v, policy %v", cfg.ObservationTimeout, cfg.PolicyTimeout)
	}
	n := spec.ActionDim()
	f := &Filter{
		spec:   spec,
		cfg:    cfg,
		dt:     1 / spec.ControlRate,
		lim:    make([]limit, n),
		dryRun: spec.IsDryRun(),
		wsOff:  -1,
		x:      make([]float64, n),
		r:      make([]float64, n),
		target: make([]float64, n),
	}
	if cfg.DryRun != nil {
		f.dryRun = *cfg.DryRun
	}
	for i, d := range spec.Dims {
		l := limit{min: d.Min, max: d.Max, vel: d.MaxVelocity, acc: d.MaxAcceleration, stop: spec.StopMode(i), stateIndex: -1, scale: spec.ScaleOf(i)}
		if d.StateIndex != nil {
			l.stateIndex = *d.StateIndex
			f.needState = true
		}
		f.lim[i] = l
		f.x[i] = d.Initial
	}
	if w := spec.Workspace; w != nil {
		f.wsMin, f.wsMax = w.Min, w.Max
		f.wsOff, _, _ = spec.StateOffset(w.StateField)
	}
	f.primed = !f.needState
	f.mode = ModeStopped
	return f, nil
}

// Config returns the filter's configuration with defaults applied.
func (f *Filter) Config() Config { return f.cfg }

// Spec returns the embodiment the filter enforces.
func (f *Filter) Spec() *embodiment.Spec { return f.spec }

// DryRun reports whether commands are withheld from the actuator.
func (f *Filter) DryRun() bool { return f.dryRun }

// EStop latches the emergency stop: every following command is a step of a
// controlled stop (at the limits) until Reset. It returns the event.
func (f *Filter) EStop(now time.Time, reason string) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	if reason == "" {
		reason = "e-stop"
	}
	f.estop, f.estopWhy = true, reason
	f.counts[EventEStop]++
	return Event{Kind: EventEStop, Dim: -1, Reason: reason, Time: now}
}

// Reset releases the emergency stop. When the robot had come to rest,
// dimensions with a state_index restart their rate limiters from the
// measured state (the robot may have been moved meanwhile). It returns the
// event.
func (f *Filter) Reset(now time.Time) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.estop, f.estopWhy = false, ""
	if f.mode == ModeStopped && f.needState {
		f.primed = false
	}
	f.counts[EventReset]++
	return Event{Kind: EventReset, Dim: -1, Reason: "e-stop released", Time: now}
}

// EStopped reports whether the e-stop is latched.
func (f *Filter) EStopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.estop
}

// Stats returns the filter's counters.
func (f *Filter) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{
		Commands: f.commands, Sent: f.sent, Withheld: f.withheld, Stopping: f.stopping,
		Events: make(map[EventKind]uint64), Mode: f.mode, Reason: f.reason,
		EStopped: f.estop, DryRun: f.dryRun,
	}
	for k, c := range f.counts {
		if c > 0 {
			s.Events[EventKind(k)] = c
		}
	}
	return s
}

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Check turns one proposed action into the command to execute at now. The
// events say what was changed or noticed; they are also counted in Stats.
func (f *Filter) Check(now time.Time, in Input) (Command, []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var events []Event
	emit := func(kind EventKind, dim int, v float64, reason string) {
		f.counts[kind]++
		events = append(events, Event{Kind: kind, Dim: dim, Value: v, Reason: reason, Time: now})
	}
	f.seq++
	cmd := Command{Time: now, Seq: f.seq}

	if !f.primed {
		if i, ok := f.prime(in.State); !ok {
			emit(EventStateInvalid, i, 0, "no measured state to start the rate limiter from")
			cmd.Mode, cmd.Reason = ModeStopped, "no measured state"
			f.mode, f.reason = cmd.Mode, cmd.Reason
			f.count(cmd)
			return cmd, events
		}
	}

	reason, kind := f.stopReason(now, in)
	if reason == "" {
		reason = f.targets(in.Action, emit)
	}
	// The workspace needs the end-effector position; without it the robot
	// cannot be kept inside, so it stops.
	var lo, hi [3]float64
	hasBox := false
	if f.wsOff >= 0 {
		var ok bool
		if lo, hi, ok = f.box(in.State); ok {
			hasBox = true
		} else if reason == "" {
			emit(EventStateInvalid, -1, 0, "no finite end-effector position for the workspace check")
			reason = "no end-effector position"
		}
	}
	if reason != "" && kind >= 0 && reason != f.reason {
		emit(kind, -1, 0, reason)
	}

	for i := range f.lim {
		l := &f.lim[i]
		var nr float64
		switch {
		case reason == "":
			t := f.target[i]
			if hasBox && i < 3 {
				if c := math.Max(lo[i], math.Min(hi[i], t)); c != t {
					emit(EventWorkspace, i, t, fmt.Sprintf("delta %v leaves the workspace; cut to %v", t, c))
					f.target[i] = c
				}
			}
			nr = l.approach(f.x[i], f.r[i], f.target[i], f.dt)
		case l.stop == embodiment.StopZero:
			nr = l.approach(f.x[i], f.r[i], 0, f.dt)
		default: // hold: bring the rate to zero as fast as allowed
			nr = 0
			if l.acc > 0 {
				d := l.acc * f.dt
				nr = f.r[i] - math.Copysign(math.Min(math.Abs(f.r[i]), d), f.r[i])
			}
		}
		nx := f.x[i] + nr*f.dt
		if reason == "" {
			if t := f.target[i]; math.Abs(nx-t) <= 1e-12*(1+math.Abs(t)) {
				nx = t
			} else if math.Abs(nx-t) > 1e-9*(1+math.Abs(t)) {
				emit(EventRateLimit, i, t, "velocity or acceleration limit")
			}
		} else if l.stop == embodiment.StopZero && math.Abs(nx) <= 1e-12 {
			nx = 0
		}
		// Hard bounds: the workspace takes precedence over the rate limits
		// (a cut here is an event), and [min, max] over everything.
		if hasBox && i < 3 {
			if c := math.Max(lo[i], math.Min(hi[i], nx)); c != nx {
				emit(EventWorkspace, i, nx, "rate-limited delta would leave the workspace; cut")
				nx = c
			}
		}
		nx = math.Max(l.min, math.Min(l.max, nx))
		v := float32(nx)
		if float64(v) > l.max {
			v = math.Nextafter32(v, float32(math.Inf(-1)))
		} else if float64(v) < l.min {
			v = math.Nextafter32(v, float32(math.Inf(1)))
		}
		prev := f.x[i]
		f.x[i] = float64(v)
		f.r[i] = (f.x[i] - prev) / f.dt
	}

	cmd.Values = make([]float32, len(f.x))
	for i, v := range f.x {
		cmd.Values[i] = float32(v)
	}
	cmd.Mode, cmd.Reason = ModeRun, reason
	if reason != "" {
		cmd.Mode = ModeStopped
		for i, l := range f.lim {
			if f.r[i] != 0 || (l.stop == embodiment.StopZero && f.x[i] != 0) {
				cmd.Mode = ModeStopping
				break
			}
		}
	}
	cmd.Send = !f.dryRun
	f.mode, f.reason = cmd.Mode, reason
	f.count(cmd)
	return cmd, events
}

func (f *Filter) count(cmd Command) {
	f.commands++
	switch {
	case cmd.Send:
		f.sent++
	case cmd.Values != nil:
		f.withheld++
	}
	if cmd.Mode != ModeRun {
		f.stopping++
	}
}

// prime starts the rate limiters of dimensions with a state_index at the
// measured state; it returns the first dimension it could not start.
func (f *Filter) prime(state []float32) (int, bool) {
	for i, l := range f.lim {
		if l.stateIndex < 0 {
			continue
		}
		if l.stateIndex >= len(state) || !finite32(state[l.stateIndex]) {
			return i, false
		}
	}
	for i, l := range f.lim {
		if l.stateIndex >= 0 {
			f.x[i] = math.Max(l.min, math.Min(l.max, float64(state[l.stateIndex])))
			f.r[i] = 0
		}
	}
	f.primed = true
	return -1, true
}

// stopReason returns why the robot must stop regardless of the action's
// values, and the event kind to report when that reason begins (-1: none,
// already reported).
func (f *Filter) stopReason(now time.Time, in Input) (string, EventKind) {
	switch {
	case f.estop:
		return f.estopWhy, -1
	case in.ObservedAt.IsZero() || now.Sub(in.ObservedAt) > f.cfg.ObservationTimeout:
		return "observation stale", EventObservationStale
	case in.Action == nil:
		return "no action", EventNoAction
	case in.ChunkAt.IsZero() || now.Sub(in.ChunkAt) > f.cfg.PolicyTimeout:
		return "policy stale", EventPolicyStale
	}
	return "", -1
}

// targets validates and clamps the action into f.target; it returns a stop
// reason when the action is unusable.
func (f *Filter) targets(a []float32, emit func(EventKind, int, float64, string)) string {
	if len(a) != len(f.lim) {
		emit(EventBadLength, -1, float64(len(a)), fmt.Sprintf("action has %d values, want %d", len(a), len(f.lim)))
		return "bad action"
	}
	bad := false
	for i, v := range a {
		if !finite32(v) {
			emit(EventNonFinite, i, float64(v), fmt.Sprintf("%s is %v", f.spec.Dims[i].Name, v))
			bad = true
		}
	}
	if bad {
		return "non-finite action"
	}
	for i, v := range a {
		l := f.lim[i]
		t := float64(v)
		if c := math.Max(l.min, math.Min(l.max, t)); c != t {
			emit(EventClamp, i, t, fmt.Sprintf("%s %v outside [%v, %v]", f.spec.Dims[i].Name, t, l.min, l.max))
			t = c
		}
		f.target[i] = t
	}
	return ""
}

// box returns, per position axis, the range of deltas that keep the end
// effector in the workspace. Outside the box on an axis, only moves back
// towards it are allowed (the range then starts or ends at zero).
func (f *Filter) box(state []float32) (lo, hi [3]float64, ok bool) {
	if f.wsOff+3 > len(state) {
		return lo, hi, false
	}
	for a := range 3 {
		p := float64(state[f.wsOff+a])
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return lo, hi, false
		}
		s := f.lim[a].scale
		lo[a] = math.Min(0, (f.wsMin[a]-p)/s)
		hi[a] = math.Max(0, (f.wsMax[a]-p)/s)
	}
	return lo, hi, true
}

// approach returns the next rate for a value x moving at rate r towards
// target: the fastest rate within the velocity bound, reachable from r
// within the acceleration bound, from which braking at the acceleration
// bound still stops exactly at the target (discrete time, period dt).
//
// Braking from rate s by d = acc·dt per step covers
// dt·((m+1)·s − d·m(m+1)/2) with m = ⌊s/d⌋; this inverts that for the
// remaining distance.
func (l *limit) approach(x, r, target, dt float64) float64 {
	e := target - x
	ae := math.Abs(e)
	s := ae / dt
	if l.acc > 0 {
		d := l.acc * dt
		big := ae / (dt * d)
		m := math.Floor((math.Sqrt(8*big+1) - 1) / 2)
		if m > 0 && m*(m+1)/2 > big {
			m--
		}
		if (m+1)*(m+2)/2 <= big {
			m++
		}
		s = (ae/dt + d*m*(m+1)/2) / (m + 1)
	}
	if l.vel > 0 {
		s = math.Min(s, l.vel)
	}
	want := math.Copysign(s, e)
	if l.acc > 0 {
		d := l.acc * dt
		want = math.Max(r-d, math.Min(r+d, want))
	}
	if l.vel > 0 {
		want = math.Max(-l.vel, math.Min(l.vel, want))
	}
	return want
}
