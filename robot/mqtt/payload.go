package mqtt

import (
	"math"
	"strconv"
	"time"
)

// Latency is one stage's recent latency, in milliseconds.
type Latency struct {
	// P50 is the median.
	P50 float64 `json:"p50_ms"`
	// P99 is the 99th percentile.
	P99 float64 `json:"p99_ms"`
}

// LatencyOf converts two durations into a Latency.
func LatencyOf(p50, p99 time.Duration) Latency {
	return Latency{P50: ms(p50), P99: ms(p99)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Stages holds the latency of each stage of the control loop; the names
// match robot/control's Stage* constants.
type Stages struct {
	// Capture is reading the sensors.
	Capture Latency `json:"capture"`
	// Preprocess is checking and preparing the observation.
	Preprocess Latency `json:"preprocess"`
	// Inference is the policy call.
	Inference Latency `json:"inference"`
	// Safety is the safety filter.
	Safety Latency `json:"safety"`
	// Publish is handing the command to the actuator.
	Publish Latency `json:"publish"`
	// Tick is one whole control tick.
	Tick Latency `json:"tick"`
}

// Floats is a vector that encodes NaN and ±Inf as JSON null instead of
// failing.
type Floats []float64

// MarshalJSON implements json.Marshaler.
func (f Floats) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 2+len(f)*8)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, ']'), nil
}

// Buffer describes the offline buffer. The client fills it in.
type Buffer struct {
	// Queued is the number of messages waiting for the broker.
	Queued int `json:"queued"`
	// Bytes is their size on disk.
	Bytes int64 `json:"bytes"`
	// Dropped is the number of messages dropped since the client started,
	// because the buffer was full or a buffered file was corrupt.
	Dropped uint64 `json:"dropped"`
}

// Telemetry is the message published on vla/<robot-id>/telemetry.
type Telemetry struct {
	// Time is when the snapshot was taken. The client sets it when zero.
	Time time.Time `json:"time"`
	// RobotID is set by the client.
	RobotID string `json:"robot_id"`
	// Mode is what the robot is doing, e.g. "idle", "running",
	// "stopping", "estop" or "dry_run".
	Mode string `json:"mode"`
	// LoopRate is the measured control rate in Hz; NaN or ±Inf is sent as 0.
	LoopRate float64 `json:"loop_rate_hz"`
	// Latency is per stage.
	Latency Stages `json:"latency"`
	// LastAction is the last command sent (or withheld in dry-run mode).
	LastAction Floats `json:"last_action"`
	// SafetyEvents is the number of safety events so far.
	SafetyEvents uint64 `json:"safety_events"`
	// Episode is the episode number; Task its instruction.
	Episode int    `json:"episode"`
	Task    string `json:"task"`
	// Buffer is set by the client.
	Buffer Buffer `json:"buffer"`
}

// EventType classifies an Event.
type EventType string

// The event types.
const (
	// EventSafety is something the safety layer did (a stop, an e-stop, a
	// clamp...); Kind is its safety.EventKind name.
	EventSafety EventType = "safety"
	// EventError is an error; Kind names it (e.g. "bad_command").
	EventError EventType = "error"
	// EventEpisode is the end of an episode; Result says how it ended.
	EventEpisode EventType = "episode"
)

// Event is a message published on vla/<robot-id>/events.
type Event struct {
	// Time is when it happened. The client sets it when zero.
	Time time.Time `json:"time"`
	// RobotID is set by the client.
	RobotID string `json:"robot_id"`
	// Type classifies the event. Required.
	Type EventType `json:"type"`
	// Kind refines Type (e.g. "estop", "bad_command").
	Kind string `json:"kind,omitempty"`
	// Message explains the event in words.
	Message string `json:"message,omitempty"`
	// Episode and Task identify the episode concerned.
	Episode int    `json:"episode,omitempty"`
	Task    string `json:"task,omitempty"`
	// Result is how an episode ended, e.g. "success", "failure",
	// "timeout".
	Result string `json:"result,omitempty"`
}

// Status is the retained message on vla/<robot-id>/status.
type Status struct {
	// State is "online" or "offline".
	State string `json:"state"`
	// RobotID and ClientID identify the sender.
	RobotID  string `json:"robot_id"`
	ClientID string `json:"client_id"`
	// Time is when the client connected or, for "offline", when it
	// disconnected; it is zero in the last will, which the broker sends.
	Time time.Time `json:"time,omitzero"`
}
