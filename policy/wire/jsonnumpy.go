package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// DecodeJSON decodes a json-numpy document (the OpenVLA REST convention):
// plain JSON in which an object with the key "__numpy__" (base64 of the
// C-order item bytes) plus "dtype" and "shape" is a NumPy array. Values
// become nil, bool, int64 (integral numbers), float64, string, []any,
// map[string]any and *Array.
func DecodeJSON(b []byte, lim Limits) (any, error) {
	lim = lim.withDefaults()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return nil, errors.New("json: trailing data after the value")
	}
	items := 0
	return convertJSON(v, 0, &items, lim)
}

func convertJSON(v any, depth int, items *int, lim Limits) (any, error) {
	*items++
	if *items > lim.MaxItems {
		return nil, fmt.Errorf("json: document has more than %d values", lim.MaxItems)
	}
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("json: number %s out of range", v)
		}
		return f, nil
	case []any:
		if depth >= lim.MaxDepth {
			return nil, fmt.Errorf("json: nesting deeper than %d", lim.MaxDepth)
		}
		for i, e := range v {
			c, err := convertJSON(e, depth+1, items, lim)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	case map[string]any:
		if depth >= lim.MaxDepth {
			return nil, fmt.Errorf("json: nesting deeper than %d", lim.MaxDepth)
		}
		for k, e := range v {
			c, err := convertJSON(e, depth+1, items, lim)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		if _, ok := v["__numpy__"]; ok {
			return jsonArray(v, lim)
		}
		return v, nil
	default: // nil, bool, string
		return v, nil
	}
}

func jsonArray(m map[string]any, lim Limits) (*Array, error) {
	enc, ok := m["__numpy__"].(string)
	if !ok {
		return nil, fmt.Errorf("json-numpy: __numpy__ is %T; want a base64 string", m["__numpy__"])
	}
	ds, ok := m["dtype"].(string)
	if !ok {
		return nil, fmt.Errorf("json-numpy: dtype is %T; want a string", m["dtype"])
	}
	dt, err := ParseDType(ds)
	if err != nil {
		return nil, fmt.Errorf("json-numpy: %w", err)
	}
	shape, err := parseShape(m["shape"])
	if err != nil {
		return nil, fmt.Errorf("json-numpy: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("json-numpy: data: %w", err)
	}
	a := &Array{DType: dt, Shape: shape, Data: data}
	if err := a.validate(lim.MaxElements); err != nil {
		return nil, fmt.Errorf("json-numpy: %w", err)
	}
	return a, nil
}

// MarshalJSON writes the array in json-numpy form:
// {"__numpy__": "<base64>", "dtype": "<f8", "shape": [7]}.
func (a *Array) MarshalJSON() ([]byte, error) {
	if err := a.validate(math.MaxInt); err != nil {
		return nil, fmt.Errorf("json-numpy: %w", err)
	}
	shape := a.Shape
	if shape == nil {
		shape = []int{}
	}
	return json.Marshal(struct {
		Numpy string `json:"__numpy__"`
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	}{base64.StdEncoding.EncodeToString(a.Data), a.DType.String(), shape})
}
