// Package remote is a policy.Policy that runs on a policy server: any
// server speaking openpi's WebSocket + msgpack-numpy protocol, vst-go's
// own `vla serve` included.
package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/wire"
)

// Options configures a Client.
type Options struct {
	// Token, when not empty, is sent as "Authorization: Bearer <Token>".
	Token string
	// MaxFrameBytes is the largest server message accepted.
	// It defaults to 64 MiB.
	MaxFrameBytes int64
	// Limits bounds decoding of server messages.
	// Its fields default as documented on wire.Limits.
	Limits wire.Limits
	// Images maps camera names to request keys; other cameras are sent
	// under their own name.
	// It defaults to openpi's LIBERO keys: "agentview" →
	// "observation/image" and "wrist" → "observation/wrist_image".
	Images map[string]string
	// StateKey is the request key of Observation.State, sent as a <f8
	// array.
	// It defaults to "observation/state".
	StateKey string
	// PromptKey is the request key of Observation.Prompt.
	// It defaults to "prompt".
	PromptKey string
}

// Client is a remote policy. One request is in flight at a time (the
// protocol has no request ids), so concurrent Act calls queue. A
// background reader answers the server's pings and close frames between
// requests; after a broken or closed connection the next call dials again.
type Client struct {
	url  string
	opts Options

	mu       sync.Mutex
	conn     *conn
	spec     policy.Spec
	metadata map[string]any
}

var _ policy.Policy = (*Client)(nil)

// conn is one WebSocket connection and its reader goroutine.
type conn struct {
	ws   *websocket.Conn
	msgs chan message
	// done is closed when the reader stops; err then says why.
	done chan struct{}
	err  error
	// stop is closed by drop to release a reader blocked on msgs.
	stop chan struct{}
}

type message struct {
	typ  websocket.MessageType
	data []byte
}

func (c *conn) read() {
	defer close(c.done)
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		select {
		case c.msgs <- message{typ, data}:
		case <-c.stop:
			return
		}
	}
}

// drop closes the connection without a handshake.
func (c *conn) drop() {
	close(c.stop)
	_ = c.ws.CloseNow()
}

// next returns the next message, or why there is none.
func (c *conn) next(ctx context.Context) (message, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m, nil
		default:
		}
		if s := websocket.CloseStatus(c.err); s != -1 {
			return message{}, fmt.Errorf("server closed the connection (%d %s): %w", int(s), s, c.err)
		}
		return message{}, c.err
	case <-ctx.Done():
		return message{}, ctx.Err()
	}
}

func (c *conn) alive() bool {
	select {
	case <-c.done:
		return len(c.msgs) > 0
	default:
		return true
	}
}

// Dial connects to the server at url (ws://host:port/path) and reads its
// metadata frame.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = 64 << 20
	}
	if opts.Images == nil {
		opts.Images = map[string]string{"agentview": "observation/image", "wrist": "observation/wrist_image"}
	}
	if opts.StateKey == "" {
		opts.StateKey = "observation/state"
	}
	if opts.PromptKey == "" {
		opts.PromptKey = "prompt"
	}
	c := &Client{url: url, opts: opts}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// connect dials and reads the metadata frame. The caller holds c.mu or
// owns c exclusively.
func (c *Client) connect(ctx context.Context) error {
	h := http.Header{}
	if c.opts.Token != "" {
		h.Set("Authorization", "Bearer "+c.opts.Token)
	}
	ws, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return fmt.Errorf("remote: dial %s: server answered %s", c.url, resp.Status)
		}
		return fmt.Errorf("remote: dial %s: %w", c.url, err)
	}
	ws.SetReadLimit(c.opts.MaxFrameBytes)
	cn := &conn{ws: ws, msgs: make(chan message, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go cn.read()
	md, err := c.readMap(ctx, cn)
	if err != nil {
		cn.drop()
		return fmt.Errorf("remote: metadata: %w", err)
	}
	c.conn = cn
	c.metadata = md
	c.spec = policy.Spec{Name: "remote " + c.url, Metadata: md}
	if d, ok := md["action_dim"].(int64); ok {
		c.spec.ActionDim = int(d)
	}
	if h, ok := md["action_horizon"].(int64); ok {
		c.spec.Horizon = int(h)
	}
	return nil
}

// readMap reads one binary message holding a msgpack map; a text message
// is the server's error.
func (c *Client) readMap(ctx context.Context, cn *conn) (map[string]any, error) {
	m, err := cn.next(ctx)
	if err != nil {
		return nil, err
	}
	if m.typ == websocket.MessageText {
		return nil, fmt.Errorf("server error: %s", m.data)
	}
	v, err := wire.Decode(m.data, c.opts.Limits)
	if err != nil {
		return nil, err
	}
	res, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("server sent %T; want a map", v)
	}
	return res, nil
}

