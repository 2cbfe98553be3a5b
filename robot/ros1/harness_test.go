package ros1_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/goroslib/v2"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/ros1"
)

// The integration tests start Debian's rosmaster (python3-rosmaster) and
// call rostopic (python3-rostopic plus the message packages); both come from
// scripts/setup.sh. A missing tool fails the test: it must never turn into a
// skip.

// master is a rosmaster on a free loopback port, stopped in t.Cleanup.
type master struct {
	uri string   // http://127.0.0.1:PORT
	env []string // the ROS_* environment for the CLI tools
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lookPath(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	require.NoError(t, err, "%s is missing: run scripts/setup.sh (Debian python3-rosmaster, python3-rostopic and the message packages)", tool)
	return p
}

// stopProc ends a process group started with Setpgid: SIGTERM, then SIGKILL
// after 5 s.
func stopProc(cmd *exec.Cmd, done <-chan struct{}) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// startMaster starts `rosmaster --core -p PORT` with ROS_HOME and
// ROS_LOG_DIR in a temporary directory and waits until it accepts
// connections.
func startMaster(t *testing.T) *master {
	t.Helper()
	bin := lookPath(t, "rosmaster")
	lookPath(t, "rostopic")
	dir := t.TempDir()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	m := &master{uri: "http://" + addr, env: append(os.Environ(),
		"ROS_MASTER_URI=http://"+addr,
		"ROS_HOSTNAME=127.0.0.1",
		"ROS_HOME="+dir,
		"ROS_LOG_DIR="+dir,
	)}
	logPath := filepath.Join(dir, "rosmaster.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, "--core", "-p", strconv.Itoa(port))
	cmd.Env, cmd.Stdout, cmd.Stderr = m.env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() { stopProc(cmd, done) })

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return m
		}
		select {
		case <-done:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("rosmaster exited before accepting connections:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("rosmaster not ready on %s after 10 s:\n%s", addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// node returns a ros1.Node on the master, closed in t.Cleanup.
func (m *master) node(t *testing.T, cfg ros1.Config) *ros1.Node {
	t.Helper()
	cfg.MasterURI, cfg.Host = m.uri, "127.0.0.1"
	if cfg.Name == "" {
		cfg.Name = "vla_test"
	}
	n, err := ros1.New(cfg)
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// peer returns a plain goroslib node standing in for the robot's side.
func (m *master) peer(t *testing.T) *goroslib.Node {
	t.Helper()
	n, err := goroslib.NewNode(goroslib.NodeConf{
		MasterAddress:   strings.TrimPrefix(m.uri, "http://"),
		Name:            "robot_peer",
		Host:            "127.0.0.1",
		LogDestinations: goroslib.LogDestinationCallback,
	})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// rostopic runs `rostopic ARGS...` against the master and returns its
// output when it exits (within 20 s).
func (m *master) rostopic(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookPath(t, "rostopic"), args...)
	cmd.Env = m.env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "rostopic %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// rostopicBackground starts `rostopic ARGS...` and returns a function that
// waits for it to exit and returns its output; the process is stopped in
// t.Cleanup if still running.
func (m *master) rostopicBackground(t *testing.T, args ...string) func() string {
	t.Helper()
	cmd := exec.Command(lookPath(t, "rostopic"), args...)
	var out strings.Builder
	cmd.Env, cmd.Stdout, cmd.Stderr = m.env, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stopProc(cmd, done)
		}
	})
	return func() string {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			stopProc(cmd, done)
			werr = errors.New("timed out after 20 s")
		}
		require.NoError(t, werr, "rostopic %s:\n%s", strings.Join(args, " "), out.String())
		return out.String()
	}
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond, msg)
}

// normalise strips trailing spaces from every line of rostopic's YAML.
func normalise(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
