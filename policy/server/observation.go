package server

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/wire"
)

// KeyMap says how the keys of a request become Observation fields. Keys of
// nested maps are joined with "/" (ALOHA's {"images": {"cam_high": …}}
// becomes "images/cam_high"). The same map serves the openpi WebSocket
// protocol and the OpenVLA/OFT REST bodies.
//
// Keys it does not name are still used: a uint8 array of shape (H, W, 3) or
// (3, H, W), or a float array of those shapes with every value in [0, 1],
// becomes an image named after its key; every other value goes to
// Observation.Extra under its key (arrays as *wire.Array).
type KeyMap struct {
	// Images maps request keys to camera names.
	// It defaults to DefaultKeyMap().Images: openpi's LIBERO keys
	// "observation/image" → "agentview" and "observation/wrist_image" →
	// "wrist", OpenVLA's "image" and OFT's "full_image" → "agentview", and
	// OFT's "wrist_image" → "wrist".
	Images map[string]string
	// State lists the keys whose numeric arrays are concatenated, in this
	// order, into Observation.State.
	// It defaults to ["observation/state", "state"] (LIBERO and ALOHA/OFT);
	// DROID clients need ["observation/joint_position",
	// "observation/gripper_position"].
	State []string
	// Prompt lists the keys that may hold the instruction (a str); the
	// first one present wins.
	// It defaults to ["prompt", "instruction"].
	Prompt []string
}

// DefaultKeyMap returns the mapping described on KeyMap's fields.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Images: map[string]string{
			"observation/image":       "agentview",
			"observation/wrist_image": "wrist",
			"image":                   "agentview",
			"full_image":              "agentview",
			"wrist_image":             "wrist",
		},
		State:  []string{"observation/state", "state"},
		Prompt: []string{"prompt", "instruction"},
	}
}

func (km KeyMap) withDefaults() KeyMap {
	def := DefaultKeyMap()
	if km.Images == nil {
		km.Images = def.Images
	}
	if km.State == nil {
		km.State = def.State
	}
	if km.Prompt == nil {
		km.Prompt = def.Prompt
	}
	return km
}

// flatten copies m into flat, joining nested map keys with "/".
func flatten(flat map[string]any, prefix string, m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(flat, prefix+k+"/", sub)
			continue
		}
		flat[prefix+k] = v
	}
}

// observation builds an Observation from a decoded request map.
func (km KeyMap) observation(req map[string]any) (*policy.Observation, error) {
	flat := make(map[string]any, len(req))
	flatten(flat, "", req)
	obs := &policy.Observation{Images: map[string]policy.Image{}}
	for _, k := range sortedKeys(flat) {
		v := flat[k]
		if slices.Contains(km.State, k) || slices.Contains(km.Prompt, k) {
			continue
		}
		if cam, ok := km.Images[k]; ok {
			img, err := toImage(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, dup := obs.Images[cam]; dup {
				return nil, fmt.Errorf("%s: camera %q is already set by another key", k, cam)
			}
			obs.Images[cam] = img
			continue
		}
		if a, ok := v.(*wire.Array); ok && looksLikeImage(a) {
			if _, dup := obs.Images[k]; !dup {
				img, err := toImage(a)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				obs.Images[k] = img
				continue
			}
		}
		if obs.Extra == nil {
			obs.Extra = map[string]any{}
		}
		obs.Extra[k] = v
	}
	for _, k := range km.State {
		v, ok := flat[k]
		if !ok {
			continue
		}
		x, err := numeric(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		obs.State = append(obs.State, x...)
	}
	for _, k := range km.Prompt {
		v, ok := flat[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: prompt is %s; want a str", k, typeName(v))
		}
		obs.Prompt = s
		break
	}
	return obs, nil
}

// typeName names a decoded value's wire type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case bool:
		return "a bool"
	case int64, uint64:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte:
		return "a bin"
	case []any:
		return "an array"
	case *wire.Array:
		return fmt.Sprintf("an ndarray %s%v", v.DType, v.Shape)
	default:
		return "a map"
	}
}

