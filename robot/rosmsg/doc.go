// Package rosmsg holds the ROS logic that does not depend on the transport,
// shared by robot/ros1 (TCPROS through goroslib) and robot/ros2 (DDS):
//
//   - sensor_msgs/Image and sensor_msgs/CompressedImage conversion to RGB and
//     bilinear resizing to a camera's size (ImageToRGB, CompressedToRGB,
//     Resize);
//   - end-effector poses and their rotation arithmetic (Pose, ApplyDelta,
//     AxisAngle);
//   - the mapping of an embodiment's state onto joint positions and pose
//     components (ParseState), and of its base_twist dimensions onto
//     geometry_msgs/Twist fields (MapTwist);
//   - the adapters' cores: Store keeps the latest frames, joint positions and
//     pose and assembles observations from them; Commands checks and scales
//     safety-filtered commands and hands them to a transport's Sink.
//
// Message types enter as plain values (Image, slices of names and
// positions) or through small interfaces (Sink, PoseSink), so that goroslib's
// generated types and ros2's CDR types plug in without conversion layers.
package rosmsg
