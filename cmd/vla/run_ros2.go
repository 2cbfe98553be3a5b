//go:build ros2

package main

import (
	"log/slog"

	"github.com/vstgo/vst/robot/control"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/ros2"
)

// ros2Available reports whether this build has the ROS 2 transport.
const ros2Available = true

// openROS2 joins the ROS 2 graph (CycloneDDS, $ROS_DOMAIN_ID) and returns
// a sensor for sensed (the spec minus the cameras read locally) and an
// actuator for spec.
func openROS2(spec, sensed *embodiment.Spec, log *slog.Logger) (control.Sensor, control.Actuator, func(), error) {
	n, err := ros2.New(ros2.Config{Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := ros2.NewSensor(n, sensed, ros2.SensorConfig{})
	if err != nil {
		n.Close()
		return nil, nil, nil, err
	}
	a, err := ros2.NewActuator(n, spec, ros2.ActuatorConfig{})
	if err != nil {
		s.Close()
		n.Close()
		return nil, nil, nil, err
	}
	return s, a, func() { a.Close(); s.Close(); n.Close() }, nil
}
