// Package policy defines what every vst-go controller speaks: a Policy maps
// an Observation (named camera images, proprioceptive state, a language
// instruction) to an action Chunk of H future actions of D dimensions. The
// VLA model, the simulator's scripted experts, remote policy servers and the
// simple baselines here all implement it; the policy server, the benchmark
// runner and the robot control loop consume it.
package policy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Image is an 8-bit RGB image in row-major HWC order.
type Image struct {
	Pix  []uint8
	H, W int
}

// Validate checks that Pix holds exactly H·W·3 bytes.
func (im Image) Validate() error {
	if im.H <= 0 || im.W <= 0 || len(im.Pix) != im.H*im.W*3 {
		return fmt.Errorf("image %dx%d needs %d RGB bytes, has %d", im.H, im.W, im.H*im.W*3, len(im.Pix))
	}
	return nil
}

// Observation is what a policy sees at one control step.
type Observation struct {
	// Images maps camera names (e.g. "agentview", "wrist") to frames.
	Images map[string]Image
	// State is the proprioceptive state (e.g. end-effector pose and
	// gripper), unnormalised, in the embodiment's units.
	State []float32
	// Prompt is the language instruction.
	Prompt string
	// Extra carries any other named inputs a remote client sent, for
	// policies that want them. It may be nil.
	Extra map[string]any
}

// Chunk is a policy's answer: H actions of D dimensions, row-major, in the
// embodiment's units (unnormalised).
type Chunk struct {
	// Actions holds H·D values.
	Actions []float32
	// H is the horizon (number of actions) and D the action dimension.
	H, D int
	// Timing reports named durations in milliseconds (e.g. "infer_ms").
	Timing map[string]float64
}

// Action returns action i as a slice of D values (a view).
func (c *Chunk) Action(i int) []float32 { return c.Actions[i*c.D : (i+1)*c.D] }

// Validate checks the chunk's shape.
func (c *Chunk) Validate() error {
	if c.H <= 0 || c.D <= 0 || len(c.Actions) != c.H*c.D {
		return fmt.Errorf("action chunk %dx%d needs %d values, has %d", c.H, c.D, c.H*c.D, len(c.Actions))
	}
	return nil
}

// Spec describes a policy's interface.
type Spec struct {
	// Name identifies the policy in logs and results.
	Name string
	// ActionDim is D and Horizon is H of every chunk.
	ActionDim, Horizon int
	// Cameras lists the image names the policy reads; empty means none.
	Cameras []string
	// StateDim is the length of State the policy expects (0: ignored).
	StateDim int
	// Metadata is sent to remote clients on connect (openpi's metadata
	// frame). It may be nil.
	Metadata map[string]any
}

// Policy maps observations to action chunks. Implementations must be safe
// for concurrent Act calls or document otherwise.
type Policy interface {
	// Spec describes the policy.
	Spec() Spec
	// Act returns the next action chunk for obs.
	Act(ctx context.Context, obs *Observation) (*Chunk, error)
}

// BatchPolicy is implemented by policies that answer several observations
// in one model call more cheaply than one by one (the server batches
// concurrent clients through it).
type BatchPolicy interface {
	Policy
	// ActBatch answers each observation; the result has the same order.
	ActBatch(ctx context.Context, obs []*Observation) ([]*Chunk, error)
}

// Resetter is implemented by policies that keep per-episode state.
type Resetter interface {
	// Reset clears that state before a new episode.
	Reset()
}

// Constant always returns the same action, repeated over the horizon.
type Constant struct {
	action  []float32
	horizon int
}

// NewConstant returns a policy that repeats action for horizon steps.
func NewConstant(action []float32, horizon int) (*Constant, error) {
	if len(action) == 0 || horizon <= 0 {
		return nil, fmt.Errorf("constant policy needs a non-empty action and a positive horizon, got %d dims, horizon %d", len(action), horizon)
	}
	for i, v := range action {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("constant policy: action[%d] is %v", i, v)
		}
	}
	return &Constant{action: append([]float32(nil), action...), horizon: horizon}, nil
}

// Spec implements Policy.
func (p *Constant) Spec() Spec {
	return Spec{Name: "constant", ActionDim: len(p.action), Horizon: p.horizon}
}

// Act implements Policy.
func (p *Constant) Act(ctx context.Context, _ *Observation) (*Chunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &Chunk{H: p.horizon, D: len(p.action), Actions: make([]float32, 0, p.horizon*len(p.action))}
	for range p.horizon {
		c.Actions = append(c.Actions, p.action...)
	}
	return c, nil
}

// Random samples each action dimension uniformly in [Low[i], High[i]] from
// a seeded generator: a baseline and a fuzzer for the safety layer.
type Random struct {
	low, high []float32
	horizon   int
	mu        sync.Mutex
	rng       *rand.Rand
}

// NewRandom returns a seeded uniform random policy.
func NewRandom(low, high []float32, horizon int, seed uint64) (*Random, error) {
	if len(low) == 0 || len(low) != len(high) || horizon <= 0 {
		return nil, fmt.Errorf("random policy needs equal-length non-empty bounds and a positive horizon, got %d/%d dims, horizon %d", len(low), len(high), horizon)
	}
	for i := range low {
		if !(low[i] <= high[i]) {
			return nil, fmt.Errorf("random policy: bound %d: low %v above high %v", i, low[i], high[i])
		}
	}
	return &Random{low: append([]float32(nil), low...), high: append([]float32(nil), high...), horizon: horizon, rng: rand.New(rand.NewPCG(seed, 0))}, nil
}

// Spec implements Policy.
func (p *Random) Spec() Spec { return Spec{Name: "random", ActionDim: len(p.low), Horizon: p.horizon} }

// Act implements Policy.
func (p *Random) Act(ctx context.Context, _ *Observation) (*Chunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := len(p.low)
	c := &Chunk{H: p.horizon, D: d, Actions: make([]float32, p.horizon*d)}
	for i := range c.Actions {
		j := i % d
		c.Actions[i] = p.low[j] + (p.high[j]-p.low[j])*p.rng.Float32()
	}
	return c, nil
}
