// Package control runs a policy as a robot controller: a fixed-rate loop
// that captures an observation, executes action chunks, passes every
// command through a safety.Filter and publishes it to an Actuator.
//
// Chunks are requested asynchronously: when the executor has PrefetchAt
// actions or fewer left, the loop asks the policy for the next chunk in a
// goroutine, so inference overlaps execution. Each chunk is aligned to the
// tick of the observation it was computed from: its action i is meant for
// that tick + i, so when it arrives it replaces the rest of the previous
// chunk and actions for ticks already past are skipped. When the executor
// is empty and a request is in flight (or, when ensembling, a request was
// made this tick), a tick waits up to half a period for it.
//
// The executor never runs a chunk past its first Execute actions, and New
// checks that they fit in the filter's PolicyTimeout, so a policy that stops
// answering stops the robot (reason "no action") no later than the filter's
// policy watchdog would.
//
// Two execution modes exist: open loop (the first Execute actions of each
// chunk, ACT's and openpi's default) and temporal ensembling (ACT: a new
// chunk every tick when possible, and each executed action is the average of
// every chunk's prediction for that tick, weighted exp(−m·i) with i = 0 for
// the oldest prediction).
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// Reading is one observation of the robot.
type Reading struct {
	// Observation is what the policy sees; its State is also what the
	// safety filter reads. The loop owns it after Observe returns.
	Observation *policy.Observation
	// Time is when it was captured (the oldest of its parts).
	Time time.Time
}

// Sensor supplies observations.
type Sensor interface {
	// Observe returns the freshest observation. It should not block for
	// longer than a control period.
	Observe(ctx context.Context) (Reading, error)
}

// Actuator executes commands.
type Actuator interface {
	// Send hands one command to the robot. ctx ends at the end of the tick.
	Send(ctx context.Context, cmd safety.Command) error
}

// Config configures a Loop.
type Config struct {
	// Policy proposes action chunks. Required.
	Policy policy.Policy
	// Sensor supplies observations. Required.
	Sensor Sensor
	// Actuator receives the commands the filter lets through (never in
	// dry-run mode). Required.
	Actuator Actuator
	// Filter checks every command; its embodiment gives the control rate.
	// Required.
	Filter *safety.Filter
	// Prompt is the language instruction put in every observation. It
	// defaults to empty.
	Prompt string
	// Execute is how many actions of each chunk are used (k of H). It
	// defaults to the policy's horizon H.
	Execute int
	// Ensemble turns on temporal ensembling. It defaults to false (open
	// loop).
	Ensemble bool
	// EnsembleDecay is ACT's m in the weights exp(−m·i). It defaults to 0.01.
	EnsembleDecay float64
	// PrefetchAt is the number of actions left at which the next chunk is
	// requested; -1 waits until the executor is empty. It defaults to half
	// of Execute. Ensembling ignores it and asks whenever no request is in
	// flight.
	PrefetchAt int
	// Steps stops the loop after that many ticks. It defaults to 0: run
	// until the context ends.
	Steps int
	// StopTimeout bounds the controlled stop after the loop ends. It
	// defaults to 2 seconds.
	StopTimeout time.Duration
	// Logger receives safety events and errors. It defaults to discarding
	// them.
	Logger *slog.Logger
}

// Loop is a fixed-rate controller. Create it with New and run it with Run.
type Loop struct {
	cfg     Config
	period  time.Duration
	d, k    int
	running atomic.Bool
	c       counters
}

