package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/remote"
	"github.com/vstgo/vst/policy/wire"
)

// benchRequest is an openpi LIBERO request: two 224×224 images, an 8-dim
// state and a prompt.
func benchRequest() *policy.Observation {
	pix := func() []uint8 {
		p := make([]uint8, 224*224*3)
		for i := range p {
			p[i] = byte(i * 7)
		}
		return p
	}
	return &policy.Observation{
		Images: map[string]policy.Image{"agentview": {H: 224, W: 224, Pix: pix()}, "wrist": {H: 224, W: 224, Pix: pix()}},
		State:  []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8},
		Prompt: "put both the alphabet soup and the tomato sauce in the basket",
	}
}

// reportLatency adds p50 and p99 of the per-request times in microseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.50), "p50-us")
	b.ReportMetric(at(0.99), "p99-us")
}

// BenchmarkOverhead measures the server's per-request overhead with a
// constant policy: "inprocess" is client encode + server decode, mapping,
// dispatch and response encode + client decode, without a network;
// "loopback" is a full remote.Client.Act over a loopback WebSocket.
func BenchmarkOverhead(b *testing.B) {
	constant, err := policy.NewConstant([]float32{0, 0, 0, 0, 0, 0, -1}, 10)
	if err != nil {
		b.Fatal(err)
	}
	obs := benchRequest()
	b.Run("inprocess", func(b *testing.B) {
		disp := newDispatcher(constant, 1, 0)
		km := DefaultKeyMap()
		req := map[string]any{
			"observation/image":       wire.NewUint8(obs.Images["agentview"].Pix, 224, 224, 3),
			"observation/wrist_image": wire.NewUint8(obs.Images["wrist"].Pix, 224, 224, 3),
			"observation/state":       wire.NewFloat64(obs.State, 8),
			"prompt":                  obs.Prompt,
		}
		var lat []time.Duration
		var frame []byte
		for b.Loop() {
			t0 := time.Now()
			frame, err = wire.Append(frame[:0], req)
			if err != nil {
				b.Fatal(err)
			}
			v, err := wire.Decode(frame, wire.Limits{})
			if err != nil {
				b.Fatal(err)
			}
			o, err := km.observation(v.(map[string]any))
			if err != nil {
				b.Fatal(err)
			}
			chunk, ms, err := disp.act(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			out, err := wire.Marshal(response(chunk, wire.Float64, ms, ms, ms))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := wire.Decode(out, wire.Limits{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.SetBytes(int64(len(frame)))
		reportLatency(b, lat)
	})
	b.Run("loopback", func(b *testing.B) {
		s := &Server{Policy: constant, Address: "127.0.0.1:0"}
		if err := s.Start(); err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		c, err := remote.Dial(context.Background(), "ws://"+s.Addr().String(), remote.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := c.Act(context.Background(), obs); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
}
