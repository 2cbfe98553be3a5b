package ros2

import (
	"fmt"
	"time"
)

// Message is a ROS 2 message with its XCDR1 encoding. The message types of
// this package implement it with pointer receivers.
type Message interface {
	// TypeName is the DDS type name, e.g. "geometry_msgs::msg::dds_::Twist_".
	TypeName() string
	// MarshalCDR encodes the message as XCDR1 little-endian data, with its
	// 4-byte encapsulation header.
	MarshalCDR() []byte
	// UnmarshalCDR decodes XCDR1 data (either byte order), rejecting
	// truncated or oversized input and trailing bytes.
	UnmarshalCDR(data []byte) error
}

// Topic returns the DDS topic of a ROS 2 topic name: "rt" followed by the
// fully qualified name ("cmd_vel" and "/cmd_vel" both give "rt/cmd_vel").
func Topic(name string) string {
	if len(name) > 0 && name[0] == '/' {
		return "rt" + name
	}
	return "rt/" + name
}

// Time is builtin_interfaces/Time.
type Time struct {
	Sec     int32
	Nanosec uint32
}

// TimeOf converts t to a ROS 2 time; the zero time.Time gives the zero
// Time.
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{Sec: int32(t.Unix()), Nanosec: uint32(t.Nanosecond())}
}

// Time converts the stamp to a time.Time; the zero Time gives the zero
// time.Time.
func (t Time) Time() time.Time {
	if t == (Time{}) {
		return time.Time{}
	}
	return time.Unix(int64(t.Sec), int64(t.Nanosec))
}

// Duration is builtin_interfaces/Duration.
type Duration struct {
	Sec     int32
	Nanosec uint32
}

// DurationOf converts d to a ROS 2 duration (nanosec in [0, 1e9)).
func DurationOf(d time.Duration) Duration {
	sec, ns := d/time.Second, d%time.Second
	if ns < 0 {
		sec, ns = sec-1, ns+time.Second
	}
	return Duration{Sec: int32(sec), Nanosec: uint32(ns)}
}

// Header is std_msgs/Header.
type Header struct {
	Stamp   Time
	FrameID string
}

func (h *Header) enc(e *encoder) {
	e.i32(h.Stamp.Sec)
	e.u32(h.Stamp.Nanosec)
	e.str(h.FrameID)
}

func (h *Header) dec(d *decoder) {
	h.Stamp.Sec = d.i32()
	h.Stamp.Nanosec = d.u32()
	h.FrameID = d.str()
}

// String is std_msgs/String.
type String struct{ Data string }

// Float64 is std_msgs/Float64.
type Float64 struct{ Data float64 }

// Vector3 is geometry_msgs/Vector3.
type Vector3 struct{ X, Y, Z float64 }

// Twist is geometry_msgs/Twist.
type Twist struct{ Linear, Angular Vector3 }

// Point is geometry_msgs/Point.
type Point struct{ X, Y, Z float64 }

// Quaternion is geometry_msgs/Quaternion.
type Quaternion struct{ X, Y, Z, W float64 }

// Pose is geometry_msgs/Pose.
type Pose struct {
	Position    Point
	Orientation Quaternion
}

// PoseStamped is geometry_msgs/PoseStamped.
type PoseStamped struct {
	Header Header
	Pose   Pose
}

// Image is sensor_msgs/Image.
type Image struct {
	Header      Header
	Height      uint32
	Width       uint32
	Encoding    string
	IsBigendian uint8
	Step        uint32
	Data        []byte
}

// CompressedImage is sensor_msgs/CompressedImage.
type CompressedImage struct {
	Header Header
	Format string
	Data   []byte
}

// JointState is sensor_msgs/JointState.
type JointState struct {
	Header   Header
	Name     []string
	Position []float64
	Velocity []float64
	Effort   []float64
}

// JointTrajectoryPoint is trajectory_msgs/JointTrajectoryPoint.
type JointTrajectoryPoint struct {
	Positions     []float64
	Velocities    []float64
	Accelerations []float64
	Effort        []float64
	TimeFromStart Duration
}

// JointTrajectory is trajectory_msgs/JointTrajectory.
type JointTrajectory struct {
	Header     Header
	JointNames []string
	Points     []JointTrajectoryPoint
}

// TypeName implements Message.
func (*String) TypeName() string { return "std_msgs::msg::dds_::String_" }

// MarshalCDR implements Message.
func (m *String) MarshalCDR() []byte {
	e := newEncoder(len(m.Data) + 8)
	e.str(m.Data)
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *String) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	v := String{Data: d.str()}
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*Float64) TypeName() string { return "std_msgs::msg::dds_::Float64_" }

// MarshalCDR implements Message.
func (m *Float64) MarshalCDR() []byte {
	e := newEncoder(8)
	e.f64(m.Data)
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *Float64) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	v := Float64{Data: d.f64()}
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*Twist) TypeName() string { return "geometry_msgs::msg::dds_::Twist_" }

