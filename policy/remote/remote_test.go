package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/remote"
	"github.com/vstgo/vst/policy/server"
)

func TestDialError(t *testing.T) {
	_, err := remote.Dial(context.Background(), "ws://127.0.0.1:1", remote.Options{})
	require.ErrorContains(t, err, "remote: dial ws://127.0.0.1:1: ")
	require.ErrorContains(t, err, "connection refused")
}

func TestReconnectsAfterServerClosedConnection(t *testing.T) {
	p, err := policy.NewConstant([]float32{1, 2}, 3)
	require.NoError(t, err)
	s := &server.Server{Policy: p, Address: "127.0.0.1:0", IdleTimeout: 50 * time.Millisecond}
	require.NoError(t, s.Start())
	defer s.Close()
	c, err := remote.Dial(context.Background(), "ws://"+s.Addr().String(), remote.Options{})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, policy.Spec{Name: "remote ws://" + s.Addr().String(), ActionDim: 2, Horizon: 3,
		Metadata: map[string]any{"action_dim": int64(2), "action_horizon": int64(3)}}, c.Spec())
	time.Sleep(200 * time.Millisecond) // the server drops the idle connection
	chunk, err := c.Act(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []float32{1, 2}, chunk.Action(2))
}
