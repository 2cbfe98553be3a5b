package server_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/policy"
	"github.com/vstgo/vst/policy/server"
)

// TestPythonOpenpiClient runs testdata/openpi_client.py, a client written
// the way openpi's Python clients speak (msgpack-numpy with bytes keys,
// the websockets library), against the server. It needs Debian's python3
// with numpy, msgpack and websockets (scripts/setup.sh installs them) and
// fails, rather than skips, without them.
func TestPythonOpenpiClient(t *testing.T) {
	constant, err := policy.NewConstant([]float32{0.1, 0, 0, 0, 0, 0, -1}, 10)
	require.NoError(t, err)
	_, url := start(t, constant, &server.Server{Token: "interop-token"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/openpi_client.py", url, "interop-token").CombinedOutput()
	require.NoError(t, err, "python3 client (install python3-numpy python3-msgpack python3-websockets with scripts/setup.sh):\n%s", out)
	require.Contains(t, string(out), "interop ok")
}
