// Package mqtt connects a robot to its fleet over MQTT: periodic telemetry,
// events, a retained online/offline status and remote commands. Telemetry
// and events go through a bounded on-disk buffer first, so that they survive
// a broker outage or a restart and reach the broker in order.
//
// Topics, for the robot id R:
//
//	vla/R/telemetry  Telemetry, QoS 1, every Config.TelemetryPeriod
//	vla/R/events     Event, QoS 1
//	vla/R/status     Status, QoS 1, retained; "online" on connect, "offline"
//	                 on Close and as the last will
//	vla/R/cmd        Command, subscribed with QoS 1
//
// Delivery is at least once and in order: a buffered message is deleted only
// once the broker has acknowledged it, so a lost acknowledgement can repeat
// it. The session is clean, on purpose: commands sent while the robot is
// offline are not delivered later.
package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// ErrNotAuthorized is wrapped by the connection error when the broker
// refuses the credentials.
var ErrNotAuthorized = errors.New("broker refused the credentials (bad username or password, or not authorized)")

// sendWindow is how many buffered messages may await their PUBACK at once.
const sendWindow = 32

// cmdQueue is how many received commands may wait for OnCommand.
const cmdQueue = 16

// Config configures a Client.
type Config struct {
	// BrokerURL is the broker's address: tcp://host:port, or
	// ssl://host:port for TLS (mqtt:// and tls:// or mqtts:// are
	// synonyms). Required.
	BrokerURL string
	// RobotID names the robot in the topics: 1 to 64 letters, digits, '-',
	// '_' or '.'. Required.
	RobotID string
	// ClientID is the MQTT client id. It defaults to "vst-" + RobotID.
	ClientID string
	// Username and Password authenticate to the broker. They default to
	// empty: anonymous.
	Username, Password string
	// CAFile is a PEM file of the CAs trusted to sign the broker's
	// certificate (ssl:// only). It defaults to empty: the system's roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that ask for one (ssl:// only). They default to empty: none.
	CertFile, KeyFile string
	// InsecureSkipVerify accepts any broker certificate (ssl:// only). It
	// defaults to false.
	InsecureSkipVerify bool
	// Telemetry returns the snapshot published every TelemetryPeriod; the
	// client fills in Time (when zero), RobotID and Buffer. It defaults to
	// nil: no telemetry.
	Telemetry func() Telemetry
	// TelemetryPeriod is the telemetry interval. It defaults to 500 ms.
	TelemetryPeriod time.Duration
	// OnCommand receives every valid command, one at a time and in order of
	// arrival; an error it returns is published as an error event. Retained
	// commands are refused, so that a stale "start" never runs on connect,
	// and empty payloads (which clear a retained message) ignored. It defaults to nil: commands are validated and dropped.
	OnCommand func(ctx context.Context, cmd Command) error
	// BufferDir holds the telemetry and events the broker has not
	// acknowledged yet, one file per message, so that they survive a
	// restart. One Client at a time may use it. It defaults to empty: a
	// temporary directory that Close removes.
	BufferDir string
	// BufferMaxMessages bounds the buffer; beyond it the oldest messages are
	// dropped. It defaults to 10000.
	BufferMaxMessages int
	// BufferMaxBytes bounds the buffer's size on disk; beyond it the oldest
	// messages are dropped. It defaults to 64 MiB.
	BufferMaxBytes int64
	// Timeout bounds connecting, subscribing and publishing the status. It
	// defaults to 10 seconds.
	Timeout time.Duration
	// KeepAlive is the MQTT keep-alive interval. It defaults to 30 seconds.
	KeepAlive time.Duration
	// RetryInterval is the wait between two connection attempts. It
	// defaults to 2 seconds.
	RetryInterval time.Duration
	// Logger receives connection changes and errors. It defaults to
	// discarding them.
	Logger *slog.Logger
}

// Client publishes a robot's telemetry, events and status and receives its
// commands. Create it with New, then call Start and finally Close.
type Client struct {
	cfg       Config
	tls       *tls.Config
	telemetry string
	events    string
	status    string
	cmd       string

	q      *queue
	tmpDir string
	cmds   chan paho.Message
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	up      chan struct{} // closed while connected
	isUp    bool
	lastErr error
}

