//go:build !ros2

package main

import (
	"errors"
	"log/slog"

	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
)

// ros2Available reports whether this build has the ROS 2 transport.
const ros2Available = false

// errNoROS2 is what --ros2 answers in builds without the ros2 tag.
var errNoROS2 = errors.New("--ros2: this vla was built without ROS 2 support: rebuild with -tags ros2 (needs Debian's cyclonedds-dev)")

func openROS2(_, _ *embodiment.Spec, _ *slog.Logger) (control.Sensor, control.Actuator, func(), error) {
	return nil, nil, nil, errNoROS2
}