// roundTrip sends one request map and reads the answer, dialing first if
// the connection is gone and dropping it on any error.
func (c *Client) roundTrip(ctx context.Context, req map[string]any) (map[string]any, error) {
	payload, err := wire.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && !c.conn.alive() {
		c.conn.drop()
		c.conn = nil
	}
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			return nil, err
		}
	}
	err = c.conn.ws.Write(ctx, websocket.MessageBinary, payload)
	var m map[string]any
	if err == nil {
		m, err = c.readMap(ctx, c.conn)
	}
	if err != nil {
		c.conn.drop()
		c.conn = nil
		return nil, fmt.Errorf("remote: %w", err)
	}
	return m, nil
}

// Spec implements policy.Policy. ActionDim and Horizon come from the
// metadata keys "action_dim" and "action_horizon" (which `vla serve`
// sends) or, failing those, from the last chunk received.
func (c *Client) Spec() policy.Spec {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.spec
	s.Metadata = maps.Clone(c.metadata)
	return s
}

// Act implements policy.Policy. Chunk.Timing holds the server's
// policy_timing entries under their names (e.g. "infer_ms"), its
// server_timing entries prefixed "server_", and "roundtrip_ms".
func (c *Client) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	if obs == nil {
		obs = &policy.Observation{}
	}
	req := map[string]any{}
	maps.Copy(req, obs.Extra)
	for cam, img := range obs.Images {
		if err := img.Validate(); err != nil {
			return nil, fmt.Errorf("remote: camera %q: %w", cam, err)
		}
		key, ok := c.opts.Images[cam]
		if !ok {
			key = cam
		}
		req[key] = wire.NewUint8(img.Pix, img.H, img.W, 3)
	}
	if obs.State != nil {
		req[c.opts.StateKey] = wire.NewFloat64(obs.State, len(obs.State))
	}
	req[c.opts.PromptKey] = obs.Prompt
	start := time.Now()
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	chunk, err := toChunk(resp)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	chunk.Timing["roundtrip_ms"] = float64(time.Since(start)) / float64(time.Millisecond)
	c.mu.Lock()
	if c.spec.ActionDim == 0 || c.spec.Horizon == 0 {
		c.spec.ActionDim, c.spec.Horizon = chunk.D, chunk.H
	}
	c.mu.Unlock()
	return chunk, nil
}

func toChunk(resp map[string]any) (*policy.Chunk, error) {
	a, ok := resp["actions"].(*wire.Array)
	if !ok {
		return nil, fmt.Errorf("response has no actions ndarray (got %T)", resp["actions"])
	}
	c := &policy.Chunk{Actions: a.Float32s(), Timing: map[string]float64{}}
	switch len(a.Shape) {
	case 1:
		c.H, c.D = 1, a.Shape[0]
	case 2:
		c.H, c.D = a.Shape[0], a.Shape[1]
	default:
		return nil, fmt.Errorf("actions have shape %v; want [H, D]", a.Shape)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for prefix, key := range map[string]string{"": "policy_timing", "server_": "server_timing"} {
		t, _ := resp[key].(map[string]any)
		for k, v := range t {
			if f, ok := v.(float64); ok {
				c.Timing[prefix+k] = f
			}
		}
	}
	return c, nil
}

// Control sends one openpi control frame (fields must include "__ctrl__",
// e.g. "episode_start" or "episode_end") and returns the server's
// acknowledgement.
func (c *Client) Control(ctx context.Context, fields map[string]any) (map[string]any, error) {
	if _, ok := fields["__ctrl__"].(string); !ok {
		return nil, errors.New("remote: control fields need a str \"__ctrl__\"")
	}
	return c.roundTrip(ctx, fields)
}

// Close closes the connection with a normal closure.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.ws.Close(websocket.StatusNormalClosure, "")
	c.conn.drop()
	<-c.conn.done
	c.conn = nil
	if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
		return nil
	}
	return err
}
