package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/mqtt"
)

// newClient creates and starts a client with fast retries; it is closed in
// t.Cleanup.
func newClient(t *testing.T, cfg mqtt.Config) *mqtt.Client {
	t.Helper()
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 50 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	c, err := mqtt.New(cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(c.Close)
	return c
}

func waitConnected(t *testing.T, c *mqtt.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.WaitConnected(ctx))
}

// connectError waits for the client's first failed connection attempt and
// returns its error.
func connectError(t *testing.T, c *mqtt.Client) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := c.WaitConnected(ctx)
		cancel()
		require.Error(t, err, "connected")
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		require.True(t, time.Now().Before(deadline), "no connection attempt failed within 5 s")
	}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "payload %s", b)
	return v
}

func TestNewRejects(t *testing.T) {
	for _, ca := range []struct {
		name string
		cfg  mqtt.Config
		err  string
	}{
		{"no robot id", mqtt.Config{BrokerURL: "tcp://h:1"}, "robot id is empty"},
		{"wildcard", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: "r+1"}, `robot id "r+1": character '+' is not allowed (want letters, digits, '-', '_' or '.')`},
		{"slash", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: "a/b"}, `robot id "a/b": character '/' is not allowed (want letters, digits, '-', '_' or '.')`},
		{"hash", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: "#"}, `robot id "#": character '#' is not allowed (want letters, digits, '-', '_' or '.')`},
		{"long", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: strings.Repeat("a", 65)}, "robot id is 65 bytes long, more than 64"},
		{"scheme", mqtt.Config{BrokerURL: "http://h:1", RobotID: "r"}, `broker URL "http://h:1": scheme must be tcp:// or ssl://`},
		{"credentials in URL", mqtt.Config{BrokerURL: "tcp://u:secret@h:1", RobotID: "r"}, "broker URL: put the credentials in Username and Password, not in the URL"},
		{"no port", mqtt.Config{BrokerURL: "tcp://h", RobotID: "r"}, `broker URL "tcp://h": want scheme://host:port`},
		{"tls on tcp", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: "r", InsecureSkipVerify: true}, `broker URL "tcp://h:1": TLS options need an ssl:// URL`},
		{"cert without key", mqtt.Config{BrokerURL: "ssl://h:1", RobotID: "r", CertFile: "c.pem"}, "client certificate: CertFile and KeyFile go together"},
		{"missing CA", mqtt.Config{BrokerURL: "ssl://h:1", RobotID: "r", CAFile: "/nonexistent/ca.pem"}, "CA file: open /nonexistent/ca.pem: no such file or directory"},
		{"negative", mqtt.Config{BrokerURL: "tcp://h:1", RobotID: "r", BufferMaxBytes: -1}, "negative period, bound or timeout (or a keep-alive under 1 s)"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, err := mqtt.New(ca.cfg)
			require.EqualError(t, err, ca.err)
		})
	}
}

func TestTelemetry(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	sub := subscribe(t, b.URL(), "sub-tel", false, "vla/r1/telemetry")
	newClient(t, mqtt.Config{
		BrokerURL: b.URL(),
		RobotID:   "r1",
		Telemetry: func() mqtt.Telemetry {
			return mqtt.Telemetry{
				Mode:     "running",
				LoopRate: 19.9,
				Latency: mqtt.Stages{
					Capture:   mqtt.LatencyOf(time.Millisecond, 3*time.Millisecond),
					Inference: mqtt.LatencyOf(80*time.Millisecond, 120*time.Millisecond),
				},
				LastAction:   mqtt.Floats{0.5, -1, math.NaN()},
				SafetyEvents: 3,
				Episode:      2,
				Task:         "pick up the cube",
			}
		},
	})

	var times []time.Time
	for range 4 {
		m := sub.next(t, 3*time.Second)
		require.EqualValues(t, 1, m.Qos())

		var raw map[string]any
		require.NoError(t, json.Unmarshal(m.Payload(), &raw))
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		require.Equal(t, []string{"buffer", "episode", "last_action", "latency", "loop_rate_hz", "mode",
			"robot_id", "safety_events", "task", "time"}, keys)
		require.Equal(t, []any{0.5, -1.0, nil}, raw["last_action"])
		lat := raw["latency"].(map[string]any)
		require.Len(t, lat, 6)
		for _, st := range []string{"capture", "preprocess", "inference", "safety", "publish", "tick"} {
			require.Contains(t, lat, st)
		}
		require.Equal(t, map[string]any{"p50_ms": 80.0, "p99_ms": 120.0}, lat["inference"])
		require.Equal(t, map[string]any{"queued": 0.0, "bytes": 0.0, "dropped": 0.0}, raw["buffer"])

		tel := decode[mqtt.Telemetry](t, m.Payload())
		require.Equal(t, "r1", tel.RobotID)
		require.Equal(t, "running", tel.Mode)
		require.Equal(t, 19.9, tel.LoopRate)
		require.EqualValues(t, 3, tel.SafetyEvents)
		require.Equal(t, 2, tel.Episode)
		require.Equal(t, "pick up the cube", tel.Task)
		times = append(times, tel.Time)
	}
	for i := 1; i < len(times); i++ {
		d := times[i].Sub(times[i-1])
		require.InDelta(t, 500, float64(d.Milliseconds()), 150, "telemetry interval %v", d)
	}
}

