package mqtt_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"
)

// freePort asks the kernel for a free loopback port (there is a tiny race
// until mosquitto binds it).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// broker is a mosquitto process on a loopback port, with its config in a
// temporary directory. It is stopped in t.Cleanup.
type broker struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// startBroker starts mosquitto on a free port. extra holds config lines;
// unless they say otherwise the broker is anonymous and not persistent.
// The test fails, not skips, when mosquitto is missing.
func startBroker(t *testing.T, extra ...string) *broker {
	t.Helper()
	return startBrokerOn(t, freePort(t), extra...)
}

func startBrokerOn(t *testing.T, port int, extra ...string) *broker {
	t.Helper()
	_, err := exec.LookPath("mosquitto")
	require.NoError(t, err, "mosquitto is required (Debian: scripts/setup.sh installs it)")
	b := &broker{t: t, dir: t.TempDir(), port: port}
	conf := []string{fmt.Sprintf("listener %d 127.0.0.1", port), "log_dest stdout", "user root"}
	all := strings.Join(extra, "\n")
	if !strings.Contains(all, "allow_anonymous") {
		conf = append(conf, "allow_anonymous true")
	}
	if !strings.Contains(all, "persistence ") {
		conf = append(conf, "persistence false")
	}
	conf = append(conf, extra...)
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600))
	b.start()
	t.Cleanup(b.stop)
	return b
}

// URL is the broker's tcp:// address.
func (b *broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.port) }

// start (re)starts the process on the same port and waits until it accepts
// connections.
func (b *broker) start() {
	b.t.Helper()
	b.log = &bytes.Buffer{}
	b.cmd = exec.Command("mosquitto", "-c", filepath.Join(b.dir, "mosquitto.conf"))
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(b.t, b.cmd.Start())
	if err := waitPort(b.port); err != nil {
		b.stop()
		require.NoError(b.t, err, "mosquitto log:\n%s", b.log)
	}
}

// stop terminates the process (SIGTERM, then SIGKILL after 5 s).
func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	cmd := b.cmd
	b.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitPort(port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d not ready: %w", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscriber is a test MQTT client that collects the messages of some
// topics in order.
type subscriber struct {
	cli  paho.Client
	msgs chan paho.Message
}

// subscribe connects a subscriber; persistent makes it a persistent
// session (clean session off) that reconnects by itself.
func subscribe(t *testing.T, url, id string, persistent bool, topics ...string) *subscriber {
	t.Helper()
	s := &subscriber{msgs: make(chan paho.Message, 1000)}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(!persistent).SetAutoReconnect(persistent).
		SetMaxReconnectInterval(100 * time.Millisecond).SetConnectTimeout(2 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.msgs <- m })
	s.cli = paho.NewClient(opts)
	tok := s.cli.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second), "subscriber connect timed out")
	require.NoError(t, tok.Error())
	filters := map[string]byte{}
	for _, tp := range topics {
		filters[tp] = 1
	}
	tok = s.cli.SubscribeMultiple(filters, nil)
	require.True(t, tok.WaitTimeout(5*time.Second), "subscribe timed out")
	require.NoError(t, tok.Error())
	t.Cleanup(func() { s.cli.Disconnect(0) })
	return s
}

// next returns the next message or fails after timeout.
func (s *subscriber) next(t *testing.T, timeout time.Duration) paho.Message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(timeout):
		require.FailNow(t, "no message within "+timeout.String())
		return nil
	}
}

// publish sends one QoS 1 message and waits for the broker.
func (s *subscriber) publish(t *testing.T, topic string, retained bool, payload []byte) {
	t.Helper()
	tok := s.cli.Publish(topic, 1, retained, payload)
	require.True(t, tok.WaitTimeout(5*time.Second), "publish timed out")
	require.NoError(t, tok.Error())
}

// proxy forwards TCP connections to a target and can cut them all at once,
// which the broker sees as an abnormal disconnect.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, listen, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	require.NoError(t, err)
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

// URL is the proxy's tcp:// address.
func (p *proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// cut closes every connection made so far.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
