//go:build ros2

package ros2

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nextDomain hands every test its own DDS domain, so that tests (and test
// runs of other packages) never see each other's traffic.
var nextDomain atomic.Int32

func init() { nextDomain.Store(int32(100 + os.Getpid()%60)) }

// loopbackConfig writes a CycloneDDS configuration that keeps all traffic on
// lo, with multicast off and the loopback address as the only peer, and
// returns it as a file:// URI.
func loopbackConfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cyclonedds.xml")
	xml := `<CycloneDDS><Domain id="any">
  <General><Interfaces><NetworkInterface name="lo"/></Interfaces><AllowMulticast>false</AllowMulticast></General>
  <Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>20</MaxAutoParticipantIndex>
    <Peers><Peer address="127.0.0.1"/></Peers></Discovery>
</Domain></CycloneDDS>`
	require.NoError(t, os.WriteFile(path, []byte(xml), 0o644))
	return "file://" + path
}

// newTestNode starts a node on a fresh domain with the loopback config.
func newTestNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	cfg.Domain = int(nextDomain.Add(1))
	cfg.DDSConfig = loopbackConfig(t)
	n, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// waitMatched waits until p has matched a reader.
func waitMatched[M Message](t testing.TB, p *Publisher[M]) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := p.Matched()
		return err == nil && c > 0
	}, 10*time.Second, 10*time.Millisecond, "no reader matched")
}

// rawSubscribe subscribes to the serialized data of a topic.
func rawSubscribe(t testing.TB, n *Node, name, typeName string, q QoS) <-chan []byte {
	t.Helper()
	s, err := n.subscribe(name, typeName, q)
	require.NoError(t, err)
	ch := make(chan []byte, 16)
	s.onData = func(b []byte) { ch <- b }
	go s.run()
	t.Cleanup(s.Close)
	return ch
}

// TestCycloneSerializerMatches writes each message through CycloneDDS, which
// validates our bytes, decodes them into its idlc-generated C sample and
// serializes that again with its own serializer, and checks that the data a
// reader takes is byte for byte what MarshalCDR produced.
func TestCycloneSerializerMatches(t *testing.T) {
	n := newTestNode(t, Config{})
	for name, m := range samples() {
		t.Run(name, func(t *testing.T) {
			topic := "/golden/" + name
			ch := rawSubscribe(t, n, topic, m.TypeName(), QoS{})
			w, err := n.newWriter(topic, m.TypeName(), QoS{})
			require.NoError(t, err)
			want := m.MarshalCDR()
			require.NoError(t, w.write(want))
			select {
			case got := <-ch:
				assert.Equal(t, fmt.Sprintf("% x", want), fmt.Sprintf("% x", got))
				back := newLike(m)
				require.NoError(t, back.UnmarshalCDR(got))
				assert.Equal(t, normalized(m), back)
			case <-time.After(5 * time.Second):
				t.Fatal("no sample")
			}
		})
	}
}

func TestPublishRejectsBadData(t *testing.T) {
	n := newTestNode(t, Config{})
	w, err := n.newWriter("/bad", (*Twist)(nil).TypeName(), QoS{})
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"short":     {0, 1, 0, 0, 1, 2},
		"no header": {1},
		"xcdr2":     append([]byte{0, 7, 0, 0}, make([]byte, 48)...),
	} {
		assert.Error(t, w.write(data), name)
	}
}

func TestNewPublisherNeedsAConcreteType(t *testing.T) {
	n := newTestNode(t, Config{})
	_, err := NewPublisher[Message](n, "/x", QoS{})
	assert.Error(t, err)
	_, err = NewPublisher[*Twist](n, "", QoS{})
	assert.Error(t, err)
	_, err = NewPublisher[*Twist](n, "/x", QoS{Depth: -1})
	assert.Error(t, err)
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"domain":    {Domain: 233},
		"transport": {ImageTransport: "h264"},
	} {
		_, err := New(cfg)
		assert.Error(t, err, name)
	}
}

// TestStatusIsTransientLocal checks that a reader joining after the status
// was published still receives it.
func TestStatusIsTransientLocal(t *testing.T) {
	n := newTestNode(t, Config{})
	ctx := context.Background()
	require.NoError(t, n.PublishStatus(ctx, "running"))
	got := make(chan string, 1)
	s, err := Subscribe(n, n.Config().StatusTopic, QoS{TransientLocal: true, Depth: 1}, func(m *String) { got <- m.Data })
	require.NoError(t, err)
	defer s.Close()
	select {
	case v := <-got:
		assert.Equal(t, "running", v)
	case <-time.After(5 * time.Second):
		t.Fatal("late reader got no status")
	}
}