func TestStatusAndLastWill(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	p := startProxy(t, "127.0.0.1:0", strings.TrimPrefix(b.URL(), "tcp://"))
	c := newClient(t, mqtt.Config{BrokerURL: p.URL(), RobotID: "r2", ClientID: "robot-two", KeepAlive: 2 * time.Second})
	waitConnected(t, c)

	// A late subscriber gets the retained "online".
	sub := subscribe(t, b.URL(), "sub-status", false, "vla/r2/status")
	m := sub.next(t, 3*time.Second)
	require.True(t, m.Retained())
	st := decode[mqtt.Status](t, m.Payload())
	require.Equal(t, "online", st.State)
	require.Equal(t, "r2", st.RobotID)
	require.Equal(t, "robot-two", st.ClientID)
	require.False(t, st.Time.IsZero())

	// Abnormal disconnect: the broker publishes the last will.
	p.cut()
	m = sub.next(t, 3*time.Second)
	st = decode[mqtt.Status](t, m.Payload())
	require.Equal(t, "offline", st.State)
	require.Equal(t, "r2", st.RobotID)
	require.True(t, st.Time.IsZero(), "the will carries no time")
	require.JSONEq(t, `{"state":"offline","robot_id":"r2","client_id":"robot-two"}`, string(m.Payload()))

	// The client reconnects and says so.
	m = sub.next(t, 3*time.Second)
	require.Equal(t, "online", decode[mqtt.Status](t, m.Payload()).State)

	// Close publishes a retained "offline".
	c.Close()
	m = sub.next(t, 3*time.Second)
	st = decode[mqtt.Status](t, m.Payload())
	require.Equal(t, "offline", st.State)
	require.False(t, st.Time.IsZero())
	late := subscribe(t, b.URL(), "sub-status-late", false, "vla/r2/status")
	m = late.next(t, 3*time.Second)
	require.True(t, m.Retained())
	require.Equal(t, "offline", decode[mqtt.Status](t, m.Payload()).State)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	sub := subscribe(t, b.URL(), "sub-cmd", false, "vla/r3/events")
	// A retained command must not run when the robot connects.
	sub.publish(t, "vla/r3/cmd", true, []byte(`{"cmd":"start","instruction":"stale"}`))

	got := make(chan mqtt.Command, 10)
	c := newClient(t, mqtt.Config{
		BrokerURL: b.URL(),
		RobotID:   "r3",
		OnCommand: func(_ context.Context, cmd mqtt.Command) error {
			if cmd.Instruction == "fail me" {
				return errors.New("no episode to start")
			}
			got <- cmd
			return nil
		},
	})
	waitConnected(t, c)
	ev := decode[mqtt.Event](t, sub.next(t, 3*time.Second).Payload())
	require.Equal(t, mqtt.Event{
		Time: ev.Time, RobotID: "r3", Type: mqtt.EventError, Kind: "bad_command",
		Message: "retained command ignored: publish commands without the retain flag",
	}, ev)
	sub.publish(t, "vla/r3/cmd", true, nil) // clearing it is silently ignored

	for _, ca := range []struct {
		name    string
		payload string
		cmd     mqtt.Command // when err is empty
		kind    string
		err     string
	}{
		{name: "estop", payload: `{"cmd":"estop"}`, cmd: mqtt.Command{Cmd: "estop"}},
		{name: "reset", payload: `{"cmd":"reset"}`, cmd: mqtt.Command{Cmd: "reset"}},
		{name: "start", payload: `{"cmd":"start","instruction":" open the drawer "}`, cmd: mqtt.Command{Cmd: "start", Instruction: "open the drawer"}},
		{name: "stop", payload: `{"cmd":"stop"}`, cmd: mqtt.Command{Cmd: "stop"}},
		{name: "unknown", payload: `{"cmd":"dance"}`, kind: "bad_command", err: `unknown command "dance" (want estop, reset, start or stop)`},
		{name: "no instruction", payload: `{"cmd":"start"}`, kind: "bad_command", err: `command "start" needs a non-empty "instruction"`},
		{name: "bad json", payload: `{"cmd":`, kind: "bad_command", err: `command is not a JSON object like {"cmd":"stop"}: unexpected EOF`},
		{name: "oversize", payload: `{"cmd":"start","instruction":"` + strings.Repeat("x", 5000) + `"}`, kind: "bad_command", err: "command is 5032 bytes, more than the 4096 allowed"},
		{name: "handler error", payload: `{"cmd":"start","instruction":"fail me"}`, kind: "command_failed", err: `command "start": no episode to start`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			sub.publish(t, "vla/r3/cmd", false, []byte(ca.payload))
			if ca.err == "" {
				select {
				case cmd := <-got:
					require.Equal(t, ca.cmd, cmd)
				case <-time.After(3 * time.Second):
					require.FailNow(t, "command not delivered")
				}
				return
			}
			ev := decode[mqtt.Event](t, sub.next(t, 3*time.Second).Payload())
			require.Equal(t, mqtt.EventError, ev.Type)
			require.Equal(t, ca.kind, ev.Kind)
			require.Equal(t, ca.err, ev.Message)
			require.Equal(t, "r3", ev.RobotID)
		})
	}
	require.Empty(t, got)
	require.Empty(t, sub.msgs)
}

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "pw")
	out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, "robot", "s3cret").CombinedOutput()
	require.NoError(t, err, "mosquitto_passwd (Debian: mosquitto): %s", out)
	b := startBroker(t, "allow_anonymous false", "password_file "+pw)

	for _, ca := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"right password", "robot", "s3cret", true},
		{"wrong password", "robot", "nope", false},
		{"anonymous", "", "", false},
	} {
		t.Run(ca.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, mqtt.Config{BrokerURL: b.URL(), RobotID: "r4", ClientID: "r4-" + ca.user + ca.pass, Username: ca.user, Password: ca.pass})
			if ca.ok {
				waitConnected(t, c)
				return
			}
			err := connectError(t, c)
			require.ErrorIs(t, err, mqtt.ErrNotAuthorized)
			require.ErrorContains(t, err, fmt.Sprintf("not connected: connect to %s as %q: broker refused the credentials (bad username or password, or not authorized)", b.URL(), ca.user))
		})
	}
}