// MarshalCDR implements Message.
func (m *Twist) MarshalCDR() []byte {
	e := newEncoder(48)
	for _, v := range []Vector3{m.Linear, m.Angular} {
		e.f64(v.X)
		e.f64(v.Y)
		e.f64(v.Z)
	}
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *Twist) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v Twist
	for _, p := range []*Vector3{&v.Linear, &v.Angular} {
		p.X, p.Y, p.Z = d.f64(), d.f64(), d.f64()
	}
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*PoseStamped) TypeName() string { return "geometry_msgs::msg::dds_::PoseStamped_" }

// MarshalCDR implements Message.
func (m *PoseStamped) MarshalCDR() []byte {
	e := newEncoder(len(m.Header.FrameID) + 72)
	m.Header.enc(e)
	p := &m.Pose
	for _, x := range []float64{p.Position.X, p.Position.Y, p.Position.Z, p.Orientation.X, p.Orientation.Y, p.Orientation.Z, p.Orientation.W} {
		e.f64(x)
	}
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *PoseStamped) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v PoseStamped
	v.Header.dec(d)
	p := &v.Pose
	for _, x := range []*float64{&p.Position.X, &p.Position.Y, &p.Position.Z, &p.Orientation.X, &p.Orientation.Y, &p.Orientation.Z, &p.Orientation.W} {
		*x = d.f64()
	}
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*Image) TypeName() string { return "sensor_msgs::msg::dds_::Image_" }

// MarshalCDR implements Message.
func (m *Image) MarshalCDR() []byte {
	e := newEncoder(len(m.Header.FrameID) + len(m.Encoding) + len(m.Data) + 40)
	m.Header.enc(e)
	e.u32(m.Height)
	e.u32(m.Width)
	e.str(m.Encoding)
	e.u8(m.IsBigendian)
	e.u32(m.Step)
	e.octets(m.Data)
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *Image) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v Image
	v.Header.dec(d)
	v.Height = d.u32()
	v.Width = d.u32()
	v.Encoding = d.str()
	v.IsBigendian = d.u8()
	v.Step = d.u32()
	v.Data = d.octets()
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*CompressedImage) TypeName() string { return "sensor_msgs::msg::dds_::CompressedImage_" }

// MarshalCDR implements Message.
func (m *CompressedImage) MarshalCDR() []byte {
	e := newEncoder(len(m.Header.FrameID) + len(m.Format) + len(m.Data) + 24)
	m.Header.enc(e)
	e.str(m.Format)
	e.octets(m.Data)
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *CompressedImage) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v CompressedImage
	v.Header.dec(d)
	v.Format = d.str()
	v.Data = d.octets()
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*JointState) TypeName() string { return "sensor_msgs::msg::dds_::JointState_" }

// MarshalCDR implements Message.
func (m *JointState) MarshalCDR() []byte {
	e := newEncoder(len(m.Header.FrameID) + 16*len(m.Name) + 8*(len(m.Position)+len(m.Velocity)+len(m.Effort)) + 32)
	m.Header.enc(e)
	e.strs(m.Name)
	e.f64s(m.Position)
	e.f64s(m.Velocity)
	e.f64s(m.Effort)
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *JointState) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v JointState
	v.Header.dec(d)
	v.Name = d.strs()
	v.Position = d.f64s()
	v.Velocity = d.f64s()
	v.Effort = d.f64s()
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

// TypeName implements Message.
func (*JointTrajectory) TypeName() string { return "trajectory_msgs::msg::dds_::JointTrajectory_" }

// MarshalCDR implements Message.
func (m *JointTrajectory) MarshalCDR() []byte {
	e := newEncoder(len(m.Header.FrameID) + 16*len(m.JointNames) + 64*len(m.Points) + 32)
	m.Header.enc(e)
	e.strs(m.JointNames)
	e.u32(uint32(len(m.Points)))
	for i := range m.Points {
		p := &m.Points[i]
		e.f64s(p.Positions)
		e.f64s(p.Velocities)
		e.f64s(p.Accelerations)
		e.f64s(p.Effort)
		e.i32(p.TimeFromStart.Sec)
		e.u32(p.TimeFromStart.Nanosec)
	}
	return e.bytes()
}

// UnmarshalCDR implements Message.
func (m *JointTrajectory) UnmarshalCDR(data []byte) error {
	d, err := newDecoder(data)
	if err != nil {
		return decodeErr(m, err)
	}
	var v JointTrajectory
	v.Header.dec(d)
	v.JointNames = d.strs()
	if n := d.count(24); n > 0 { // four sequence lengths and a duration
		v.Points = make([]JointTrajectoryPoint, n)
		for i := range v.Points {
			p := &v.Points[i]
			p.Positions = d.f64s()
			p.Velocities = d.f64s()
			p.Accelerations = d.f64s()
			p.Effort = d.f64s()
			p.TimeFromStart.Sec = d.i32()
			p.TimeFromStart.Nanosec = d.u32()
		}
	}
	if err := d.done(m.TypeName()); err != nil {
		return err
	}
	*m = v
	return nil
}

func decodeErr(m Message, err error) error {
	return fmt.Errorf("ros2: decode %s: %w", m.TypeName(), err)
}
