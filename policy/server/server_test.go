package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/remote"
	"github.com/vstgo/vst/policy/server"
	"github.com/vstgo/vst/policy/wire"
)

// fake is a policy whose behaviour tests inject.
type fake struct {
	spec      policy.Spec
	ActFunc   func(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error)
	mu        sync.Mutex
	resets    int
	batches   []int
	batchFunc func(obs []*policy.Observation) ([]*policy.Chunk, error)
}

func (f *fake) Spec() policy.Spec { return f.spec }

func (f *fake) Act(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	return f.ActFunc(ctx, obs)
}

func (f *fake) Reset() {
	f.mu.Lock()
	f.resets++
	f.mu.Unlock()
}

// batchFake adds ActBatch to fake.
type batchFake struct{ *fake }

func (f batchFake) ActBatch(ctx context.Context, obs []*policy.Observation) ([]*policy.Chunk, error) {
	f.mu.Lock()
	f.batches = append(f.batches, len(obs))
	f.mu.Unlock()
	if f.batchFunc != nil {
		return f.batchFunc(obs)
	}
	out := make([]*policy.Chunk, len(obs))
	for i, o := range obs {
		c, err := f.Act(ctx, o)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// echoState answers one action holding the state length and image count.
func echoState(_ context.Context, obs *policy.Observation) (*policy.Chunk, error) {
	return &policy.Chunk{H: 1, D: 2, Actions: []float32{float32(len(obs.State)), float32(len(obs.Images))}}, nil
}

// start runs a server for p with cfg's settings on a free loopback port and
// returns it with its ws:// URL.
func start(t *testing.T, p policy.Policy, s *server.Server) (*server.Server, string) {
	t.Helper()

	s.Policy = p
	s.Address = "127.0.0.1:0"
	require.NoError(t, s.Start())
	t.Cleanup(s.Close)
	return s, "ws://" + s.Addr().String()
}

// liberoObs is an openpi LIBERO observation: two 224×224 images and an
// 8-dim state.
func liberoObs() *policy.Observation {
	img := func(seed byte) policy.Image {
		pix := make([]uint8, 224*224*3)
		for i := range pix {
			pix[i] = byte(i) + seed
		}
		return policy.Image{H: 224, W: 224, Pix: pix}
	}
	return &policy.Observation{
		Images: map[string]policy.Image{"agentview": img(0), "wrist": img(7)},
		State:  []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8},
		Prompt: "put the bowl on the plate",
	}
}

func TestRoundTripConstantAndRandom(t *testing.T) {
	constant, err := policy.NewConstant([]float32{0, 0.5, 0, 0, 0, 0, -1}, 8)
	require.NoError(t, err)
	random, err := policy.NewRandom([]float32{-1, -1, -1}, []float32{1, 1, 1}, 4, 42)
	require.NoError(t, err)
	twin, err := policy.NewRandom([]float32{-1, -1, -1}, []float32{1, 1, 1}, 4, 42)
	require.NoError(t, err)

	for _, ca := range []struct {
		name string
		p    policy.Policy
		want func() *policy.Chunk
	}{
		{"constant", constant, func() *policy.Chunk { c, _ := constant.Act(context.Background(), nil); return c }},
		{"random", random, func() *policy.Chunk { c, _ := twin.Act(context.Background(), nil); return c }},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, url := start(t, ca.p, &server.Server{})
			ctx := context.Background()
			c, err := remote.Dial(ctx, url, remote.Options{})
			require.NoError(t, err)
			defer c.Close()
			spec := c.Spec()
			require.Equal(t, ca.p.Spec().ActionDim, spec.ActionDim)
			require.Equal(t, ca.p.Spec().Horizon, spec.Horizon)
			for range 3 {
				got, err := c.Act(ctx, liberoObs())
				require.NoError(t, err)
				want := ca.want()
				require.Equal(t, want.Actions, got.Actions)
				require.Equal(t, [2]int{want.H, want.D}, [2]int{got.H, got.D})
				require.Contains(t, got.Timing, "infer_ms")
				require.Contains(t, got.Timing, "server_infer_ms")
				require.Contains(t, got.Timing, "roundtrip_ms")
			}
		})
	}
}

