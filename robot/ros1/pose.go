package ros1

import (
	"time"

	"github.com/bluenviron/goroslib/v2/pkg/msgs/geometry_msgs"

	"github.com/vstgo/vst/robot/rosmsg"
)

// Pose is an end-effector pose in a named frame.
type Pose = rosmsg.Pose

// PoseSource supplies the end effector's measured pose. Sensor implements
// it.
type PoseSource = rosmsg.PoseSource

// poseFromMsg validates a geometry_msgs/Pose and normalises its quaternion.
func poseFromMsg(m *geometry_msgs.Pose, frame string) (Pose, error) {
	return rosmsg.NewPose(
		[3]float64{m.Position.X, m.Position.Y, m.Position.Z},
		[4]float64{m.Orientation.X, m.Orientation.Y, m.Orientation.Z, m.Orientation.W},
		frame)
}

func (s *Sensor) onPose(m *geometry_msgs.PoseStamped) {
	s.store.OnPose(func() (Pose, error) { return poseFromMsg(&m.Pose, m.Header.FrameId) })
}

// EEFPose implements PoseSource.
func (s *Sensor) EEFPose() (Pose, time.Time, error) { return s.store.EEFPose() }
