package suite

import "github.com/vstgo/vst/sim"

var (
	mugWhite       = [4]float64{0.96, 0.96, 0.96, 1}
	mugYellowWhite = [4]float64{0.95, 0.85, 0.35, 1}
)

func mugAt(name string, pos [3]float64, c [4]float64) ObjectSpec {
	return ObjectSpec{Name: name, Kind: sim.Mug, Pos: pos, Range: r1, Size: [3]float64{0.04, 0, 0.08}, RGBA: c}
}

func mokaPotAt(name string, pos [3]float64) ObjectSpec {
	return ObjectSpec{Name: name, Kind: sim.Cylinder, Pos: pos, Range: r1, Size: [3]float64{0.03, 0, 0.11}, Mass: 0.3, RGBA: [4]float64{0.55, 0.55, 0.58, 1}}
}

func in(a, region string) Predicate { return Predicate{Op: "In", Args: []string{a, region}} }

func on(a, b string) Predicate { return Predicate{Op: "On", Args: []string{a, b}} }

// livingRoom is a basket scene with groceries at the given slots.
func livingRoom(items ...int) []ObjectSpec {
	objs := []ObjectSpec{{Name: "basket_1", Kind: sim.Basket, Pos: [3]float64{-0.12, 0.18, 0}, Range: r1, Size: [3]float64{0.1, 0.12, 0.05}, Mass: 1}}
	for k, i := range items {
		objs = append(objs, groceries[i].object(objectSlots[k]))
	}
	return objs
}

