// Package server serves any policy.Policy to remote clients, speaking
// openpi's WebSocket + msgpack-numpy protocol byte-exactly (so openpi's
// LIBERO, ALOHA and DROID client scripts work unchanged) and the
// OpenVLA/OpenVLA-OFT REST convention (POST /act with json-numpy bodies).
//
// # openpi protocol
//
// A WebSocket upgrade on any path starts a session. The server first sends
// one binary frame, the msgpack metadata map; then every binary frame the
// client sends (a map of observation keys) is answered by one binary frame
// holding "actions" (an ndarray [H, D]), "policy_timing" {"infer_ms"} and
// "server_timing" {"infer_ms", "prev_total_ms"}. A map with the key
// "__ctrl__" (openpi's episode_start and episode_end frames) is answered by
// the acknowledgement {"__ctrl__": kind, "ok": true}; episode_start resets
// a policy that implements policy.Resetter. KeyMap says how request keys
// become an Observation.
//
// A bad request or a failing policy is answered with a text frame holding
// a short message (never a stack trace), then close code 1011 (1009 for a
// frame over MaxFrameBytes); other clients are unaffected. GET /healthz
// answers 200 "OK\n".
//
// # Hardening
//
// The server binds to loopback by default, bounds frame sizes, array sizes,
// nesting and client count, can require a token, applies idle, read and
// write timeouts per connection, serves every client from its own
// goroutine (a slow client or a slow request never blocks another),
// batches concurrent requests into one ActBatch call for a
// policy.BatchPolicy, and drains in-flight requests on Close. Payloads are
// data only: nothing in a request is executed or used to load code.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/wire"
)

// errShuttingDown answers requests that arrive while the server closes.
var errShuttingDown = errors.New("server is shutting down")

// Server serves a policy. Fill in the fields, call Start, and call Close
// to drain and stop it.
type Server struct {
	// Policy answers the requests. It is required.
	Policy policy.Policy
	// Address is the TCP address to listen on.
	// It defaults to "127.0.0.1:8000" (loopback: pass ":8000" or
	// "0.0.0.0:8000" to serve other machines).
	Address string
	// Token, when not empty, must be presented by every client other than
	// GET /healthz, as "Authorization: Bearer <Token>" or openpi's
	// "Authorization: Api-Key <Token>".
	// It defaults to empty (no authentication).
	Token string
	// MaxFrameBytes is the largest WebSocket message or POST body accepted.
	// It defaults to 64 MiB.
	MaxFrameBytes int64
	// Limits bounds nesting, ndarray sizes and value counts of a request.
	// Its fields default as documented on wire.Limits.
	Limits wire.Limits
	// KeyMap maps request keys to Observation fields.
	// Its fields default as documented on KeyMap.
	KeyMap KeyMap
	// ActionsDType is the dtype of the "actions" ndarray in responses,
	// wire.Float32 or wire.Float64.
	// It defaults to wire.Float64 (what openpi's servers send).
	ActionsDType wire.DType
	// MaxClients is the largest number of clients served at once; more are
	// refused with 503.
	// It defaults to 64.
	MaxClients int
	// MaxBatch is the largest batch passed to ActBatch when Policy is a
	// policy.BatchPolicy; 1 disables batching.
	// It defaults to 8.
	MaxBatch int
	// MaxBatchWait is how long a batch waits for requests of other
	// connected clients before it runs. A batch never waits when every
	// connected client's request is already in it.
	// It defaults to 5 milliseconds.
	MaxBatchWait time.Duration
	// IdleTimeout closes a WebSocket session (code 1008) when no request
	// starts within it, and HTTP keep-alive connections idle for longer.
	// It defaults to 5 minutes.
	IdleTimeout time.Duration
	// ReadTimeout bounds receiving one request once it has started.
	// It defaults to 30 seconds.
	ReadTimeout time.Duration
	// WriteTimeout bounds sending one response.
	// It defaults to 30 seconds.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds how long Close waits for in-flight requests
	// before it cancels them and drops the connections.
	// It defaults to 10 seconds.
	ShutdownTimeout time.Duration
	// Logger receives connection and error events.
	// It defaults to a logger that discards everything.
	Logger *slog.Logger

	ln         net.Listener
	httpServer *http.Server
	metadata   []byte
	disp       *dispatcher
	ctx        context.Context
	ctxCancel  context.CancelFunc
	dispCancel context.CancelFunc
	serveDone  chan struct{}
	closeOnce  sync.Once

	mu       sync.Mutex
	closing  bool
	sessions map[*session]struct{}
	sessWG   sync.WaitGroup
}

