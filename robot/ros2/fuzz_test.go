package ros2

import (
	"testing"
)

// FuzzDecode feeds arbitrary bytes to every message decoder: none may
// panic or allocate beyond the input's bounds, and whatever decodes must
// encode and decode again to the same message.
func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		f.Add(m.MarshalCDR())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range samples() {
			m = newLike(m)
			if m.UnmarshalCDR(data) != nil {
				continue
			}
			again := newLike(m)
			if err := again.UnmarshalCDR(m.MarshalCDR()); err != nil {
				t.Fatalf("%s: re-encoded message does not decode: %v", m.TypeName(), err)
			}
			if string(again.MarshalCDR()) != string(m.MarshalCDR()) {
				t.Fatalf("%s: encoding is not stable", m.TypeName())
			}
		}
	})
}