// New checks cfg, applies its defaults and returns a loop.
func New(cfg Config) (*Loop, error) {
	switch {
	case cfg.Policy == nil:
		return nil, errors.New("control: Policy is nil")
	case cfg.Sensor == nil:
		return nil, errors.New("control: Sensor is nil")
	case cfg.Actuator == nil:
		return nil, errors.New("control: Actuator is nil")
	case cfg.Filter == nil:
		return nil, errors.New("control: Filter is nil")
	}
	spec := cfg.Filter.Spec()
	ps := cfg.Policy.Spec()
	if ps.ActionDim != 0 && ps.ActionDim != spec.ActionDim() {
		return nil, fmt.Errorf("control: policy %q emits %d-D actions, embodiment %q takes %d", ps.Name, ps.ActionDim, spec.Name, spec.ActionDim())
	}
	if ps.Horizon <= 0 {
		return nil, fmt.Errorf("control: policy %q has horizon %d, want positive", ps.Name, ps.Horizon)
	}
	if ps.StateDim != 0 && spec.StateDim() != 0 && ps.StateDim != spec.StateDim() {
		return nil, fmt.Errorf("control: policy %q reads a %d-value state, embodiment %q has %d", ps.Name, ps.StateDim, spec.Name, spec.StateDim())
	}
	for _, name := range ps.Cameras {
		if !slices.ContainsFunc(spec.Cameras, func(c embodiment.Camera) bool { return c.Name == name }) {
			return nil, fmt.Errorf("control: policy %q reads camera %q, embodiment %q has none by that name", ps.Name, name, spec.Name)
		}
	}
	if cfg.Execute == 0 {
		cfg.Execute = ps.Horizon
	}
	if cfg.Execute < 0 || cfg.Execute > ps.Horizon {
		return nil, fmt.Errorf("control: Execute %d is outside [1, %d] (the policy's horizon)", cfg.Execute, ps.Horizon)
	}
	if cfg.PrefetchAt == 0 {
		cfg.PrefetchAt = cfg.Execute / 2
	}
	if cfg.PrefetchAt < -1 || cfg.PrefetchAt >= cfg.Execute {
		return nil, fmt.Errorf("control: PrefetchAt %d is outside [-1, %d]", cfg.PrefetchAt, cfg.Execute-1)
	}
	if cfg.EnsembleDecay == 0 {
		cfg.EnsembleDecay = 0.01
	}
	if math.IsNaN(cfg.EnsembleDecay) || math.IsInf(cfg.EnsembleDecay, 0) || cfg.EnsembleDecay < 0 {
		return nil, fmt.Errorf("control: EnsembleDecay must be finite and non-negative, got %v", cfg.EnsembleDecay)
	}
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("control: Steps must not be negative, got %d", cfg.Steps)
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	period := spec.Period()
	if span, limit := time.Duration(cfg.Execute-1)*period, cfg.Filter.Config().PolicyTimeout; span >= limit {
		return nil, fmt.Errorf("control: executing %d actions per chunk at %g Hz spans %v, not under the safety filter's policy timeout %v", cfg.Execute, spec.ControlRate, span, limit)
	}
	return &Loop{cfg: cfg, period: period, d: spec.ActionDim(), k: cfg.Execute}, nil
}

// Config returns the loop's configuration with defaults applied.
func (l *Loop) Config() Config { return l.cfg }

// Stats returns a snapshot of the loop's counters and latencies.
func (l *Loop) Stats() Stats {
	s := l.c.snapshot()
	s.Safety = l.cfg.Filter.Stats()
	return s
}

// Run runs the loop until ctx ends or Steps ticks are done, then brings the
// robot to a controlled stop (through the filter, within StopTimeout) and
// returns nil. Sensor, policy and actuator errors are counted and logged,
// not returned: the filter's watchdogs stop the robot when they persist. A
// loop runs at most once at a time.
func (l *Loop) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("control: loop is already running")
	}
	defer l.running.Store(false)
	if r, ok := l.cfg.Policy.(policy.Resetter); ok {
		r.Reset()
	}
	ictx, cancel := context.WithCancel(ctx)
	r := &run{l: l, ctx: ictx, results: make(chan result, 1), mix: make([]float32, l.d)}
	defer func() {
		cancel()
		r.wg.Wait()
	}()

	ticker := time.NewTicker(l.period)
	defer ticker.Stop()
	r.start = time.Now()
	for n := 0; l.cfg.Steps == 0 || n < l.cfg.Steps; n++ {
		if ctx.Err() != nil {
			break
		}
		r.tick(ctx)
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
	// Stop first: a policy slow to honour cancellation must not delay it.
	cancel()
	r.stop(ctx)
	return nil
}

type result struct {
	chunk   *policy.Chunk
	err     error
	tick    int64
	took    time.Duration
	arrived time.Time
}

// active is a chunk being executed: its action i is for tick start+i.
type active struct {
	chunk   *policy.Chunk
	start   int64
	arrived time.Time
}

