package ros2

import (
	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/rosmsg"
)

// ImageToRGB converts a sensor_msgs/Image with encoding rgb8, bgr8, rgba8,
// bgra8 or mono8 (8UC1) to an RGB image (alpha dropped, grey replicated);
// see rosmsg.ImageToRGB.
func ImageToRGB(m *Image) (policy.Image, error) {
	return rosmsg.ImageToRGB(rosmsg.Image{Height: m.Height, Width: m.Width, Encoding: m.Encoding, Step: m.Step, Data: m.Data})
}

// CompressedToRGB decodes a sensor_msgs/CompressedImage holding a JPEG or a
// PNG to an RGB image; see rosmsg.CompressedToRGB.
func CompressedToRGB(m *CompressedImage) (policy.Image, error) {
	return rosmsg.CompressedToRGB(m.Format, m.Data)
}