func TestObservationMapping(t *testing.T) {
	var got *policy.Observation
	f := &fake{spec: policy.Spec{Name: "fake"}, ActFunc: func(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
		got = obs
		return echoState(ctx, obs)
	}}
	_, url := start(t, f, &server.Server{})
	conn := dialRaw(t, url, nil)

	chw := make([]float32, 3*2*4)
	for i := range chw {
		chw[i] = float32(i) / float32(len(chw)-1)
	}
	hwc := wire.NewUint8(make([]byte, 2*4*3), 2, 4, 3)
	req := map[string]any{
		"observation/image":       wire.NewUint8(liberoObs().Images["agentview"].Pix, 224, 224, 3),
		"observation/wrist_image": wire.NewFloat32(chw, 3, 2, 4),
		"observation/state":       wire.NewFloat64([]float32{1, 2}, 2),
		"prompt":                  "stack the cups",
		"images":                  map[string]any{"cam_high": wire.NewUint8(make([]byte, 24), 3, 2, 4)},
		"side":                    hwc,
		"joint":                   wire.NewFloat32([]float32{3}, 1),
		"episode":                 int64(4),
	}
	resp := exchange(t, conn, req)
	require.Contains(t, resp, "actions")
	require.Equal(t, "stack the cups", got.Prompt)
	require.Equal(t, []float32{1, 2}, got.State)
	require.ElementsMatch(t, []string{"agentview", "wrist", "images/cam_high", "side"}, keys(got.Images))
	require.Equal(t, 224, got.Images["agentview"].H)
	wrist := got.Images["wrist"]
	require.Equal(t, [2]int{2, 4}, [2]int{wrist.H, wrist.W})
	// CHW float: pixel (0,0) channels are items 0, 8, 16 of 24.
	require.Equal(t, []uint8{0, 89, 177}, wrist.Pix[:3])
	require.Equal(t, map[string]any{"joint": wire.NewFloat32([]float32{3}, 1), "episode": int64(4)}, got.Extra)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dialRaw opens a raw WebSocket and checks the metadata frame comes first.
func dialRaw(t *testing.T, url string, h http.Header) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
	require.NoError(t, err)
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	typ, data, err := conn.Read(context.Background())
	require.NoError(t, err)
	require.Equal(t, websocket.MessageBinary, typ)
	_, err = wire.Decode(data, wire.Limits{})
	require.NoError(t, err)
	return conn
}

// exchange sends one map and returns the decoded answer map.
func exchange(t *testing.T, conn *websocket.Conn, req map[string]any) map[string]any {
	t.Helper()
	b, err := wire.Marshal(req)
	require.NoError(t, err)
	require.NoError(t, conn.Write(context.Background(), websocket.MessageBinary, b))
	typ, data, err := conn.Read(context.Background())
	require.NoError(t, err)
	require.Equal(t, websocket.MessageBinary, typ, string(data))
	v, err := wire.Decode(data, wire.Limits{})
	require.NoError(t, err)
	return v.(map[string]any)
}

func TestMetadataFrameFirst(t *testing.T) {
	for _, ca := range []struct {
		name string
		spec policy.Spec
		want []byte
	}{
		// openpi's usual metadata is {}: the single byte 0x80.
		{"empty", policy.Spec{Name: "x"}, []byte{0x80}},
		{"dims", policy.Spec{Name: "x", ActionDim: 7, Horizon: 8}, append(append([]byte{0x82, 0xaa}, "action_dim"...), append(append([]byte{0x07, 0xae}, "action_horizon"...), 0x08)...)},
		{"aloha", policy.Spec{Name: "x", Metadata: map[string]any{"reset_pose": []float64{0.5}}}, append(append([]byte{0x81, 0xaa}, "reset_pose"...), 0x91, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0)},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, url := start(t, &fake{spec: ca.spec, ActFunc: echoState}, &server.Server{})
			conn, _, err := websocket.Dial(context.Background(), url+"/any/path", nil)
			require.NoError(t, err)
			defer conn.CloseNow()
			typ, data, err := conn.Read(context.Background())
			require.NoError(t, err)
			require.Equal(t, websocket.MessageBinary, typ)
			require.Equal(t, ca.want, data)
		})
	}
}

