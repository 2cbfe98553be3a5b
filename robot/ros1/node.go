// Package ros1 connects the robot control loop to ROS 1 (TCPROS through a
// ROS master) with github.com/bluenviron/goroslib/v2, which is pure Go and
// needs no ROS installation on the controller.
//
// A Node registers with the master and publishes a latched status string.
// A Sensor, created on a Node, subscribes to camera images
// (sensor_msgs/Image or sensor_msgs/CompressedImage), joint states
// (sensor_msgs/JointState) and, when the state needs it, the end-effector
// pose (geometry_msgs/PoseStamped), and implements control.Sensor. An
// Actuator publishes the safety filter's commands for the embodiment's action
// space and implements control.Actuator:
//
//   - base_twist: geometry_msgs/Twist on /cmd_vel;
//   - eef_delta_pose_gripper: geometry_msgs/PoseStamped target poses on
//     /eef_pose_cmd (current pose plus delta) and the gripper on /gripper_cmd
//     (std_msgs/Float64);
//   - joint_position and joint_velocity: trajectory_msgs/JointTrajectory on
//     /joint_trajectory_cmd, one point reached after one control period.
//
// Topic names have ROS-conventional defaults; each can be set in Config or,
// when Config leaves it empty, by the node's private ROS parameter of the
// same name in snake case (e.g. ~cmd_vel_topic).
package ros1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/std_msgs"

	"github.com/vstgo/vst/robot/rosmsg"
)

// Config configures a Node. Topic fields left empty are read from the node's
// private ROS parameter named in the field's comment (set by a launch file's
// <param> inside the node, or with `rosparam set /NAME/PARAM VALUE` before
// the node starts) and, when that is not set either, take their default. So
// the precedence is: Config field, then private parameter, then default.
type Config struct {
	// MasterURI is the ROS master's address, as in ROS_MASTER_URI
	// ("http://host:port/") or as "host:port". It defaults to
	// $ROS_MASTER_URI, then to http://127.0.0.1:11311.
	MasterURI string
	// Name is the node's name, without slashes. It defaults to
	// "vla_controller".
	Name string
	// Host is the address other nodes reach this one at (ROS_IP /
	// ROS_HOSTNAME). It defaults to $ROS_IP, then $ROS_HOSTNAME, then an
	// address of the interface that reaches the master.
	Host string

	// ImageTopic carries sensor_msgs/Image frames of the first camera
	// (parameter ~image_topic). It defaults to "/camera/image_raw".
	ImageTopic string
	// CompressedImageTopic carries sensor_msgs/CompressedImage frames of
	// the first camera (parameter ~compressed_image_topic). It defaults to
	// "/camera/image_raw/compressed".
	CompressedImageTopic string
	// ImageTransport selects which of the two image topics the Sensor
	// reads: "raw" or "compressed" (parameter ~image_transport). It
	// defaults to "raw".
	ImageTransport string
	// JointStatesTopic carries sensor_msgs/JointState (parameter
	// ~joint_states_topic). It defaults to "/joint_states".
	JointStatesTopic string
	// EEFPoseTopic carries the end effector's measured pose as
	// geometry_msgs/PoseStamped (parameter ~eef_pose_topic). It defaults
	// to "/eef_pose".
	EEFPoseTopic string
	// CmdVelTopic receives geometry_msgs/Twist commands (parameter
	// ~cmd_vel_topic). It defaults to "/cmd_vel".
	CmdVelTopic string
	// EEFPoseCmdTopic receives geometry_msgs/PoseStamped end-effector
	// targets (parameter ~eef_pose_cmd_topic). It defaults to
	// "/eef_pose_cmd".
	EEFPoseCmdTopic string
	// GripperCmdTopic receives std_msgs/Float64 gripper commands of
	// end-effector embodiments (parameter ~gripper_cmd_topic). It defaults
	// to "/gripper_cmd".
	GripperCmdTopic string
	// JointTrajectoryCmdTopic receives trajectory_msgs/JointTrajectory
	// commands (parameter ~joint_trajectory_cmd_topic). It defaults to
	// "/joint_trajectory_cmd".
	JointTrajectoryCmdTopic string
	// StatusTopic receives latched std_msgs/String status lines (parameter
	// ~status_topic). It defaults to "/vla/status".
	StatusTopic string

	// Logger receives the node's log lines and the adapters' warnings. It
	// defaults to discarding them.
	Logger *slog.Logger
}

// stringParam is a Config field settable from a private ROS parameter.
type stringParam struct {
	param string
	field *string
	def   string
}

func (c *Config) params() []stringParam {
	return []stringParam{
		{"image_topic", &c.ImageTopic, "/camera/image_raw"},
		{"compressed_image_topic", &c.CompressedImageTopic, "/camera/image_raw/compressed"},
		{"image_transport", &c.ImageTransport, TransportRaw},
		{"joint_states_topic", &c.JointStatesTopic, "/joint_states"},
		{"eef_pose_topic", &c.EEFPoseTopic, "/eef_pose"},
		{"cmd_vel_topic", &c.CmdVelTopic, "/cmd_vel"},
		{"eef_pose_cmd_topic", &c.EEFPoseCmdTopic, "/eef_pose_cmd"},
		{"gripper_cmd_topic", &c.GripperCmdTopic, "/gripper_cmd"},
		{"joint_trajectory_cmd_topic", &c.JointTrajectoryCmdTopic, "/joint_trajectory_cmd"},
		{"status_topic", &c.StatusTopic, "/vla/status"},
	}
}

