// Package ros2 connects the robot control loop to ROS 2 over DDS, without a
// ROS 2 installation: it speaks to Eclipse CycloneDDS (Debian's 0.10.2, the
// DDS that ROS 2's rmw_cyclonedds uses) through cgo, with ROS 2's naming
// (topics "rt/NAME", types "pkg::msg::dds_::Type_") and QoS defaults
// (reliable, volatile, keep-last 10; SensorDataQoS for cameras).
//
// The message types (geometry_msgs Twist and PoseStamped,
// trajectory_msgs/JointTrajectory, sensor_msgs JointState, Image and
// CompressedImage, std_msgs String and Float64) and their XCDR1 (plain CDR,
// little-endian) encoding are pure Go and build everywhere. The transport
// (Node, Publisher, Subscriber, Sensor, Actuator) needs CycloneDDS and is
// only built with the ros2 build tag:
//
//	apt-get install cyclonedds-dev cyclonedds-tools   # or scripts/setup.sh
//	go test -tags ros2 ./robot/ros2/
//
// The C type support in msg_*.c and msg_*.h is generated from idl/*.idl by
// gen.sh (CycloneDDS's idlc -l c); regenerate it after editing the IDL with
// `go generate -tags ros2 ./robot/ros2/`.
//
// It has not been run against a real ROS 2 node: none can be installed on
// the machines that build vst-go. See the README for what matters for
// interoperability.
package ros2
