package mqtt

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// drain pops every message and returns them as "topic payload".
func drain(t *testing.T, q *queue) []string {
	t.Helper()
	var out []string
	for {
		m, ok, err := q.peek(0)
		require.NoError(t, err)
		if !ok {
			return out
		}
		out = append(out, m.topic+" "+string(m.payload))
		q.remove(m.seq)
	}
}

func TestQueueOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := openQueue(dir, 100, 1<<20)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, q.push("a/b", fmt.Appendf(nil, "m%d", i)))
	}
	m, ok, err := q.peek(0)
	require.NoError(t, err)
	require.True(t, ok)
	q.remove(m.seq)

	// Peeking past a seq skips what is in flight.
	m, ok, err = q.peek(m.seq + 2)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "m2", string(m.payload))

	// An interrupted push leaves a temp file that reopening removes.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".tmp-99"), []byte("junk"), 0o600))
	q, err = openQueue(dir, 100, 1<<20)
	require.NoError(t, err)
	require.Equal(t, Buffer{Queued: 4, Bytes: 4 * int64(queueHeader+3+2)}, q.stats())
	require.NoError(t, q.push("a/b", []byte("m5")))
	require.Equal(t, []string{"a/b m1", "a/b m2", "a/b m3", "a/b m4", "a/b m5"}, drain(t, q))
	require.NoFileExists(t, filepath.Join(dir, ".tmp-99"))
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, des)
}

func TestQueueBounds(t *testing.T) {
	size := int64(queueHeader + 1 + 2) // topic "t", payload "mN"
	for _, ca := range []struct {
		name        string
		maxMessages int
		maxBytes    int64
		want        []string
	}{
		{"by count", 3, 1 << 20, []string{"t m7", "t m8", "t m9"}},
		{"by bytes", 100, 2*size + 1, []string{"t m8", "t m9"}},
		{"exact fit", 100, 4 * size, []string{"t m6", "t m7", "t m8", "t m9"}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			q, err := openQueue(t.TempDir(), ca.maxMessages, ca.maxBytes)
			require.NoError(t, err)
			for i := range 10 {
				require.NoError(t, q.push("t", fmt.Appendf(nil, "m%d", i)))
			}
			st := q.stats()
			require.Equal(t, len(ca.want), st.Queued)
			require.EqualValues(t, 10-len(ca.want), st.Dropped)
			require.LessOrEqual(t, st.Bytes, ca.maxBytes)
			require.Equal(t, ca.want, drain(t, q))
		})
	}
}

func TestQueueShrunkBoundOnReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := openQueue(dir, 10, 1<<20)
	require.NoError(t, err)
	for i := range 6 {
		require.NoError(t, q.push("t", fmt.Appendf(nil, "m%d", i)))
	}
	q, err = openQueue(dir, 2, 1<<20)
	require.NoError(t, err)
	require.EqualValues(t, 4, q.stats().Dropped)
	require.Equal(t, []string{"t m4", "t m5"}, drain(t, q))
}

func TestQueueRejectsOversize(t *testing.T) {
	q, err := openQueue(t.TempDir(), 10, 100)
	require.NoError(t, err)
	require.EqualError(t, q.push("t", make([]byte, 100)), "buffer: message of 111 bytes is larger than the buffer (100 bytes)")
	require.Equal(t, Buffer{}, q.stats())
}

func TestQueueDropsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	q, err := openQueue(dir, 10, 1<<20)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, q.push("t", fmt.Appendf(nil, "m%d", i)))
	}
	// Flip a payload byte of the second message and truncate the third.
	p := q.path(2)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-1] ^= 0xff
	require.NoError(t, os.WriteFile(p, b, 0o600))
	require.NoError(t, os.Truncate(q.path(3), 5))

	require.Equal(t, []string{"t m0"}, drain(t, q))
	require.Equal(t, Buffer{Dropped: 2}, q.stats())
}

func TestQueueRemoveOfDroppedIsNoop(t *testing.T) {
	q, err := openQueue(t.TempDir(), 1, 1<<20)
	require.NoError(t, err)
	require.NoError(t, q.push("t", []byte("old")))
	m, ok, err := q.peek(0)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, q.push("t", []byte("new"))) // drops "old" while in flight
	q.remove(m.seq)
	require.Equal(t, []string{"t new"}, drain(t, q))
}
