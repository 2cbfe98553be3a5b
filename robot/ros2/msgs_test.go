package ros2

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var stamp = Time{Sec: 1700000000, Nanosec: 123456789}

// samples returns one message of each type, with every field set and odd
// string lengths so that alignment padding is exercised.
func samples() map[string]Message {
	return map[string]Message{
		"String":  &String{Data: "hello"},
		"Float64": &Float64{Data: 0.04},
		"Twist":   &Twist{Linear: Vector3{1, 2, 3}, Angular: Vector3{-0.5, 0, 0.25}},
		"PoseStamped": &PoseStamped{
			Header: Header{Stamp: stamp, FrameID: "base"},
			Pose:   Pose{Position: Point{0.1, 0.2, 0.3}, Orientation: Quaternion{0, 0, 0.38268343, 0.92387953}},
		},
		"Image": &Image{
			Header: Header{Stamp: stamp, FrameID: "cam"}, Height: 2, Width: 3, Encoding: "rgb8",
			Step: 9, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
		},
		"CompressedImage": &CompressedImage{Header: Header{Stamp: stamp, FrameID: "camera_optical"}, Format: "jpeg", Data: []byte{0xff, 0xd8, 0xff, 0xd9, 1}},
		"JointState": &JointState{
			Header: Header{Stamp: stamp}, Name: []string{"joint1", "j2"},
			Position: []float64{0.5, -1}, Velocity: []float64{0.1, 0.2}, Effort: nil,
		},
		"JointTrajectory": &JointTrajectory{
			Header: Header{FrameID: "b"}, JointNames: []string{"a", "bb", "ccc"},
			Points: []JointTrajectoryPoint{
				{Positions: []float64{1, 2, 3}, TimeFromStart: Duration{Sec: 0, Nanosec: 50000000}},
				{Velocities: []float64{0.1}, Accelerations: []float64{}, Effort: []float64{9}, TimeFromStart: Duration{Sec: 1, Nanosec: 1}},
			},
		},
	}
}

// newLike returns a new zero message of m's type.
func newLike(m Message) Message {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
}

// normalized treats empty and nil sequences alike, as the wire does.
func normalized(m Message) Message {
	if jt, ok := m.(*JointTrajectory); ok {
		c := *jt
		c.Points = append([]JointTrajectoryPoint(nil), jt.Points...)
		for i := range c.Points {
			if len(c.Points[i].Accelerations) == 0 {
				c.Points[i].Accelerations = nil
			}
		}
		return &c
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for name, m := range samples() {
		t.Run(name, func(t *testing.T) {
			data := m.MarshalCDR()
			assert.Equal(t, []byte{0, 1, 0}, data[:3], "CDR_LE")
			assert.LessOrEqual(t, data[3], byte(3), "options hold the padding")
			assert.Zero(t, len(data)%4, "padded to 4 bytes")
			back := newLike(m)
			require.NoError(t, back.UnmarshalCDR(data))
			assert.Equal(t, normalized(m), back)
		})
	}
}

// TestGolden checks hand-computed encodings.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		want []byte
	}{
		{"string hi: length 3 incl. NUL, one padding byte", &String{Data: "hi"},
			[]byte{0, 1, 0, 1, 3, 0, 0, 0, 'h', 'i', 0, 0}},
		{"float64 aligned at payload offset 0", &Float64{Data: 1},
			[]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{"twist", &Twist{Linear: Vector3{X: 1}, Angular: Vector3{Z: -2}},
			[]byte{
				0, 1, 0, 0,
				0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0,
			}},
		{"pose stamped: frame a ends at 14, position aligned to 16", &PoseStamped{Header: Header{Stamp: Time{Sec: 1, Nanosec: 2}, FrameID: "a"}, Pose: Pose{Orientation: Quaternion{W: 1}}},
			append([]byte{
				0, 1, 0, 0,
				1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 'a', 0, 0, 0,
			}, append(make([]byte, 48), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f)...)},
		{"joint state: empty sequences", &JointState{},
			[]byte{
				0, 1, 0, 0,
				0, 0, 0, 0, 0, 0, 0, 0, // stamp
				1, 0, 0, 0, 0, 0, 0, 0, // frame_id "" and padding
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // four empty sequences
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.m.MarshalCDR())
		})
	}
}

func TestDecodeBigEndian(t *testing.T) {
	data := []byte{0, 0, 0, 0, 0, 0, 0, 3, 'h', 'i', 0, 0}
	var m String
	require.NoError(t, m.UnmarshalCDR(data))
	assert.Equal(t, "hi", m.Data)
}

func TestDecodeRejects(t *testing.T) {
	huge := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}
	for _, tc := range []struct {
		name string
		m    Message
		data []byte
	}{
		{"empty", &Twist{}, nil},
		{"header only", &Twist{}, []byte{0, 1, 0, 0}},
		{"xcdr2 encapsulation", &String{}, []byte{0, 7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"truncated double", &Twist{}, []byte{0, 1, 0, 0, 1, 2, 3}},
		{"string without NUL", &String{}, []byte{0, 1, 0, 0, 2, 0, 0, 0, 'h', 'i', 0, 0}},
		{"string length 0", &String{}, []byte{0, 1, 0, 0, 0, 0, 0, 0}},
		{"string longer than data", &String{}, []byte{0, 1, 0, 0, 9, 0, 0, 0, 'h', 'i', 0, 0}},
		{"trailing bytes", &Float64{}, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		{"huge sequence count", &JointState{}, huge},
		{"huge trajectory points", &JointTrajectory{}, huge},
		{"huge image", &Image{}, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.m.MarshalCDR()
			assert.Error(t, tc.m.UnmarshalCDR(tc.data))
			assert.Equal(t, before, tc.m.MarshalCDR(), "message unchanged on error")
		})
	}
}

func TestTopicAndTime(t *testing.T) {
	assert.Equal(t, "rt/cmd_vel", Topic("/cmd_vel"))
	assert.Equal(t, "rt/cmd_vel", Topic("cmd_vel"))
	assert.Equal(t, "rt/camera/image_raw", Topic("/camera/image_raw"))
	now := time.Unix(1700000000, 5)
	assert.True(t, TimeOf(now).Time().Equal(now))
	assert.Equal(t, Time{}, TimeOf(time.Time{}))
	assert.True(t, Time{}.Time().IsZero())
	assert.Equal(t, Duration{Sec: 0, Nanosec: 50000000}, DurationOf(50*time.Millisecond))
	assert.Equal(t, Duration{Sec: -1, Nanosec: 500000000}, DurationOf(-500*time.Millisecond))
}