func TestEventsFlowInOrder(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	sub := subscribe(t, b.URL(), "sub-ev", false, "vla/r5/events")
	c := newClient(t, mqtt.Config{BrokerURL: b.URL(), RobotID: "r5"})
	waitConnected(t, c)
	require.EqualError(t, c.PublishEvent(mqtt.Event{}), "event has no type")
	const n = 100
	for i := range n {
		require.NoError(t, c.PublishEvent(mqtt.Event{Type: mqtt.EventSafety, Kind: "clamp", Message: fmt.Sprint(i)}))
	}
	for i := range n {
		ev := decode[mqtt.Event](t, sub.next(t, 3*time.Second).Payload())
		require.Equal(t, fmt.Sprint(i), ev.Message)
	}
	require.Eventually(t, func() bool { return c.Buffer() == mqtt.Buffer{} }, 3*time.Second, 10*time.Millisecond)
}

// recvEvents reads n events and returns their messages.
func recvEvents(t *testing.T, s *subscriber, n int, timeout time.Duration) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		out = append(out, decode[mqtt.Event](t, s.next(t, timeout).Payload()).Message)
	}
	return out
}

func numbered(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

func TestOfflineBufferAcrossBrokerRestart(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "persistence true", "persistence_location "+t.TempDir()+"/")
	sub := subscribe(t, b.URL(), "sub-offline", true, "vla/r6/events")
	c := newClient(t, mqtt.Config{BrokerURL: b.URL(), RobotID: "r6", KeepAlive: 2 * time.Second})
	waitConnected(t, c)
	require.NoError(t, c.PublishEvent(mqtt.Event{Type: mqtt.EventEpisode, Message: "before"}))
	require.Equal(t, []string{"before"}, recvEvents(t, sub, 1, 3*time.Second))

	b.stop()
	require.Eventually(t, func() bool { // the client has noticed
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		return c.WaitConnected(ctx) != nil
	}, 3*time.Second, 10*time.Millisecond)
	const n = 50
	for i := range n {
		require.NoError(t, c.PublishEvent(mqtt.Event{Type: mqtt.EventSafety, Message: fmt.Sprint(i)}))
	}
	require.Equal(t, n, c.Buffer().Queued)

	b.start()
	require.Equal(t, numbered(0, n), recvEvents(t, sub, n, 5*time.Second))
	require.Eventually(t, func() bool { return c.Buffer() == mqtt.Buffer{} }, 3*time.Second, 10*time.Millisecond)
}

func TestBufferSurvivesClientRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t) // nothing listens yet
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)

	first, err := mqtt.New(mqtt.Config{BrokerURL: url, RobotID: "r7", BufferDir: dir, RetryInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background()))
	for i := range 20 {
		require.NoError(t, first.PublishEvent(mqtt.Event{Type: mqtt.EventError, Message: fmt.Sprint(i)}))
	}
	first.Close()

	b := startBrokerOn(t, port)
	sub := subscribe(t, b.URL(), "sub-restart", false, "vla/r7/events")
	second := newClient(t, mqtt.Config{BrokerURL: url, RobotID: "r7", BufferDir: dir})
	require.Equal(t, numbered(0, 20), recvEvents(t, sub, 20, 5*time.Second))
	require.Eventually(t, func() bool { return second.Buffer() == mqtt.Buffer{} }, 3*time.Second, 10*time.Millisecond)
}

func TestBufferDropsOldest(t *testing.T) {
	t.Parallel()
	port := freePort(t) // nothing listens yet
	c := newClient(t, mqtt.Config{BrokerURL: fmt.Sprintf("tcp://127.0.0.1:%d", port), RobotID: "r8", BufferMaxMessages: 5})
	for i := range 12 {
		require.NoError(t, c.PublishEvent(mqtt.Event{Type: mqtt.EventSafety, Message: fmt.Sprint(i)}))
	}
	require.Equal(t, mqtt.Buffer{Queued: 5, Bytes: c.Buffer().Bytes, Dropped: 7}, c.Buffer())

	b := startBroker(t)
	sub := subscribe(t, b.URL(), "sub-drop", false, "vla/r8/events")
	startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), strings.TrimPrefix(b.URL(), "tcp://"))
	require.Equal(t, numbered(7, 12), recvEvents(t, sub, 5, 5*time.Second))
	require.Eventually(t, func() bool { return c.Buffer() == mqtt.Buffer{Dropped: 7} }, 3*time.Second, 10*time.Millisecond)
}

func TestTelemetryReportsDrops(t *testing.T) {
	t.Parallel()
	port := freePort(t) // nothing listens yet
	c := newClient(t, mqtt.Config{
		BrokerURL:         fmt.Sprintf("tcp://127.0.0.1:%d", port),
		RobotID:           "r9",
		Telemetry:         func() mqtt.Telemetry { return mqtt.Telemetry{Mode: "idle", LoopRate: math.Inf(1)} },
		TelemetryPeriod:   20 * time.Millisecond,
		BufferMaxMessages: 3,
	})
	require.Eventually(t, func() bool { return c.Buffer().Dropped >= 5 }, 3*time.Second, 10*time.Millisecond)

	b := startBroker(t)
	sub := subscribe(t, b.URL(), "sub-drops", false, "vla/r9/telemetry")
	startProxy(t, fmt.Sprintf("127.0.0.1:%d", port), strings.TrimPrefix(b.URL(), "tcp://"))
	for {
		tel := decode[mqtt.Telemetry](t, sub.next(t, 3*time.Second).Payload())
		require.Equal(t, 0.0, tel.LoopRate)
		if tel.Buffer.Dropped >= 5 {
			break
		}
	}
}