// New checks cfg, applies its defaults and returns a client that is not
// connected yet.
func New(cfg Config) (*Client, error) {
	if err := ValidateRobotID(cfg.RobotID); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.BrokerURL)
	if err != nil {
		return nil, fmt.Errorf("broker URL: %w", err)
	}
	if u.User != nil { // and keep the password out of every message
		return nil, errors.New("broker URL: put the credentials in Username and Password, not in the URL")
	}
	secure := false
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts":
		secure = true
	default:
		return nil, fmt.Errorf("broker URL %q: scheme must be tcp:// or ssl://", cfg.BrokerURL)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("broker URL %q: want scheme://host:port", cfg.BrokerURL)
	}
	if !secure && (cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" || cfg.InsecureSkipVerify) {
		return nil, fmt.Errorf("broker URL %q: TLS options need an ssl:// URL", cfg.BrokerURL)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "vst-" + cfg.RobotID
	}
	if cfg.TelemetryPeriod == 0 {
		cfg.TelemetryPeriod = 500 * time.Millisecond
	}
	if cfg.BufferMaxMessages == 0 {
		cfg.BufferMaxMessages = 10000
	}
	if cfg.BufferMaxBytes == 0 {
		cfg.BufferMaxBytes = 64 << 20
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TelemetryPeriod < 0 || cfg.BufferMaxMessages < 0 || cfg.BufferMaxBytes < 0 ||
		cfg.Timeout < 0 || cfg.KeepAlive < time.Second || cfg.RetryInterval < 0 {
		return nil, errors.New("negative period, bound or timeout (or a keep-alive under 1 s)")
	}
	c := &Client{
		cfg:       cfg,
		telemetry: "vla/" + cfg.RobotID + "/telemetry",
		events:    "vla/" + cfg.RobotID + "/events",
		status:    "vla/" + cfg.RobotID + "/status",
		cmd:       "vla/" + cfg.RobotID + "/cmd",
		cmds:      make(chan paho.Message, cmdQueue),
		up:        make(chan struct{}),
	}
	if secure {
		if c.tls, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("client certificate: CertFile and KeyFile go together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// Start opens the buffer and starts connecting, publishing telemetry and
// handling commands in the background; it does not wait for the broker
// (see WaitConnected). Cancelling ctx stops the client like Close, except
// that only Close waits and removes a temporary buffer.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("client already started")
	}
	dir := c.cfg.BufferDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "vst-mqtt-")
		if err != nil {
			return fmt.Errorf("buffer: %w", err)
		}
		c.tmpDir, dir = tmp, tmp
	}
	q, err := openQueue(dir, c.cfg.BufferMaxMessages, c.cfg.BufferMaxBytes)
	if err != nil {
		return err
	}
	c.q = q
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(2)
	go c.run(ctx)
	go c.handleCommands(ctx)
	if c.cfg.Telemetry != nil {
		c.wg.Add(1)
		go c.publishTelemetry(ctx)
	}
	return nil
}

// Close publishes the "offline" status if connected, disconnects and stops
// the client. Messages still buffered stay in BufferDir for the next Client.
func (c *Client) Close() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	c.wg.Wait()
	if c.tmpDir != "" {
		_ = os.RemoveAll(c.tmpDir)
	}
}

// WaitConnected waits until the client is connected to the broker (it
// returns at once if it is). When ctx ends first it returns the last
// connection error.
func (c *Client) WaitConnected(ctx context.Context) error {
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isUp {
		return nil
	}
	if c.lastErr != nil {
		return fmt.Errorf("not connected: %w", c.lastErr)
	}
	return fmt.Errorf("not connected: %w", ctx.Err())
}

// Buffer reports the state of the offline buffer.
func (c *Client) Buffer() Buffer {
	c.mu.Lock()
	q := c.q
	c.mu.Unlock()
	if q == nil {
		return Buffer{}
	}
	return q.stats()
}

// PublishEvent buffers ev for vla/<robot-id>/events; it is sent as soon as
// the broker is reachable. The client sets ev.RobotID, and ev.Time when it
// is zero.
func (c *Client) PublishEvent(ev Event) error {
	if ev.Type == "" {
		return errors.New("event has no type")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	ev.RobotID = c.cfg.RobotID
	return c.enqueue(c.events, ev)
}

func (c *Client) enqueue(topic string, v any) error {
	c.mu.Lock()
	q := c.q
	c.mu.Unlock()
	if q == nil {
		return errors.New("client not started")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", topic, err)
	}
	return q.push(topic, b)
}

// publishError publishes an error event, logging it if even that fails.
func (c *Client) publishError(kind, msg string) {
	c.cfg.Logger.Warn("mqtt: "+msg, "kind", kind)
	if err := c.PublishEvent(Event{Type: EventError, Kind: kind, Message: msg}); err != nil {
		c.cfg.Logger.Error("mqtt: cannot publish error event", "err", err)
	}
}

func (c *Client) publishTelemetry(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.TelemetryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tel := c.cfg.Telemetry()
		if tel.Time.IsZero() {
			tel.Time = time.Now().UTC()
		}
		tel.RobotID = c.cfg.RobotID
		if math.IsNaN(tel.LoopRate) || math.IsInf(tel.LoopRate, 0) {
			tel.LoopRate = 0
		}
		tel.Buffer = c.q.stats()
		if err := c.enqueue(c.telemetry, tel); err != nil {
			c.publishError("telemetry_failed", "telemetry: "+err.Error())
		}
	}
}

// onMessage runs on paho's goroutine: it only queues the command.
func (c *Client) onMessage(_ paho.Client, m paho.Message) {
	select {
	case c.cmds <- m:
	default:
		c.publishError("command_dropped", "command dropped: too many commands waiting for the handler")
	}
}

