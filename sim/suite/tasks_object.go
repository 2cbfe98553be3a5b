package suite

import "github.com/vstgo/vst/sim"

// grocery is a libero_object item's primitive stand-in.
type grocery struct {
	name string
	kind sim.ObjectKind
	size [3]float64
	rgba [4]float64
}

// groceries are the HOPE objects of libero_object as boxes and cylinders
// of similar size (real packages, rounded), in task order.
var groceries = []grocery{
	{"alphabet_soup", sim.Cylinder, [3]float64{0.03, 0, 0.1}, [4]float64{0.85, 0.2, 0.15, 1}},
	{"cream_cheese", sim.Box, [3]float64{0.045, 0.03, 0.02}, [4]float64{0.3, 0.45, 0.85, 1}},
	{"salad_dressing", sim.Cylinder, [3]float64{0.028, 0, 0.14}, [4]float64{0.9, 0.85, 0.6, 1}},
	{"bbq_sauce", sim.Cylinder, [3]float64{0.03, 0, 0.13}, [4]float64{0.4, 0.15, 0.08, 1}},
	{"ketchup", sim.Box, [3]float64{0.035, 0.025, 0.07}, [4]float64{0.8, 0.05, 0.05, 1}},
	{"tomato_sauce", sim.Cylinder, [3]float64{0.03, 0, 0.08}, [4]float64{0.9, 0.35, 0.1, 1}},
	{"butter", sim.Box, [3]float64{0.045, 0.025, 0.02}, [4]float64{0.95, 0.85, 0.3, 1}},
	{"milk", sim.Box, [3]float64{0.03, 0.03, 0.08}, [4]float64{0.95, 0.95, 0.98, 1}},
	{"chocolate_pudding", sim.Box, [3]float64{0.04, 0.025, 0.016}, [4]float64{0.4, 0.25, 0.15, 1}},
	{"orange_juice", sim.Box, [3]float64{0.03, 0.03, 0.08}, [4]float64{1, 0.6, 0.1, 1}},
}

func (g grocery) object(pos [3]float64) ObjectSpec {
	return ObjectSpec{Name: g.name + "_1", Kind: g.kind, Pos: pos, Range: [2]float64{0.01, 0.01}, Yaw: [2]float64{-0.15, 0.15}, Size: g.size, Mass: 0.15, RGBA: g.rgba}
}

// objectSlots are target_object_region (first) and other_object_region_0..4.
var objectSlots = [][3]float64{{-0.28, -0.02, 0}, {-0.32, -0.2, 0}, {-0.14, -0.12, 0}, {0.0, -0.05, 0}, {-0.33, 0.15, 0}, {-0.02, -0.24, 0}}

// objectTasks builds libero_object: the target grocery in the target
// region, five other groceries as distractors, and the basket.
func objectTasks() []TaskSpec {
	var out []TaskSpec
	for i, g := range groceries {
		objs := []ObjectSpec{
			{Name: "basket_1", Kind: sim.Basket, Pos: [3]float64{-0.12, 0.18, 0}, Range: [2]float64{0.01, 0.01}, Size: [3]float64{0.1, 0.12, 0.05}, Mass: 1},
			g.object(objectSlots[0]),
		}
		for k := 1; k < len(objectSlots); k++ {
			objs = append(objs, groceries[(i+k)%len(groceries)].object(objectSlots[k]))
		}
		out = append(out, TaskSpec{
			Instruction: "pick up the " + spaced(g.name) + " and place it in the basket",
			Objects:     objs,
			Goal:        []Predicate{{Op: "In", Args: []string{g.name + "_1", "basket_1_contain_region"}}},
		})
	}
	return out
}

func spaced(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}
