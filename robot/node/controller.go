// Package node wires the robot controller's parts into a running node:
// Controller runs episodes of a control.Loop and takes the fleet's commands
// (start, stop, e-stop, reset); Sim drives the simulator as the loop's
// sensor and actuator; CameraSensor combines camera frames with another
// sensor's state; Recorder, Guard, Fake and Discard are small actuator and
// sensor adapters; Telemetry and Monitor map the loop's and the safety
// filter's statistics to MQTT telemetry and events.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/mqtt"
	"github.com/vstgo/vst/robot/safety"
)

// How an episode ended.
const (
	// EndSteps: the loop ran its Steps ticks.
	EndSteps = "steps"
	// EndDone: the episode ended by itself (Config.Begin's channel closed,
	// e.g. the simulator reached the goal or its step limit).
	EndDone = "done"
	// EndStopped: Stop, a new Start or the controller's context ended it.
	EndStopped = "stopped"
)

var (
	errStopped = errors.New("stopped")
	errDone    = errors.New("done")
)

// Config configures a Controller.
type Config struct {
	// Loop is the template of every episode's loop; its Prompt is the
	// first instruction and its Steps bound each episode. Required fields
	// as for control.New.
	Loop control.Config
	// FirstEpisode is the number of the first episode; later ones count up.
	FirstEpisode int
	// Begin, when set, prepares episode n before its loop starts (e.g.
	// resets the simulator) and returns a channel closed when the episode
	// ends by itself, or nil.
	Begin func(n int) (<-chan struct{}, error)
	// Logger receives the controller's log lines. It defaults to Loop.Logger.
	Logger *slog.Logger
}

// Episode is one run of the loop.
type Episode struct {
	// Number and Prompt identify it.
	Number int
	Prompt string
	// Start and End are when the loop started and when its controlled
	// stop finished.
	Start, End time.Time
	// Ended says why it ended: EndSteps, EndDone or EndStopped.
	Ended string
	// Stats is the loop's final snapshot.
	Stats control.Stats
}

// Controller runs a control loop one episode at a time and takes commands.
// Its methods are safe for concurrent use.
type Controller struct {
	cfg Config
	ctx context.Context
	log *slog.Logger

	op       sync.Mutex // serialises Start, Stop and Close
	mu       sync.Mutex
	loop     *control.Loop // current or last
	cancel   context.CancelCauseFunc
	finished chan struct{}
	running  bool
	closed   bool
	episode  int
	prompt   string
	episodes chan Episode

	telMu     sync.Mutex
	lastTicks uint64
	lastTime  time.Time
}

// NewController checks cfg by building a loop from it. ctx bounds every
// episode: when it ends, the current one stops (controlled).
func NewController(ctx context.Context, cfg Config) (*Controller, error) {
	l, err := control.New(cfg.Loop)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = l.Config().Logger
	}
	return &Controller{cfg: cfg, ctx: ctx, log: cfg.Logger, loop: l, episode: cfg.FirstEpisode - 1,
		prompt: cfg.Loop.Prompt, episodes: make(chan Episode, 64)}, nil
}

// Episodes delivers each finished episode. It holds the last 64 if nobody
// reads them.
func (c *Controller) Episodes() <-chan Episode { return c.episodes }

// Filter returns the safety filter.
func (c *Controller) Filter() *safety.Filter { return c.cfg.Loop.Filter }

