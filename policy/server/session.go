package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/wire"
)

// session is one openpi WebSocket client.
type session struct {
	s      *Server
	conn   *websocket.Conn
	remote string

	// busy and draining are guarded by s.mu.
	busy     bool
	draining bool
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w) {
		return
	}
	defer s.release()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.sessWG.Add(1)
	s.mu.Unlock()
	defer s.sessWG.Done()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.Logger.Warn("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(-1) // read enforces MaxFrameBytes and answers with a message
	ss := &session{s: s, conn: conn, remote: r.RemoteAddr}
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	if s.closing {
		ss.drain()
	}
	s.mu.Unlock()
	s.Logger.Info("client connected", "remote", ss.remote)
	err = ss.run(s.ctx)
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	_ = conn.CloseNow()
	s.Logger.Info("client disconnected", "remote", ss.remote, "reason", err)
}

// drain asks the session to close after its current request, or now when
// it has none. The caller holds s.mu.
func (ss *session) drain() {
	ss.draining = true
	if !ss.busy {
		go ss.conn.Close(websocket.StatusGoingAway, "server shutting down")
	}
}

// run serves requests until the client leaves or an error ends the
// session, and returns why it ended.
func (ss *session) run(ctx context.Context) error {
	if err := ss.write(ctx, websocket.MessageBinary, ss.s.metadata); err != nil {
		return err
	}
	var prevTotalMs float64
	for {
		typ, data, err := ss.read(ctx)
		if tooBig := (errTooBig{}); errors.As(err, &tooBig) {
			ss.s.Logger.Warn("request failed", "remote", ss.remote, "err", err)
			if werr := ss.write(ctx, websocket.MessageText, []byte(err.Error())); werr != nil {
				return werr
			}
			_ = ss.conn.Close(websocket.StatusMessageTooBig, "frame too large")
			return err
		}
		if err != nil {
			return err
		}
		start := time.Now()
		ss.s.mu.Lock()
		if ss.draining {
			ss.s.mu.Unlock()
			return errShuttingDown
		}
		ss.busy = true
		ss.s.mu.Unlock()

		reply, err := ss.handle(ctx, typ, data, start, prevTotalMs)
		if err != nil {
			ss.s.Logger.Warn("request failed", "remote", ss.remote, "err", err)
			if werr := ss.write(ctx, websocket.MessageText, []byte(shortMessage(err))); werr != nil {
				return werr
			}
			_ = ss.conn.Close(websocket.StatusInternalError, "request failed")
			return err
		}
		if err := ss.write(ctx, websocket.MessageBinary, reply); err != nil {
			return err
		}
		prevTotalMs = sinceMs(start)

		ss.s.mu.Lock()
		ss.busy = false
		draining := ss.draining
		ss.s.mu.Unlock()
		if draining {
			_ = ss.conn.Close(websocket.StatusGoingAway, "server shutting down")
			return errShuttingDown
		}
	}
}

// read receives one message: the wait for it to start is bounded by
// IdleTimeout and its transfer by ReadTimeout.
func (ss *session) read(ctx context.Context) (websocket.MessageType, []byte, error) {
	idle := time.AfterFunc(ss.s.IdleTimeout, func() { ss.timeout("idle timeout") })
	typ, r, err := ss.conn.Reader(ctx)
	idle.Stop()
	if err != nil {
		return 0, nil, err
	}
	slow := time.AfterFunc(ss.s.ReadTimeout, func() { ss.timeout("read timeout") })
	defer slow.Stop()
	data, err := io.ReadAll(io.LimitReader(r, ss.s.MaxFrameBytes+1))
	if err == nil && int64(len(data)) > ss.s.MaxFrameBytes {
		// Drain the rest (bounded by ReadTimeout, not buffered) so the
		// client is still reading when the error reaches it.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return 0, nil, err
		}
		return typ, nil, errTooBig{ss.s.MaxFrameBytes}
	}
	return typ, data, err
}

// errTooBig is a frame over MaxFrameBytes.
type errTooBig struct{ limit int64 }

func (e errTooBig) Error() string {
	return fmt.Sprintf("bad request: frame exceeds the limit of %d bytes", e.limit)
}

func (ss *session) timeout(reason string) {
	ss.s.Logger.Warn("closing client", "remote", ss.remote, "reason", reason)
	_ = ss.conn.Close(websocket.StatusPolicyViolation, reason)
}

func (ss *session) write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	ctx, cancel := context.WithTimeout(ctx, ss.s.WriteTimeout)
	defer cancel()
	return ss.conn.Write(ctx, typ, p)
}

// handle answers one request frame with an encoded reply.
func (ss *session) handle(ctx context.Context, typ websocket.MessageType, data []byte, start time.Time, prevTotalMs float64) ([]byte, error) {
	if typ != websocket.MessageBinary {
		return nil, errors.New("bad request: expected a binary msgpack frame, got a text frame")
	}
	v, err := wire.Decode(data, ss.s.Limits)
	if err != nil {
		return nil, fmt.Errorf("bad request: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("bad request: the frame holds %s; want a map", typeName(v))
	}
	if kind, ok := m["__ctrl__"]; ok {
		return ss.control(kind, m)
	}
	obs, err := ss.s.observe(m)
	if err != nil {
		return nil, err
	}
	chunk, inferMs, err := ss.s.disp.act(ctx, obs)
	if err != nil {
		return nil, fmt.Errorf("policy failed: %w", err)
	}
	return wire.Marshal(response(chunk, ss.s.ActionsDType, inferMs, sinceMs(start), prevTotalMs))
}

// control answers openpi's control frames (episode_start, episode_end).
func (ss *session) control(kind any, m map[string]any) ([]byte, error) {
	k, ok := kind.(string)
	if !ok {
		return nil, fmt.Errorf("bad request: __ctrl__ is %s; want a str", typeName(kind))
	}
	attrs := []any{"remote", ss.remote, "kind", k}
	for _, key := range sortedKeys(m) {
		switch v := m[key].(type) {
		case string, bool, int64, float64:
			if key != "__ctrl__" {
				attrs = append(attrs, key, v)
			}
		}
	}
	ss.s.Logger.Info("control frame", attrs...)
	if r, ok := ss.s.Policy.(policy.Resetter); ok && k == "episode_start" {
		r.Reset()
	}
	return wire.Marshal(map[string]any{"__ctrl__": k, "ok": true})
}
