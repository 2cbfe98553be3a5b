package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/remote"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs `vla serve args…` until the test ends and returns its
// address.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newServeCmd()
	out := &syncBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0"}, args...))
	done := make(chan error)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.Contains(t, out.String(), "shutting down")
	})
	re := regexp.MustCompile(`on ws://(\S+) `)
	require.Eventually(t, func() bool { return re.MatchString(out.String()) }, 5*time.Second, 5*time.Millisecond)
	return re.FindStringSubmatch(out.String())[1]
}

func TestServe(t *testing.T) {
	addr := serve(t, "--policy", "constant=0,0,0,0,0,0,-1", "--horizon", "10", "--token", "tok")
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	ctx := context.Background()
	c, err := remote.Dial(ctx, "ws://"+addr, remote.Options{Token: "tok"})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, 7, c.Spec().ActionDim)
	chunk, err := c.Act(ctx, &policy.Observation{Prompt: "x"})
	require.NoError(t, err)
	require.Equal(t, 10, chunk.H)
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0, -1}, chunk.Action(9))

	// A proxy: vla serve --policy server=ws://… forwards to the first server.
	proxy := serve(t, "--policy", "server=ws://"+addr, "--upstream-token", "tok")
	p, err := remote.Dial(ctx, "ws://"+proxy, remote.Options{})
	require.NoError(t, err)
	defer p.Close()
	chunk, err = p.Act(ctx, &policy.Observation{Prompt: "x"})
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 0, 0, 0, 0, -1}, chunk.Action(0))
}

func TestServeErrors(t *testing.T) {
	for _, ca := range []struct {
		args []string
		err  string
	}{
		{[]string{"--policy", "nope"}, `unknown policy "nope" (known: constant, model, random, server)`},
		{[]string{"--policy", "server="}, "policy server=: server needs a URL: server=ws://host:8000"},
		{[]string{"--policy", "constant", "--addr", "127.0.0.1:-1"}, "server: listen tcp: address -1: invalid port"},
	} {
		t.Run(strings.Join(ca.args, " "), func(t *testing.T) {
			cmd := newServeCmd()
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(ca.args)
			require.EqualError(t, cmd.Execute(), ca.err)
		})
	}
	cmd := newServeCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	require.NoError(t, cmd.Execute())
	require.Contains(t, out.String(), "Examples:")
}