func TestVerifiedResponseBytes(t *testing.T) {
	// The server's answer for a 1×2 chunk [1, 2] with <f4 actions starts with
	// protocols.md's verified bytes for {"actions": float32 [[1, 2]]}.
	f := &fake{spec: policy.Spec{Name: "x"}, ActFunc: func(context.Context, *policy.Observation) (*policy.Chunk, error) {
		return &policy.Chunk{H: 1, D: 2, Actions: []float32{1, 2}}, nil
	}}
	_, url := start(t, f, &server.Server{ActionsDType: wire.Float32})
	conn := dialRaw(t, url, nil)
	require.NoError(t, conn.Write(context.Background(), websocket.MessageBinary, []byte{0x80}))
	_, data, err := conn.Read(context.Background())
	require.NoError(t, err)
	verified := []byte("\x83\xa7actions\x84\xc4\x0b__ndarray__\xc3\xc4\x04data\xc4\x08\x00\x00\x80\x3f\x00\x00\x00\x40" +
		"\xc4\x05dtype\xa3<f4\xc4\x05shape\x92\x01\x02\xadpolicy_timing")
	require.Equal(t, verified, data[:len(verified)])
}

func TestHealthzAndRouting(t *testing.T) {
	_, url := start(t, &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}, &server.Server{Token: "s3cret"})
	base := "http" + strings.TrimPrefix(url, "ws")
	for _, ca := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/healthz", 200, "OK\n"},
		{"GET", "/", 401, "unauthorized: a valid \"Authorization: Bearer <token>\" header is required\n"},
		{"POST", "/act", 401, "unauthorized: a valid \"Authorization: Bearer <token>\" header is required\n"},
	} {
		req, err := http.NewRequest(ca.method, base+ca.path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, ca.code, resp.StatusCode, ca.path)
		require.Equal(t, ca.body, string(b), ca.path)
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUpgradeRequired, resp.StatusCode)
}

func TestAuth(t *testing.T) {
	_, url := start(t, &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}, &server.Server{Token: "s3cret"})
	ctx := context.Background()
	_, err := remote.Dial(ctx, url, remote.Options{})
	require.EqualError(t, err, "remote: dial "+url+": server answered 401 Unauthorized")
	_, err = remote.Dial(ctx, url, remote.Options{Token: "wrong"})
	require.EqualError(t, err, "remote: dial "+url+": server answered 401 Unauthorized")
	c, err := remote.Dial(ctx, url, remote.Options{Token: "s3cret"})
	require.NoError(t, err)
	_, err = c.Act(ctx, liberoObs())
	require.NoError(t, err)
	require.NoError(t, c.Close())
	// openpi's clients send "Api-Key <key>".
	conn := dialRaw(t, url, http.Header{"Authorization": {"Api-Key s3cret"}})
	require.Contains(t, exchange(t, conn, map[string]any{"prompt": "x"}), "actions")
}