// run is one Run's state, owned by the loop goroutine.
type run struct {
	l       *Loop
	ctx     context.Context // for inference; ends with Run
	start   time.Time
	results chan result
	wg      sync.WaitGroup

	inFlight   bool
	chunks     []active // oldest first; open loop keeps only the newest
	state      []float32
	observedAt time.Time
	mix        []float32
}

func (r *run) tick(ctx context.Context) {
	l := r.l
	begin := time.Now()
	// Ticks are numbered by wall time so that dropped ticks keep chunks
	// aligned.
	now := int64((begin.Sub(r.start) + l.period/2) / l.period)

	obs := r.capture(ctx)
	r.collect()
	r.chunks = slices.DeleteFunc(r.chunks, func(a active) bool { return a.start+int64(l.k) <= now })
	launched := obs != nil && !r.inFlight && (l.cfg.Ensemble || r.left(now) <= max(l.cfg.PrefetchAt, 0))
	if launched {
		r.launch(obs, now)
	}
	if r.inFlight && (r.left(now) == 0 || (l.cfg.Ensemble && launched)) {
		wait := time.NewTimer(time.Until(begin.Add(l.period / 2)))
		select {
		case res := <-r.results:
			r.install(res)
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
	}
	action, chunkAt := r.action(now)
	if action == nil {
		l.c.add(&l.c.starved, 1)
	}

	t := time.Now()
	cmd, events := l.cfg.Filter.Check(t, safety.Input{Action: action, State: r.state, ObservedAt: r.observedAt, ChunkAt: chunkAt})
	l.c.record(check, time.Since(t))
	for _, e := range events {
		l.cfg.Logger.Debug("safety event", "kind", e.Kind, "dim", e.Dim, "value", e.Value, "reason", e.Reason)
	}
	r.publish(ctx, cmd, begin.Add(l.period))

	took := time.Since(begin)
	l.c.record(tick, took)
	l.c.mu.Lock()
	l.c.ticks++
	if took > l.period {
		l.c.overruns++
	}
	l.c.mu.Unlock()
}

// capture reads the sensor and prepares the observation; it returns nil when
// there is no new, fresh observation to plan from.
func (r *run) capture(ctx context.Context) *policy.Observation {
	l := r.l
	t := time.Now()
	rd, err := l.cfg.Sensor.Observe(ctx)
	l.c.record(capture, time.Since(t))
	if err != nil {
		l.c.add(&l.c.captureErrs, 1)
		l.cfg.Logger.Warn("capture failed", "err", err)
		return nil
	}
	t = time.Now()
	err = r.prepare(rd)
	l.c.record(preprocess, time.Since(t))
	if err != nil {
		l.c.add(&l.c.captureErrs, 1)
		l.cfg.Logger.Warn("bad observation", "err", err)
		return nil
	}
	if !rd.Time.After(r.observedAt) {
		return nil // nothing new (a frozen source)
	}
	r.state, r.observedAt = rd.Observation.State, rd.Time
	if time.Since(rd.Time) > l.cfg.Filter.Config().ObservationTimeout {
		return nil // too old to plan from; the filter stops the robot
	}
	return rd.Observation
}

// prepare checks an observation against the embodiment and sets the prompt.
func (r *run) prepare(rd Reading) error {
	spec := r.l.cfg.Filter.Spec()
	obs := rd.Observation
	if obs == nil {
		return errors.New("control: nil observation")
	}
	if rd.Time.IsZero() {
		return errors.New("control: observation has no timestamp")
	}
	for _, c := range spec.Cameras {
		im, ok := obs.Images[c.Name]
		if !ok {
			return fmt.Errorf("control: observation lacks camera %q", c.Name)
		}
		if err := im.Validate(); err != nil {
			return fmt.Errorf("control: camera %q: %w", c.Name, err)
		}
		if im.W != c.Width || im.H != c.Height {
			return fmt.Errorf("control: camera %q is %dx%d, embodiment wants %dx%d", c.Name, im.W, im.H, c.Width, c.Height)
		}
	}
	if n := spec.StateDim(); n != 0 && len(obs.State) != n {
		return fmt.Errorf("control: state has %d values, embodiment %q has %d", len(obs.State), spec.Name, n)
	}
	obs.Prompt = r.l.cfg.Prompt
	return nil
}

func (r *run) launch(obs *policy.Observation, now int64) {
	r.inFlight = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.Now()
		c, err := r.l.cfg.Policy.Act(r.ctx, obs)
		r.results <- result{chunk: c, err: err, tick: now, took: time.Since(t), arrived: time.Now()}
	}()
}

