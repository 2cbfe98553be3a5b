package node

import (
	"sync"

	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/mqtt"
	"github.com/vstgo/vst/robot/safety"
)

// ModeOf names what the robot does for telemetry: "estop" while the
// e-stop is latched, "idle" without a running loop, "dry_run" when the
// filter withholds commands, "stopping" during a controlled stop (or
// "stopped" once it is complete) and "running" otherwise.
func ModeOf(running bool, s safety.Stats) string {
	switch {
	case s.EStopped:
		return "estop"
	case !running:
		return "idle"
	case s.DryRun:
		return "dry_run"
	case s.Mode == safety.ModeStopping:
		return "stopping"
	case s.Mode == safety.ModeStopped:
		return "stopped"
	}
	return "running"
}

// TelemetryOf maps a loop's statistics to telemetry: per-stage latency,
// the safety event total and last as the last action. Mode, rate, time and
// episode are left to the caller.
func TelemetryOf(s control.Stats, last []float32) mqtt.Telemetry {
	lat := func(stage string) mqtt.Latency {
		l := s.Latency[stage]
		return mqtt.LatencyOf(l.P50, l.P99)
	}
	t := mqtt.Telemetry{Latency: mqtt.Stages{
		Capture: lat(control.StageCapture), Preprocess: lat(control.StagePreprocess),
		Inference: lat(control.StageInference), Safety: lat(control.StageSafety),
		Publish: lat(control.StagePublish), Tick: lat(control.StageTick),
	}}
	for _, n := range s.Safety.Events {
		t.SafetyEvents += n
	}
	if last != nil {
		t.LastAction = make(mqtt.Floats, len(last))
		for i, v := range last {
			t.LastAction[i] = float64(v)
		}
	}
	return t
}

// stopKinds are the safety events that begin a stop (or release one):
// the ones published as events. Clamps, workspace cuts and rate limits
// are counted in telemetry only.
var stopKinds = []safety.EventKind{
	safety.EventNonFinite, safety.EventBadLength, safety.EventStateInvalid,
	safety.EventObservationStale, safety.EventPolicyStale, safety.EventNoAction,
	safety.EventEStop, safety.EventReset,
}

// Monitor turns the filter's counters into events: call Poll
// periodically; it returns one event per stop kind whose count rose since
// the previous poll and had not risen in the poll before (the start of a
// burst), so that a policy emitting NaN every tick yields one event, not
// one per tick.
type Monitor struct {
	mu     sync.Mutex
	prev   map[safety.EventKind]uint64
	rising map[safety.EventKind]bool
}

// Poll compares s with the previous snapshot.
func (m *Monitor) Poll(s safety.Stats) []mqtt.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prev == nil {
		m.prev, m.rising = map[safety.EventKind]uint64{}, map[safety.EventKind]bool{}
	}
	var out []mqtt.Event
	for _, k := range stopKinds {
		n := s.Events[k]
		rose := n > m.prev[k]
		if rose && !m.rising[k] {
			msg := s.Reason
			if k == safety.EventReset {
				msg = "e-stop released"
			} else if msg == "" {
				msg = k.String()
			}
			out = append(out, mqtt.Event{Type: mqtt.EventSafety, Kind: k.String(), Message: msg})
		}
		m.rising[k] = rose
		m.prev[k] = n
	}
	return out
}