func TestPostAct(t *testing.T) {
	constant, err := policy.NewConstant([]float32{0.5, -1}, 3)
	require.NoError(t, err)
	_, url := start(t, constant, &server.Server{MaxFrameBytes: 1 << 20})
	base := "http" + strings.TrimPrefix(url, "ws") + "/act"
	img, err := json.Marshal(wire.NewUint8(make([]byte, 4*4*3), 4, 4, 3))
	require.NoError(t, err)
	vec := `{"__numpy__": "AAAAAAAA4D8AAAAAAADwvw==", "dtype": "<f8", "shape": [2]}`
	openvla := `{"image": ` + string(img) + `, "instruction": "pick up the cup", "unnorm_key": "bridge_orig"}`
	oft := `{"full_image": ` + string(img) + `, "wrist_image": ` + string(img) + `, "state": ` + vec + `, "instruction": "pick"}`
	encoded, err := json.Marshal(map[string]string{"encoded": openvla})
	require.NoError(t, err)
	for _, ca := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"openvla", openvla, 200, vec},
		{"oft", oft, 200, "[" + vec + "," + vec + "," + vec + "]"},
		{"encoded", string(encoded), 200, ""},
		{"not json", "{", 400, `{"error": "bad request: json: unexpected EOF"}`},
		{"not object", "[1]", 400, `{"error": "bad request: the body holds an array; want an object"}`},
		{"bad image", `{"image": [1, 2], "instruction": "x"}`, 400, `{"error": "bad request: image: image is an array; want an ndarray"}`},
		{"too large", `{"pad": "` + strings.Repeat("x", 1<<20) + `"}`, 413, `{"error": "body exceeds 1048576 bytes"}`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			resp, err := http.Post(base, "application/json", strings.NewReader(ca.body))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, ca.code, resp.StatusCode, string(b))
			switch ca.name {
			case "encoded":
				// The answer is a JSON string holding the json-numpy text.
				var inner string
				require.NoError(t, json.Unmarshal(b, &inner))
				require.JSONEq(t, vec, inner)
			default:
				require.JSONEq(t, ca.want, string(b))
			}
		})
	}
}

func TestErrorsKeepOtherClientsServed(t *testing.T) {
	f := &fake{spec: policy.Spec{Name: "x"}, ActFunc: func(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
		if obs.Prompt == "fail" {
			return nil, io.ErrUnexpectedEOF
		}
		if obs.Prompt == "bad chunk" {
			return &policy.Chunk{H: 2, D: 2}, nil
		}
		return echoState(ctx, obs)
	}}
	_, url := start(t, f, &server.Server{MaxFrameBytes: 1 << 16, Limits: wire.Limits{MaxElements: 1000}})
	ctx := context.Background()

	good, err := remote.Dial(ctx, url, remote.Options{})
	require.NoError(t, err)
	defer good.Close()

	smallObs := &policy.Observation{State: []float32{1, 2}, Images: map[string]policy.Image{"agentview": {H: 2, W: 2, Pix: make([]byte, 12)}}}
	big := make([]byte, 40*40*3)
	for _, ca := range []struct {
		name  string
		frame []byte
		text  bool
		want  string
	}{
		{"truncated msgpack", []byte{0x82, 0xa6}, false, "bad request: msgpack: msgpack frame ends inside a value"},
		{"not a map", []byte{0x01}, false, "bad request: the frame holds an int; want a map"},
		{"text frame", []byte("{}"), true, "bad request: expected a binary msgpack frame, got a text frame"},
		{"object dtype", []byte("\x81\xa1x\x84\xc4\x0b__ndarray__\xc3\xc4\x04data\xc4\x08\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\xc4\x05dtype\xa2|O\xc4\x05shape\x91\x01"), false, `bad request: msgpack: unsupported dtype "|O"`},
		{"array too large", mustMarshal(t, map[string]any{"observation/image": wire.NewUint8(big, 40, 40, 3)}), false, "bad request: msgpack: ndarray shape [40 40 3] exceeds the limit of 1000 elements"},
		{"bad image", mustMarshal(t, map[string]any{"observation/image": wire.NewUint8(make([]byte, 8), 8)}), false, "bad request: observation/image: image has shape [8]; want (H, W, 3) or (3, H, W)"},
		{"prompt type", mustMarshal(t, map[string]any{"prompt": int64(3)}), false, "bad request: prompt: prompt is an int; want a str"},
		{"policy error", mustMarshal(t, map[string]any{"prompt": "fail"}), false, "policy failed: unexpected EOF"},
		{"bad chunk", mustMarshal(t, map[string]any{"prompt": "bad chunk"}), false, "policy failed: policy returned a malformed action chunk"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			conn := dialRaw(t, url, nil)
			typ := websocket.MessageBinary
			if ca.text {
				typ = websocket.MessageText
			}
			require.NoError(t, conn.Write(ctx, typ, ca.frame))
			gotTyp, data, err := conn.Read(ctx)
			require.NoError(t, err)
			require.Equal(t, websocket.MessageText, gotTyp)
			require.Equal(t, ca.want, string(data))
			_, _, err = conn.Read(ctx)
			require.Equal(t, websocket.StatusInternalError, websocket.CloseStatus(err))

			// The other client is unaffected.
			_, err = good.Act(ctx, smallObs)
			require.NoError(t, err)
		})
	}

	t.Run("oversized frame", func(t *testing.T) {
		conn := dialRaw(t, url, nil)
		require.NoError(t, conn.Write(ctx, websocket.MessageBinary, make([]byte, 1<<20)))
		typ, data, err := conn.Read(ctx)
		require.NoError(t, err)
		require.Equal(t, websocket.MessageText, typ)
		require.Equal(t, "bad request: frame exceeds the limit of 65536 bytes", string(data))
		_, _, err = conn.Read(ctx)
		require.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(err))
		_, err = good.Act(ctx, smallObs)
		require.NoError(t, err)
	})

	t.Run("client reports server error and reconnects", func(t *testing.T) {
		c, err := remote.Dial(ctx, url, remote.Options{})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Act(ctx, &policy.Observation{Prompt: "fail"})
		require.EqualError(t, err, "remote: server error: policy failed: unexpected EOF")
		chunk, err := c.Act(ctx, smallObs)
		require.NoError(t, err)
		require.Equal(t, []float32{2, 1}, chunk.Actions)
	})
}

