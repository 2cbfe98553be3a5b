package safety

import "time"

// EventKind classifies a safety event.
type EventKind int

// The event kinds.
const (
	// EventNonFinite: the action held NaN or ±Inf; this step ramps to stop.
	EventNonFinite EventKind = iota
	// EventBadLength: the action had the wrong number of dimensions; this
	// step ramps to stop.
	EventBadLength
	// EventClamp: a value was outside the dimension's [min, max] and was
	// clamped.
	EventClamp
	// EventWorkspace: a position delta would have left the workspace box and
	// was cut.
	EventWorkspace
	// EventRateLimit: the velocity or acceleration limit kept the command
	// from reaching the requested value this step.
	EventRateLimit
	// EventStateInvalid: the state needed for the workspace check or to
	// start the rate limiter was missing, short or not finite.
	EventStateInvalid
	// EventObservationStale: no fresh observation within the timeout; a
	// controlled stop began.
	EventObservationStale
	// EventPolicyStale: the executed action came from a chunk older than
	// the policy timeout; a controlled stop began.
	EventPolicyStale
	// EventNoAction: no action was available (the executor ran dry or the
	// loop is stopping); a controlled stop began.
	EventNoAction
	// EventEStop: the emergency stop was latched.
	EventEStop
	// EventReset: the emergency stop was released.
	EventReset
	numEventKinds
)

var eventNames = [numEventKinds]string{
	"non_finite", "bad_length", "clamp", "workspace", "rate_limit", "state_invalid",
	"observation_stale", "policy_stale", "no_action", "estop", "reset",
}

// String returns the kind's snake_case name, as telemetry reports it.
func (k EventKind) String() string {
	if k < 0 || k >= numEventKinds {
		return "unknown"
	}
	return eventNames[k]
}

// Event is one thing the safety layer did or noticed.
type Event struct {
	// Kind classifies the event.
	Kind EventKind
	// Dim is the action dimension concerned, or -1.
	Dim int
	// Value is the offending value (e.g. the requested value before a
	// clamp), or 0.
	Value float64
	// Reason explains the event in words.
	Reason string
	// Time is when it happened.
	Time time.Time
}