// longTasks builds libero_10 (LIBERO-Long): two sub-goals per task.
func longTasks() []TaskSpec {
	const (
		soup, cheese, tomato, butter, milk, pudding, juice, ketchup = 0, 1, 5, 6, 7, 8, 9, 4
	)
	bigStove := ObjectSpec{Name: "flat_stove", Kind: sim.Stove, Pos: [3]float64{-0.02, -0.22, 0}, Size: [3]float64{0.14, 0.14, 0.02}}
	// A deep cabinet (front at x = −0.02): its bottom drawer pulls out
	// 0.31 m, past the handles of the drawers above, so a bowl fits in the
	// part that is reachable from above.
	whiteCabinet := ObjectSpec{Name: "white_cabinet", Kind: sim.Cabinet, Pos: [3]float64{0.18, 0.25, 0}, Size: [3]float64{0.2, 0.15, 0.15}, Drawers: 3, RGBA: [4]float64{0.92, 0.92, 0.9, 1}}
	return []TaskSpec{
		{Instruction: "put both the alphabet soup and the tomato sauce in the basket",
			Objects: livingRoom(soup, tomato, cheese, butter, milk, juice),
			Goal:    []Predicate{in("alphabet_soup_1", "basket_1_contain_region"), in("tomato_sauce_1", "basket_1_contain_region")}},
		{Instruction: "put both the cream cheese box and the butter in the basket",
			Objects: livingRoom(cheese, butter, soup, tomato, ketchup, juice),
			Goal:    []Predicate{in("cream_cheese_1", "basket_1_contain_region"), in("butter_1", "basket_1_contain_region")}},
		{Instruction: "turn on the stove and put the moka pot on it",
			Objects: []ObjectSpec{bigStove, mokaPotAt("moka_pot_1", [3]float64{-0.28, 0.05, 0}), plateAt("plate_1", [3]float64{-0.15, 0.2, 0})},
			Goal:    []Predicate{{"Turnon", []string{"flat_stove"}}, on("moka_pot_1", "flat_stove_cook_region")}},
		{Instruction: "put the black bowl in the bottom drawer of the cabinet and close it",
			Objects: []ObjectSpec{whiteCabinet, bowlAt("akita_black_bowl_1", [3]float64{-0.28, -0.05, 0}), mokaPotAt("wine_bottle_1", [3]float64{-0.12, -0.14, 0})},
			Joints:  []JointInit{{Joint: "white_cabinet_drawer2", Pos: -0.3}},
			Goal:    []Predicate{{"Close", []string{"white_cabinet_drawer2_region"}}, in("akita_black_bowl_1", "white_cabinet_drawer2_region")}},
		{Instruction: "put the white mug on the left plate and put the yellow and white mug on the right plate",
			Objects: []ObjectSpec{plateAt("plate_1", [3]float64{-0.3, 0.18, 0}), plateAt("plate_2", [3]float64{-0.3, -0.18, 0}),
				mugAt("porcelain_mug_1", [3]float64{-0.1, 0.12, 0}, mugWhite), mugAt("white_yellow_mug_1", [3]float64{-0.1, -0.1, 0}, mugYellowWhite),
				mugAt("red_coffee_mug_1", [3]float64{0.02, 0.0, 0}, [4]float64{0.75, 0.1, 0.1, 1})},
			Goal: []Predicate{on("porcelain_mug_1", "plate_1"), on("white_yellow_mug_1", "plate_2")}},
		{Instruction: "pick up the book and place it in the back compartment of the caddy",
			Objects: []ObjectSpec{
				// Desk caddy stand-in: an open box; its contain region is the
				// back compartment.
				{Name: "desk_caddy_1", Kind: sim.Basket, Pos: [3]float64{-0.1, 0.15, 0}, Range: [2]float64{0.005, 0.005}, Size: [3]float64{0.07, 0.1, 0.05}, Mass: 1.5, RGBA: [4]float64{0.3, 0.3, 0.32, 1}},
				{Name: "black_book_1", Kind: sim.Box, Pos: [3]float64{-0.28, -0.1, 0}, Range: r1, Yaw: [2]float64{-0.1, 0.1}, Size: [3]float64{0.05, 0.03, 0.035}, Mass: 0.3, RGBA: [4]float64{0.1, 0.1, 0.12, 1}},
				mugAt("red_coffee_mug_1", [3]float64{0.0, -0.1, 0}, [4]float64{0.75, 0.1, 0.1, 1})},
			Goal: []Predicate{in("black_book_1", "desk_caddy_1_contain_region")}},
		{Instruction: "put the white mug on the plate and put the chocolate pudding to the right of the plate",
			Objects: []ObjectSpec{plateAt("plate_1", [3]float64{-0.25, 0.12, 0}), mugAt("porcelain_mug_1", [3]float64{-0.05, 0.1, 0}, mugWhite),
				groceries[pudding].object([3]float64{-0.05, -0.12, 0}), groceries[ketchup].object([3]float64{-0.32, -0.2, 0})},
			Regions: []RegionSpec{{Name: "living_room_table_plate_right_region", Pos: [2]float64{-0.25, -0.06}, HalfSize: [2]float64{0.05, 0.04}}},
			Goal:    []Predicate{on("porcelain_mug_1", "plate_1"), on("chocolate_pudding_1", "living_room_table_plate_right_region")}},
		{Instruction: "put both the alphabet soup and the cream cheese box in the basket",
			Objects: livingRoom(soup, cheese, tomato, ketchup, milk, pudding),
			Goal:    []Predicate{in("alphabet_soup_1", "basket_1_contain_region"), in("cream_cheese_1", "basket_1_contain_region")}},
		{Instruction: "put both moka pots on the stove",
			Objects: []ObjectSpec{bigStove, mokaPotAt("moka_pot_1", [3]float64{-0.28, 0.05, 0}), mokaPotAt("moka_pot_2", [3]float64{-0.15, 0.15, 0})},
			Joints:  []JointInit{{Joint: "flat_stove_knob", Pos: 1.0}},
			Goal:    []Predicate{on("moka_pot_1", "flat_stove_cook_region"), on("moka_pot_2", "flat_stove_cook_region"), {"Turnon", []string{"flat_stove"}}}},
		{Instruction: "put the yellow and white mug in the microwave and close it",
			// A tall microwave (0.48 m): the hand reaches in with the mug, and
			// link 7 stands 0.29 m above the grip point.
			Objects: []ObjectSpec{{Name: "microwave_1", Kind: sim.Microwave, Pos: [3]float64{0.08, 0.22, 0}, Size: [3]float64{0.12, 0.16, 0.24}},
				mugAt("white_yellow_mug_1", [3]float64{-0.25, -0.1, 0}, mugYellowWhite)},
			Joints: []JointInit{{Joint: "microwave_1_door", Pos: -1.6}},
			Goal:   []Predicate{in("white_yellow_mug_1", "microwave_1_heating_region"), {"Close", []string{"microwave_1"}}}},
	}
}
