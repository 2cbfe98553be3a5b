package rosmsg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vstgo/vst/robot/embodiment"
)

// State sources: each state value comes from a joint's position in
// sensor_msgs/JointState or from a component of the end-effector pose.
const (
	// JointSource prefixes a joint name: "joint:elbow" is the position of
	// joint "elbow".
	JointSource = "joint:"
	// EEFSource prefixes a pose component: "eef:x", "eef:y", "eef:z"
	// (metres) or "eef:rx", "eef:ry", "eef:rz" (the orientation as an
	// axis-angle vector, radians, as LIBERO's eef_axis_angle).
	EEFSource = "eef:"
)

// eefComponents are the pose components an EEFSource names, in Slot.EEF
// order.
var eefComponents = []string{"x", "y", "z", "rx", "ry", "rz"}

// Slot is one parsed state source.
type Slot struct {
	// Joint is the joint whose position fills the slot; it is empty for a
	// pose component.
	Joint string
	// EEF is the pose component (0–5 for x, y, z, rx, ry, rz) when Joint
	// is empty, and -1 otherwise.
	EEF int
}

// ParseState checks the state sources of spec, one per state value in state
// order, or derives them with DefaultState when state is nil. With eef false
// only JointSource entries are accepted.
func ParseState(spec *embodiment.Spec, state []string, eef bool) ([]Slot, error) {
	n := spec.StateDim()
	if state == nil {
		state = DefaultState(spec, eef)
	}
	if len(state) != n {
		return nil, fmt.Errorf("%d state sources for embodiment %q's %d-value state", len(state), spec.Name, n)
	}
	slots := make([]Slot, n)
	for i, src := range state {
		if name, ok := strings.CutPrefix(src, JointSource); ok && name != "" {
			slots[i] = Slot{Joint: name, EEF: -1}
			continue
		}
		switch {
		case !eef:
			return nil, fmt.Errorf("state[%d] source %q: want joint:NAME (set SensorConfig.State)", i, src)
		case src == "":
			return nil, fmt.Errorf("state[%d] has no source; set SensorConfig.State (e.g. \"joint:NAME\" or \"eef:x\")", i)
		case strings.HasPrefix(src, EEFSource):
			k := slices.Index(eefComponents, strings.TrimPrefix(src, EEFSource))
			if k < 0 {
				return nil, fmt.Errorf("state[%d] source %q: want eef:x, y, z, rx, ry or rz", i, src)
			}
			slots[i] = Slot{EEF: k}
		default:
			return nil, fmt.Errorf("state[%d] source %q: want joint:NAME or eef:COMPONENT", i, src)
		}
	}
	return slots, nil
}

// DefaultState returns the state sources spec implies: "joint:NAME" at the
// state_index of every action dimension NAME that has one and, with eef,
// "eef:x", "eef:y", "eef:z" at the workspace's state field. Values with no
// source are empty.
func DefaultState(spec *embodiment.Spec, eef bool) []string {
	state := make([]string, spec.StateDim())
	for _, d := range spec.Dims {
		if d.StateIndex != nil {
			state[*d.StateIndex] = JointSource + d.Name
		}
	}
	if w := spec.Workspace; w != nil && eef {
		off, _, _ := spec.StateOffset(w.StateField)
		for k := range 3 {
			state[off+k] = EEFSource + eefComponents[k]
		}
	}
	return state
}

// CameraTopics returns the image topic of each of spec's cameras: the entry
// of topics when set, else imageTopic for the first camera and
// /NAME/image_raw for the others, with "/compressed" topics (the first
// camera's is compressedTopic) when compressed. Topics may only name spec's
// cameras.
func CameraTopics(spec *embodiment.Spec, topics map[string]string, compressed bool, imageTopic, compressedTopic string) (map[string]string, error) {
	for name := range topics {
		if !slices.ContainsFunc(spec.Cameras, func(c embodiment.Camera) bool { return c.Name == name }) {
			return nil, fmt.Errorf("camera topic for %q: embodiment %q has no such camera", name, spec.Name)
		}
	}
	out := make(map[string]string, len(spec.Cameras))
	for i, c := range spec.Cameras {
		t := topics[c.Name]
		switch {
		case t != "":
		case i == 0 && compressed:
			t = compressedTopic
		case i == 0:
			t = imageTopic
		case compressed:
			t = "/" + c.Name + "/image_raw/compressed"
		default:
			t = "/" + c.Name + "/image_raw"
		}
		out[c.Name] = t
	}
	return out, nil
}
