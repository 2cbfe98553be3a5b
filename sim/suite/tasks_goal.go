package suite

import "github.com/vstgo/vst/sim"

// Objects shared by several scenes.
var (
	woodenCabinet = ObjectSpec{Name: "wooden_cabinet", Kind: sim.Cabinet, Pos: [3]float64{0.08, 0.30, 0}, Size: [3]float64{0.1, 0.15, 0.11}, Drawers: 3}
	flatStove     = ObjectSpec{Name: "flat_stove", Kind: sim.Stove, Pos: [3]float64{-0.02, -0.30, 0}, Size: [3]float64{0.09, 0.09, 0.02}}
	r1            = [2]float64{0.01, 0.01}
)

func bowlAt(name string, pos [3]float64) ObjectSpec {
	return ObjectSpec{Name: name, Kind: sim.Bowl, Pos: pos, Range: r1, RGBA: black}
}

func plateAt(name string, pos [3]float64) ObjectSpec {
	return ObjectSpec{Name: name, Kind: sim.Plate, Pos: pos, Range: r1, RGBA: white}
}

// goalTasks builds libero_goal: one shared scene (cabinet, stove, wine
// rack, bowl, plate, cream cheese, wine bottle), ten goals.
func goalTasks() []TaskSpec {
	objects := []ObjectSpec{
		woodenCabinet,
		flatStove,
		// Wine rack stand-in: a heavy low tray the bottle stands in.
		{Name: "wine_rack", Kind: sim.Basket, Pos: [3]float64{-0.1, -0.1, 0}, Range: [2]float64{0.005, 0.005}, Size: [3]float64{0.05, 0.07, 0.03}, Mass: 2, RGBA: [4]float64{0.45, 0.3, 0.18, 1}},
		plateAt("plate_1", [3]float64{-0.34, 0.16, 0}),
		bowlAt("akita_black_bowl_1", [3]float64{-0.14, 0.07, 0}),
		groceries[1].object([3]float64{0.01, 0.01, 0}),
		{Name: "wine_bottle_1", Kind: sim.Cylinder, Pos: [3]float64{0.02, -0.13, 0}, Range: r1, Size: [3]float64{0.03, 0, 0.16}, Mass: 0.4, RGBA: [4]float64{0.1, 0.3, 0.12, 1}},
	}
	regions := []RegionSpec{{Name: "main_table_stove_front_region", Pos: [2]float64{-0.34, -0.18}, HalfSize: [2]float64{0.06, 0.06}}}
	goals := []struct {
		instruction string
		goal        []Predicate
	}{
		{"open the middle drawer of the cabinet", []Predicate{{"Open", []string{"wooden_cabinet_drawer1_region"}}}},
		{"put the bowl on the stove", []Predicate{{"On", []string{"akita_black_bowl_1", "flat_stove_cook_region"}}}},
		{"put the wine bottle on top of the cabinet", []Predicate{{"On", []string{"wine_bottle_1", "wooden_cabinet_top_side"}}}},
		{"open the top drawer and put the bowl inside", []Predicate{{"In", []string{"akita_black_bowl_1", "wooden_cabinet_drawer0_region"}}}},
		{"put the bowl on top of the cabinet", []Predicate{{"On", []string{"akita_black_bowl_1", "wooden_cabinet_top_side"}}}},
		{"push the plate to the front of the stove", []Predicate{{"On", []string{"plate_1", "main_table_stove_front_region"}}}},
		{"put the cream cheese in the bowl", []Predicate{{"On", []string{"cream_cheese_1", "akita_black_bowl_1"}}}},
		{"turn on the stove", []Predicate{{"TurnOn", []string{"flat_stove"}}}},
		{"put the bowl on the plate", []Predicate{{"On", []string{"akita_black_bowl_1", "plate_1"}}}},
		{"put the wine bottle on the rack", []Predicate{{"On", []string{"wine_bottle_1", "wine_rack_contain_region"}}}},
	}
	var out []TaskSpec
	for _, g := range goals {
		out = append(out, TaskSpec{Instruction: g.instruction, Objects: objects, Regions: regions, Goal: g.goal})
	}
	return out
}
