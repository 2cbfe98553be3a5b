package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/safety"
	"github.com/vstgo/vst/sim"
	"github.com/vstgo/vst/sim/suite"
)

// SimResult is how a simulated episode went.
type SimResult struct {
	// Task and Episode identify the episode (Episode is the task's initial
	// state number).
	Task    *suite.Task
	Episode int
	// Steps is the number of actions the simulator executed.
	Steps int
	// Done reports that the simulator ended the episode (success, step
	// limit or failure); Success that the goal holds.
	Done, Success bool
	// Reason explains an unsuccessful end ("step limit 220 reached", a
	// simulator failure); empty on success or while running.
	Reason string
}

// Result is the episode result's name for events: "success", "timeout"
// (step limit), "failure" or "incomplete" (not done).
func (r SimResult) Result() string {
	switch {
	case r.Success:
		return "success"
	case !r.Done:
		return "incomplete"
	case r.Reason != "" && r.Reason == fmt.Sprintf("step limit %d reached", r.Task.MaxSteps):
		return "timeout"
	}
	return "failure"
}

// Sim is a simulated task as the control loop's Sensor and Actuator: Send
// steps the simulator with the command's values, Observe returns the
// latest observation. The simulator's world does not change between steps,
// so an observation is stamped with the time it is read: a dry-run
// controller (nothing sent) keeps seeing a fresh, still world.
//
// The Env is not safe for concurrent use, so every access goes through
// Sim's lock; wrap policies that read the Env (the scripted expert) with
// Locked.
type Sim struct {
	task *suite.Task
	env  *sim.Env

	mu   sync.Mutex
	obs  *sim.Obs
	res  SimResult
	done chan struct{}
}

var (
	_ control.Sensor   = (*Sim)(nil)
	_ control.Actuator = (*Sim)(nil)
)

// NewSim wraps env, built by task.NewEnv. Call Reset before the first
// episode.
func NewSim(task *suite.Task, env *sim.Env) *Sim {
	s := &Sim{task: task, env: env, done: make(chan struct{})}
	close(s.done)
	return s
}

// Reset puts the simulator in the task's initial state number episode and
// starts a new episode.
func (s *Sim) Reset(episode int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obs, err := s.task.Reset(s.env, episode)
	if err != nil {
		return fmt.Errorf("sim: reset episode %d: %w", episode, err)
	}
	s.obs = obs
	s.res = SimResult{Task: s.task, Episode: episode}
	s.done = make(chan struct{})
	return nil
}

// Env returns the simulator, for policies that read its privileged state
// (wrap them with Locked).
func (s *Sim) Env() *sim.Env { return s.env }

// Done is closed when the simulator ends the current episode (also before
// the first Reset).
func (s *Sim) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Result returns the current episode's result so far.
func (s *Sim) Result() SimResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res
}

// Observe implements control.Sensor.
func (s *Sim) Observe(context.Context) (control.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.obs == nil {
		return control.Reading{}, errors.New("sim: not reset")
	}
	return control.Reading{Observation: s.obs.Policy(""), Time: time.Now()}, nil
}

// Send implements control.Actuator: one simulator step with the command's
// values. Once the episode is over, commands are ignored.
func (s *Sim) Send(_ context.Context, cmd safety.Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.obs == nil {
		return errors.New("sim: not reset")
	}
	if s.res.Done {
		return nil
	}
	obs, info, err := s.env.Step(cmd.Values)
	if err != nil {
		return fmt.Errorf("sim: step: %w", err)
	}
	s.obs = obs
	s.res.Steps = info.Step
	if info.Done {
		s.res.Done, s.res.Success = true, info.Success
		switch {
		case info.Failure != "":
			s.res.Reason = info.Failure
		case !info.Success:
			s.res.Reason = fmt.Sprintf("step limit %d reached", s.task.MaxSteps)
		}
		close(s.done)
	}
	return nil
}

// Locked wraps a policy that reads the simulator (the scripted expert) so
// that its Act holds the simulator's lock. It forwards policy.Resetter.
func (s *Sim) Locked(p policy.Policy) policy.Policy { return &locked{p: p, mu: &s.mu} }

type locked struct {
	p  policy.Policy
	mu *sync.Mutex
}

func (l *locked) Spec() policy.Spec { return l.p.Spec() }

func (l *locked) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.Act(ctx, obs)
}

func (l *locked) Reset() {
	if r, ok := l.p.(policy.Resetter); ok {
		l.mu.Lock()
		r.Reset()
		l.mu.Unlock()
	}
}