func (c *Client) handleCommands(ctx context.Context) {
	defer c.wg.Done()
	for {
		var m paho.Message
		select {
		case <-ctx.Done():
			return
		case m = <-c.cmds:
		}
		if len(m.Payload()) == 0 {
			continue // how a retained command is cleared
		}
		if m.Retained() {
			c.publishError("bad_command", "retained command ignored: publish commands without the retain flag")
			continue
		}
		cmd, err := ParseCommand(m.Payload())
		if err != nil {
			c.publishError("bad_command", err.Error())
			continue
		}
		c.cfg.Logger.Info("mqtt: command", "cmd", cmd.Cmd, "instruction", cmd.Instruction)
		if c.cfg.OnCommand == nil {
			continue
		}
		if err := c.cfg.OnCommand(ctx, cmd); err != nil {
			c.publishError("command_failed", fmt.Sprintf("command %q: %v", cmd.Cmd, err))
		}
	}
}

func (c *Client) setUp(up bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if up && !c.isUp {
		close(c.up)
	} else if !up && c.isUp {
		c.up = make(chan struct{})
	}
	c.isUp = up
	if err != nil {
		c.lastErr = err
	}
}

// run connects, serves the connection until it drops, and retries.
func (c *Client) run(ctx context.Context) {
	defer c.wg.Done()
	for {
		err := c.session(ctx)
		if ctx.Err() != nil {
			c.setUp(false, nil)
			return
		}
		c.setUp(false, err)
		c.cfg.Logger.Warn("mqtt: disconnected", "broker", c.cfg.BrokerURL, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.cfg.RetryInterval):
		}
	}
}

func (c *Client) statusPayload(state string, t time.Time) []byte {
	b, _ := json.Marshal(Status{State: state, RobotID: c.cfg.RobotID, ClientID: c.cfg.ClientID, Time: t})
	return b
}

// session makes one connection and serves it until it drops or ctx ends.
func (c *Client) session(ctx context.Context) error {
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().
		AddBroker(c.cfg.BrokerURL).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetCleanSession(true). // commands must not pile up while offline
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(c.cfg.Timeout).
		SetWriteTimeout(c.cfg.Timeout).
		SetKeepAlive(c.cfg.KeepAlive).
		SetPingTimeout(c.cfg.Timeout).
		SetBinaryWill(c.status, c.statusPayload("offline", time.Time{}), 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if c.tls != nil {
		opts.SetTLSConfig(c.tls)
	}
	cli := paho.NewClient(opts)
	tok := cli.Connect()
	if err := c.wait(ctx, tok); err != nil {
		// An attempt cut short by ctx or the timeout may still succeed.
		go func() {
			tok.Wait()
			cli.Disconnect(0)
		}()
		if errors.Is(err, packets.ErrorRefusedNotAuthorised) || errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			return fmt.Errorf("connect to %s as %q: %w: %w", c.cfg.BrokerURL, c.cfg.Username, ErrNotAuthorized, err)
		}
		return fmt.Errorf("connect to %s: %w", c.cfg.BrokerURL, err)
	}
	err := c.wait(ctx, cli.Subscribe(c.cmd, 1, c.onMessage))
	if err != nil {
		err = fmt.Errorf("subscribe to %s: %w", c.cmd, err)
	} else if err = c.wait(ctx, cli.Publish(c.status, 1, true, c.statusPayload("online", time.Now().UTC()))); err != nil {
		err = fmt.Errorf("publish status: %w", err)
	} else {
		c.setUp(true, nil)
		c.cfg.Logger.Info("mqtt: connected", "broker", c.cfg.BrokerURL, "client_id", c.cfg.ClientID)
		err = c.send(ctx, cli, lost)
	}
	if ctx.Err() != nil && cli.IsConnectionOpen() {
		tok := cli.Publish(c.status, 1, true, c.statusPayload("offline", time.Now().UTC()))
		tok.WaitTimeout(c.cfg.Timeout)
		cli.Disconnect(250)
		return ctx.Err()
	}
	cli.Disconnect(0)
	return err
}

// wait waits for a paho token, ctx or the timeout.
func (c *Client) wait(ctx context.Context, tok paho.Token) error {
	t := time.NewTimer(c.cfg.Timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %v", c.cfg.Timeout)
	}
}

// send publishes the buffered messages in order, keeping up to sendWindow
// in flight, and deletes each once the broker has acknowledged it. It
// returns when the connection drops or ctx ends.
func (c *Client) send(ctx context.Context, cli paho.Client, lost <-chan error) error {
	type flight struct {
		seq uint64
		tok paho.Token
	}
	var win []flight
	var next uint64
	for {
		for len(win) < sendWindow {
			m, ok, err := c.q.peek(next)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			win = append(win, flight{m.seq, cli.Publish(m.topic, 1, false, m.payload)})
			next = m.seq + 1
		}
		var head <-chan struct{}
		if len(win) > 0 {
			head = win[0].tok.Done()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-c.q.notify:
		case <-head:
			if err := win[0].tok.Error(); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			c.q.remove(win[0].seq)
			win = win[1:]
		}
	}
}