// imageLayout returns H and W and whether the array is channel-first, or
// ok false when the shape is neither (H, W, 3) nor (3, H, W).
func imageLayout(a *wire.Array) (h, w int, chw, ok bool) {
	s := a.Shape
	switch {
	case len(s) != 3:
		return 0, 0, false, false
	case s[2] == 3 && s[0] > 0 && s[1] > 0:
		return s[0], s[1], false, true
	case s[0] == 3 && s[1] > 0 && s[2] > 0:
		return s[1], s[2], true, true
	}
	return 0, 0, false, false
}

// looksLikeImage reports whether an unmapped array should be an image.
func looksLikeImage(a *wire.Array) bool {
	if _, _, _, ok := imageLayout(a); !ok {
		return false
	}
	switch a.DType.Kind {
	case wire.Uint:
		return a.DType.Size == 1
	case wire.Float:
		for i := range a.Len() {
			if x := a.At(i); !(x >= 0 && x <= 1) {
				return false
			}
		}
		return true
	}
	return false
}

// toImage converts a uint8 or float [0, 1] array in HWC or CHW layout.
func toImage(v any) (policy.Image, error) {
	a, ok := v.(*wire.Array)
	if !ok {
		return policy.Image{}, fmt.Errorf("image is %s; want an ndarray", typeName(v))
	}
	h, w, chw, ok := imageLayout(a)
	if !ok {
		return policy.Image{}, fmt.Errorf("image has shape %v; want (H, W, 3) or (3, H, W)", a.Shape)
	}
	isU8 := a.DType == wire.Uint8
	if !isU8 && a.DType.Kind != wire.Float {
		return policy.Image{}, fmt.Errorf("image has dtype %s; want |u1 or a float dtype", a.DType)
	}
	img := policy.Image{H: h, W: w}
	if isU8 && !chw {
		img.Pix = a.Data
		return img, nil
	}
	img.Pix = make([]uint8, h*w*3)
	for y := range h {
		for x := range w {
			for c := range 3 {
				src := (y*w+x)*3 + c
				if chw {
					src = (c*h+y)*w + x
				}
				if isU8 {
					img.Pix[(y*w+x)*3+c] = a.Data[src]
				} else {
					img.Pix[(y*w+x)*3+c] = unitToByte(a.At(src))
				}
			}
		}
	}
	return img, nil
}

// unitToByte maps [0, 1] to [0, 255], clamping (NaN becomes 0).
func unitToByte(x float64) uint8 {
	switch {
	case !(x > 0):
		return 0
	case x >= 1:
		return 255
	}
	return uint8(math.Round(x * 255))
}

// numeric returns a numeric array, list or scalar as float32 values.
func numeric(v any) ([]float32, error) {
	switch v := v.(type) {
	case *wire.Array:
		return v.Float32s(), nil
	case int64:
		return []float32{float32(v)}, nil
	case float64:
		return []float32{float32(v)}, nil
	case []any:
		out := make([]float32, len(v))
		for i, e := range v {
			switch e := e.(type) {
			case int64:
				out[i] = float32(e)
			case float64:
				out[i] = float32(e)
			default:
				return nil, fmt.Errorf("item %d is %s; want a number", i, typeName(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("state is %s; want a numeric array", typeName(v))
}

// errBadChunk is returned when a policy breaks the Chunk contract.
var errBadChunk = errors.New("policy returned a malformed action chunk")

// response builds openpi's result map.
func response(c *policy.Chunk, dtype wire.DType, policyMs, serverMs, prevTotalMs float64) map[string]any {
	var actions *wire.Array
	if dtype == wire.Float32 {
		actions = wire.NewFloat32(c.Actions, c.H, c.D)
	} else {
		actions = wire.NewFloat64(c.Actions, c.H, c.D)
	}
	pt := map[string]any{"infer_ms": policyMs}
	for k, v := range c.Timing {
		pt[k] = v
	}
	st := map[string]any{"infer_ms": serverMs}
	if prevTotalMs > 0 {
		st["prev_total_ms"] = prevTotalMs
	}
	return map[string]any{"actions": actions, "policy_timing": pt, "server_timing": st}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