// Start ends the current episode, if any, with a controlled stop and
// begins the next one with prompt as its instruction ("" keeps the
// previous one). It returns once the new loop runs.
func (c *Controller) Start(prompt string) error {
	c.op.Lock()
	defer c.op.Unlock()
	if c.closed {
		return errors.New("node: controller closed")
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	c.stopLocked()
	c.mu.Lock()
	if prompt != "" {
		c.prompt = prompt
	}
	n, p := c.episode+1, c.prompt
	c.mu.Unlock()
	var done <-chan struct{}
	if c.cfg.Begin != nil {
		var err error
		if done, err = c.cfg.Begin(n); err != nil {
			return err
		}
	}
	lc := c.cfg.Loop
	lc.Prompt = p
	l, err := control.New(lc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(c.ctx)
	finished := make(chan struct{})
	c.mu.Lock()
	c.loop, c.cancel, c.finished, c.running, c.episode = l, cancel, finished, true, n
	c.mu.Unlock()
	c.telMu.Lock()
	c.lastTicks, c.lastTime = 0, time.Now()
	c.telMu.Unlock()
	if done != nil {
		go func() {
			select {
			case <-done:
				cancel(errDone)
			case <-ctx.Done():
			}
		}()
	}
	c.log.Info("episode started", "episode", n, "instruction", p)
	go func() {
		defer close(finished)
		ep := Episode{Number: n, Prompt: p, Start: time.Now()}
		_ = l.Run(ctx)
		ep.End = time.Now()
		switch cause := context.Cause(ctx); {
		case cause == nil:
			ep.Ended = EndSteps
		case errors.Is(cause, errDone):
			ep.Ended = EndDone
		default:
			ep.Ended = EndStopped
		}
		cancel(nil)
		ep.Stats = l.Stats()
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
		c.log.Info("episode ended", "episode", n, "ended", ep.Ended, "ticks", ep.Stats.Ticks)
		select {
		case c.episodes <- ep:
		default:
			c.log.Warn("episode result dropped: nobody reads them", "episode", n)
		}
	}()
	return nil
}

// Stop ends the current episode with a controlled stop and waits for it;
// it reports whether one was running.
func (c *Controller) Stop() bool {
	c.op.Lock()
	defer c.op.Unlock()
	return c.stopLocked()
}

func (c *Controller) stopLocked() bool {
	c.mu.Lock()
	cancel, finished, running := c.cancel, c.finished, c.running
	c.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel(errStopped)
	<-finished
	return running
}

// Wait waits for the current episode, if any, to end by itself or be
// stopped.
func (c *Controller) Wait() {
	c.mu.Lock()
	finished := c.finished
	c.mu.Unlock()
	if finished != nil {
		<-finished
	}
}

// Close stops the current episode and refuses new ones.
func (c *Controller) Close() {
	c.op.Lock()
	defer c.op.Unlock()
	c.closed = true
	c.stopLocked()
}

// Running reports whether an episode is running.
func (c *Controller) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// Stats returns the current (or last) episode's loop statistics.
func (c *Controller) Stats() control.Stats {
	c.mu.Lock()
	l := c.loop
	c.mu.Unlock()
	return l.Stats()
}

// EStop latches the filter's emergency stop.
func (c *Controller) EStop(reason string) safety.Event {
	return c.cfg.Loop.Filter.EStop(time.Now(), reason)
}

// Reset releases the emergency stop.
func (c *Controller) Reset() safety.Event { return c.cfg.Loop.Filter.Reset(time.Now()) }

// Handle executes a fleet command: estop and reset go to the safety
// filter; start begins a new episode with the command's instruction
// (after a controlled stop of the current one); stop ends the current
// episode with a controlled stop. It is mqtt.Config's OnCommand.
func (c *Controller) Handle(_ context.Context, cmd mqtt.Command) error {
	switch cmd.Cmd {
	case mqtt.CmdEStop:
		c.EStop("e-stop (mqtt)")
		c.log.Warn("e-stop latched by command")
	case mqtt.CmdReset:
		c.Reset()
		c.log.Info("e-stop released by command")
	case mqtt.CmdStart:
		if c.cfg.Loop.Filter.EStopped() {
			return errors.New("start refused: the e-stop is latched (send reset first)")
		}
		return c.Start(cmd.Instruction)
	case mqtt.CmdStop:
		if !c.Stop() {
			return errors.New("stop: no episode is running")
		}
	default:
		return fmt.Errorf("unknown command %q", cmd.Cmd)
	}
	return nil
}

// Telemetry returns the telemetry snapshot of now: mode, measured loop
// rate (since the previous call), per-stage latency, last action (from
// last, which may be nil), the filter's event count and the episode. It
// is what mqtt.Config's Telemetry calls, through a closure supplying last.
func (c *Controller) Telemetry(last []float32) mqtt.Telemetry {
	c.mu.Lock()
	l, running, ep, prompt := c.loop, c.running, c.episode, c.prompt
	c.mu.Unlock()
	st := l.Stats()
	now := time.Now()
	c.telMu.Lock()
	rate := 0.0
	if dt := now.Sub(c.lastTime).Seconds(); running && dt > 0 && st.Ticks >= c.lastTicks {
		rate = float64(st.Ticks-c.lastTicks) / dt
	}
	c.lastTicks, c.lastTime = st.Ticks, now
	c.telMu.Unlock()
	t := TelemetryOf(st, last)
	t.Time = now
	t.Mode = ModeOf(running, st.Safety)
	t.LoopRate = rate
	t.Episode, t.Task = ep, prompt
	return t
}
