package parallel

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRangeCoversExactly(t *testing.T) {
	for _, tc := range []struct{ n, c int }{{10, 3}, {1, 1}, {7, 7}, {100, 2}, {5, 4}} {
		seen := make([]int, tc.n)
		prev := 0
		for i := range tc.c {
			lo, hi := Range(tc.n, tc.c, i)
			require.Equal(t, prev, lo, "n=%d c=%d chunk %d", tc.n, tc.c, i)
			for j := lo; j < hi; j++ {
				seen[j]++
			}
			prev = hi
		}
		require.Equal(t, tc.n, prev)
		for j, s := range seen {
			require.Equal(t, 1, s, "item %d", j)
		}
	}
}

func TestForVisitsEveryIndexOnce(t *testing.T) {
	const n = 10007
	var hits [n]atomic.Int32
	For(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			hits[i].Add(1)
		}
	})
	for i := range hits {
		require.EqualValues(t, 1, hits[i].Load(), "index %d", i)
	}
}

func TestNestedForDoesNotDeadlock(t *testing.T) {
	var total atomic.Int64
	For(64, 1, func(lo, hi int) {
		for range hi - lo {
			For(64, 1, func(a, b int) { total.Add(int64(b - a)) })
		}
	})
	require.EqualValues(t, 64*64, total.Load())
}

func TestChunks(t *testing.T) {
	w := Workers()
	require.Equal(t, 1, Chunks(0, 8))
	require.Equal(t, 1, Chunks(5, 8))
	require.Equal(t, min(w, 4), Chunks(32, 8))
}
