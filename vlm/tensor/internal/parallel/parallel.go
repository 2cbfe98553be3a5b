// Package parallel is the fixed worker pool behind every multi-threaded kernel
// of the tensor engine.
//
// The pool has GOMAXPROCS-1 worker goroutines started once; the calling
// goroutine always takes part in the work itself. A chunk that finds no idle
// worker runs inline on the caller, so nested calls (a parallel GEMM inside a
// parallel loop) can never deadlock. Chunk boundaries depend only on the
// problem size and the worker count, never on timing, so any reduction done
// per chunk is deterministic for a fixed thread count.
package parallel

import (
	"runtime"
	"sync"
)

type task struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var (
	once    sync.Once
	queue   chan task
	workers int
)

func start() {
	workers = runtime.GOMAXPROCS(0)
	queue = make(chan task)
	for range workers - 1 {
		go func() {
			for t := range queue {
				t.fn(t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
}

// Workers reports the number of threads the pool uses: GOMAXPROCS when the
// pool first started.
func Workers() int {
	once.Do(start)
	return workers
}

// Chunks returns how many chunks For splits n items into when each chunk must
// hold at least grain items: between 1 and Workers().
func Chunks(n, grain int) int {
	w := Workers()
	if grain < 1 {
		grain = 1
	}
	c := (n + grain - 1) / grain
	if c > w {
		c = w
	}
	if c < 1 {
		c = 1
	}
	return c
}

// For calls fn over [0, n) split into Chunks(n, grain) contiguous ranges and
// returns when all have finished. fn must be safe to call concurrently on
// disjoint ranges.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	c := Chunks(n, grain)
	if c == 1 {
		fn(0, n)
		return
	}
	ForChunks(c, func(i int) {
		lo, hi := Range(n, c, i)
		fn(lo, hi)
	})
}

// Range returns the bounds of chunk i when n items are split into c nearly
// equal contiguous chunks.
func Range(n, c, i int) (lo, hi int) {
	q, r := n/c, n%c
	lo = i*q + min(i, r)
	hi = lo + q
	if i < r {
		hi++
	}
	return lo, hi
}

// ForChunks runs fn(i) for i in [0, c), spreading the calls over the pool.
// The caller runs chunk 0 and any chunk that finds no idle worker.
func ForChunks(c int, fn func(i int)) {
	if c <= 1 {
		if c == 1 {
			fn(0)
		}
		return
	}
	once.Do(start)
	var wg sync.WaitGroup
	run := func(lo, _ int) { fn(lo) }
	for i := 1; i < c; i++ {
		wg.Add(1)
		select {
		case queue <- task{fn: run, lo: i, hi: i + 1, wg: &wg}:
		default:
			fn(i)
			wg.Done()
		}
	}
	fn(0)
	wg.Wait()
}