// mustMarshal encodes v.
func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := wire.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	f := &fake{spec: policy.Spec{Name: "x"}, ActFunc: func(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
		if obs.Prompt == "slow" {
			<-release
		}
		return echoState(ctx, obs)
	}}
	_, url := start(t, f, &server.Server{})
	ctx := context.Background()
	slow, err := remote.Dial(ctx, url, remote.Options{})
	require.NoError(t, err)
	defer slow.Close()
	done := make(chan error)
	go func() {
		_, err := slow.Act(ctx, &policy.Observation{Prompt: "slow"})
		done <- err
	}()
	fast, err := remote.Dial(ctx, url, remote.Options{})
	require.NoError(t, err)
	defer fast.Close()
	for range 5 {
		_, err := fast.Act(ctx, liberoObs())
		require.NoError(t, err)
	}
	close(release)
	require.NoError(t, <-done)
}

func TestBatching(t *testing.T) {
	f := batchFake{&fake{spec: policy.Spec{Name: "batch"}, ActFunc: echoState}}
	_, url := start(t, f, &server.Server{MaxBatch: 4, MaxBatchWait: 5 * time.Second})
	ctx := context.Background()
	clients := make([]*remote.Client, 4)
	for i := range clients {
		c, err := remote.Dial(ctx, url, remote.Options{})
		require.NoError(t, err)
		defer c.Close()
		clients[i] = c
	}
	// With every connected client's request in hand the batch runs at once,
	// without waiting MaxBatchWait.
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			obs := liberoObs()
			obs.State = obs.State[:i+1]
			chunk, err := c.Act(ctx, obs)
			require.NoError(t, err)
			require.Equal(t, float32(i+1), chunk.Actions[0])
		})
	}
	wg.Wait()
	require.Less(t, time.Since(start), 4*time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, []int{4}, f.batches)
}

