package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/sensor_msgs"
	"github.com/bluenviron/goroslib/v2/pkg/msgs/trajectory_msgs"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/robot/camera"
	"github.com/vstgo/vst/robot/embodiment"
	"github.com/vstgo/vst/robot/mqtt"
)

func readSummary(t *testing.T, path string) runSummary {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var s runSummary
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

func TestRunSimExpertSucceeds(t *testing.T) {
	out, err := run(t, "", "run", "--sim", "libero_spatial/0", "--policy", "expert", "--steps", "300")
	require.NoError(t, err)
	require.Contains(t, out, `episode 0 of libero_spatial/0 "pick up the black bowl between the plate and the ramekin and place it on the plate": success after`)
	for _, stage := range []string{"capture", "preprocess", "inference", "safety", "publish", "tick"} {
		require.Contains(t, out, stage)
	}
	require.Contains(t, out, "p99 ms")
}

// Every command the random policy leads to passes the filter: within each
// dimension's limits, and the end effector stays near the workspace.
func TestRunSimRandomStaysWithinLimits(t *testing.T) {
	js := filepath.Join(t.TempDir(), "run.json")
	out, err := run(t, "", "run", "--sim", "libero_object/2/5", "--policy", "random=7", "--steps", "60", "--json", js)
	require.NoError(t, err)
	require.Contains(t, out, "episode 5 of libero_object/2")
	s := readSummary(t, js)
	require.False(t, s.DryRun)
	require.Len(t, s.Episodes, 1)
	require.Equal(t, "steps", s.Episodes[0].Ended)
	require.GreaterOrEqual(t, s.Commands.Commands, uint64(60))
	spec, err := embodiment.Builtin("panda_sim")
	require.NoError(t, err)
	require.Len(t, s.Commands.Min, spec.ActionDim())
	for i, d := range spec.Dims {
		require.GreaterOrEqual(t, float64(s.Commands.Min[i]), d.Min, d.Name)
		require.LessOrEqual(t, float64(s.Commands.Max[i]), d.Max, d.Name)
	}
	// The controlled stop at the end leaves the deltas at zero.
	for i := range 6 {
		require.Zero(t, s.Commands.Last[i])
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--sim", "libero_spatial/0"}, "--policy is required"},
		{[]string{"run", "--policy", "random"}, "nothing to control"},
		{[]string{"run", "--policy", "expert", "--fake"}, "--policy expert needs --sim"},
		{[]string{"run", "--sim", "libero_spatial", "--policy", "random"}, `--sim "libero_spatial": want SUITE/TASK[/EPISODE]`},
		{[]string{"run", "--sim", "libero_spatial/10", "--policy", "random"}, "task must be a number in [0, 10)"},
		{[]string{"run", "--sim", "libero_spatial/1/50", "--policy", "random"}, "episode must be a number in [0, 50)"},
		{[]string{"run", "--sim", "nope/1", "--policy", "random"}, `--sim "nope/1"`},
		{[]string{"run", "--sim", "libero_spatial/0", "--ros1", "http://x:11311", "--policy", "random"}, "--sim drives the simulator"},
		{[]string{"run", "--ros1", "http://x:11311", "--ros2", "--policy", "random"}, "--ros1 and --ros2 are exclusive"},
		{[]string{"run", "--fake", "--policy", "magic"}, `unknown policy "magic" (known: expert, constant, model, random, server)`},
		{[]string{"run", "--fake", "--policy", "random", "--embodiment", "hal9000"}, `--embodiment "hal9000": neither a spec file nor a built-in`},
		{[]string{"run", "--fake", "--policy", "random", "--steps", "-1"}, "--steps must not be negative"},
		{[]string{"run", "--fake", "--policy", "random", "--rate", "-2"}, "--rate -2"},
		{[]string{"run", "--fake", "--policy", "random", "--mqtt", "tcp://127.0.0.1:1", "--robot-id", "a/b"}, "--robot-id"},
		{[]string{"run", "--camera", "nose=0", "--policy", "random"}, `embodiment "panda_sim" has no camera "nose"`},
		{[]string{"run", "--camera", "agentview=x.mp4", "--policy", "random"}, "needs cameras wrist"},
		{[]string{"run", "--fake", "--policy", "random", "--horizon", "40"}, "not under the safety filter's policy timeout"},
		{[]string{"run", "--sim", "libero_spatial/0", "--embodiment", "arm6dof", "--policy", "random"}, `reads camera "front"`},
	} {
		_, err := run(t, "", c.args...)
		require.ErrorContains(t, err, c.want, c.args)
	}
	if !ros2Available {
		_, err := run(t, "", "run", "--ros2", "--policy", "random", "--embodiment", "arm6dof")
		require.ErrorContains(t, err, "rebuild with -tags ros2")
	}
	out, err := run(t, "", "run", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "Examples:")
	require.Contains(t, out, "--sim libero_spatial/0 --policy expert")
}

// Controller overhead: everything but the model (the constant policy
// answers at once), at 20 Hz, with the fake sensor and a discarding
// actuator, commands sent.
func TestRunControllerOverhead(t *testing.T) {
	js := filepath.Join(t.TempDir(), "run.json")
	_, err := run(t, "", "run", "--fake", "--policy", "constant", "--steps", "100", "--dry-run=false", "--json", js)
	require.NoError(t, err)
	s := readSummary(t, js)
	tick := s.Latency["tick"]
	t.Logf("controller overhead at 20 Hz over %d ticks: tick p50 %.3f ms, p99 %.3f ms, max %.3f ms", tick.Count, tick.P50ms, tick.P99ms, tick.MaxMs)
	require.EqualValues(t, 100, tick.Count)
	require.GreaterOrEqual(t, s.Commands.Commands, uint64(100))
	// The target is 2 ms; the race detector and shared CPUs get slack.
	require.Less(t, tick.P99ms, 10.0)
}

// --- ROS 1: a real rosmaster, a camera from a video file, dry run -----------

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProc starts a tool in its own process group, stopped in t.Cleanup.
func startProc(t *testing.T, env []string, name string, args ...string) *bytes.Buffer {
	t.Helper()
	bin, err := exec.LookPath(name)
	require.NoError(t, err, "%s is missing: run scripts/setup.sh", name)
	var log bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	return &log
}

func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "nothing listens on %s after 10 s", addr)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunDryRunCameraROS1PublishesNothing(t *testing.T) {
	dir := t.TempDir()
	// A short video as the cameras.
	var frames []policy.Image
	for i := range 20 {
		im := policy.Image{H: 48, W: 64, Pix: make([]uint8, 48*64*3)}
		for p := range im.Pix {
			im.Pix[p] = uint8(i*10 + p%7)
		}
		frames = append(frames, im)
	}
	video := filepath.Join(dir, "cam.avi")
	require.NoError(t, camera.WriteVideo(video, frames, 20))

	port := freeTCPPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	startProc(t, append(os.Environ(), "ROS_MASTER_URI=http://"+addr, "ROS_HOSTNAME=127.0.0.1", "ROS_HOME="+dir, "ROS_LOG_DIR="+dir),
		"rosmaster", "--core", "-p", strconv.Itoa(port))
	waitTCP(t, addr)
	t.Setenv("ROS_IP", "127.0.0.1")

	peer, err := goroslib.NewNode(goroslib.NodeConf{MasterAddress: addr, Name: "robot_peer", Host: "127.0.0.1", LogDestinations: goroslib.LogDestinationCallback})
	require.NoError(t, err)
	defer peer.Close()
	var commands atomic.Int64
	sub, err := goroslib.NewSubscriber(goroslib.SubscriberConf{Node: peer, Topic: "/joint_trajectory_cmd",
		Callback: func(*trajectory_msgs.JointTrajectory) { commands.Add(1) }})
	require.NoError(t, err)
	defer sub.Close()
	pub, err := goroslib.NewPublisher(goroslib.PublisherConf{Node: peer, Topic: "/joint_states", Msg: &sensor_msgs.JointState{}})
	require.NoError(t, err)
	defer pub.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the robot's joint states at 50 Hz
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			pub.Write(&sensor_msgs.JointState{Name: []string{"joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "gripper"},
				Position: []float64{0.1, -0.2, 0.3, 0, 0.5, 0, 0.04}})
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	js := filepath.Join(dir, "run.json")
	out, err := run(t, "", "run", "--embodiment", "arm6dof", "--ros1", "http://"+addr, "--camera", "front="+video, "--camera", "wrist="+video,
		"--policy", "random=3", "--instruction", "wave", "--steps", "60", "--json", js)
	require.NoError(t, err)
	require.Contains(t, out, "dry run:")
	s := readSummary(t, js)
	require.True(t, s.DryRun)
	require.Len(t, s.Episodes, 1)
	require.Zero(t, s.Episodes[0].Sent)
	require.Greater(t, s.Episodes[0].DryRun, uint64(30), "the loop planned and checked commands:\n%s", out)
	require.Zero(t, s.Commands.Commands, "nothing reached the actuator")
	time.Sleep(200 * time.Millisecond)
	require.Zero(t, commands.Load(), "a command was published in dry-run mode")
}

// --- MQTT: a real mosquitto ------------------------------------------------

func TestRunMQTTTelemetryAndEStop(t *testing.T) {
	port := freeTCPPort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n", port)), 0o600))
	startProc(t, os.Environ(), "mosquitto", "-c", conf)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitTCP(t, addr)
	url := "tcp://" + addr

	var (
		mu     sync.Mutex
		tel    []mqtt.Telemetry
		events []mqtt.Event
	)
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("watcher"))
	tok := cl.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	defer cl.Disconnect(100)
	tok = cl.Subscribe("vla/sim1/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(m.Topic(), "/telemetry"):
			var x mqtt.Telemetry
			if json.Unmarshal(m.Payload(), &x) == nil {
				tel = append(tel, x)
			}
		case strings.HasSuffix(m.Topic(), "/events"):
			var x mqtt.Event
			if json.Unmarshal(m.Payload(), &x) == nil {
				events = append(events, x)
			}
		}
	})
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"run", "--sim", "libero_spatial/1", "--policy", "random=1", "--mqtt", url, "--robot-id", "sim1"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	last := func() (mqtt.Telemetry, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(tel) == 0 {
			return mqtt.Telemetry{}, 0
		}
		return tel[len(tel)-1], len(tel)
	}
	require.Eventually(t, func() bool {
		x, n := last()
		return n >= 2 && x.Mode == "running" && x.LoopRate > 10 && x.Latency.Tick.P99 > 0 && len(x.LastAction) == 7
	}, 15*time.Second, 50*time.Millisecond, "no running telemetry; stderr:\n%s", &errOut)
	x, _ := last()
	require.Equal(t, "sim1", x.RobotID)
	require.Contains(t, x.Task, "pick up the black bowl")

	tok = cl.Publish("vla/sim1/cmd", 1, false, `{"cmd":"estop"}`)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.Eventually(t, func() bool {
		x, _ := last()
		if x.Mode != "estop" || len(x.LastAction) != 7 {
			return false
		}
		for _, v := range x.LastAction[:6] {
			if v != 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the e-stop did not stop motion")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.Type == mqtt.EventSafety && e.Kind == "estop" {
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond)

	cancel() // SIGINT's path: controlled stop, episode event, exit
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("vla run did not exit after cancel")
	}
	require.Contains(t, out.String(), "p99 ms")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.Type == mqtt.EventEpisode && e.Kind == "stopped" {
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond, "no episode event")
}