// Start validates the configuration, listens and starts serving.
func (s *Server) Start() error {
	if s.Policy == nil {
		return errors.New("server: Policy is nil")
	}
	s.setDefaults()
	if s.ActionsDType != wire.Float32 && s.ActionsDType != wire.Float64 {
		return fmt.Errorf("server: ActionsDType %s is not <f4 or <f8", s.ActionsDType)
	}
	spec := s.Policy.Spec()
	md := map[string]any{}
	maps.Copy(md, spec.Metadata)
	if _, ok := md["action_dim"]; !ok && spec.ActionDim > 0 {
		md["action_dim"] = spec.ActionDim
	}
	if _, ok := md["action_horizon"]; !ok && spec.Horizon > 0 {
		md["action_horizon"] = spec.Horizon
	}
	var err error
	if s.metadata, err = wire.Marshal(md); err != nil {
		return fmt.Errorf("server: policy metadata: %w", err)
	}
	if s.ln, err = net.Listen("tcp", s.Address); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.ctx, s.ctxCancel = context.WithCancel(context.Background())
	s.disp = newDispatcher(s.Policy, s.MaxBatch, s.MaxBatchWait)
	var dispCtx context.Context
	dispCtx, s.dispCancel = context.WithCancel(s.ctx)
	go s.disp.run(dispCtx)
	s.sessions = map[*session]struct{}{}
	s.httpServer = &http.Server{
		Handler:           http.HandlerFunc(s.handle),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       s.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		if err := s.httpServer.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	s.Logger.Info("serving policy", "policy", spec.Name, "addr", s.ln.Addr().String())
	return nil
}

func (s *Server) setDefaults() {
	if s.Address == "" {
		s.Address = "127.0.0.1:8000"
	}
	if s.MaxFrameBytes <= 0 {
		s.MaxFrameBytes = 64 << 20
	}
	s.KeyMap = s.KeyMap.withDefaults()
	if s.ActionsDType == (wire.DType{}) {
		s.ActionsDType = wire.Float64
	}
	if s.MaxClients <= 0 {
		s.MaxClients = 64
	}
	if s.MaxBatch <= 0 {
		s.MaxBatch = 8
	}
	if s.MaxBatchWait <= 0 {
		s.MaxBatchWait = 5 * time.Millisecond
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 5 * time.Minute
	}
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = 30 * time.Second
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = 30 * time.Second
	}
	if s.ShutdownTimeout <= 0 {
		s.ShutdownTimeout = 10 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
}

// Addr returns the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting clients, lets in-flight requests finish and answer
// (up to ShutdownTimeout), closes every session with code 1001 and
// returns when everything has stopped.
func (s *Server) Close() {
	s.closeOnce.Do(s.shutdown)
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closing = true
	for ss := range s.sessions {
		ss.drain()
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := s.httpServer.Shutdown(ctx); err != nil {
		s.Logger.Warn("shutdown: HTTP requests still running", "err", err)
	}
	drained := make(chan struct{})
	go func() {
		s.sessWG.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		s.Logger.Warn("shutdown: sessions still running; dropping them")
		s.ctxCancel()
		s.mu.Lock()
		for ss := range s.sessions {
			_ = ss.conn.CloseNow()
		}
		s.mu.Unlock()
		<-drained
	}
	s.ctxCancel()
	<-s.disp.done
	<-s.serveDone
	s.Logger.Info("server closed")
}

// handle routes every HTTP request.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	if !upgrade && r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("OK\n"))
		return
	}
	if !s.authorized(r) {
		s.Logger.Warn("unauthorized client", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vst-go"`)
		http.Error(w, "unauthorized: a valid \"Authorization: Bearer <token>\" header is required", http.StatusUnauthorized)
		return
	}
	switch {
	case upgrade:
		s.serveWS(w, r)
	case r.URL.Path == "/act" && r.Method == http.MethodPost:
		s.serveAct(w, r)
	case r.Method == http.MethodGet:
		http.Error(w, "expected a WebSocket upgrade (openpi protocol), GET /healthz or POST /act", http.StatusUpgradeRequired)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// authorized checks the Authorization header against Token.
func (s *Server) authorized(r *http.Request) bool {
	if s.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "Api-Key "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return subtle.ConstantTimeCompare([]byte(h[len(scheme):]), []byte(s.Token)) == 1
		}
	}
	return false
}

// admit counts a new client, refusing it with 503 when the server is full
// or closing; release must follow a true return.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return false
	}
	if n := s.disp.clients.Add(1); n > int64(s.MaxClients) {
		s.disp.clients.Add(-1)
		http.Error(w, fmt.Sprintf("too many clients (limit %d)", s.MaxClients), http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (s *Server) release() { s.disp.clients.Add(-1) }

// observe decodes a request map into an observation.
func (s *Server) observe(m map[string]any) (*policy.Observation, error) {
	obs, err := s.KeyMap.observation(m)
	if err != nil {
		return nil, fmt.Errorf("bad request: %w", err)
	}
	return obs, nil
}

// shortMessage trims an error text for a client: valid UTF-8, one line of
// at most 512 bytes.
func shortMessage(err error) string {
	msg := strings.ToValidUTF8(err.Error(), "?")
	msg = strings.ReplaceAll(msg, "\n", " ")
	if len(msg) > 512 {
		cut := 509
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