// collect installs a chunk that has arrived, without waiting.
func (r *run) collect() {
	select {
	case res := <-r.results:
		r.install(res)
	default:
	}
}

func (r *run) install(res result) {
	l := r.l
	r.inFlight = false
	l.c.record(inference, res.took)
	err := res.err
	if err == nil {
		err = res.chunk.Validate()
	}
	if err == nil && (res.chunk.D != l.d || res.chunk.H < l.k) {
		err = fmt.Errorf("control: chunk is %dx%d, want %d-D with at least %d actions", res.chunk.H, res.chunk.D, l.d, l.k)
	}
	if err != nil {
		l.c.add(&l.c.policyErrs, 1)
		if r.ctx.Err() == nil {
			l.cfg.Logger.Warn("policy failed", "err", err)
		}
		return
	}
	l.c.add(&l.c.chunks, 1)
	a := active{chunk: res.chunk, start: res.tick, arrived: res.arrived}
	if l.cfg.Ensemble {
		r.chunks = append(r.chunks, a)
	} else {
		r.chunks = append(r.chunks[:0], a)
	}
}

// left returns how many actions the newest chunk has for tick now and after.
func (r *run) left(now int64) int {
	if len(r.chunks) == 0 {
		return 0
	}
	return max(0, int(r.chunks[len(r.chunks)-1].start+int64(r.l.k)-now))
}

// action returns the action for tick now (nil if none) and when the newest
// chunk contributing to it arrived.
func (r *run) action(now int64) ([]float32, time.Time) {
	if !r.l.cfg.Ensemble {
		if len(r.chunks) == 0 {
			return nil, time.Time{}
		}
		a := r.chunks[0]
		i := now - a.start
		if i < 0 || i >= int64(r.l.k) {
			return nil, time.Time{}
		}
		return a.chunk.Action(int(i)), a.arrived
	}
	var (
		sum     [64]float64 // specs have at most 64 dimensions
		wsum    float64
		j       int
		arrived time.Time
	)
	for _, a := range r.chunks {
		i := now - a.start
		if i < 0 || i >= int64(r.l.k) {
			continue
		}
		w := math.Exp(-r.l.cfg.EnsembleDecay * float64(j))
		for d, v := range a.chunk.Action(int(i)) {
			sum[d] += w * float64(v)
		}
		wsum += w
		j++
		arrived = a.arrived
	}
	if j == 0 {
		return nil, time.Time{}
	}
	for d := range r.mix {
		r.mix[d] = float32(sum[d] / wsum)
	}
	return r.mix, arrived
}

func (r *run) publish(ctx context.Context, cmd safety.Command, deadline time.Time) {
	l := r.l
	if !cmd.Send {
		if cmd.Values != nil {
			l.c.add(&l.c.dryRun, 1)
		}
		return
	}
	sctx, cancel := context.WithDeadline(ctx, deadline)
	t := time.Now()
	err := l.cfg.Actuator.Send(sctx, cmd)
	l.c.record(publish, time.Since(t))
	cancel()
	if err != nil {
		l.c.add(&l.c.sendErrs, 1)
		l.cfg.Logger.Warn("send failed", "err", err)
		return
	}
	l.c.add(&l.c.sent, 1)
}

// stop ramps the robot to a stop through the filter, one command per
// period, until the filter reports it stopped or StopTimeout passes.
func (r *run) stop(ctx context.Context) {
	l := r.l
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.StopTimeout)
	defer cancel()
	ticker := time.NewTicker(l.period)
	defer ticker.Stop()
	for {
		now := time.Now()
		cmd, _ := l.cfg.Filter.Check(now, safety.Input{State: r.state, ObservedAt: r.observedAt})
		r.publish(sctx, cmd, now.Add(l.period))
		if cmd.Mode == safety.ModeStopped {
			return
		}
		select {
		case <-sctx.Done():
			l.cfg.Logger.Warn("controlled stop did not finish", "timeout", l.cfg.StopTimeout)
			return
		case <-ticker.C:
		}
	}
}
