package actiontok

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzDecode feeds arbitrary ids to Decode (as 4-byte little-endian
// integers relative to FirstID) and checks that action ids decode to bin
// centres that re-encode to the same bin, and that other ids are errors.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 255, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		at, err := New(1000)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, 0, len(data)/4)
		for i := 0; i+4 <= len(data); i += 4 {
			ids = append(ids, at.FirstID()+int(int32(binary.LittleEndian.Uint32(data[i:]))))
		}
		vals, err := at.Decode(ids)
		allAction := true
		for _, id := range ids {
			allAction = allAction && at.IsAction(id)
		}
		if (err == nil) != allAction {
			t.Fatalf("Decode(%v) error %v, all action ids %v", ids, err, allAction)
		}
		if err != nil {
			return
		}
		for i, v := range vals {
			if math.Abs(float64(v)) > 0.9961 {
				t.Fatalf("value %v outside the bin centres", v)
			}
			re := at.Encode([]float32{v})[0]
			d, rd := at.VocabLen()-ids[i], at.VocabLen()-re
			if rd != min(d, NumBins-1) {
				t.Fatalf("id %d (d=%d) decodes to %v, which re-encodes to d=%d", ids[i], d, v, rd)
			}
		}
	})
}