// The image transports.
const (
	// TransportRaw reads sensor_msgs/Image.
	TransportRaw = "raw"
	// TransportCompressed reads sensor_msgs/CompressedImage (JPEG or PNG).
	TransportCompressed = "compressed"
)

// topics returns the topics a Sensor reads.
func (c *Config) topics() rosmsg.Topics {
	return rosmsg.Topics{
		Image: c.ImageTopic, CompressedImage: c.CompressedImageTopic, Compressed: c.ImageTransport == TransportCompressed,
		JointStates: c.JointStatesTopic, EEFPose: c.EEFPoseTopic,
	}
}

// masterAddress turns a ROS_MASTER_URI into goroslib's "host:port".
func masterAddress(uri string) (string, error) {
	if !strings.Contains(uri, "://") {
		uri = "http://" + uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("ros1: master URI: %w", err)
	}
	if u.Scheme != "http" || u.Port() == "" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("ros1: master URI %q: want http://host:port", uri)
	}
	return u.Host, nil
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// Node is a ROS 1 node. Create it with New and release it with Close.
type Node struct {
	cfg    Config
	node   *goroslib.Node
	status *goroslib.Publisher

	mu     sync.Mutex
	closed bool
}

// New registers a node with the master, reads its topic parameters and
// advertises the status topic.
func New(cfg Config) (*Node, error) {
	if cfg.MasterURI == "" {
		cfg.MasterURI = firstEnv("ROS_MASTER_URI")
	}
	if cfg.MasterURI == "" {
		cfg.MasterURI = "http://127.0.0.1:11311"
	}
	addr, err := masterAddress(cfg.MasterURI)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "vla_controller"
	}
	if strings.ContainsRune(cfg.Name, '/') {
		return nil, fmt.Errorf("ros1: node name %q must not contain slashes", cfg.Name)
	}
	if cfg.Host == "" {
		cfg.Host = firstEnv("ROS_IP", "ROS_HOSTNAME")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	gn, err := goroslib.NewNode(goroslib.NodeConf{
		MasterAddress:   addr,
		Name:            cfg.Name,
		Host:            cfg.Host,
		LogLevel:        goroslib.LogLevelInfo,
		LogDestinations: goroslib.LogDestinationCallback,
		OnLog: func(l goroslib.LogLevel, msg string) {
			log.Log(context.Background(), slogLevel(l), msg, "node", cfg.Name)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("ros1: node %q at master %s: %w", cfg.Name, cfg.MasterURI, err)
	}
	n := &Node{node: gn}
	if err := n.readParams(&cfg); err != nil {
		gn.Close()
		return nil, err
	}
	n.cfg = cfg
	if cfg.ImageTransport != TransportRaw && cfg.ImageTransport != TransportCompressed {
		gn.Close()
		return nil, fmt.Errorf("ros1: image transport %q: want %q or %q", cfg.ImageTransport, TransportRaw, TransportCompressed)
	}
	n.status, err = goroslib.NewPublisher(goroslib.PublisherConf{
		Node: gn, Topic: cfg.StatusTopic, Msg: &std_msgs.String{}, Latch: true,
	})
	if err != nil {
		gn.Close()
		return nil, fmt.Errorf("ros1: advertise %s: %w", cfg.StatusTopic, err)
	}
	return n, nil
}

// readParams fills the empty topic fields from private parameters, then
// from the defaults.
func (n *Node) readParams(cfg *Config) error {
	for _, p := range cfg.params() {
		if *p.field != "" {
			continue
		}
		// ~PARAM, resolved as goroslib resolves the node's name.
		key := path.Join("/", os.Getenv("ROS_NAMESPACE"), cfg.Name, p.param)
		set, err := n.node.ParamIsSet(key)
		if err != nil {
			return fmt.Errorf("ros1: parameter %s: %w", key, err)
		}
		if set {
			v, err := n.node.ParamGetString(key)
			if err != nil {
				return fmt.Errorf("ros1: parameter %s must be a string: %w", key, err)
			}
			*p.field = v
		}
		if *p.field == "" {
			*p.field = p.def
		}
	}
	return nil
}

func slogLevel(l goroslib.LogLevel) slog.Level {
	switch l {
	case goroslib.LogLevelDebug:
		return slog.LevelDebug
	case goroslib.LogLevelInfo:
		return slog.LevelInfo
	case goroslib.LogLevelWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Config returns the node's configuration with parameters and defaults
// applied: the topic names it uses.
func (n *Node) Config() Config { return n.cfg }

// errClosed is returned by operations on a closed node.
var errClosed = errors.New("ros1: node is closed")

// PublishStatus publishes a status line on the status topic. The topic is
// latched: nodes that subscribe later receive the last line.
func (n *Node) PublishStatus(ctx context.Context, status string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errClosed
	}
	n.status.Write(&std_msgs.String{Data: status})
	return nil
}

// Close unregisters the node and its publishers and subscribers. Sensors
// and actuators created on it must be closed first.
func (n *Node) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	n.status.Close()
	n.node.Close()
}
