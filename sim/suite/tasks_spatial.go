package suite

import "github.com/vstgo/vst/sim"

// Colours of the LIBERO objects' primitive stand-ins.
var (
	black     = [4]float64{0.08, 0.08, 0.09, 1}
	white     = [4]float64{0.95, 0.95, 0.93, 1}
	porcelain = [4]float64{0.93, 0.9, 0.85, 1}
	cookieTan = [4]float64{0.82, 0.55, 0.25, 1}
)

// Table-top workspace slots of the spatial scene (x towards the robot's
// front, y to its left; table centre at 0). The Panda's top-down
// workspace on LIBERO's table spans about x ∈ [−0.38, 0.05], |y| ≤ 0.3.
var (
	slot1 = [3]float64{-0.32, -0.13, 0}
	slot2 = [3]float64{-0.32, 0.04, 0}
	slot3 = [3]float64{-0.15, -0.10, 0}
	slot4 = [3]float64{-0.15, 0.07, 0}
	slot5 = [3]float64{0.0, -0.08, 0}
	slot6 = [3]float64{0.0, 0.065, 0}
)

// spatialLayout is one libero_spatial arrangement: where bowl_1 (the bowl
// the instruction names), bowl_2, the cookie box and the ramekin start.
type spatialLayout struct {
	instruction                 string
	bowl1, bowl2, cookie, ramek [3]float64
	bowl1On                     string
	plate                       [3]float64
	joints                      []JointInit
}

func spatialTasks() []TaskSpec {
	plate := [3]float64{-0.30, 0.26, 0}
	layouts := []spatialLayout{
		{instruction: "pick up the black bowl between the plate and the ramekin and place it on the plate",
			bowl1: slot2, ramek: slot1, bowl2: slot5, cookie: slot4},
		{instruction: "pick up the black bowl next to the ramekin and place it on the plate",
			bowl1: slot3, ramek: slot5, bowl2: slot1, cookie: slot6},
		{instruction: "pick up the black bowl from table center and place it on the plate",
			bowl1: slot4, ramek: slot1, bowl2: slot2, cookie: slot5},
		{instruction: "pick up the black bowl on the cookie box and place it on the plate",
			bowl1On: "cookie_box", cookie: slot3, bowl2: slot2, ramek: slot5},
		{instruction: "pick up the black bowl in the top drawer of the wooden cabinet and place it on the plate",
			bowl1On: "wooden_cabinet_drawer0_region", bowl2: slot3, cookie: slot1, ramek: slot5,
			joints: []JointInit{{Joint: "wooden_cabinet_drawer0", Pos: -0.16}}},
		{instruction: "pick up the black bowl on the ramekin and place it on the plate",
			bowl1On: "ramekin", ramek: slot3, bowl2: slot2, cookie: slot5},
		{instruction: "pick up the black bowl next to the cookie box and place it on the plate",
			bowl1: slot4, cookie: slot3, bowl2: slot1, ramek: slot6},
		{instruction: "pick up the black bowl on the stove and place it on the plate",
			bowl1On: "flat_stove_cook_region", bowl2: slot2, cookie: slot1, ramek: slot4},
		{instruction: "pick up the black bowl next to the plate and place it on the plate",
			bowl1: [3]float64{-0.32, 0.03, 0}, plate: [3]float64{-0.32, 0.22, 0}, bowl2: slot4, cookie: slot5, ramek: slot1},
		{instruction: "pick up the black bowl on the wooden cabinet and place it on the plate",
			bowl1On: "wooden_cabinet_top_side", bowl1: [3]float64{-0.05, -0.03, 0}, bowl2: slot2, cookie: slot3, ramek: slot5},
	}
	var out []TaskSpec
	for _, l := range layouts {
		r := [2]float64{0.01, 0.01}
		p := plate
		if l.plate != ([3]float64{}) {
			p = l.plate
		}
		b1Range := r
		if l.bowl1On != "" && l.bowl1On != "cookie_box" && l.bowl1On != "ramekin" {
			b1Range = [2]float64{0.005, 0.005}
		} else if l.bowl1On != "" {
			b1Range = [2]float64{0.003, 0.003}
		}
		out = append(out, TaskSpec{
			Instruction: l.instruction,
			Objects: []ObjectSpec{
				{Name: "wooden_cabinet", Kind: sim.Cabinet, Pos: [3]float64{0.08, 0.30, 0}, Size: [3]float64{0.1, 0.15, 0.11}, Drawers: 3},
				{Name: "flat_stove", Kind: sim.Stove, Pos: [3]float64{-0.02, -0.30, 0}, Size: [3]float64{0.09, 0.09, 0.02}},
				{Name: "plate", Kind: sim.Plate, Pos: p, Range: r, RGBA: white},
				{Name: "cookie_box", Kind: sim.Box, Pos: l.cookie, Range: r, Yaw: [2]float64{-0.1, 0.1}, Size: [3]float64{0.035, 0.06, 0.02}, Mass: 0.15, RGBA: cookieTan},
				{Name: "ramekin", Kind: sim.Bowl, Pos: l.ramek, Range: r, Size: [3]float64{0.045, 0, 0.035}, Mass: 0.2, RGBA: porcelain},
				{Name: "akita_black_bowl_1", Kind: sim.Bowl, Pos: l.bowl1, Range: b1Range, On: l.bowl1On, RGBA: black},
				{Name: "akita_black_bowl_2", Kind: sim.Bowl, Pos: l.bowl2, Range: r, RGBA: black},
			},
			Joints: l.joints,
			Goal:   []Predicate{{Op: "On", Args: []string{"akita_black_bowl_1", "plate"}}},
		})
	}
	return out
}
