//go:build ros2

package ros2

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopbackTypes are the messages the cross-process test carries.
var loopbackTypes = []string{"Twist", "PoseStamped", "JointTrajectory", "JointState", "Image"}

// TestLoopbackPeer is the publishing process of TestLoopbackRoundTrip; it
// does nothing unless that test started it.
func TestLoopbackPeer(t *testing.T) {
	domain := os.Getenv("VST_ROS2_PEER_DOMAIN")
	if domain == "" {
		return
	}
	d, err := strconv.Atoi(domain)
	require.NoError(t, err)
	n, err := New(Config{Domain: d, DDSConfig: os.Getenv("VST_ROS2_PEER_CONFIG")})
	require.NoError(t, err)
	defer n.Close()
	ws := map[string]*writer{}
	all := samples()
	for _, name := range loopbackTypes {
		w, err := n.newWriter("/loop/"+name, all[name].TypeName(), QoS{})
		require.NoError(t, err)
		ws[name] = w
	}
	// Publish until the parent process has everything and kills us.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, name := range loopbackTypes {
			if c, _ := ws[name].matched(); c > 0 {
				require.NoError(t, ws[name].write(all[name].MarshalCDR()))
			}
		}
	}
}

// TestLoopbackRoundTrip receives, in this process, messages that another
// process publishes over UDP on the loopback interface, multicast off.
func TestLoopbackRoundTrip(t *testing.T) {
	n := newTestNode(t, Config{})
	var mu sync.Mutex
	got := map[string]Message{}
	all := samples()
	record := func(name string) func(m Message) {
		return func(m Message) {
			mu.Lock()
			got[name] = m
			mu.Unlock()
		}
	}
	subs := []error{}
	for _, name := range loopbackTypes {
		var err error
		topic, rec := "/loop/"+name, record(name)
		switch name {
		case "Twist":
			_, err = Subscribe(n, topic, QoS{}, func(m *Twist) { rec(m) })
		case "PoseStamped":
			_, err = Subscribe(n, topic, QoS{}, func(m *PoseStamped) { rec(m) })
		case "JointTrajectory":
			_, err = Subscribe(n, topic, QoS{}, func(m *JointTrajectory) { rec(m) })
		case "JointState":
			_, err = Subscribe(n, topic, QoS{}, func(m *JointState) { rec(m) })
		case "Image":
			_, err = Subscribe(n, topic, QoS{}, func(m *Image) { rec(m) })
		}
		subs = append(subs, err)
	}
	for _, err := range subs {
		require.NoError(t, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoopbackPeer$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"VST_ROS2_PEER_DOMAIN="+strconv.Itoa(n.Config().Domain),
		"VST_ROS2_PEER_CONFIG="+n.Config().DDSConfig)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(loopbackTypes)
	}, 15*time.Second, 20*time.Millisecond, "not every type arrived from the other process")
	mu.Lock()
	defer mu.Unlock()
	for _, name := range loopbackTypes {
		assert.Equal(t, normalized(all[name]), got[name], name)
	}
}
