package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/safety"
)

// Frames is a source of camera frames; *camera.Camera is one.
type Frames interface {
	// Latest returns the newest frame without waiting; false means none yet.
	Latest() (camera.Frame, bool)
}

// CameraSensor combines camera frames with another sensor's observation
// (the robot's state and any cameras not listed here, e.g. from ROS). It
// implements control.Sensor.
type CameraSensor struct {
	// Cameras maps embodiment camera names to their frame sources.
	Cameras map[string]Frames
	// Rest supplies the state and the other cameras. Nil means none: the
	// state is empty (only for embodiments without state).
	Rest control.Sensor
}

// Observe implements control.Sensor. The reading's time is the oldest of
// its parts'; it fails while a camera has no frame yet.
func (s *CameraSensor) Observe(ctx context.Context) (control.Reading, error) {
	obs := &policy.Observation{Images: make(map[string]policy.Image, len(s.Cameras))}
	var oldest time.Time
	if s.Rest != nil {
		rd, err := s.Rest.Observe(ctx)
		if err != nil {
			return control.Reading{}, err
		}
		if rd.Observation == nil {
			return control.Reading{}, errors.New("node: nil observation")
		}
		for k, v := range rd.Observation.Images {
			obs.Images[k] = v
		}
		obs.State = rd.Observation.State
		oldest = rd.Time
	}
	for name, c := range s.Cameras {
		f, ok := c.Latest()
		if !ok {
			return control.Reading{}, fmt.Errorf("node: camera %q has no frame yet", name)
		}
		obs.Images[name] = f.Image
		if oldest.IsZero() || f.Time.Before(oldest) {
			oldest = f.Time
		}
	}
	return control.Reading{Observation: obs, Time: oldest}, nil
}

// Fake is a sensor without hardware: black images of the embodiment's
// camera sizes and a zero state (or the one set), stamped now. With
// Discard it runs the controller with nothing attached, to measure its
// overhead.
type Fake struct {
	images map[string]policy.Image
	state  []float32
}

// NewFake returns a fake sensor for spec.
func NewFake(spec *embodiment.Spec) *Fake {
	f := &Fake{images: map[string]policy.Image{}, state: make([]float32, spec.StateDim())}
	for _, c := range spec.Cameras {
		f.images[c.Name] = policy.Image{Pix: make([]uint8, c.Width*c.Height*3), H: c.Height, W: c.Width}
	}
	return f
}

// Observe implements control.Sensor. Images are shared: do not modify them.
func (f *Fake) Observe(context.Context) (control.Reading, error) {
	return control.Reading{Observation: &policy.Observation{Images: f.images, State: slices.Clone(f.state)}, Time: time.Now()}, nil
}

// Discard is an actuator that drops every command.
type Discard struct{}

// Send implements control.Actuator.
func (Discard) Send(context.Context, safety.Command) error { return nil }

// Recorder wraps an actuator and keeps track of what reached it: the
// number of commands, the last one and each dimension's extremes.
type Recorder struct {
	// Next receives the commands.
	Next control.Actuator

	mu       sync.Mutex
	n        uint64
	last     []float32
	min, max []float32
}

// Send implements control.Actuator.
func (r *Recorder) Send(ctx context.Context, cmd safety.Command) error {
	r.mu.Lock()
	r.n++
	r.last = append(r.last[:0], cmd.Values...)
	if len(r.min) != len(cmd.Values) {
		r.min, r.max = slices.Clone(cmd.Values), slices.Clone(cmd.Values)
	}
	for i, v := range cmd.Values {
		r.min[i] = min(r.min[i], v)
		r.max[i] = max(r.max[i], v)
	}
	r.mu.Unlock()
	return r.Next.Send(ctx, cmd)
}

// Record is a Recorder's summary.
type Record struct {
	// Commands is the number of commands sent.
	Commands uint64 `json:"commands"`
	// Last is the last command's values; Min and Max each dimension's
	// extremes (nil before the first command).
	Last []float32 `json:"last,omitempty"`
	Min  []float32 `json:"min,omitempty"`
	Max  []float32 `json:"max,omitempty"`
}

// Record returns a copy of what the recorder saw.
func (r *Recorder) Record() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Record{Commands: r.n, Last: slices.Clone(r.last), Min: slices.Clone(r.min), Max: slices.Clone(r.max)}
}

// Guard is an actuator that refuses every command while its filter runs
// dry: a second line behind the filter's own dry-run mode, so that a
// dry-run controller can be wired to real publishers (checking their
// setup) with no way of sending.
type Guard struct {
	// Filter decides: while Filter.DryRun(), nothing passes.
	Filter *safety.Filter
	// Next receives the commands otherwise.
	Next control.Actuator
}

// ErrDryRun is returned by Guard.Send in dry-run mode.
var ErrDryRun = errors.New("node: dry run: command not sent")

// Send implements control.Actuator.
func (g Guard) Send(ctx context.Context, cmd safety.Command) error {
	if g.Filter.DryRun() || !cmd.Send {
		return ErrDryRun
	}
	for _, v := range cmd.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.New("node: non-finite command refused")
		}
	}
	return g.Next.Send(ctx, cmd)
}
