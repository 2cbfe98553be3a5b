package normalize

import "testing"

// fuzzCheck requires that a parsed set is valid and survives a LeRobot
// round trip.
func fuzzCheck(t *testing.T, set *Set, err error) {
	if err != nil {
		return
	}
	if verr := set.Validate(); verr != nil {
		t.Fatalf("parser returned an invalid set: %v", verr)
	}
	data, err := set.MarshalLeRobot()
	if err != nil {
		t.Fatalf("marshal parsed set: %v", err)
	}
	if _, err := ParseLeRobot(data); err != nil {
		t.Fatalf("re-parse: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"norm_stats": {"action": {"q01": [0], "q99": [1], "mask": [false]}, "num_transitions": 3}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, _, err := Parse(data)
		fuzzCheck(t, set, err)
	})
}

func FuzzParseLeRobot(f *testing.F) {
	f.Add([]byte(`{"action": {"mean": [0.1], "std": [1], "count": [3]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseLeRobot(data)
		fuzzCheck(t, set, err)
	})
}

func FuzzParseVST(f *testing.F) {
	f.Add([]byte(`{"norm_stats": {"action": {"q01": [0], "q99": [1]}, "proprio": {"mean": [0]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseVST(data)
		fuzzCheck(t, set, err)
	})
}

func FuzzParseOpenVLA(f *testing.F) {
	f.Add([]byte(`{"bridge": {"action": {"q01": [0], "q99": [1]}, "num_trajectories": [2]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseOpenVLA(data, "")
		fuzzCheck(t, set, err)
	})
}

func FuzzParseOpenPI(f *testing.F) {
	f.Add([]byte(`{"norm_stats": {"actions": {"mean": [0], "std": [1]}, "state": {"mean": [0], "std": [1]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := ParseOpenPI(data)
		fuzzCheck(t, set, err)
	})
}
