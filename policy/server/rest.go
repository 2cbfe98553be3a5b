package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vstgo/vst/policy/wire"
)

// serveAct answers POST /act in the OpenVLA and OpenVLA-OFT REST
// convention. The body is a json-numpy object, or {"encoded": "<JSON text
// of that object>"}, whose answer is then JSON text inside a JSON string.
// A body with "full_image" is an OFT request, answered with the whole
// chunk as a list of H json-numpy vectors; otherwise (OpenVLA, "image") the
// answer is the first action as one json-numpy vector. Actions are <f8.
// Errors are answered with 400, 413 or 500 and {"error": "<message>"}.
func (s *Server) serveAct(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w) {
		return
	}
	defer s.release()
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.ReadTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(s.ReadTimeout + s.WriteTimeout))

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxFrameBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			restError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds %d bytes", mbe.Limit))
			return
		}
		restError(w, http.StatusBadRequest, fmt.Errorf("reading the body: %w", err))
		return
	}
	req, encoded, err := s.restRequest(body)
	if err != nil {
		restError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return
	}
	obs, err := s.observe(req)
	if err != nil {
		restError(w, http.StatusBadRequest, err)
		return
	}
	chunk, _, err := s.disp.act(r.Context(), obs)
	if err != nil {
		s.Logger.Warn("request failed", "remote", r.RemoteAddr, "err", err)
		restError(w, http.StatusInternalServerError, fmt.Errorf("policy failed: %w", err))
		return
	}
	var out any = wire.NewFloat64(chunk.Action(0), chunk.D)
	if _, oft := req["full_image"]; oft {
		list := make([]*wire.Array, chunk.H)
		for i := range list {
			list[i] = wire.NewFloat64(chunk.Action(i), chunk.D)
		}
		out = list
	}
	b, err := json.Marshal(out)
	if err == nil && encoded {
		b, err = json.Marshal(string(b))
	}
	if err != nil {
		restError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// restRequest decodes a body, unwrapping the {"encoded": …} form.
func (s *Server) restRequest(body []byte) (req map[string]any, encoded bool, err error) {
	v, err := wire.DecodeJSON(body, s.Limits)
	if err != nil {
		return nil, false, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false, fmt.Errorf("the body holds %s; want an object", typeName(v))
	}
	inner, ok := m["encoded"]
	if !ok || len(m) != 1 {
		return m, false, nil
	}
	text, ok := inner.(string)
	if !ok {
		return nil, false, fmt.Errorf("encoded is %s; want a JSON string", typeName(inner))
	}
	v, err = wire.DecodeJSON([]byte(text), s.Limits)
	if err != nil {
		return nil, false, fmt.Errorf("encoded: %w", err)
	}
	if m, ok = v.(map[string]any); !ok {
		return nil, false, fmt.Errorf("encoded holds %s; want an object", typeName(v))
	}
	return m, true, nil
}

func restError(w http.ResponseWriter, code int, err error) {
	b, _ := json.Marshal(map[string]string{"error": shortMessage(err)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
