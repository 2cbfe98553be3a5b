// Package controltest provides fakes of the control loop's edges for tests:
// a Sensor, an Actuator that records commands and a Policy with a
// configurable latency.
package controltest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// Sensor returns observations shaped for an embodiment.
type Sensor struct {
	// ObserveFunc, when set, answers Observe instead of the default.
	ObserveFunc func(ctx context.Context) (control.Reading, error)

	images map[string]policy.Image
	mu     sync.Mutex
	state  []float32
	calls  int
}

// NewSensor returns a sensor whose observations have a black image per
// camera of spec and a zero state of spec's size, stamped time.Now().
func NewSensor(spec *embodiment.Spec) *Sensor {
	s := &Sensor{images: map[string]policy.Image{}, state: make([]float32, spec.StateDim())}
	for _, c := range spec.Cameras {
		s.images[c.Name] = policy.Image{Pix: make([]uint8, c.Width*c.Height*3), H: c.Height, W: c.Width}
	}
	return s
}

// SetState sets the state future observations report (copied).
func (s *Sensor) SetState(state []float32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = append(s.state[:0], state...)
}

// Calls returns how many times Observe was called.
func (s *Sensor) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Observe implements control.Sensor. Images are shared between
// observations and must not be modified.
func (s *Sensor) Observe(ctx context.Context) (control.Reading, error) {
	s.mu.Lock()
	s.calls++
	state := append([]float32(nil), s.state...)
	s.mu.Unlock()
	if s.ObserveFunc != nil {
		return s.ObserveFunc(ctx)
	}
	return control.Reading{Observation: &policy.Observation{Images: s.images, State: state}, Time: time.Now()}, nil
}

// Actuator records the commands it receives.
type Actuator struct {
	// Err, when set, is returned by Send (the command is still recorded).
	Err error

	mu   sync.Mutex
	cmds []safety.Command
}

// Send implements control.Actuator.
func (a *Actuator) Send(ctx context.Context, cmd safety.Command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cmds = append(a.cmds, cmd)
	return a.Err
}

// Commands returns a copy of the commands received so far.
func (a *Actuator) Commands() []safety.Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]safety.Command(nil), a.cmds...)
}

// Policy answers after Latency with chunks whose values Value chooses.
type Policy struct {
	// D and H are the chunk's shape.
	D, H int
	// Latency is how long each Act takes. It defaults to 0.
	Latency time.Duration
	// Value gives the value of dimension d of action i in the n-th chunk
	// (from 0). It defaults to 100·n + i.
	Value func(n, i, d int) float32
	// Err, when set, is returned by Act.
	Err error

	mu    sync.Mutex
	calls int
	obs   []*policy.Observation
}

// Spec implements policy.Policy.
func (p *Policy) Spec() policy.Spec { return policy.Spec{Name: "fake", ActionDim: p.D, Horizon: p.H} }

// Calls returns how many chunks were asked for.
func (p *Policy) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Observations returns the observations Act received.
func (p *Policy) Observations() []*policy.Observation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*policy.Observation(nil), p.obs...)
}

// Act implements policy.Policy.
func (p *Policy) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	p.mu.Lock()
	n := p.calls
	p.calls++
	p.obs = append(p.obs, obs)
	p.mu.Unlock()
	if p.Latency > 0 {
		t := time.NewTimer(p.Latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	if p.Err != nil {
		return nil, p.Err
	}
	if p.D <= 0 || p.H <= 0 {
		return nil, errors.New("controltest: policy needs positive D and H")
	}
	c := &policy.Chunk{H: p.H, D: p.D, Actions: make([]float32, p.H*p.D)}
	for i := range p.H {
		for d := range p.D {
			v := float32(100*n + i)
			if p.Value != nil {
				v = p.Value(n, i, d)
			}
			c.Actions[i*p.D+d] = v
		}
	}
	return c, nil
}