func TestBatchErrors(t *testing.T) {
	f := batchFake{&fake{spec: policy.Spec{Name: "batch"}, ActFunc: echoState}}
	f.batchFunc = func([]*policy.Observation) ([]*policy.Chunk, error) { return nil, nil }
	_, url := start(t, f, &server.Server{})
	c, err := remote.Dial(context.Background(), url, remote.Options{})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Act(context.Background(), liberoObs())
	require.EqualError(t, err, "remote: server error: policy failed: batch policy returned 0 chunks for 1 observations")
}

func TestControlFrames(t *testing.T) {
	f := &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}
	_, url := start(t, f, &server.Server{})
	c, err := remote.Dial(context.Background(), url, remote.Options{})
	require.NoError(t, err)
	defer c.Close()
	ack, err := c.Control(context.Background(), map[string]any{"__ctrl__": "episode_start", "__task__": "libero_10", "__episode_id__": 3})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"__ctrl__": "episode_start", "ok": true}, ack)
	ack, err = c.Control(context.Background(), map[string]any{"__ctrl__": "episode_end", "__success__": true})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"__ctrl__": "episode_end", "ok": true}, ack)
	require.Equal(t, 1, f.resets)
	_, err = c.Control(context.Background(), map[string]any{})
	require.EqualError(t, err, `remote: control fields need a str "__ctrl__"`)
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	f := &fake{spec: policy.Spec{Name: "x"}, ActFunc: func(ctx context.Context, obs *policy.Observation) (*policy.Chunk, error) {
		if obs.Prompt == "slow" {
			close(entered)
			<-release
		}
		return echoState(ctx, obs)
	}}
	s, url := start(t, f, &server.Server{})
	ctx := context.Background()
	busy, err := remote.Dial(ctx, url, remote.Options{})
	require.NoError(t, err)
	idle := dialRaw(t, url, nil)

	done := make(chan error)
	go func() {
		_, err := busy.Act(ctx, &policy.Observation{Prompt: "slow"})
		done <- err
	}()
	<-entered
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	// The idle client is told the server goes away.
	_, _, err = idle.Read(ctx)
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err))
	select {
	case <-closed:
		t.Fatal("Close returned before the in-flight request finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done, "the in-flight request is answered")
	<-closed
	_, err = busy.Act(ctx, liberoObs())
	require.ErrorContains(t, err, "connection refused")
}

func TestTimeouts(t *testing.T) {
	_, url := start(t, &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}, &server.Server{IdleTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	t.Run("idle", func(t *testing.T) {
		conn := dialRaw(t, url, nil)
		_, _, err := conn.Read(ctx)
		var ce websocket.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		require.Equal(t, "idle timeout", ce.Reason)
	})
	t.Run("read", func(t *testing.T) {
		conn := dialRaw(t, url, nil)
		w, err := conn.Writer(ctx, websocket.MessageBinary)
		require.NoError(t, err)
		_, err = w.Write(bytes.Repeat([]byte{0x90}, 8192)) // part of a message, never finished
		require.NoError(t, err)
		_, _, err = conn.Read(ctx)
		var ce websocket.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
		require.Equal(t, "read timeout", ce.Reason)
	})
}

func TestMaxClients(t *testing.T) {
	_, url := start(t, &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}, &server.Server{MaxClients: 1})
	dialRaw(t, url, nil)
	_, err := remote.Dial(context.Background(), url, remote.Options{})
	require.EqualError(t, err, "remote: dial "+url+": server answered 503 Service Unavailable")
}

func TestStartErrors(t *testing.T) {
	require.EqualError(t, (&server.Server{}).Start(), "server: Policy is nil")
	f := &fake{spec: policy.Spec{Name: "x", Metadata: map[string]any{"bad": struct{}{}}}, ActFunc: echoState}
	require.EqualError(t, (&server.Server{Policy: f}).Start(), "server: policy metadata: msgpack: cannot encode struct {}")
	f = &fake{spec: policy.Spec{Name: "x"}, ActFunc: echoState}
	require.EqualError(t, (&server.Server{Policy: f, ActionsDType: wire.Uint8}).Start(), "server: ActionsDType |u1 is not <f4 or <f8")
}
